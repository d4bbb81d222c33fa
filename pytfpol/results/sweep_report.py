"""What a sweep writes: `sweep.json`, `curve.csv`, `episodes.csv` (with the step of each
episode), TensorBoard event files, and which checkpoint is the best. TensorFlow only for the event files.

Each checkpoint's entry in `sweep.json` is what `pytfpol eval --step N` reports of it (its
`summary` and `episodes`), with `step`, `checkpoint`, `error` (null, or why it has no result) and
`reused` (true when taken from the journal of an earlier run of the same sweep).
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Optional

import numpy as np

from pytfpol.errors import OutputError, write_failure_cause
from pytfpol.results import documents, files, tensorboard_events
from pytfpol.results.documents import SweepReport

SWEEP_SCHEMA_VERSION = documents.SWEEP_SCHEMA_VERSION
CURVE_COLUMNS = (
    "run",
    "step",
    "episodes",
    "mean_return",
    "mean_return_ci_low",
    "mean_return_ci_high",
    "iqm_return",
    "iqm_return_ci_low",
    "iqm_return_ci_high",
    "median_return",
    "std_return",
    "min_return",
    "max_return",
    "mean_length",
    "success_rate",
)
# TF-Agents' own eval writes these tags at step = train step: written alike, pytfpol's curves
# overlay training's in TensorBoard (`--tensorboard TRAIN_DIR/eval_pytfpol`).
TAG_RETURN = "Metrics/AverageReturn"
TAG_LENGTH = "Metrics/AverageEpisodeLength"
TAG_HISTOGRAM = "Metrics/Returns"
TAG_METRIC_PREFIX = "Metrics/"  # + info.KEY: the mean of a --metric
METRIC_MEAN_SUFFIX = "_mean"


def best_entry(entries: list[dict], statistic: str) -> Optional[dict]:
    """The entry with the highest `statistic` among those evaluated completely (the earliest
    step on a tie); None when none was."""
    scored = [
        e
        for e in entries
        if e["error"] is None and e["summary"].get(statistic) is not None and e["complete"]
    ]
    if not scored:
        return None
    return max(scored, key=lambda e: (e["summary"][statistic], -(e["step"] or 0)))


def aggregate(entries: list[dict], runs: list[str], statistic: str) -> Optional[list[dict]]:
    """Across runs (one per training seed): per train step present in every run, the mean,
    min and max over runs of the statistic; None with one run."""
    if len(runs) < 2:
        return None
    by_step: dict = {}
    for entry in entries:
        value = entry["summary"].get(statistic) if entry["error"] is None else None
        if value is not None:
            by_step.setdefault(entry["step"], {})[entry["run"]] = value
    rows = []
    for step in sorted(s for s in by_step if s is not None):
        values = by_step[step]
        if len(values) == len(runs):
            array = np.asarray(list(values.values()), dtype=np.float64)
            rows.append(
                {
                    "step": step,
                    "runs": len(values),
                    "mean": float(array.mean()),
                    "min": float(array.min()),
                    "max": float(array.max()),
                }
            )
    return rows


def curve_csv(entries: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CURVE_COLUMNS)
    for entry in entries:
        if entry["error"] is not None:
            continue
        summary = entry["summary"]
        row = [entry["run"], entry["step"]] + [summary.get(c) for c in CURVE_COLUMNS[2:]]
        writer.writerow([files.csv_value(v) for v in row])
    return buffer.getvalue()


def episodes_csv(entries: list[dict]) -> str:
    """Every episode of every checkpoint: `run`, `step`, then eval's columns."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    metrics = files.metric_columns([e for entry in entries for e in entry["episodes"]])
    writer.writerow(("run", "step", *files.EPISODE_COLUMNS, *metrics))
    for entry in entries:
        for episode in entry["episodes"]:
            row = [entry["run"], entry["step"]]
            writer.writerow([*map(files.csv_value, row), *files.episode_row(episode, metrics)])
    return buffer.getvalue()


def write_tensorboard(directory: Path, document: SweepReport, runs: list[str]) -> None:
    """Event files with TF-Agents' eval tags at step = train step, and a histogram of each
    checkpoint's returns (the records `tf.summary` writes, `tensorboard_events`: no
    TensorFlow), a view of the sweep's document; one subdirectory per run when there are
    several. A write that fails (a file-size limit, a full disk) is an OutputError (exit 5)."""
    write_entries(directory, document.checkpoints, runs)


def write_entries(directory: Path, entries: list[dict], runs: list[str]) -> None:
    """The events of checkpoint `entries` (sweep.json's form), one subdirectory per run when
    there are several (`write_tensorboard`)."""
    for number in range(len(runs)):
        logdir = Path(directory) / (f"run-{number}" if len(runs) > 1 else "")
        try:
            _write_events(logdir, [e for e in entries if e["run"] == number])
        except OSError as exc:
            raise OutputError(
                f"{logdir}: could not write the TensorBoard events ({write_failure_cause(exc)})",
                "check free space and permissions of the output directory",
                path=logdir,
            ) from exc


def _write_events(logdir: Path, entries: list[dict]) -> None:
    events = tensorboard_events.EventFile(logdir)
    try:
        for entry in entries:
            if entry["error"] is not None or entry["step"] is None:
                continue
            step = entry["step"]
            events.scalar(TAG_RETURN, entry["summary"]["mean_return"], step)
            events.scalar(TAG_LENGTH, entry["summary"]["mean_length"], step)
            for tag, value in metric_scalars(entry["summary"]):
                events.scalar(tag, value, step)
            values = [e["return"] for e in entry["episodes"] if e["return"] is not None]
            if values:
                events.histogram(TAG_HISTOGRAM, np.asarray(values), step)
    finally:
        events.close()


def metric_scalars(summary: dict) -> list[tuple[str, float]]:
    """(`Metrics/info.KEY`, its mean over the episodes) for each --metric with a value."""
    return [
        (f"{TAG_METRIC_PREFIX}{key[: -len(METRIC_MEAN_SUFFIX)]}", value)
        for key, value in summary.items()
        if key.startswith("info.") and key.endswith(METRIC_MEAN_SUFFIX) and value is not None
    ]


def write_eval_tensorboard(directory: Path, report: dict) -> None:
    """One evaluation's events, as a sweep writes each checkpoint's, at its train step (0 when
    the policy records none). Only a complete run's: a part of the episodes is not its result."""
    step = report["policy"].get("train_step")
    entry = {
        "run": 0,
        "step": 0 if step is None else step,
        "error": report["error"],
        "summary": report["summary"],
        "episodes": report["episodes"],
    }
    write_entries(directory, [entry], ["eval"])


def sparkline(values: list[Optional[float]], ascii_only: bool = False) -> str:
    """A compact curve for the terminal: one character per checkpoint, low to high."""
    levels = " .:-=+*#" if ascii_only else " ▁▂▃▄▅▆▇█"
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return ""
    low, high = min(finite), max(finite)
    span = (high - low) or 1.0
    return "".join(
        "?" if v is None else levels[1 + int(round((v - low) / span * (len(levels) - 2)))]
        for v in values
    )
