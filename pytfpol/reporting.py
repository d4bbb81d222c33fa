"""Everything the user sees: the only module that uses rich.

Data (the summary table, or JSON) goes to stdout; progress, warnings and errors go to stderr.
Output is plain when the stream is not a terminal, and `NO_COLOR` is honoured (rich does both).
"""

from __future__ import annotations

import json
import sys
import traceback
from typing import Optional

from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pytfpol.errors import PytfpolError


def stdout_console() -> Console:
    return Console(file=sys.stdout, highlight=False, soft_wrap=True)


def stderr_console() -> Console:
    return Console(file=sys.stderr, highlight=False, soft_wrap=True)


class EpisodeProgress:
    """A rich progress bar over episodes on stderr, shown only when stderr is a terminal."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._progress: Optional[Progress] = None
        self._task = None
        self._returns = 0.0
        self._done = 0
        self._status = None

    def stage(self, description: str) -> None:
        """A spinner for work before the episodes (TensorFlow import, graph building)."""
        if not self._console.is_terminal:
            return
        self._stop_status()
        self._status = self._console.status(description)
        self._status.start()

    def _stop_status(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def start(self, total: int, description: str) -> None:
        self._stop_status()
        if not self._console.is_terminal:
            return
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("episodes  mean return {task.fields[mean]}"),
            TimeElapsedColumn(),
            console=self._console,
            transient=True,
        )
        self._task = self._progress.add_task(description, total=total, mean="-")
        self._progress.start()

    def advance(self, episode_return: float) -> None:
        self._done += 1
        self._returns += episode_return
        if self._progress is not None:
            self._progress.update(self._task, advance=1, mean=f"{self._returns / self._done:.2f}")

    def stop(self) -> None:
        self._stop_status()
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def print_json(report: dict) -> None:
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
    sys.stdout.flush()


def print_eval_table(report: dict, console: Optional[Console] = None) -> None:
    """The summary of an evaluation as a two-column table on stdout."""
    console = console or stdout_console()
    rows = _eval_rows(report)
    if not console.is_terminal:  # plain `key  value` lines: nothing truncated, easy to grep
        width = max(len(key) for key, _ in rows)
        console.file.write("".join(f"{key.ljust(width)}  {value}\n" for key, value in rows))
        console.file.flush()
        return
    table = Table(title="pytfpol eval", box=box.SIMPLE, show_header=False)
    table.add_column("", style="bold", no_wrap=True)
    table.add_column("", overflow="fold")
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)


def _eval_rows(report: dict) -> list[tuple[str, str]]:
    summary, policy, env = report["summary"], report["policy"], report["env"]
    rows = [
        ("policy", policy["path"]),
        ("format", policy["format"] + (f" ({policy['policy']})" if policy.get("policy") else "")),
        ("checkpoint", policy["checkpoint"] or "-"),
        ("train step", _fmt(policy["train_step"])),
        ("env", env["id"] + (f" {json.dumps(env['kwargs'])}" if env["kwargs"] else "")),
        ("episodes", f"{summary['episodes']} (seeds {_seed_range(report)})"),
        ("mean return", f"{_fmt(summary['mean_return'])} ± {_fmt(summary['std_return'])}"),
        ("median return", _fmt(summary["median_return"])),
        ("min / max return", f"{_fmt(summary['min_return'])} / {_fmt(summary['max_return'])}"),
        ("mean length", _fmt(summary["mean_length"])),
    ]
    for name, gate in report.get("gates", {}).items():
        verdict = "passed" if gate["passed"] else "FAILED"
        rows.append((name, f"{verdict} ({gate['statistic']} >= {gate['threshold']:g})"))
    if not report["complete"]:
        rows.append(("complete", "NO: " + (report["error"] or {}).get("message", "")))
    rows.append(("output", report["output"]["dir"]))
    return rows


def _seed_range(report: dict) -> str:
    seeds = [e["seed"] for e in report["episodes"]]
    if not seeds:
        return "-"
    return f"{seeds[0]}..{seeds[-1]}" if len(seeds) > 1 else str(seeds[0])


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 1e6 else f"{value:.4g}"
    return str(value)


def print_error(error: BaseException, verbose: bool = False) -> None:
    """`error: <what, which file>` and `hint: <what to do>` on stderr; a traceback only if -v."""
    console = stderr_console()
    if verbose:
        console.print(
            "".join(traceback.format_exception(type(error), error, error.__traceback__)),
            markup=False,
            end="",
        )
    if isinstance(error, PytfpolError):
        console.print(f"error: {error.message}", markup=False, style="bold red")
        if error.details:
            console.print(error.details, markup=False)
        if error.hint:
            console.print(f"hint: {error.hint}", markup=False)
    else:
        console.print(
            f"error: internal error: {type(error).__name__}: {error}",
            markup=False,
            style="bold red",
        )
        console.print("hint: run again with -v for the traceback, and report it", markup=False)


def print_note(message: str) -> None:
    stderr_console().print(message, markup=False, style="dim")
