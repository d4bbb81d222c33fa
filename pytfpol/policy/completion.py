"""Complete a policy config with what only the checkpoint and the env can say: whether the
policy was saved wrapped in a GreedyPolicy, PPO's observation normalizer, an action mask, conv
strides and integer-image scaling, an inferred projection head and C51's atoms; refuse (exit 2,
listing each candidate config line) what neither decides. And write a completed config as the
TOML file a user can copy (`render_toml`). Pure Python: no TensorFlow.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any, Mapping, Optional

import numpy as np

from pytfpol.errors import UsageError
from pytfpol.policy.inference import ASSUMED_STRIDES, MASK_KEYS, VALUE
from pytfpol.policy.policy_config import TYPE_KEYS, NetworkConfig, PolicyConfig


def complete_config(
    config: PolicyConfig,
    shapes: Mapping[str, tuple[int, ...]],
    discrete_actions: Optional[int],
    observation_spec: Any = None,
) -> PolicyConfig:
    """Decide what a config leaves to the checkpoint and the env: `saved_as` (GreedyPolicy or
    not), PPO's observation normalizer, an action mask, conv strides and pixel scaling, and for
    inferred configs the projection head and C51's atoms.

    `discrete_actions` is the number of actions of a scalar discrete action spec, else None;
    `observation_spec` the env's observation spec (a nest of specs with shape and dtype)."""
    if config.factory:
        return config
    config = _decide_mask(config, observation_spec)
    seen = observation_spec
    if config.mask_key and isinstance(observation_spec, Mapping):
        seen = observation_spec.get(config.observation_key)
    config = _decide_pixels(config, seen)
    wrapped = f"{config.policy_key}/_wrapped_policy/"
    saved_as = config.saved_as
    if saved_as is None:
        saved_as = "greedy" if any(k.startswith(wrapped) for k in shapes) else "plain"
    root = wrapped if saved_as == "greedy" else f"{config.policy_key}/"
    normalizer = config.observation_normalizer
    if config.is_ppo and normalizer is None:
        normalizer = any(k.startswith(root + "_observation_normalizer/") for k in shapes)
    network = config.required_network
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
    completed = _decide_strides(completed, seen)
    if config.inferred:
        completed = replace(completed, source_text=render_toml(completed, comments))
    return completed


def _decide_mask(config: PolicyConfig, observation_spec: Any) -> PolicyConfig:
    """TF-Agents' action-mask convention: a Dict observation with `observation` and `mask`
    keys is split into the network's input and the mask (unless the config names the keys)."""
    if config.mask_key or not isinstance(observation_spec, Mapping):
        return config
    if set(MASK_KEYS) <= set(observation_spec):
        return replace(config, observation_key=MASK_KEYS[0], mask_key=MASK_KEYS[1])
    return config


def _decide_pixels(config: PolicyConfig, observation_spec: Any) -> PolicyConfig:
    """How a conv network's observation becomes floats: as it is for float observations; for
    an integer image, what the config or the evidence says, else refuse (exit 2)."""
    networks = {"network": config.network, "value_network": config.value_network}
    decided = {}
    for table, net in networks.items():
        if (
            net is None
            or net.pixel_scaling is not None
            or "pixel_scaling" not in TYPE_KEYS[net.type]
        ):
            continue
        dtype = getattr(observation_spec, "dtype", None)
        integer = dtype is not None and not _is_floating(dtype)
        # an image is what conv layers see; a weightless first layer scales whatever it gets
        if not (integer and net.conv_layer_params) and not net.leading_layer:
            decided[table] = replace(net, pixel_scaling="none")
            continue
        found = config.evidence.pixel_scaling if config.evidence is not None else None
        if found in ("cast", "divide_by_255"):
            decided[table] = replace(net, pixel_scaling=found)
            continue
        raise _pixel_refusal(config, table, found, observation_spec)
    return config.with_updates(**decided) if decided else config


def _is_floating(dtype: Any) -> bool:
    """A TensorFlow DType's `is_floating`, or a NumPy dtype's kind."""
    floating = getattr(dtype, "is_floating", None)
    if floating is not None:
        return bool(floating)
    return np.dtype(dtype).kind == "f"


def _pixel_refusal(config: PolicyConfig, table: str, found, observation_spec) -> UsageError:
    where = config.path.removesuffix(" (inferred)")
    dtype = getattr(observation_spec.dtype, "name", observation_spec.dtype)
    if config.required_network.leading_layer:
        dtype += (
            " and the network's first layer holds no weights (a pixel-scaling layer, as "
            "mnih15's x / 255)"
        )
    if not config.inferred:
        why = f"{config.path} does not say ([{table}] pixel_scaling)"
    elif config.evidence is None:
        why = "no SavedModel of the same run was found beside it to read it from"
    else:
        why = f"the SavedModel beside it ({config.evidence.saved_model}) " + (
            found or "does not show it (no cast or scaling of the observation in its graph)"
        )
    lines = " | ".join(f'[{table}] pixel_scaling = "{v}"' for v in ("cast", "divide_by_255"))
    return UsageError(
        f"{where}: the observation is {dtype} and how the network turned it into floats (cast "
        f"only, or cast and divided by 255) is not stored in a checkpoint; {why}",
        f"say which in a --config with the rest of the network: {lines} (docs/networks.md)",
    )


