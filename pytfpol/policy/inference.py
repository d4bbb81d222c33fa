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
- conv strides are decided by `completion.complete_config` from the observation shape and the
  input size of the layer after the convolutions, or the evidence; it refuses (exit 2, listing
  the config line for each candidate) when more than one fits;
- how an integer image is scaled (cast only, or cast and /255) comes from the evidence, else
  `complete_config` refuses;
- a single `_projection_layer` head is categorical for a discrete action and tanh-normal for a
  continuous one, and a Dict observation with TF-Agents' `observation`/`mask` keys is split into
  the network's input and an action mask: `complete_config` decides both from the env's specs.
Pure Python: no TensorFlow.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Mapping, Optional

from pytfpol.errors import UsageError
from pytfpol.policy import evidence as graph_evidence
from pytfpol.policy.policy_config import (
    DISTRIBUTION_NETWORKS,
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
