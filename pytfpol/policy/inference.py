"""Read a TF-Agents policy's architecture off a checkpoint's variable names and shapes.

So that `pytfpol eval TRAIN_DIR/policy --env ID` works without a config for the policies TF-Agents'
agents build from its own networks: Q policies (DQN v2's Sequential network, `QNetwork`,
`QRnnNetwork`, C51's `CategoricalQNetwork`), actor policies (`ActorNetwork`, DDPG v2's Sequential
actor, `ActorRnnNetwork`, `ActorDistributionNetwork`, `ActorDistributionRnnNetwork`) and PPO
policies (an actor distribution network, a `ValueNetwork`/`ValueRnnNetwork` and TF-Agents' own
observation normalizer). Every variable under the policy must belong to a recognised part, or
nothing is inferred.

Layer sizes come from kernel shapes (conv filters and kernel sizes too). What weights do not
store is never claimed as read (docs/networks.md):
- the activation is read from a PolicySaver SavedModel of the same run beside the Checkpointer
  directory when there is one (`evidence`), else assumed where TF-Agents' example scripts for
  that network agree (relu; tanh for PPO's feed-forward actor) and listed in `assumed`;
- conv strides are decided by `complete_config` from the observation shape and the input size
  of the layer after the convolutions, or the evidence; it refuses (exit 2, listing the config
  line for each candidate) when more than one fits;
- how an integer image is scaled (cast only, or cast and /255) comes from the evidence, else
  `complete_config` refuses;
- a single `_projection_layer` head is categorical for a discrete action and tanh-normal for a
  continuous one, and a Dict observation with TF-Agents' `observation`/`mask` keys is split into
  the network's input and an action mask: `complete_config` decides both from the env's specs.
Pure Python: no TensorFlow.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Mapping, Optional

import numpy as np

from pytfpol.errors import UsageError
from pytfpol.policy import evidence as graph_evidence
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
ASSUMED_PPO_ACTIVATION = (
    "activation tanh: what TF-Agents' PPO examples train the feed-forward actor with "
    "(agents/ppo/examples/v2/train_eval_clip_agent.py, schulman17's PPOActorNetwork); an "
    "activation is not stored in a checkpoint, and no SavedModel of the same run was found "
    "beside it to read it from"
)
ASSUMED_STRIDES = (
    "conv strides at most the kernel size, valid padding (TF-Agents' EncodingNetwork): strides "
    "are not stored in a checkpoint"
)
MASK_KEYS = ("observation", "mask")  # TF-Agents' convention for action-masked observations
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
        policy_shapes = {k: s for k, s in variables.items() if k.startswith(root)}
        found = graph_evidence.find_evidence(Path(path).parent, policy_shapes)
        config, read = _decide_activation(replace(config, evidence=found), path)
        return replace(config, assumed=_assumptions(config, read))
    return None


def _decide_activation(config: PolicyConfig, path: str) -> tuple[PolicyConfig, Optional[str]]:
    """The hidden layers' activation: read from the evidence, else what TF-Agents' examples for
    this network agree on. Returns the config and, when read, what it was read from."""
    found = config.evidence
    if found is not None and len(found.activations) > 1:
        raise UsageError(
            f"{path}: the SavedModel beside it ({found.saved_model}) applies several activations "
            f"({', '.join(found.activations)}) to its hidden layers: one activation a network is "
            "all a config can say",
            'write a factory for this policy: factory = "module:function"',
        )
    activation = found.activation if found is not None else None
    if activation is None:
        activation = "tanh" if _is_ppo_feed_forward(config) else "relu"
    config = config.with_updates(network=replace(config.required_network, activation=activation))
    if config.value_network is not None:  # PPO: the value network does not choose actions
        config = config.with_updates(
            value_network=replace(config.value_network, activation=activation)
        )
    read = found.saved_model if found is not None and found.activation else None
    return config, read


def _is_ppo_feed_forward(config: PolicyConfig) -> bool:
    return config.is_ppo and config.required_network.type == "actor_distribution_network"


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
        return _sequential(keys)
    if _only(
        keys,
        r"_sequential_layers/\d+/cell/cells/\d+/(kernel|recurrent_kernel|bias)",
        rf"_sequential_layers/\d+/{_DENSE}",
    ):
        return _sequential_rnn(keys)
    if _only(keys, rf"_q_value_layer/{_DENSE}", rf"_encoder/_postprocessing_layers/\d+/{_DENSE}"):
        return _encoding("q_network", keys, "_encoder/", "_q_value_layer/kernel")
    if _only(
        keys,
        rf"_q_network/_q_value_layer/{_DENSE}",
        rf"_q_network/_encoder/_postprocessing_layers/\d+/{_DENSE}",
    ):
        network = _encoding(
            "categorical_q_network",
            keys,
            "_q_network/_encoder/",
            "_q_network/_q_value_layer/kernel",
        )
        # the q-value layer holds num_actions * num_atoms units
        return None if network is None else replace(network, num_atoms=None)
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
        head = _PROJECTION_ONE if projection is None else _PROJECTION_NORMAL
        network = _encoding(
            "actor_distribution_network", keys, "_encoder/", f"_projection_networks/{head}kernel"
        )
        return None if network is None else replace(network, continuous_projection=projection)
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
        return _encoding("value_network", keys, "_encoder/", "_postprocessing_layers/kernel")
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


def _sequential(keys: dict[str, tuple]) -> Optional[NetworkConfig]:
    """DQN v2 train_eval's feed-forward network (Dense layers, the logits), or mnih15's Atari
    one: a first layer without weights (its pixel scaling), Conv2D layers, Flatten, Dense
    layers, the logits. Any other gap in the layer numbers is a layer pytfpol does not know."""
    layers = sorted((int(k.split("/")[1]), s) for k, s in keys.items() if k.endswith("/kernel"))
    if not layers:
        return None
    convs = [s for _, s in layers if len(s) == 4]
    dense = [s for _, s in layers if len(s) == 2]
    first = layers[0][0]
    expected = list(range(first, first + len(convs)))
    after = first + len(convs) + (1 if convs else 0)  # Flatten after the convolutions
    expected += list(range(after, after + len(dense)))
    if (
        [i for i, _ in layers] != expected
        or len(convs) + len(dense) != len(layers)
        or first > (1 if convs else 0)
        or not dense
        or any(s[0] != s[1] for s in convs)
    ):
        return None
    return NetworkConfig(
        "sequential",
        fc_layer_params=tuple(s[1] for s in dense[:-1]),
        conv_layer_params=tuple((s[3], s[0], 0) for s in convs),
        conv_flat_size=dense[0][0] if convs else None,
        pixel_scaling=None if first else "none",
        leading_layer=bool(first),
    )


def _sequential_rnn(keys: dict[str, tuple]) -> Optional[NetworkConfig]:
    """DQN v2 train_eval's `create_recurrent_network`: Dense layers, one DynamicUnroll of
    stacked LSTM cells, Dense layers, the logits; its layers numbered without gaps."""
    layers = sorted({int(k.split("/")[1]) for k in keys})
    cell_layers = {int(k.split("/")[1]) for k in keys if "/cell/" in k}
    if layers != list(range(len(layers))) or len(cell_layers) != 1:
        return None
    (unroll,) = cell_layers
    dense = {i: keys.get(f"_sequential_layers/{i}/kernel") for i in layers if i != unroll}
    widths = {i: shape[1] for i, shape in dense.items() if shape is not None and len(shape) == 2}
    if len(widths) != len(dense) or unroll == layers[-1]:
        return None
    return NetworkConfig(
        "sequential_rnn",
        input_fc_layer_params=tuple(widths[i] for i in layers if i < unroll),
        lstm_size=_lstm(keys, f"_sequential_layers/{unroll}/"),
        output_fc_layer_params=tuple(widths[i] for i in layers if i > unroll)[:-1],
    )


def _encoding(kind: str, keys: dict[str, tuple], prefix: str, head: str) -> Optional[NetworkConfig]:
    """A network over TF-Agents' EncodingNetwork at `prefix`: Conv2D layers (square kernels;
    strides decided later), Flatten, Dense layers, then the head kernel at `head`."""
    pattern = re.compile(re.escape(prefix) + r"_postprocessing_layers/(\d+)/kernel$")
    layers = sorted((int(m.group(1)), s) for k, s in keys.items() if (m := pattern.match(k)))
    convs = [s for _, s in layers if len(s) == 4]
    dense = [s for _, s in layers if len(s) == 2]
    if len(convs) + len(dense) != len(layers) or [len(s) for _, s in layers] != sorted(
        (len(s) for _, s in layers), reverse=True
    ):
        return None  # another rank, or a conv after a dense layer
    if any(s[0] != s[1] for s in convs):
        return None  # non-square kernels: give a config
    flat = None
    if convs:
        after = dense[0] if dense else keys.get(head)
        if after is None:
            return None
        flat = after[0]
    return NetworkConfig(
        kind,
        fc_layer_params=tuple(s[1] for s in dense),
        conv_layer_params=tuple((s[3], s[0], 0) for s in convs),
        conv_flat_size=flat,
    )


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


def read_activation(activation: str, saved_model: str) -> str:
    return (
        f"activation {activation}: read from the graph of the SavedModel of the same policy "
        f"beside it ({saved_model}); an activation is not stored in a checkpoint"
    )


def _assumptions(config: PolicyConfig, read_from: Optional[str]) -> tuple[str, ...]:
    networks = [n for n in (config.network, config.value_network) if n is not None]
    hidden = any(
        n.fc_layer_params
        or n.input_fc_layer_params
        or n.output_fc_layer_params
        or n.conv_layer_params
        for n in networks
    )
    assumed = []  # an LSTM's own activations are fixed
    if hidden and read_from:
        assumed.append(read_activation(config.required_network.activation, read_from))
    elif hidden:
        assumed.append(
            ASSUMED_PPO_ACTIVATION if _is_ppo_feed_forward(config) else ASSUMED_ACTIVATION
        )
    if config.required_network.type == "sequential_actor":
        assumed.append(ASSUMED_DDPG_OUTPUT)
    if config.required_network.type == "categorical_q_network":
        assumed.append(ASSUMED_SUPPORT)
    others = _shipped_with_other_activation(config)
    if assumed and others and not read_from:
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
        return (
            net.type,
            net.fc_layer_params,
            net.input_fc_layer_params,
            net.lstm_size,
            tuple(c[:2] for c in net.conv_layer_params),
        )

    found = []
    for path in shipped_configs():
        try:
            shipped = load_policy_config(path)
        except Exception:  # noqa: BLE001 - a broken shipped file must not break inference
            continue
        if (
            shipped.network is None
            or shipped.network.activation == config.required_network.activation
        ):
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
