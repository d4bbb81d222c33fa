"""Custom metrics (`--metric info.KEY[:sum|last|max|mean]`): a number the environment reports in
`info[KEY]` at each step, aggregated into one value per episode.

`Metric` is the parsed option (picklable: it rides in `RunOptions` to worker processes and Ray
actors); `read_metrics` takes the values out of one step's info (steppers call it, in whichever
process steps the env); `MetricTotals` aggregates them per slot in the evaluation loop. numpy only.

The policy for values that are not there: with `sum`, `max` and `mean` every step's info must
hold KEY; with `last` only the episode's final step's. A missing key, a value that is not one
number, or one that is not finite stops the run (exit 4) naming the key, the env, the episode and
the step: a silent NaN would leave a gate on the metric failing with no reason, a skipped step
would make a sum wrong.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from pytfpol.errors import RunError, UsageError

AGGREGATIONS = ("sum", "last", "max", "mean")
DEFAULT_AGGREGATION = "sum"  # as a return sums rewards
PREFIX = "info."
KEY_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,100}")
# The summary statistics of a metric: the return's (`stats.SUMMARY_KEYS` named `X_return` and
# `X_return_Y`) under the names `info.KEY_X` and `info.KEY_X_Y`.
STATISTICS = (
    "mean",
    "std",
    "sem",
    "min",
    "p5",
    "p25",
    "median",
    "p75",
    "p95",
    "max",
    "iqm",
    "mean_ci_low",
    "mean_ci_high",
    "iqm_ci_low",
    "iqm_ci_high",
)
METHOD_INFO_KEY = "info"  # an EnvFailure's `method` when an info value is missing or bad


@dataclass(frozen=True)
class Metric:
    key: str  # the info key
    aggregation: str = DEFAULT_AGGREGATION

    @property
    def name(self) -> str:
        """`info.KEY`: the metric's name in the report, gates and TensorBoard."""
        return PREFIX + self.key

    @property
    def every_step(self) -> bool:
        """Whether every step's info must hold the key (not only the final step's)."""
        return self.aggregation != "last"

    def statistic(self, suffix: str) -> str:
        return f"{self.name}_{suffix}"


def parse(text: str) -> Metric:
    """One `--metric` value; UsageError (exit 2) naming the accepted form."""
    body, _, aggregation = str(text).partition(":")
    aggregation = aggregation or DEFAULT_AGGREGATION
    hint = "e.g. --metric info.distance or --metric info.score:max (KEY of [A-Za-z0-9_.-])"
    if not body.startswith(PREFIX) or not KEY_PATTERN.fullmatch(body[len(PREFIX) :]):
        raise UsageError(f"--metric {text!r}: not of the form info.KEY[:AGGREGATION]", hint)
    if aggregation not in AGGREGATIONS:
        raise UsageError(
            f"--metric {text!r}: unknown aggregation {aggregation!r}",
            f"choose one of: {', '.join(AGGREGATIONS)} (default {DEFAULT_AGGREGATION})",
        )
    return Metric(body[len(PREFIX) :], aggregation)


def parse_all(values: Sequence[Any]) -> tuple[Metric, ...]:
    """The `--metric`s of a run (strings or Metric), each key at most once."""
    metrics = tuple(v if isinstance(v, Metric) else parse(v) for v in values)
    names = [m.name for m in metrics]
    for name in names:
        if names.count(name) > 1:
            raise UsageError(f"--metric {name}: given twice", "give each info key once")
    return metrics


def split_statistic(name: str) -> tuple[str, str]:
    """`info.KEY_STAT` -> (`info.KEY`, STAT) for a STAT of `STATISTICS` (the longest that fits);
    ("", "") when `name` is not a metric statistic."""
    if not name.startswith(PREFIX):
        return "", ""
    for suffix in sorted(STATISTICS, key=len, reverse=True):
        metric = name[: -len(suffix) - 1]
        if name.endswith("_" + suffix) and KEY_PATTERN.fullmatch(metric[len(PREFIX) :]):
            return metric, suffix
    return "", ""


class InfoProblem(Exception):
    """An info value a metric needs is missing or not a finite number."""


def read_value(info: Any, key: str) -> float:
    """`info[key]` as a finite float; InfoProblem saying what is wrong."""
    try:
        value = info[key]
    except (KeyError, TypeError, IndexError):
        raise InfoProblem(f"info has no {key!r}") from None
    if isinstance(value, (str, bytes)):
        raise InfoProblem(f"info[{key!r}] is not a number ({type(value).__name__})")
    try:
        number = float(np.asarray(value).item())
    except (TypeError, ValueError):  # not one value, or not a number
        raise InfoProblem(f"info[{key!r}] is not one number ({type(value).__name__})") from None
    if not math.isfinite(number):
        raise InfoProblem(f"info[{key!r}] is not finite ({number})")
    return number


def read_metrics(info: Any, metrics: Sequence[Metric], done: bool) -> list[float]:
    """One step's values of `metrics` (NaN where a `last` metric's value is not needed yet)."""
    return [read_value(info, m.key) if (done or m.every_step) else math.nan for m in metrics]


def read_vector_metrics(
    info: Any, metrics: Sequence[Metric], slots: np.ndarray, done: np.ndarray
) -> np.ndarray:
    """A vector env's info (arrays over its sub-envs, `_KEY` marking those that report KEY)
    for `slots`: one row per slot. InfoProblem names the first slot without a needed value."""
    values = np.full((len(slots), len(metrics)), math.nan)
    for j, metric in enumerate(metrics):
        needed = np.ones(len(slots), bool) if metric.every_step else np.asarray(done, bool)
        if not needed.any():
            continue
        if not isinstance(info, dict) or metric.key not in info:
            raise InfoProblem(f"info has no {metric.key!r}")
        column = np.asarray(info[metric.key])
        mask = np.asarray(info.get("_" + metric.key, np.ones(column.shape[0], bool)))[slots]
        for k in np.flatnonzero(needed).tolist():
            if not mask[k]:
                raise InfoProblem(f"info has no {metric.key!r} for sub-env {int(slots[k])}")
            values[k, j] = read_value({metric.key: column[slots[k]]}, metric.key)
    return values


class MetricTotals:
    """Per slot row, each metric's aggregate of the episode running there."""

    def __init__(self, metrics: Sequence[Metric], size: int) -> None:
        self.metrics = tuple(metrics)
        self.totals = np.zeros((size, len(self.metrics)))

    def start(self, rows: Any) -> None:
        for j, metric in enumerate(self.metrics):
            self.totals[rows, j] = -math.inf if metric.aggregation == "max" else 0.0

    def add(self, rows: Any, values: np.ndarray) -> None:
        """One step's values (a row per entry of `rows`)."""
        for j, metric in enumerate(self.metrics):
            if metric.aggregation == "max":
                self.totals[rows, j] = np.maximum(self.totals[rows, j], values[:, j])
            elif metric.aggregation == "last":
                self.totals[rows, j] = values[:, j]
            else:
                self.totals[rows, j] += values[:, j]

    def episode(self, row: int, length: int) -> dict[str, float]:
        """The finished episode's value of each metric, by name."""
        result = {}
        for j, metric in enumerate(self.metrics):
            value = float(self.totals[row, j])
            result[metric.name] = value / length if metric.aggregation == "mean" else value
        return result


def info_failure(where: str, description: str) -> RunError:
    """The run's error (exit 4) when a step's info lacks a metric's value."""
    return RunError(
        f"{where}: --metric: {description}",
        "report the key in every step's info (only in the last step's with :last), or drop "
        "that --metric; completed episodes were written",
    )
