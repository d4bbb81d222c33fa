"""The terminal: the only module that uses rich.

Data (the summary table, or JSON) goes to stdout; progress, warnings and errors go to stderr.
Output is plain when the stream is not a terminal, and `NO_COLOR` is honoured (rich does both).
What a table says about each document is in `tables` and `inspect_tables`; how it is laid out
(`print_rows`, `print_sections`) and how values read (`fmt`) is here.
"""

from __future__ import annotations

import sys
import time
import traceback
from typing import Optional

from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.status import Status
from rich.table import Table
from rich.text import Text

from pytfpol.errors import PytfpolError
from pytfpol.results import json_text


def stdout_console() -> Console:
    return Console(file=sys.stdout, highlight=False, soft_wrap=True)


def stderr_console() -> Console:
    return Console(file=sys.stderr, highlight=False, soft_wrap=True)


class EpisodeProgress:
    """Progress of a run on stderr: a spinner while loading, then a bar over episodes that moves
    with every batch step (steps/s, ETA), shown only when stderr is a terminal and not `quiet`.
    Warnings are printed in any case: they say what the run really does."""

    def __init__(self, console: Console, quiet: bool = False) -> None:
        self._console = console
        self._show = console.is_terminal and not quiet
        self._progress: Optional[Progress] = None
        self._task: Optional[TaskID] = None
        self._returns = 0.0
        self._done = 0
        self._steps = 0
        self._finished_steps = 0
        self._running_slots = 1
        self._max_steps: Optional[int] = None
        self._started = time.monotonic()
        self._status: Optional[Status] = None

    def warn(self, message: str) -> None:
        print_note(f"warning: {message}", self._console)

    def stage(self, description: str) -> None:
        """A spinner for work before the episodes (TensorFlow import, graph building)."""
        if not self._show:
            return
        self._stop_status()
        self._status = self._console.status(description)
        self._status.start()

    def _stop_status(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def start(self, total: int, description: str, max_episode_steps: Optional[int] = None) -> None:
        """`max_episode_steps`, when known, lets the bar move within episodes."""
        self._stop_status()
        self._max_steps = max_episode_steps
        if not self._show:
            return
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[episodes]}/{task.total:.0f} episodes"),
            TextColumn("{task.fields[rate]} steps/s"),
            TextColumn("mean return {task.fields[mean]}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=self._console,
            transient=True,
        )
        self._task = self._progress.add_task(
            description, total=total, episodes=0, rate="-", mean="-"
        )
        self._progress.start()
        self._started = time.monotonic()

    def step(self, env_steps: int) -> None:
        self._steps += env_steps
        self._running_slots = max(env_steps, 1)
        if self._progress is None or self._task is None:
            return
        elapsed = time.monotonic() - self._started
        rate = f"{self._steps / elapsed:,.0f}" if elapsed > 0 else "-"
        self._progress.update(self._task, completed=self._completed(), rate=rate)

    def advance(self, result) -> None:
        self._done += 1
        self._returns += result.return_
        self._finished_steps += result.length
        if self._progress is not None and self._task is not None:
            self._progress.update(
                self._task,
                completed=self._completed(),
                episodes=self._done,
                mean=f"{self._returns / self._done:.2f}",
            )

    def _completed(self) -> float:
        """Finished episodes, plus the running ones' share of their step limit when known."""
        if not self._max_steps:
            return float(self._done)
        running = (self._steps - self._finished_steps) / self._max_steps
        return self._done + min(running, self._running_slots * 0.99)

    def stop(self) -> None:
        self._stop_status()
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def print_json(document: object) -> None:
    """A document (or a list of them) as indented JSON on stdout."""
    sys.stdout.write(json_text.dumps(document) + "\n")
    sys.stdout.flush()


def print_note(message: str, console: Optional[Console] = None) -> None:
    (console or stderr_console()).print(message, markup=False, style="dim")


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


def print_rows(title: str, rows: list, console: Console) -> None:
    """Key/value rows: a rich table on a terminal; plain `key  value` lines otherwise (nothing
    truncated, easy to grep)."""
    if not console.is_terminal:
        width = max(len(key) for key, _ in rows)
        console.file.write("".join(f"{key.ljust(width)}  {value}\n" for key, value in rows))
        console.file.flush()
        return
    table = Table(title=title, box=box.SIMPLE, show_header=False)
    table.add_column("", style="bold", no_wrap=True)
    table.add_column("", overflow="fold")
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)


# A titled table: (title, column headers or None for key/value rows, rows of strings).
Section = tuple[str, Optional[list[str]], list]


def print_sections(sections: list[Section], console: Optional[Console] = None) -> None:
    """Titled tables: rich on a terminal; plain aligned columns otherwise (nothing truncated)."""
    console = console or stdout_console()
    if not console.is_terminal:
        console.file.write("".join(_plain_section(*section) for section in sections))
        console.file.flush()
        return
    for section in sections:
        console.print(_rich_section(*section))


def _plain_section(title: str, headers: Optional[list[str]], rows: list) -> str:
    if not rows:
        return f"{title}\n  (none)\n\n"
    cells = ([headers] if headers else []) + [list(r) for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    lines = ["  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    return f"{title}\n" + "".join(line + "\n" for line in lines) + "\n"


def _rich_section(title: str, headers: Optional[list[str]], rows: list) -> Table:
    table = Table(
        title=Text(title, style="italic"),
        box=box.SIMPLE,
        show_header=bool(headers),
        title_justify="left",
    )
    for i, header in enumerate(headers or ["", ""]):
        table.add_column(header, style="bold" if not headers and i == 0 else None, overflow="fold")
    for row in rows or [["(none)"] + [""] * (len(headers or ["", ""]) - 1)]:
        table.add_row(*(Text(cell) for cell in row))  # data, never rich markup
    return table


def encodable(text: str, fallback: str) -> str:
    """`text` if stdout's encoding has it (PYTHONIOENCODING=ascii has no ±), else `fallback`."""
    try:
        text.encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return fallback
    return text


def fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 1e6 else f"{value:.4g}"
    return str(value)


def shape_text(shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
