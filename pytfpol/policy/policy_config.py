"""Policy configs: TOML files that say how to rebuild the TF policy a Checkpointer saved.

A `common.Checkpointer` directory holds variables but no graph, so the network has to be rebuilt
exactly as it was trained before `PyTFPolicy.restore` can fill it. A config names the network
type and its layer sizes, the value network of a PPO policy, how the policy was wrapped when
saved, the names used inside the checkpoint, and optional observation normalisation from
NumpyState side data. Configs are data: TOML, validated here (no TensorFlow), never evaluated.
Unknown keys and wrong types are errors that name the file, the key and its line.

The configs shipped with pytfpol live in `configs/` at the repository root; `pytfpol/configs` is
a symlink to it, so the same files are found in a checkout, an editable install and the wheel
(where setuptools copies them as package data). `--config NAME` accepts their names.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Optional

from pytfpol.errors import InputError, UsageError
from pytfpol.formats import input_files

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.9/3.10
    import tomli as tomllib

Q_NETWORKS = (
    "sequential",
    "sequential_rnn",
    "q_network",
    "q_rnn_network",
    "categorical_q_network",
)
ACTOR_NETWORKS = (
    "actor_network",
    "sequential_actor",
    "actor_rnn_network",
    "actor_distribution_network",
    "actor_distribution_rnn_network",
)
VALUE_NETWORKS = ("value_network", "value_rnn_network")
NETWORK_TYPES = Q_NETWORKS + ACTOR_NETWORKS
DISTRIBUTION_NETWORKS = ("actor_distribution_network", "actor_distribution_rnn_network")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "selu", "swish", "gelu", "linear")
SAVED_AS = ("greedy", "plain")
PROJECTIONS = ("normal", "tanh_normal")
# How an integer (uint8) image becomes the floats a conv network sees; "none" feeds it as is.
PIXEL_SCALINGS = ("none", "cast", "divide_by_255")

_FC = ("fc_layer_params",)
_RNN = ("input_fc_layer_params", "lstm_size", "output_fc_layer_params")
_CATEGORICAL = ("num_atoms", "min_q_value", "max_q_value")
_CONV = ("conv_layer_params", "pixel_scaling")  # TF-Agents' EncodingNetwork: conv, then fc
# The size keys each network type takes (besides `type` and `activation`).
TYPE_KEYS: dict[str, tuple[str, ...]] = {
    "sequential": _FC + _CONV,
    "sequential_rnn": _RNN,
    "q_network": _FC + _CONV,
    "categorical_q_network": _FC + _CONV + _CATEGORICAL,
    "q_rnn_network": _RNN,
    "actor_network": _FC,
    "sequential_actor": _FC,
    "actor_rnn_network": _RNN,
    "actor_distribution_network": _FC + _CONV + ("continuous_projection",),
    "actor_distribution_rnn_network": _RNN + ("continuous_projection",),
    "value_network": _FC + _CONV,
    "value_rnn_network": _RNN,
}

SHIPPED_CONFIGS_DIR = Path(__file__).resolve().parents[1] / "configs"  # pytfpol/configs
FACTORY_HINT = 'or write a config with factory = "module:function" that returns the policy'


@dataclass(frozen=True)
class NetworkConfig:
    type: str
    fc_layer_params: tuple[int, ...] = ()
    input_fc_layer_params: tuple[int, ...] = ()
    lstm_size: tuple[int, ...] = ()
    output_fc_layer_params: tuple[int, ...] = ()
    activation: str = "relu"
    # SAC saves a tanh_normal projection. None (inferred configs only): one `_projection_layer`
    # head, categorical for a discrete action, tanh_normal for a continuous one.
    continuous_projection: Optional[str] = "normal"
    num_atoms: Optional[int] = 51  # categorical_q_network; None (inferred): from the kernel
    min_q_value: float = -10.0
    max_q_value: float = 10.0
    # (filters, kernel size, stride) per Conv2D layer; stride 0: not decided yet (inferred
    # configs: `complete_config` reads it off the shapes, or evidence, or refuses).
    conv_layer_params: tuple[tuple[int, int, int], ...] = ()
    # None: decided by `complete_config` ("none" for float observations; evidence, else a
    # refusal, for integer ones).
    pixel_scaling: Optional[str] = None
    # Inferred conv networks: the input size of the layer after Flatten (decides the strides).
    conv_flat_size: Optional[int] = field(default=None, compare=False)
    # Inferred Sequential networks: a first layer without weights (a pixel-scaling Lambda, as
    # mnih15's `x / 255`) was seen, so pixel_scaling must be decided whatever the dtype.
    leading_layer: bool = field(default=False, compare=False)

    @property
    def is_q(self) -> bool:
        return self.type in Q_NETWORKS

    def describe(self) -> str:
        keys = [k for k in TYPE_KEYS[self.type] if k in _FC + _RNN]
        parts = [f"{k}={list(getattr(self, k))}" for k in keys]
        if self.conv_layer_params:
            parts.insert(0, f"conv_layer_params={[list(c) for c in self.conv_layer_params]}")
        if self.pixel_scaling not in (None, "none"):
            parts.append(f"pixel_scaling={self.pixel_scaling}")
        if self.type == "categorical_q_network":
            parts.append(f"num_atoms={self.num_atoms}")
        parts.append(f"activation={self.activation}")
        if self.type in DISTRIBUTION_NETWORKS and self.continuous_projection == "tanh_normal":
            parts.append("projection=tanh_normal")
        return f"{self.type}({', '.join(parts)})"


@dataclass(frozen=True)
class NormalizationConfig:
    """Observation normalisation from NumpyState arrays: (obs - mean) / sqrt(var + eps), clipped."""

    mean: str
    std: Optional[str] = None
    variance: Optional[str] = None
    epsilon: float = 1e-8
    clip: Optional[float] = None


@dataclass(frozen=True)
class PolicyConfig:
    path: str
    network: Optional[NetworkConfig] = None
    value_network: Optional[NetworkConfig] = None  # set: the policy is a PPOPolicy
    factory: Optional[str] = None  # "package.module:function"(time_step_spec, action_spec)
    saved_as: Optional[str] = None  # None: read from the checkpoint (policy/_wrapped_policy/...)
    observation_normalizer: Optional[bool] = None  # PPO's own; None: read from the checkpoint
    policy_key: str = "policy"
    step_key: str = "global_step"
    normalization: Optional[NormalizationConfig] = None
    description: str = ""
    inferred: bool = False
    assumed: tuple[str, ...] = ()  # what an inferred config could not read off the variables
    # An action mask (TF-Agents' observation_and_action_constraint_splitter): the keys of a Dict
    # observation holding what the network sees and the mask. None: read off the env's specs.
    observation_key: Optional[str] = None
    mask_key: Optional[str] = None
    evidence: Any = field(default=None, compare=False)  # evidence.GraphEvidence, or None
    source_text: str = field(default="", repr=False, compare=False)

    @property
    def is_ppo(self) -> bool:
        return self.value_network is not None

    @property
    def required_network(self) -> NetworkConfig:
        """The [network] table: every config but a factory has one (checked when parsed)."""
        if self.network is None:
            raise UsageError(f"{self.path}: no [network] table", "add one, or name a factory")
        return self.network

    def describe(self) -> str:
        if self.factory:
            return f"factory {self.factory}"
        text = self.required_network.describe()
        if self.value_network is not None:
            text = f"ppo_policy(actor={text}, value={self.value_network.describe()}"
            if self.observation_normalizer:
                text += ", observation_normalizer"
            text += ")"
        if self.mask_key:
            text += f" masked by observation[{self.mask_key!r}]"
        return text

    def with_updates(self, **changes: Any) -> PolicyConfig:
        return replace(self, **changes)


# ---------------------------------------------------------------------------------------------
# Schema: table -> key -> (type, required)

_INT_LIST = "list of positive integers"
_CONV_LIST = "list of [filters, kernel_size, stride] lists of positive integers"
_NETWORK_SCHEMA = {
    "type": ("string", True),
    "conv_layer_params": (_CONV_LIST, False),
    "pixel_scaling": ("string", False),
    "fc_layer_params": (_INT_LIST, False),
    "input_fc_layer_params": (_INT_LIST, False),
    "lstm_size": (_INT_LIST, False),
    "output_fc_layer_params": (_INT_LIST, False),
    "activation": ("string", False),
}
_SCHEMA: dict[str, dict[str, tuple[str, bool]]] = {
    "": {"factory": ("string", False), "description": ("string", False)},
    "network": {
        **_NETWORK_SCHEMA,
        "continuous_projection": ("string", False),
        "num_atoms": ("positive integer", False),
        "min_q_value": ("number", False),
        "max_q_value": ("number", False),
    },
    "value_network": dict(_NETWORK_SCHEMA),
    "policy": {
        "saved_as": ("string", False),
        "observation_normalizer": ("boolean", False),
        "observation_key": ("string", False),
        "mask_key": ("string", False),
    },
    "checkpoint": {"policy": ("string", False), "step": ("string", False)},
    "normalization": {
        "mean": ("string", True),
        "std": ("string", False),
        "variance": ("string", False),
        "epsilon": ("number", False),
        "clip": ("number", False),
    },
}


def load_policy_config(path: str | Path) -> PolicyConfig:
    """Read and validate a policy config file."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise UsageError(f"--config {path}: no such file", shipped_hint())
    try:  # a config is the user's own option: what is wrong with it is exit 2, not 3
        text = input_files.read_text(
            path,
            input_files.LIMITS["policy config"],
            "a policy config",
            "give a TOML file or a shipped config's name (`pytfpol configs`)",
        )
    except InputError as exc:
        raise UsageError(f"--config {exc.message}", exc.hint, path=path) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML ({exc})", "fix the syntax at that line") from exc
    return _parse(path, text, data)


