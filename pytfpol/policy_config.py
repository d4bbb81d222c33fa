"""Policy configs: TOML files that say how to rebuild the TF policy a Checkpointer saved.

A `common.Checkpointer` directory holds variables but no graph, so the network has to be rebuilt
exactly as it was trained before `PyTFPolicy.restore` can fill it. A config names the network
type and its layer sizes, how the policy was wrapped when saved, the names used inside the
checkpoint, and optional observation normalisation from NumpyState side data. Configs are data:
TOML, validated here (no TensorFlow), never evaluated. Unknown keys and wrong types are errors that
name the file, the key and its line.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from pytfpol.errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.9/3.10
    import tomli as tomllib

Q_NETWORKS = ("sequential", "q_network", "q_rnn_network")
ACTOR_NETWORKS = ("actor_network", "actor_distribution_network", "actor_distribution_rnn_network")
NETWORK_TYPES = Q_NETWORKS + ACTOR_NETWORKS
RNN_NETWORKS = ("q_rnn_network", "actor_distribution_rnn_network")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "selu", "swish", "gelu", "linear")
SAVED_AS = ("greedy", "plain")
PROJECTIONS = ("normal", "tanh_normal")

SHIPPED_CONFIGS_DIR = Path(__file__).resolve().parent.parent / "configs"


@dataclass(frozen=True)
class NetworkConfig:
    type: str
    fc_layer_params: tuple[int, ...] = ()
    input_fc_layer_params: tuple[int, ...] = ()
    lstm_size: tuple[int, ...] = ()
    output_fc_layer_params: tuple[int, ...] = ()
    activation: str = "relu"
    continuous_projection: str = "normal"  # SAC saves a tanh_normal projection

    @property
    def is_q(self) -> bool:
        return self.type in Q_NETWORKS


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
    factory: Optional[str] = None  # "package.module:function"(time_step_spec, action_spec)
    saved_as: str = "greedy"
    policy_key: str = "policy"
    step_key: str = "global_step"
    normalization: Optional[NormalizationConfig] = None
    source_text: str = field(default="", repr=False, compare=False)

    def describe(self) -> str:
        if self.factory:
            return f"factory {self.factory}"
        net = self.network
        sizes = {
            k: getattr(net, k)
            for k in (
                "fc_layer_params",
                "input_fc_layer_params",
                "lstm_size",
                "output_fc_layer_params",
            )
            if getattr(net, k)
        }
        inner = ", ".join(f"{k}={list(v)}" for k, v in sizes.items())
        return f"{net.type}({inner}{', ' if inner else ''}activation={net.activation})"


# ---------------------------------------------------------------------------------------------
# Schema: table -> key -> (type, required)

_INT_LIST = "list of positive integers"
_SCHEMA: dict[str, dict[str, tuple[str, bool]]] = {
    "": {"factory": ("string", False)},
    "network": {
        "type": ("string", True),
        "fc_layer_params": (_INT_LIST, False),
        "input_fc_layer_params": (_INT_LIST, False),
        "lstm_size": (_INT_LIST, False),
        "output_fc_layer_params": (_INT_LIST, False),
        "activation": ("string", False),
        "continuous_projection": ("string", False),
    },
    "policy": {"saved_as": ("string", False)},
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
    if path.exists() and not path.is_file():  # a FIFO would block the read forever
        raise UsageError(
            f"--config {path}: not a regular file", "give a TOML file (see configs/)", path=path
        )
    try:
        text = path.read_text()
    except FileNotFoundError as exc:
        raise UsageError(f"--config {path}: no such file", _shipped_hint()) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--config {path}: unreadable ({exc})", "give a UTF-8 TOML file") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML ({exc})", "fix the syntax at that line") from exc
    return _parse(path, text, data)


def _parse(path: Path, text: str, data: dict) -> PolicyConfig:
    checker = _Checker(path, text)
    for table, value in data.items():
        if isinstance(value, dict):
            checker.check_table(table, value)
        else:
            checker.check_key("", table, value)
    if "factory" in data and "network" in data:
        raise checker.error("", "factory", "give either factory or a [network] table, not both")
    if "factory" not in data and "network" not in data:
        raise UsageError(
            f"{path}: no [network] table and no factory",
            f"say how to rebuild the policy; see the configs in {SHIPPED_CONFIGS_DIR}",
        )
    network = None
    if "network" in data:
        net = data["network"]
        if net["type"] not in NETWORK_TYPES:
            raise checker.error("network", "type", f"must be one of {', '.join(NETWORK_TYPES)}")
        activation = net.get("activation", "relu")
        if activation not in ACTIVATIONS:
            raise checker.error("network", "activation", f"must be one of {', '.join(ACTIVATIONS)}")
        projection = net.get("continuous_projection", "normal")
        if projection not in PROJECTIONS:
            raise checker.error(
                "network", "continuous_projection", f"must be one of {', '.join(PROJECTIONS)}"
            )
        if net["type"] in RNN_NETWORKS and not net.get("lstm_size"):
            raise checker.error("network", "type", f"{net['type']} needs lstm_size")
        network = NetworkConfig(
            type=net["type"],
            fc_layer_params=tuple(net.get("fc_layer_params", ())),
            input_fc_layer_params=tuple(net.get("input_fc_layer_params", ())),
            lstm_size=tuple(net.get("lstm_size", ())),
            output_fc_layer_params=tuple(net.get("output_fc_layer_params", ())),
            activation=activation,
            continuous_projection=projection,
        )
    factory = data.get("factory")
    if factory is not None and not re.fullmatch(r"[\w.]+:\w+", factory):
        raise checker.error("", "factory", 'must look like "package.module:function"')
    saved_as = data.get("policy", {}).get("saved_as", "greedy")
    if saved_as not in SAVED_AS:
        raise checker.error("policy", "saved_as", f"must be one of {', '.join(SAVED_AS)}")
    normalization = None
    if "normalization" in data:
        norm = data["normalization"]
        if ("std" in norm) == ("variance" in norm):
            raise checker.error("normalization", "mean", "give exactly one of std or variance")
        normalization = NormalizationConfig(
            mean=norm["mean"],
            std=norm.get("std"),
            variance=norm.get("variance"),
            epsilon=float(norm.get("epsilon", 1e-8)),
            clip=None if norm.get("clip") is None else float(norm["clip"]),
        )
    checkpoint = data.get("checkpoint", {})
    return PolicyConfig(
        path=str(path),
        network=network,
        factory=factory,
        saved_as=saved_as,
        policy_key=checkpoint.get("policy", "policy"),
        step_key=checkpoint.get("step", "global_step"),
        normalization=normalization,
        source_text=text,
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

    def error(self, table: str, key: str, problem: str) -> UsageError:
        name = f"{table}.{key}" if table else key
        return UsageError(
            f"{self._path}:{self._line_of(table, key)}: {name}: {problem}",
            f"edit that line; the shipped configs in {SHIPPED_CONFIGS_DIR} are examples",
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
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == _INT_LIST:
        return isinstance(value, list) and all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value
        )
    raise AssertionError(kind)


def shipped_configs() -> list[Path]:
    return sorted(SHIPPED_CONFIGS_DIR.glob("*.toml"))


def _shipped_hint() -> str:
    names = ", ".join(p.name for p in shipped_configs())
    return f"shipped configs ({SHIPPED_CONFIGS_DIR}): {names or 'none'}"
