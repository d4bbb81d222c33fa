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
from typing import Callable, Optional, TypeVar

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from pytfpol.cli import progress_tally
from pytfpol.errors import PytfpolError
from pytfpol.results import json_text

Result = TypeVar("Result")


def stdout_console() -> Console:
    return Console(file=sys.stdout, highlight=False, soft_wrap=True)


def stderr_console() -> Console:
    return Console(file=sys.stderr, highlight=False, soft_wrap=True)


class EpisodeProgress:
    """Progress of a run on stderr (`commands.progress.Progress`). On a terminal, one live
    display: a spinner while loading, a bar over the episodes that moves with every batch step
    (steps/s, ETA), and for a sweep a row above it with its checkpoints k/N and the sweep's ETA,
    each finished checkpoint's line printed above. Elsewhere (a CI log) plain lines: one per
    finished checkpoint, and one every `alive_seconds` of a long evaluation. `quiet` shows
    none of it; warnings are printed in any case: they say what the run really does."""

    def __init__(
        self, console: Console, quiet: bool = False, alive_seconds: Optional[float] = None
    ) -> None:
        self._console = console
        live = console.is_terminal and not console.is_dumb_terminal
        self._mode = "off" if quiet else "live" if live else "lines"
        self._alive = progress_tally.alive_seconds() if alive_seconds is None else alive_seconds
        self._waiting = progress_tally.alive_seconds(progress_tally.WAITING_SECONDS)
        self._last_line = time.monotonic()
        self._bar: Optional[progress_tally.Bar] = None
        self._sweep: Optional[progress_tally.SweepTally] = None
        self._stage: Optional[str] = None
        self._live: Optional[Live] = None

    def warn(self, message: str) -> None:
        print_note(f"warning: {message}", self._console)  # above the live display

    def stage(self, description: str) -> None:
        """A spinner for work before the episodes (TensorFlow import, graph building)."""
        self._stage = description
        self._show()

    def start(self, total: int, description: str, max_episode_steps: Optional[int] = None) -> None:
        """A bar over `total` episodes; `max_episode_steps`, when known, lets it move within
        episodes."""
        self._end_bar()
        self._bar = progress_tally.Bar(total, description, max_episode_steps)
        self._stage = None
        self._last_line = self._bar.started
        self._show()

    def step(self, env_steps: int) -> None:
        if self._bar is not None:
            self._bar.step(env_steps)
            self._stage = None
            self._alive_line()

    def advance(self, result) -> None:
        if self._sweep is not None:
            self._sweep.advance()
        if self._bar is not None:
            self._bar.advance(result)
            self._stage = None
            self._alive_line()

    def stop(self) -> None:
        """The bar is over; so is the display, unless a sweep goes on (`close` ends it)."""
        self._end_bar()
        self._stage = None
        if self._sweep is None:
            self.close()

    def checkpoints(self, total: int, episodes: int, growing: bool = False) -> None:
        if self._sweep is None:
            self._sweep = progress_tally.SweepTally(total, episodes, growing)
        self._sweep.total, self._sweep.episodes = total, episodes
        self._show()

    def checkpoint_done(
        self, step: int, mean: Optional[float], episodes: int, reused: bool = False
    ) -> None:
        sweep = self._sweep
        if sweep is None:
            return
        sweep.finish(episodes, reused)
        now = time.monotonic()
        eta = sweep.eta(self._bar.elapsed(now) if self._bar is not None else 0.0)
        self._line(sweep.checkpoint_line(step, mean, episodes, reused, eta))

    def waiting(self, runs: list[str], evaluated: int, timeout_left: Optional[float]) -> None:
        """In a CI log, a line at most every WAITING_SECONDS of a watch's silence (on a
        terminal, the spinner of `stage` says it)."""
        if self._mode == "lines" and time.monotonic() - self._last_line >= self._waiting:
            self._line(progress_tally.waiting_line(runs, evaluated, timeout_left))

    def around(self, run: Callable[[], Result]) -> Result:
        """`run()` under this display, which ends (also when it raises) before the table or
        the error is printed."""
        try:
            return run()
        finally:
            self.close()

    def close(self) -> None:
        """End the display (the table or an error follows on the terminal)."""
        self._bar = self._stage = None
        if self._live is not None:
            self._live.stop()
            self._live = None

    def _end_bar(self) -> None:
        if self._bar is not None and self._sweep is not None:
            self._sweep.busy += self._bar.elapsed(time.monotonic())
        self._bar = None

    def _alive_line(self) -> None:
        """In a CI log, the bar's state every `alive_seconds`: the run is alive."""
        now = time.monotonic()
        if self._mode != "lines" or self._bar is None or now - self._last_line < self._alive:
            return
        self._last_line = now
        prefix = f"{self._bar.description}: " if self._sweep is not None else ""
        self._line(self._bar.alive_line(now, prefix))

    def _line(self, text: str) -> None:
        """A plain line: above the live display on a terminal; as is in a log (no escapes)."""
        if self._mode == "live":
            self._console.print(Text(text))
        elif self._mode == "lines":
            self._console.file.write(text + "\n")
            self._console.file.flush()
            self._last_line = time.monotonic()  # a log line of any kind: not silent

    def display(self) -> _Rows:
        """What the live display draws (rendered again at every refresh)."""
        return _Rows(self._rows)

    def _show(self) -> None:
        if self._mode == "live" and self._live is None:
            self._live = Live(
                self.display(),
                console=self._console,
                transient=True,
                refresh_per_second=4,
            )
            self._live.start()

    def _rows(self, width: int) -> list:
        """The display's rows, each fitted to `width` columns (the ETA always shows)."""
        now = time.monotonic()
        rows = []
        # read once: the live display draws from its own thread while the run changes them
        sweep, bar, stage = self._sweep, self._bar, self._stage
        if sweep is not None:
            eta = sweep.eta(bar.elapsed(now) if bar is not None else 0.0)
            parts = [(f"checkpoints {sweep.counts()}", 9), (f"ETA {progress_tally.clock(eta)}", 10)]
            rows.append(fit_row(width, "sweep", sweep.fraction(), parts))
        if stage is not None:
            rows.append(_spinner_row(width, stage, now))
        elif bar is not None:
            rate = bar.rate(now)
            parts = [
                (bar.counts(), 9),
                (f"mean {progress_tally.mean_text(bar.mean())}", 5),
                (f"{rate:,.0f} steps/s" if rate is not None else "- steps/s", 3),
                (progress_tally.clock(bar.elapsed(now)), 1),
                (f"ETA {progress_tally.clock(bar.eta(now))}", 10 if sweep is None else 4),
            ]
            rows.append(fit_row(width, bar.description, bar.fraction(), parts))
        return rows


