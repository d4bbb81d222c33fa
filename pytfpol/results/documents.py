"""The report documents, typed: `stats.json` (`EvalReport`) and `sweep.json` (`SweepReport`).

Each has one writer (`write_eval_report`, `write_sweep_report`: the JSON text is `to_json()`) and
one reader (`read_eval_report`, `read_sweep_report`) that validates what it reads back: a regular
file within its size limit (`formats.input_files`), a JSON object, a `schema_version` this
pytfpol reads, the keys every reader relies on with their types. A file that fails is refused
with InputError (exit 3) naming the file and the key. JUnit, Markdown, TensorBoard and the tables
are views of these types (`junit.suite_for`).

A document keeps what it was built or read from faithfully: its keys in their order (the JSON is
written byte for byte as before), and keys this version does not know in `extra`.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Optional, TypeVar, Union

from pytfpol.errors import InputError
from pytfpol.formats import input_files, layout
from pytfpol.results import files

EVAL_SCHEMA_VERSION = (
    2  # 2: `gates` is a list (with a top-level `passed`); episodes carry `success`
)
SWEEP_SCHEMA_VERSION = 1
SWEEP_KIND = "sweep"
SWEEP_JSON_LIMIT = input_files.LIMITS[layout.STATS_JSON]  # a sweep.json holds a few reports
_NUMBER = (int, float)
_OPTIONAL_DICT = (dict, type(None))
Doc = TypeVar("Doc", bound="_Document")


@dataclass
class _Document:
    """Fields named as the JSON keys; `extra`: keys this version does not know; `order`: the
    keys in the order they were read or built (an absent optional key stays absent)."""

    # (key, accepted types, required): what read_* checks; the dataclass fields are these keys.
    SCHEMA: ClassVar[tuple[tuple[str, tuple, bool], ...]] = ()
    VERSION: ClassVar[int] = 0
    WHAT: ClassVar[str] = ""

    extra: dict[str, Any] = field(default_factory=dict, kw_only=True)
    order: tuple[str, ...] = field(default=(), kw_only=True)

    @classmethod
    def from_dict(cls: type[Doc], data: dict, origin: Optional[Path] = None) -> Doc:
        """The document `data` is, checked against the schema when `origin` (the file it was
        read from) is given; built ones (origin None) are taken as they are."""
        if origin is not None:
            _check(cls, data, origin)
        known = {f.name for f in dataclasses.fields(cls)} - {"extra", "order"}
        values = {k: v for k, v in data.items() if k in known}
        extra = {k: v for k, v in data.items() if k not in known}
        return cls(**values, extra=extra, order=tuple(data))

    def to_dict(self) -> dict:
        """The JSON object, keys in their original order (unknown ones kept)."""
        keys = self.order or tuple(k for k, _, _ in self.SCHEMA)
        result = {k: self.extra[k] if k in self.extra else getattr(self, k) for k in keys}
        result.update((k, v) for k, v in self.extra.items() if k not in result)
        return result

    def to_json(self) -> str:
        return files.report_json(self.to_dict())


@dataclass
class EvalReport(_Document):
    """stats.json: what `pytfpol eval` ran and what came of it (see report.report_base)."""

    SCHEMA = (
        ("schema_version", (int,), True),
        ("complete", (bool,), True),
        ("error", _OPTIONAL_DICT, False),
        ("created", (str,), False),
        ("summary", (dict,), True),
        ("episodes", (list,), True),
        ("policy", (dict,), True),
        ("env", (dict,), True),
        ("settings", (dict,), False),
        ("backend", _OPTIONAL_DICT, False),
        ("statistics", (dict,), False),
        ("gates", (list, dict), False),  # a dict in schema 1
        ("passed", (bool,), False),
        ("warnings", (list,), False),
        ("timing", (dict,), False),
        ("versions", (dict,), False),
        ("output", (dict,), False),
    )
    VERSION = EVAL_SCHEMA_VERSION
    WHAT = "eval report (stats.json)"

    schema_version: int = EVAL_SCHEMA_VERSION
    complete: bool = True
    error: Optional[dict] = None
    created: Optional[str] = None
    summary: dict = field(default_factory=dict)
    episodes: list = field(default_factory=list)
    policy: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    backend: Optional[dict] = None
    statistics: dict = field(default_factory=dict)
    gates: Union[list, dict] = field(default_factory=list)
    passed: bool = False
    warnings: list = field(default_factory=list)
    timing: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    output: dict = field(default_factory=dict)


@dataclass
class SweepReport(_Document):
    """sweep.json: every checkpoint's result, the best, the aggregate and the gates."""

    SCHEMA = (
        ("schema_version", (int,), True),
        ("kind", (str,), True),
        ("complete", (bool,), True),
        ("error", _OPTIONAL_DICT, False),
        ("created", (str,), False),
        ("policy", (dict,), True),
        ("env", (dict,), True),
        ("settings", (dict,), False),
        ("runs", (list,), True),
        ("checkpoints", (list,), True),
        ("backend", _OPTIONAL_DICT, False),
        ("best", _OPTIONAL_DICT, False),
        ("aggregate", (dict, list, type(None)), False),
        ("gates", (list,), True),
        ("passed", (bool,), True),
        ("warnings", (list,), False),
        ("timing", (dict,), False),
        ("versions", (dict,), False),
        ("output", (dict,), True),
    )
    VERSION = SWEEP_SCHEMA_VERSION
    WHAT = "sweep report (sweep.json)"

    schema_version: int = SWEEP_SCHEMA_VERSION
    kind: str = SWEEP_KIND
    complete: bool = True
    error: Optional[dict] = None
    created: Optional[str] = None
    policy: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    runs: list = field(default_factory=list)
    checkpoints: list = field(default_factory=list)
    backend: Optional[dict] = None
    best: Optional[dict] = None
    aggregate: Any = None
    gates: list = field(default_factory=list)
    passed: bool = False
    warnings: list = field(default_factory=list)
    timing: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    output: dict = field(default_factory=dict)


