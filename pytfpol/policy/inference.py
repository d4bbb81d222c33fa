"""Read a TF-Agents policy's architecture off a checkpoint's variable names and shapes.

So that `pytfpol eval TRAIN_DIR/policy --env ID` works without a config for the policies TF-Agents'
agents build from its own networks: Q policies (DQN v2's Sequential network, `QNetwork`,
`QRnnNetwork`, C51's `CategoricalQNetwork`), actor policies (`ActorNetwork`, DDPG v2's Sequential
actor, `ActorRnnNetwork`, `ActorDistributionNetwork`, `ActorDistributionRnnNetwork`) and PPO
policies (an actor distribution network, a `ValueNetwork`/`ValueRnnNetwork` and TF-Agents' own
observation normalizer). Every variable under the policy must belong to a recognised part, or
nothing is inferred.

Layer sizes come from kernel shapes. What weights do not store is never claimed as read: the
activation is assumed (TF-Agents' default, relu) and listed in `PolicyConfig.assumed`; a single
`_projection_layer` head is categorical for a discrete action and tanh-normal for a continuous
one, which `complete_config` decides once the environment's action spec is known. Pure Python:
no TensorFlow.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Mapping, Optional

from pytfpol.policy.policy_config import (
    DISTRIBUTION_NETWORKS,
    TYPE_KEYS,
    NetworkConfig,
    PolicyConfig,
    load_policy_config,
    shipped_configs,
)

VALUE = "/.ATTRIBUTES/VARIABLE_VALUE"
_DENSE = r"(kernel|bias)"
_CELL = r"cell/((cells/\d+/)?(kernel|recurrent_kernel|bias))"
_PROJECTION_ONE = "_projection_networks/_projection_layer/"
_PROJECTION_NORMAL = "_projection_networks/_means_projection_layer/"
ASSUMED_ACTIVATION = (
    "activation relu: TF-Agents' default; an activation is not stored in a checkpoint"
)
ASSUMED_SUPPORT = (
    "support min_q_value=-10, max_q_value=10 (CategoricalDqnAgent's defaults): not stored in a "
    "checkpoint; greedy actions do not depend on it"
)
ASSUMED_DDPG_OUTPUT = (
    "output layer tanh, scaled to the action bounds, as DDPG v2's create_actor_network builds "
    "it: not stored in a checkpoint"
)


def infer_policy_config(shapes: Mapping[str, tuple[int, ...]], path: str) -> Optional[PolicyConfig]:
    """A config that rebuilds the policy whose variables are `shapes`, or None if not standard.

    `shapes` maps checkpoint keys (with their `/.ATTRIBUTES/VARIABLE_VALUE` suffix) to shapes."""
    variables = {k[: -len(VALUE)]: tuple(s) for k, s in shapes.items() if k.endswith(VALUE)}
    for saved_as, root in (("greedy", "policy/_wrapped_policy/"), ("plain", "policy/")):
        parts = _parts(variables, root)
        if not parts:
            continue
        if not all(k.startswith(root) for k in variables if k.startswith("policy/")):
            return None
        config = _read_policy(parts)
        if config is None:
            return None
        step = "global_step" if "global_step" in variables else "train_step"
        config = replace(
            config,
            path=f"{path} (inferred)",
            saved_as=saved_as,
            step_key=step,
            inferred=True,
            description=f"inferred by pytfpol from the variables of {path}",
        )
        return replace(config, assumed=_assumptions(config))
    return None


def _parts(variables: Mapping[str, tuple], root: str) -> dict[str, dict[str, tuple]]:
    """The policy's variables by component (`_q_network`, `_actor_network`, `_value_network`,
    `_observation_normalizer`), keyed by their path inside it."""
    parts: dict[str, dict[str, tuple]] = {}
    for key, shape in variables.items():
        if key.startswith(root):
            component, _, rest = key[len(root) :].partition("/")
            parts.setdefault(component, {})[rest] = shape
    return parts


def _read_policy(parts: dict[str, dict[str, tuple]]) -> Optional[PolicyConfig]:
    components = set(parts)
    if components == {"_q_network"}:
        network = _q_network(parts["_q_network"])
        return None if network is None else PolicyConfig(path="", network=network)
    if components == {"_actor_network"}:
        network = _actor_network(parts["_actor_network"])
        return None if network is None else PolicyConfig(path="", network=network)
    ppo = {"_actor_network", "_value_network"}
    if components in (ppo, ppo | {"_observation_normalizer"}):
        actor = _actor_network(parts["_actor_network"])
        value = _value_network(parts["_value_network"])
        normalizer = parts.get("_observation_normalizer", {})
        normalizer_keys = r"(_avg|_count|_m2|_m2_carry)/\d+"
        if actor is None or value is None or actor.type not in DISTRIBUTION_NETWORKS:
            return None
        if not all(re.fullmatch(normalizer_keys, k) for k in normalizer):
            return None
        return PolicyConfig(
            path="", network=actor, value_network=value, observation_normalizer=bool(normalizer)
        )
    return None


# ---------------------------------------------------------------------------------------------
# Networks: each reader accepts its component only if every variable is one it knows.


def _q_network(keys: dict[str, tuple]) -> Optional[NetworkConfig]:
    if _only(keys, rf"_sequential_layers/\d+/{_DENSE}"):
        return NetworkConfig("sequential", fc_layer_params=_hidden(keys, "_sequential_layers/"))
    if _only(keys, rf"_q_value_layer/{_DENSE}", rf"_encoder/_postprocessing_layers/\d+/{_DENSE}"):
        return NetworkConfig("q_network", fc_layer_params=_units(keys, "_encoder/"))
    if _only(
        keys,
        rf"_q_network/_q_value_layer/{_DENSE}",
        rf"_q_network/_encoder/_postprocessing_layers/\d+/{_DENSE}",
    ):
        return NetworkConfig(
            "categorical_q_network",
            fc_layer_params=_units(keys, "_q_network/_encoder/"),
            num_atoms=None,  # the q-value layer holds num_actions * num_atoms units
        )
    if _only(
        keys,
        rf"_lstm_network/{_CELL}",
        rf"_input_encoder/_postprocessing_layers/\d+/{_DENSE}",
        rf"_output_encoder/\d+/{_DENSE}",
    ):
        return NetworkConfig(
            "q_rnn_network",
            input_fc_layer_params=_units(keys, "_input_encoder/"),
            lstm_size=_lstm(keys, "_lstm_network/"),
            output_fc_layer_params=_hidden(keys, "_output_encoder/"),
        )
    return None


def _actor_network(keys: dict[str, tuple]) -> Optional[NetworkConfig]:
    if _only(keys, rf"_mlp_layers/\d+/{_DENSE}"):
        return NetworkConfig("actor_network", fc_layer_params=_hidden(keys, "_mlp_layers/"))
    if _only(keys, rf"_sequential_layers/\d+/{_DENSE}"):
        return NetworkConfig(
            "sequential_actor", fc_layer_params=_hidden(keys, "_sequential_layers/")
        )
    if _only(
        keys,
        rf"_dynamic_unroll/{_CELL}",
        rf"_input_layers/\d+/{_DENSE}",
        rf"_output_layers/\d+/{_DENSE}",
        rf"_action_layers/0/{_DENSE}",
    ):
        return NetworkConfig(
            "actor_rnn_network",
            input_fc_layer_params=_units(keys, "_input_layers/"),
            lstm_size=_lstm(keys, "_dynamic_unroll/"),
            output_fc_layer_params=_units(keys, "_output_layers/"),
        )
    projection = _projection(keys)
    if projection is False:
        return None
    if _only(keys, "_projection_networks/.*", rf"_encoder/_postprocessing_layers/\d+/{_DENSE}"):
        return NetworkConfig(
            "actor_distribution_network",
            fc_layer_params=_units(keys, "_encoder/"),
            continuous_projection=projection,
        )
    if _only(
        keys,
        rf"_lstm_encoder/_lstm_network/{_CELL}",
        rf"_lstm_encoder/_input_encoder/_postprocessing_layers/\d+/{_DENSE}",
        rf"_lstm_encoder/_output_encoder/\d+/{_DENSE}",
        "_projection_networks/.*",
    ):
        return NetworkConfig(
            "actor_distribution_rnn_network",
            input_fc_layer_params=_units(keys, "_lstm_encoder/_input_encoder/"),
            lstm_size=_lstm(keys, "_lstm_encoder/_lstm_network/"),
            output_fc_layer_params=_units(keys, "_lstm_encoder/_output_encoder/"),
            continuous_projection=projection,
        )
    return None


def _projection(keys: dict[str, tuple]):
    """'normal' (means layer + state-independent std bias), None (one `_projection_layer`:
    categorical or tanh-normal, decided by the action spec), or False (anything else)."""
    head = {k for k in keys if k.startswith("_projection_networks/")}
    if head == {_PROJECTION_ONE + "kernel", _PROJECTION_ONE + "bias"}:
        return None
    normal = {_PROJECTION_NORMAL + "kernel", _PROJECTION_NORMAL + "bias"}
    if head == normal | {"_projection_networks/_bias/bias"}:
        return "normal"
    return False


def _value_network(keys: dict[str, tuple]) -> Optional[NetworkConfig]:
    head = rf"_postprocessing_layers/{_DENSE}"
    if _only(keys, head, rf"_encoder/_postprocessing_layers/\d+/{_DENSE}"):
        return NetworkConfig("value_network", fc_layer_params=_units(keys, "_encoder/"))
    if _only(
        keys,
        rf"_lstm_encoder/_lstm_network/{_CELL}",
        rf"_lstm_encoder/_input_encoder/_postprocessing_layers/\d+/{_DENSE}",
        rf"_lstm_encoder/_output_encoder/\d+/{_DENSE}",
        head,
    ):
        return NetworkConfig(
            "value_rnn_network",
            input_fc_layer_params=_units(keys, "_lstm_encoder/_input_encoder/"),
            lstm_size=_lstm(keys, "_lstm_encoder/_lstm_network/"),
            output_fc_layer_params=_units(keys, "_lstm_encoder/_output_encoder/"),
        )
    return None


def _only(keys: dict[str, tuple], *patterns: str) -> bool:
    """Every key matches one of `patterns`, and the first (the part that identifies the
    network) matches some key."""
    if not any(re.fullmatch(patterns[0], k) for k in keys):
        return False
    return all(any(re.fullmatch(p, k) for p in patterns) for k in keys)


def _kernels(keys: dict[str, tuple], prefix: str) -> list[tuple[int, ...]]:
    """Kernel shapes of `prefix[...]<i>/kernel`, in layer order."""
    found = []
    pattern = re.compile(re.escape(prefix) + r"(?:_postprocessing_layers/)?(\d+)/kernel$")
    for key, shape in keys.items():
        match = pattern.match(key)
        if match and len(shape) == 2:
            found.append((int(match.group(1)), shape))
    return [shape for _, shape in sorted(found)]


def _units(keys: dict[str, tuple], prefix: str) -> tuple[int, ...]:
    """The output sizes of every Dense layer under `prefix`."""
    return tuple(k[1] for k in _kernels(keys, prefix))


def _hidden(keys: dict[str, tuple], prefix: str) -> tuple[int, ...]:
    """The output sizes of the Dense layers under `prefix` but the last (the output layer)."""
    return _units(keys, prefix)[:-1]


def _lstm(keys: dict[str, tuple], prefix: str) -> tuple[int, ...]:
    """LSTM sizes: a recurrent kernel is [units, 4 * units]."""
    found = []
    pattern = re.compile(re.escape(prefix) + r"cell/(?:cells/(\d+)/)?recurrent_kernel$")
    for key, shape in keys.items():
        match = pattern.match(key)
        if match:
            found.append((int(match.group(1) or 0), shape[0]))
    return tuple(units for _, units in sorted(found))


# ---------------------------------------------------------------------------------------------
# What could not be read, and completing a config once the env's action spec is known


def _assumptions(config: PolicyConfig) -> tuple[str, ...]:
    networks = [n for n in (config.network, config.value_network) if n is not None]
    hidden = any(
        n.fc_layer_params or n.input_fc_layer_params or n.output_fc_layer_params for n in networks
    )
    assumed = [ASSUMED_ACTIVATION] if hidden else []  # an LSTM's own activations are fixed
    if config.network.type == "sequential_actor":
        assumed.append(ASSUMED_DDPG_OUTPUT)
    if config.network.type == "categorical_q_network":
        assumed.append(ASSUMED_SUPPORT)
    others = _shipped_with_other_activation(config)
    if assumed and others:
        name, activation = others[0]
        assumed[0] += (
            f" (the shipped config {name} has this layout with activation {activation}: if that "
            f"is how it was trained, pass --config {name})"
        )
    return tuple(assumed)


def _shipped_with_other_activation(config: PolicyConfig) -> list[tuple[str, str]]:
    """Shipped configs whose networks have these types and sizes but another activation."""

    def layout(net: Optional[NetworkConfig]):
        if net is None:
            return None
        return (net.type, net.fc_layer_params, net.input_fc_layer_params, net.lstm_size)

    found = []
    for path in shipped_configs():
        try:
            shipped = load_policy_config(path)
        except Exception:  # noqa: BLE001 - a broken shipped file must not break inference
            continue
        if shipped.network is None or shipped.network.activation == config.network.activation:
            continue
        if layout(shipped.network) == layout(config.network) and layout(
            shipped.value_network
        ) == layout(config.value_network):
            found.append((path.stem, shipped.network.activation))
    return found


def complete_config(
    config: PolicyConfig,
    shapes: Mapping[str, tuple[int, ...]],
    discrete_actions: Optional[int],
) -> PolicyConfig:
    """Decide what a config leaves to the checkpoint: `saved_as` (GreedyPolicy or not), PPO's
    observation normalizer, and for inferred configs the projection head and C51's atoms.

    `discrete_actions` is the number of actions of a scalar discrete action spec, else None."""
    if config.factory:
        return config
    wrapped = f"{config.policy_key}/_wrapped_policy/"
    saved_as = config.saved_as
    if saved_as is None:
        saved_as = "greedy" if any(k.startswith(wrapped) for k in shapes) else "plain"
    root = wrapped if saved_as == "greedy" else f"{config.policy_key}/"
    normalizer = config.observation_normalizer
    if config.is_ppo and normalizer is None:
        normalizer = any(k.startswith(root + "_observation_normalizer/") for k in shapes)
    network = config.network
    comments = []
    if network.continuous_projection is None:
        projection = "normal" if discrete_actions else "tanh_normal"
        network = replace(network, continuous_projection=projection)
        comments.append(
            "The action head is one _projection_layer: categorical, as the action is discrete."
            if discrete_actions
            else "The action head is one _projection_layer: tanh-normal (SAC's), as the action "
            "is continuous."
        )
    if network.num_atoms is None:
        kernel = shapes.get(f"{root}_q_network/_q_network/_q_value_layer/kernel{VALUE}")
        units = kernel[-1] if kernel else 0
        atoms = units // discrete_actions if discrete_actions else 0
        network = replace(network, num_atoms=atoms if atoms > 1 else 51)
    completed = replace(
        config, saved_as=saved_as, observation_normalizer=normalizer, network=network
    )
    if config.inferred:
        completed = replace(completed, source_text=render_toml(completed, comments))
    return completed


def render_toml(config: PolicyConfig, comments=()) -> str:
    """A completed config as a TOML file a user can copy and edit."""
    lines = ["# Inferred by pytfpol from the checkpoint's variable names and shapes."]
    if config.assumed:
        lines.append("# Not stored in a checkpoint, so assumed:")
        lines += [f"#   - {text}" for text in config.assumed]
    lines += [f"# {text}" for text in comments]
    lines += ["", f"description = {_quoted(config.description)}", ""]
    lines += _network_lines("network", config.network)
    if config.value_network is not None:
        lines += _network_lines("value_network", config.value_network)
    lines += ["[policy]", f'saved_as = "{config.saved_as}"']
    if config.is_ppo:
        lines.append(f"observation_normalizer = {str(bool(config.observation_normalizer)).lower()}")
    lines += ["", "[checkpoint]", f'policy = "{config.policy_key}"']
    lines += [f'step = "{config.step_key}"', ""]
    return "\n".join(lines)


def _network_lines(table: str, net: NetworkConfig) -> list[str]:
    lines = [f"[{table}]", f'type = "{net.type}"']
    for key in TYPE_KEYS[net.type]:
        if key == "continuous_projection":
            if net.continuous_projection == "tanh_normal":
                lines.append('continuous_projection = "tanh_normal"')
        elif key in ("min_q_value", "max_q_value"):
            lines.append(f"{key} = {float(getattr(net, key))!r}")
        elif key == "num_atoms":
            lines.append(f"num_atoms = {net.num_atoms}")
        else:
            lines.append(f"{key} = {list(getattr(net, key))}")
    lines += [f'activation = "{net.activation}"', ""]
    return lines


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