class _Rows:
    """What the live display draws: rows made for the width it has."""

    def __init__(self, rows: Callable[[int], list]) -> None:
        self._rows = rows

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from self._rows(options.max_width)


BAR_WIDTHS = (10, 40)  # a bar shrinks to the first before anything on its right is left out
DESCRIPTION_MIN = 12  # a longer description is cut (…) to no less than this


def fit_row(width: int, description: str, fraction: float, parts: list) -> Text:
    """`description  bar  part  part ...` in `width` columns: the bar shrinks and the description
    is cut first; then parts (text, priority) are left out, the lowest priority first."""
    parts = list(parts)
    while len(parts) > 1 and _needed(parts) + BAR_WIDTHS[0] + DESCRIPTION_MIN + 2 > width:
        parts.remove(min(parts, key=lambda part: part[1]))
    right = "  ".join(text for text, _ in parts)
    room = max(width - cell_len(right) - 2, 0)
    shown = min(cell_len(description), max(DESCRIPTION_MIN, room - BAR_WIDTHS[0]), room)
    bar_width = min(BAR_WIDTHS[1], room - shown)
    label = Text(description, style="bold")
    label.truncate(shown, overflow="ellipsis", pad=True)
    filled = int(fraction * bar_width + 0.5)
    row = Text.assemble(
        label, " ", ("━" * filled, "bar.complete"), ("─" * (bar_width - filled), "bar.back"),
        " ", right,
    )  # fmt: skip
    row.no_wrap = True
    return row


def _needed(parts: list) -> int:
    return cell_len("  ".join(text for text, _ in parts))


def _spinner_row(width: int, description: str, now: float) -> Text:
    spinner = Spinner("dots")
    frame = spinner.frames[int(now * 1000 / spinner.interval) % len(spinner.frames)]
    row = Text(f"{frame} {description}", no_wrap=True)
    row.truncate(width, overflow="ellipsis")
    return row


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
