"""The report documents, typed: `stats.json` (`EvalReport`), `sweep.json` (`SweepReport`) and
the compare result (`CompareResult`, what `compare --json` prints), with their validating readers.

They live in `formats` (the layer of what pytfpol reads) so that everything reading a stats.json
uses the one reader: `formats.sources` (an eval output given as POLICY), `formats.inspect_report`
(`pytfpol inspect OUT`), `compare` and the replay; `results.documents` holds the one writer of
each (`results` imports `formats`, never the other way).

Each reader validates what it reads back: a regular file within its size limit
(`formats.input_files`), a JSON object, a `schema_version` this pytfpol reads, the keys every
reader relies on with their types. A file that fails is refused with InputError (exit 3) naming
the file and the key. JUnit, Markdown, TensorBoard and the tables are views of these types.

A document keeps what it was built or read from faithfully: its keys in their order (the JSON is
written byte for byte as before), and keys this version does not know in `extra`. Reading one
as a mapping (`report["summary"]`) is a read-only bridge for code written when the commands
returned dicts; new code uses the attributes, or `as_document()` for the JSON object.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Optional, TypeVar, Union

from pytfpol.errors import InputError
from pytfpol.formats import input_files, layout

EVAL_SCHEMA_VERSION = (
    2  # 2: `gates` is a list (with a top-level `passed`); episodes carry `success`
)
SWEEP_SCHEMA_VERSION = 1
SWEEP_KIND = "sweep"
SWEEP_JSON_LIMIT = input_files.LIMITS[layout.STATS_JSON]  # a sweep.json holds a few reports
_NUMBER = (int, float)
_OPTIONAL_DICT = (dict, type(None))
Doc = TypeVar("Doc", bound="_Document")


@dataclass(eq=False)
class _Document(Mapping):
    """Fields named as the JSON keys; `extra`: keys this version does not know; `order`: the
    keys in the order they were read or built (an absent optional key stays absent). Equal to
    another document, or to a dict, with the same JSON object."""

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

    def as_document(self) -> dict:
        """The exact JSON object (`to_dict`): what `--json` prints and the file holds."""
        return self.to_dict()

    # The read-only mapping bridge (see the module docstring): the JSON object's keys.
    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())

    def __len__(self) -> int:
        return len(self.to_dict())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (_Document, dict)):
            return self.to_dict() == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dict it stands for


@dataclass(eq=False)
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


@dataclass(eq=False)
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


COMPARE_SCHEMA_VERSION = 1
VERDICT_WORSE = "worse"
VERDICT_WORSE_WITHIN_MARGIN = "worse within margin"
VERDICT_BETTER = "better"
VERDICT_NO_DIFFERENCE = "no significant difference"
VERDICT_NO_INTERVAL = "no interval"
VERDICTS = (
    VERDICT_WORSE,
    VERDICT_WORSE_WITHIN_MARGIN,
    VERDICT_BETTER,
    VERDICT_NO_DIFFERENCE,
    VERDICT_NO_INTERVAL,
)


@dataclass(eq=False)
class CompareResult(_Document):
    """`pytfpol compare`'s result: both sides, the difference of one statistic with its
    interval and tests, the verdict (see commands.compare for the rule)."""

    SCHEMA = (
        ("schema_version", (int,), True),
        ("baseline", (dict,), True),
        ("candidate", (dict,), True),
        ("statistic", (str,), True),
        ("paired", (bool,), True),
        ("pairing", (str,), False),
        ("margin", _NUMBER, True),
        ("alpha", _NUMBER, True),
        ("difference", (dict,), True),
        ("verdict", (str,), True),
        ("passed", (bool,), True),
        ("rule", (str,), False),
        ("warnings", (list,), False),
        ("plot", (str, type(None)), False),
    )
    VERSION = COMPARE_SCHEMA_VERSION
    WHAT = "compare result (compare --json)"

    schema_version: int = COMPARE_SCHEMA_VERSION
    baseline: dict = field(default_factory=dict)
    candidate: dict = field(default_factory=dict)
    statistic: str = ""
    paired: bool = False
    pairing: str = ""
    margin: float = 0.0
    alpha: float = 0.05
    difference: dict = field(default_factory=dict)
    verdict: str = VERDICT_NO_INTERVAL
    passed: bool = True
    rule: str = ""
    warnings: list = field(default_factory=list)
    plot: Optional[str] = None


Report = Union[EvalReport, SweepReport]


def typed_report(report: Union[dict, Report]) -> Report:
    """A report built by a command as a dict, typed: a sweep's says so (`kind`)."""
    if isinstance(report, (EvalReport, SweepReport)):
        return report
    if report.get("kind") == SWEEP_KIND:
        return SweepReport.from_dict(report)
    return EvalReport.from_dict(report)


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


def read_compare_result(path: str | os.PathLike) -> CompareResult:
    """A compare result saved from `compare --json` at `path`, validated like the reports."""
    data = _read_object(Path(path), input_files.LIMITS[layout.STATS_JSON], CompareResult)
    result = CompareResult.from_dict(data, Path(path))
    _need(result.verdict in VERDICTS, path, "verdict", f"is {result.verdict!r}, not a verdict")
    _need(result.passed == (result.verdict != VERDICT_WORSE), path, "passed", "contradicts verdict")
    for key in ("baseline", "candidate", "difference"):
        _typed(result.difference, key, (*_NUMBER, type(None)), True, path, "difference.")
    for key in ("ci_low", "ci_high"):
        _typed(result.difference, key, (*_NUMBER, type(None)), True, path, "difference.")
    _typed(result.difference, "confidence_level", _NUMBER, True, path, "difference.")
    return result


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
            "give a report written by pytfpol (stats.json of `eval`, sweep.json of `sweep`, "
            "the JSON of `compare --json`)",
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
