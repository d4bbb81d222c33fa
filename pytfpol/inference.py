"""Read a standard TF-Agents network's architecture off a checkpoint's variable names and shapes.

So that `pytfpol eval TRAIN_DIR/policy --env ID` works without a config for the feed-forward
networks TF-Agents ships: the Sequential Q network of DQN v2 `train_eval`, `QNetwork`, DDPG's
`ActorNetwork` and `ActorDistributionNetwork` (normal or SAC's tanh-normal projection). Layer sizes
come from kernel shapes; the activation cannot be read from weights and is assumed to be relu
(TF-Agents' default), which the user is told. Pure Python: no TensorFlow.
"""

from __future__ import annotations

import re
from typing import Mapping, Optional

from pytfpol.policy_config import NetworkConfig, PolicyConfig

KERNEL = "/kernel/.ATTRIBUTES/VARIABLE_VALUE"


def infer_policy_config(shapes: Mapping[str, tuple[int, ...]], path: str) -> Optional[PolicyConfig]:
    """A config that rebuilds the policy whose variables are `shapes`, or None if not standard."""
    for saved_as, prefix in (("greedy", "policy/_wrapped_policy/"), ("plain", "policy/")):
        if not any(k.startswith(prefix) for k in shapes):
            continue
        network = _infer_network(shapes, prefix)
        if network is None:
            return None
        step = "global_step" if _has(shapes, "global_step") else "train_step"
        return PolicyConfig(
            path=f"{path} (inferred)",
            network=network,
            saved_as=saved_as,
            step_key=step,
            source_text=render_toml(network, saved_as, step),
        )
    return None


def _infer_network(shapes, prefix: str) -> Optional[NetworkConfig]:
    sequential = _kernels(shapes, prefix + "_q_network/_sequential_layers/")
    if sequential and _only(shapes, prefix + "_q_network/_sequential_layers/"):
        return NetworkConfig("sequential", fc_layer_params=tuple(k[1] for k in sequential[:-1]))
    q_layers = _kernels(shapes, prefix + "_q_network/_encoder/_postprocessing_layers/")
    if _has(shapes, prefix + "_q_network/_q_value_layer/kernel") and _only(
        shapes, prefix + "_q_network/_encoder/", prefix + "_q_network/_q_value_layer/"
    ):
        return NetworkConfig("q_network", fc_layer_params=tuple(k[1] for k in q_layers))
    mlp = _kernels(shapes, prefix + "_actor_network/_mlp_layers/")
    if mlp and _only(shapes, prefix + "_actor_network/_mlp_layers/"):
        return NetworkConfig("actor_network", fc_layer_params=tuple(k[1] for k in mlp[:-1]))
    encoder = prefix + "_actor_network/_encoder/"
    projection = prefix + "_actor_network/_projection_networks/"
    if _has_prefix(shapes, projection) and _only(shapes, encoder, projection):
        layers = _kernels(shapes, encoder + "_postprocessing_layers/")
        # SAC's tanh-normal head has one `_projection_layer`; the normal head has means + bias.
        # (A categorical head is also one `_projection_layer`, and ignores this setting.)
        tanh = _has(shapes, projection + "_projection_layer/kernel")
        return NetworkConfig(
            "actor_distribution_network",
            fc_layer_params=tuple(k[1] for k in layers),
            continuous_projection="tanh_normal" if tanh else "normal",
        )
    return None


def _kernels(shapes, prefix: str) -> list[tuple[int, ...]]:
    """Kernel shapes of `prefix<i>/kernel`, in layer order."""
    found = []
    pattern = re.compile(re.escape(prefix) + r"(\d+)" + re.escape(KERNEL) + "$")
    for key, shape in shapes.items():
        match = pattern.match(key)
        if match and len(shape) == 2:
            found.append((int(match.group(1)), tuple(shape)))
    return [shape for _, shape in sorted(found)]


def _has(shapes, name: str) -> bool:
    return f"{name}/.ATTRIBUTES/VARIABLE_VALUE" in shapes


def _has_prefix(shapes, prefix: str) -> bool:
    return any(k.startswith(prefix) for k in shapes)


def _only(shapes, *prefixes: str) -> bool:
    """Every policy variable lies under one of `prefixes` (no unknown parts of the network)."""
    policy_keys = [k for k in shapes if k.startswith("policy/") and k.endswith("VARIABLE_VALUE")]
    return all(any(k.startswith(p) for p in prefixes) for k in policy_keys)


def render_toml(network: NetworkConfig, saved_as: str, step: str) -> str:
    """The config as a TOML file a user can copy and edit."""
    lines = [
        "# Inferred by pytfpol from the checkpoint's variable names and shapes.",
        "# The activation cannot be read from weights: relu (TF-Agents' default) is assumed.",
        "",
        "[network]",
        f'type = "{network.type}"',
        f"fc_layer_params = {list(network.fc_layer_params)}",
        f'activation = "{network.activation}"',
    ]
    if network.continuous_projection != "normal":
        lines.append(f'continuous_projection = "{network.continuous_projection}"')
    lines += ["", "[policy]", f'saved_as = "{saved_as}"', "", "[checkpoint]"]
    lines += ['policy = "policy"', f'step = "{step}"', ""]
    return "\n".join(lines)