def resolve_config_path(value: str) -> Path:
    """`--config VALUE`: a path to a TOML file, else the name of a shipped config (with or without
    `.toml`). A file that exists always wins over a shipped name."""
    path = Path(value)
    if path.exists():
        return path
    if "/" not in value and "\\" not in value:
        name = value if value.endswith(".toml") else value + ".toml"
        shipped = SHIPPED_CONFIGS_DIR / name
        if shipped.is_file():
            return shipped
    raise UsageError(
        f"--config {value}: no such file, and not the name of a shipped config", shipped_hint()
    )


def _parse(path: Path, text: str, data: dict) -> PolicyConfig:
    checker = _Checker(path, text)
    for table, value in data.items():
        if isinstance(value, dict):
            checker.check_table(table, value)
        else:
            checker.check_key("", table, value)
    network, value_network = _networks(checker, path, data)
    factory = data.get("factory")
    if factory is not None and not re.fullmatch(r"[\w.]+:\w+", factory):
        raise checker.error("", "factory", 'must look like "package.module:function"')
    policy = data.get("policy", {})
    _check_policy_table(checker, policy, is_ppo=value_network is not None)
    checkpoint = data.get("checkpoint", {})
    return PolicyConfig(
        path=str(path),
        network=network,
        value_network=value_network,
        factory=factory,
        saved_as=policy.get("saved_as"),
        observation_normalizer=policy.get("observation_normalizer"),
        policy_key=checkpoint.get("policy", "policy"),
        step_key=checkpoint.get("step", "global_step"),
        normalization=_normalization(checker, data),
        description=data.get("description", ""),
        source_text=text,
        observation_key=policy.get("observation_key"),
        mask_key=policy.get("mask_key"),
    )