Report = Union[EvalReport, SweepReport]


def as_document(report: Union[dict, Report]) -> Report:
    """A report built by a command as a dict, typed: a sweep's says so (`kind`)."""
    if isinstance(report, (EvalReport, SweepReport)):
        return report
    if report.get("kind") == SWEEP_KIND:
        return SweepReport.from_dict(report)
    return EvalReport.from_dict(report)


# ------------------------------------------------------------------------------ the writers


def write_eval_report(out: Path, report: Union[dict, EvalReport]) -> None:
    """Write episodes.csv, then stats.json (last: its presence means the run's files are there)."""
    document = report if isinstance(report, EvalReport) else EvalReport.from_dict(report)
    csv_path, json_path = Path(out) / files.EPISODES_CSV, Path(out) / files.STATS_JSON
    files.write_atomic(csv_path, files.episodes_csv(document.episodes).encode())
    files.write_atomic(json_path, document.to_json().encode())


def write_sweep_report(out: Path, report: Union[dict, SweepReport]) -> None:
    """Write sweep.json (its curve, episodes and pictures are written beside it first)."""
    document = report if isinstance(report, SweepReport) else SweepReport.from_dict(report)
    files.write_atomic(Path(out) / layout.SWEEP_JSON, document.to_json().encode())


# ------------------------------------------------------------------------------ the readers


def read_eval_report(path: str | os.PathLike) -> EvalReport:
    """stats.json at `path`, validated (InputError, exit 3, naming the file and the key)."""
    data = _read_object(Path(path), input_files.LIMITS[layout.STATS_JSON], EvalReport)
    report = EvalReport.from_dict(data, Path(path))
    for index, episode in enumerate(report.episodes):
        where = f"episodes[{index}]"
        _need(isinstance(episode, dict), path, where, "is not an object")
        _typed(episode, "seed", (int,), True, path, f"{where}.")
        _typed(episode, "return", (*_NUMBER, type(None)), True, path, f"{where}.")
        _check_metric_values(episode, path, f"{where}.")
    _typed(report.env, "id", (str,), True, path, "env.")
    _typed(report.statistics, "metrics", (dict,), False, path, "statistics.")
    return report


def _check_metric_values(episode: dict, path: Any, prefix: str) -> None:
    """An episode's optional `metrics` (--metric, schema 2 and up): `info.KEY` -> number/null."""
    _typed(episode, "metrics", (dict,), False, path, prefix)
    for name in episode.get("metrics", {}):
        _need(
            isinstance(name, str) and name.startswith("info."),
            path,
            f"{prefix}metrics",
            f"has the key {name!r}, not info.KEY",
        )
        _typed(episode["metrics"], name, (*_NUMBER, type(None)), True, path, f"{prefix}metrics.")


def read_sweep_report(path: str | os.PathLike) -> SweepReport:
    """sweep.json at `path`, validated (InputError, exit 3, naming the file and the key)."""
    data = _read_object(Path(path), SWEEP_JSON_LIMIT, SweepReport)
    report = SweepReport.from_dict(data, Path(path))
    _need(report.kind == SWEEP_KIND, path, "kind", f"is {report.kind!r}, not {SWEEP_KIND!r}")
    _typed(report.env, "id", (str,), True, path, "env.")
    return report


def _read_object(path: Path, limit: int, cls: type[_Document]) -> dict:
    hint = f"give the {cls.WHAT} written by pytfpol"
    text = input_files.read_text(path, limit, path.name, hint)
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise InputError(
            f"{path}: not a pytfpol {cls.WHAT}: not JSON ({exc})", hint, path=path
        ) from None
    _need(isinstance(data, dict), path, "(top level)", "is not a JSON object")
    return data


def _check(cls: type[_Document], data: dict, path: Path) -> None:
    """The schema version first (a newer one is named as such), then every key of the schema."""
    _typed(data, "schema_version", (int,), True, path)
    version = data["schema_version"]
    newer = f"is {version}: newer than this pytfpol reads (up to {cls.VERSION}); upgrade pytfpol"
    _need(1 <= version <= cls.VERSION, path, "schema_version", newer if version > 0 else "< 1")
    for key, types, required in cls.SCHEMA:
        _typed(data, key, types, required, path)


def _typed(data: dict, key: str, types: tuple, required: bool, path: Any, prefix: str = "") -> None:
    if key not in data:
        _need(not required, path, prefix + key, "is missing")
        return
    value = data[key]
    ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
    names = " or ".join("null" if t is type(None) else _JSON_NAMES[t] for t in types)
    _need(ok, path, prefix + key, f"is {_json_type(value)}, not {names}")


def _need(condition: bool, path: Any, key: str, problem: str) -> None:
    if not condition:
        raise InputError(
            f"{path}: not a valid pytfpol report: {key} {problem}",
            "give a report written by pytfpol (stats.json of `eval`, sweep.json of `sweep`)",
            path=Path(path),
        )


_JSON_NAMES = {
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true/false",
}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    for python, name in _JSON_NAMES.items():
        if type(value) is python:
            return name
    return type(value).__name__