def _decide_strides(config: PolicyConfig, observation_spec: Any) -> PolicyConfig:
    """Conv strides left undecided (0) by inference, for the network and a PPO value network:
    the evidence's (the actor's, the only convolutions of its action function), else the only
    strides (at most the kernel size) that turn the observation into the input size of the
    layer after the convolutions; refuse (exit 2) listing the config line for each when
    several fit."""
    for table in ("network", "value_network"):
        net = getattr(config, table)
        if net is None or not net.conv_layer_params or all(c[2] for c in net.conv_layer_params):
            continue
        shape = tuple(getattr(observation_spec, "shape", ()) or ())
        candidates = _stride_candidates(shape, net.conv_layer_params, net.conv_flat_size)
        found = config.evidence.conv_strides if config.evidence is not None else ()
        if table == "network" and tuple(found) in candidates:
            chosen, note = (
                tuple(found),
                (
                    f"conv strides {list(found)}: read from the graph of the SavedModel beside it "
                    f"({config.evidence.saved_model}); strides are not stored in a checkpoint"
                ),
            )
        elif len(candidates) == 1:
            chosen, note = candidates[0], ASSUMED_STRIDES
        else:
            raise _stride_refusal(config, table, shape, candidates)
        convs = tuple((f, k, s) for (f, k, _), s in zip(net.conv_layer_params, chosen))
        config = replace(config, assumed=(*config.assumed, note))
        config = replace(config, **{table: replace(net, conv_layer_params=convs)})
    return config


def _stride_candidates(shape: tuple, convs, flat_size: Optional[int]) -> list[tuple[int, ...]]:
    """Every choice of strides (1..kernel size each) whose valid-padding outputs flatten to
    `flat_size` values for an observation of `shape` (height, width, channels)."""
    if len(shape) != 3 or flat_size is None:
        return []
    fits = []
    for strides in itertools.product(*(range(1, k + 1) for _, k, _ in convs)):
        height, width = shape[0], shape[1]
        for (_, kernel, _), stride in zip(convs, strides):
            height = (height - kernel) // stride + 1 if height >= kernel else 0
            width = (width - kernel) // stride + 1 if width >= kernel else 0
        if height > 0 and width > 0 and height * width * convs[-1][0] == flat_size:
            fits.append(strides)
    return fits


def _stride_refusal(config: PolicyConfig, table: str, shape: tuple, candidates) -> UsageError:
    where = config.path.removesuffix(" (inferred)")
    net = getattr(config, table)
    convs = net.conv_layer_params
    layers = ", ".join(f"{f} filters {k}x{k}" for f, k, _ in convs)
    if not candidates:
        return UsageError(
            f"{where}: no conv strides (up to the kernel size, valid padding) turn the "
            f"observation {list(shape)} through conv layers of {layers} into the "
            f"{net.conv_flat_size} inputs of the layer after them",
            "check --env, or give the network in a --config with conv_layer_params = "
            "[[filters, kernel_size, stride], ...] (docs/networks.md)",
        )
    lines = " | ".join(
        f"[{table}] conv_layer_params = " + str([[f, k, s] for (f, k, _), s in zip(convs, strides)])
        for strides in candidates
    )
    evidence = (
        f"the SavedModel beside it ({config.evidence.saved_model}) records no strides that fit"
        if config.evidence is not None
        else "no SavedModel of the same run was found beside it to read them from"
    )
    return UsageError(
        f"{where}: conv strides are not stored in a checkpoint, and {len(candidates)} choices fit "
        f"conv layers of {layers} on the observation {list(shape)}; {evidence}",
        f"say which in a --config with the rest of the network: {lines} (docs/networks.md)",
    )


def render_toml(config: PolicyConfig, comments=()) -> str:
    """A completed config as a TOML file a user can copy and edit."""
    lines = ["# Inferred by pytfpol from the checkpoint's variable names and shapes."]
    if config.assumed:
        lines.append("# Not stored in a checkpoint, so assumed:")
        lines += [f"#   - {text}" for text in config.assumed]
    lines += [f"# {text}" for text in comments]
    lines += ["", f"description = {_quoted(config.description)}", ""]
    lines += _network_lines("network", config.required_network)
    if config.value_network is not None:
        lines += _network_lines("value_network", config.value_network)
    lines += ["[policy]", f'saved_as = "{config.saved_as}"']
    if config.mask_key:
        lines.append(f"observation_key = {_quoted(config.observation_key or '')}")
        lines.append(f"mask_key = {_quoted(config.mask_key)}")
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
        elif key == "conv_layer_params":
            if net.conv_layer_params:
                lines.append(f"conv_layer_params = {[list(c) for c in net.conv_layer_params]}")
        elif key == "pixel_scaling":
            if net.pixel_scaling not in (None, "none"):
                lines.append(f'pixel_scaling = "{net.pixel_scaling}"')
        else:
            lines.append(f"{key} = {list(getattr(net, key))}")
    lines += [f'activation = "{net.activation}"', ""]
    return lines


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