def _networks(
    checker: _Checker, path: Path, data: dict
) -> tuple[Optional[NetworkConfig], Optional[NetworkConfig]]:
    """[network] and PPO's [value_network]; a factory instead of both."""
    if "factory" in data and "network" in data:
        raise checker.error("", "factory", "give either factory or a [network] table, not both")
    if "factory" not in data and "network" not in data:
        raise UsageError(
            f"{path}: no [network] table and no factory",
            "say how to rebuild the policy: " + shipped_hint(),
        )
    network = value_network = None
    if "network" in data:
        network = _network(checker, "network", data["network"], NETWORK_TYPES)
    if "value_network" in data:
        if network is None or network.type not in DISTRIBUTION_NETWORKS:
            raise checker.error(
                "value_network",
                None,
                "a PPOPolicy (a [value_network]) needs an actor_distribution network in [network]",
            )
        value_network = _network(checker, "value_network", data["value_network"], VALUE_NETWORKS)
    return network, value_network


def _check_policy_table(checker: _Checker, policy: dict, is_ppo: bool) -> None:
    saved_as = policy.get("saved_as")
    if saved_as is not None and saved_as not in SAVED_AS:
        raise checker.error("policy", "saved_as", f"must be one of {', '.join(SAVED_AS)}")
    normalizer = policy.get("observation_normalizer")
    if normalizer is not None and not is_ppo:
        raise checker.error(
            "policy",
            "observation_normalizer",
            "only a PPOPolicy has its own observation normalizer: add [value_network], or use "
            "[normalization] for statistics saved as NumpyState",
        )
    if ("observation_key" in policy) != ("mask_key" in policy):
        key = "mask_key" if "observation_key" in policy else "observation_key"
        raise checker.error("policy", key, "an action mask needs both observation_key and mask_key")


def _normalization(checker: _Checker, data: dict) -> Optional[NormalizationConfig]:
    if "normalization" not in data:
        return None
    norm = data["normalization"]
    if ("std" in norm) == ("variance" in norm):
        raise checker.error("normalization", "mean", "give exactly one of std or variance")
    return NormalizationConfig(
        mean=norm["mean"],
        std=norm.get("std"),
        variance=norm.get("variance"),
        epsilon=float(norm.get("epsilon", 1e-8)),
        clip=None if norm.get("clip") is None else float(norm["clip"]),
    )


def _network(checker: _Checker, table: str, net: dict, types: tuple[str, ...]) -> NetworkConfig:
    kind = net["type"]
    if kind not in types:
        raise checker.error(table, "type", f"must be one of {', '.join(types)}")
    for key in net:
        if key not in ("type", "activation") and key not in TYPE_KEYS[kind]:
            takes = ", ".join(TYPE_KEYS[kind])
            raise checker.error(table, key, f"not used by {kind} (it takes {takes})")
    activation = net.get("activation", "relu")
    if activation not in ACTIVATIONS:
        raise checker.error(table, "activation", f"must be one of {', '.join(ACTIVATIONS)}")
    projection = net.get("continuous_projection", "normal")
    if projection not in PROJECTIONS:
        raise checker.error(
            table, "continuous_projection", f"must be one of {', '.join(PROJECTIONS)}"
        )
    if "lstm_size" in TYPE_KEYS[kind] and not net.get("lstm_size"):
        raise checker.error(table, "type", f"{kind} needs lstm_size")
    scaling = net.get("pixel_scaling")
    if scaling is not None and scaling not in PIXEL_SCALINGS:
        raise checker.error(table, "pixel_scaling", f"must be one of {', '.join(PIXEL_SCALINGS)}")
    low, high = float(net.get("min_q_value", -10.0)), float(net.get("max_q_value", 10.0))
    if not low < high:
        raise checker.error(table, "max_q_value", "must be greater than min_q_value")
    return NetworkConfig(
        type=kind,
        fc_layer_params=tuple(net.get("fc_layer_params", ())),
        input_fc_layer_params=tuple(net.get("input_fc_layer_params", ())),
        lstm_size=tuple(net.get("lstm_size", ())),
        output_fc_layer_params=tuple(net.get("output_fc_layer_params", ())),
        activation=activation,
        continuous_projection=projection,
        num_atoms=int(net.get("num_atoms", 51)),
        min_q_value=low,
        max_q_value=high,
        conv_layer_params=tuple(tuple(c) for c in net.get("conv_layer_params", ())),
        pixel_scaling=scaling,
    )


class _Checker:
    def __init__(self, path: Path, text: str) -> None:
        self._path = path
        self._lines = text.splitlines()

    def check_table(self, table: str, values: dict) -> None:
        if table not in _SCHEMA or table == "":
            raise UsageError(
                f"{self._path}:{self._line_of(table, None)}: unknown table [{table}]",
                f"known tables: {', '.join('[' + t + ']' for t in _SCHEMA if t)}",
            )
        for key, value in values.items():
            self.check_key(table, key, value)
        for key, (_, required) in _SCHEMA[table].items():
            if required and key not in values:
                raise UsageError(
                    f"{self._path}:{self._line_of(table, None)}: [{table}] needs {key}",
                    f"add `{key} = ...` to [{table}]",
                )

    def check_key(self, table: str, key: str, value: Any) -> None:
        schema = _SCHEMA.get(table, {})
        if key not in schema:
            known = ", ".join(schema) or "none"
            where = f"[{table}]" if table else "the top level"
            raise self.error(table, key, f"unknown key in {where} (known: {known})")
        kind, _ = schema[key]
        if not _has_type(value, kind):
            raise self.error(table, key, f"must be a {kind}, not {value!r}")

    def error(self, table: str, key: Optional[str], problem: str) -> UsageError:
        name = (f"{table}.{key}" if table else key) if key else f"[{table}]"
        return UsageError(
            f"{self._path}:{self._line_of(table, key)}: {name}: {problem}",
            "edit that line; `pytfpol configs` lists the shipped configs, which are examples",
        )

    def _line_of(self, table: str, key: Optional[str]) -> int:
        """1-based line of `key` in `[table]` (or of the table header); 0 when not found."""
        in_table = table == ""
        for number, line in enumerate(self._lines, start=1):
            stripped = line.strip()
            header = re.fullmatch(r"\[\s*([\w.-]+)\s*\]", stripped)
            if header:
                in_table = header.group(1) == table
                if in_table and key is None:
                    return number
                continue
            if in_table and key is not None and re.match(rf"{re.escape(key)}\s*=", stripped):
                return number
        return 0


def _has_type(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "positive integer":
        return isinstance(value, int) and not isinstance(value, bool) and value > 0
    if kind == _INT_LIST:
        return isinstance(value, list) and all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value
        )
    if kind == _CONV_LIST:
        return isinstance(value, list) and all(
            isinstance(v, list) and len(v) == 3 and _has_type(v, _INT_LIST) for v in value
        )
    raise AssertionError(kind)


# ---------------------------------------------------------------------------------------------
# The shipped configs


def shipped_configs() -> list[Path]:
    return sorted(SHIPPED_CONFIGS_DIR.glob("*.toml"))


def shipped_names() -> list[str]:
    return [p.stem for p in shipped_configs()]


def describe_shipped() -> list[dict]:
    """Every shipped config as a plain dict: name, file, what it rebuilds (its description and
    the architecture it builds)."""
    rows = []
    for path in shipped_configs():
        config = load_policy_config(path)
        rows.append(
            {
                "name": path.stem,
                "path": str(path),
                "description": config.description,
                "architecture": config.describe(),
                "saved_as": config.saved_as or "read from the checkpoint",
            }
        )
    return rows


def shipped_hint() -> str:
    """What a user can pass to --config: a shipped name, a path, or a factory."""
    names = ", ".join(shipped_names()) or "none found"
    return (
        f"pass --config NAME with a shipped config ({names}; `pytfpol configs` says what each "
        f"rebuilds), a path to a copy edited to match, {FACTORY_HINT}"
    )
