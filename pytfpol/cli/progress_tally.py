"""What the progress display counts, and the words it says: the episodes of the current bar,
the checkpoints of a sweep, the ETAs, and the plain lines a CI log gets. No rich here: the
console (`console.EpisodeProgress`) draws these on a terminal or writes them as lines."""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from typing import Optional

ALIVE_SECONDS = 10.0  # in a CI log, a line at most this often while an evaluation runs
WAITING_SECONDS = 60.0  # in a CI log, a line at most this often while --watch waits
# overrides ALIVE_SECONDS and WAITING_SECONDS (tests shorten them)
ALIVE_SECONDS_VARIABLE = "PYTFPOL_PROGRESS_SECONDS"


def alive_seconds(default: float = ALIVE_SECONDS) -> float:
    """`default`, unless the environment sets another (non-negative) number."""
    try:
        seconds = float(os.environ.get(ALIVE_SECONDS_VARIABLE, default))
    except ValueError:
        return default
    return seconds if seconds >= 0 and math.isfinite(seconds) else default


def waiting_line(runs: list[str], evaluated: int, timeout_left: Optional[float]) -> str:
    """What a CI log gets every WAITING_SECONDS while a --watch sweep waits."""
    timeout = (
        "no --watch-timeout"
        if timeout_left is None
        else f"--watch-timeout in {clock(timeout_left)}"
    )
    return (
        f"waiting for new checkpoints in {', '.join(runs)} "
        f"({evaluated} evaluated so far, {timeout}; Ctrl-C ends the watch)"
    )


def clock(seconds: Optional[float]) -> str:
    """`0:42`, `12:05`, `1:02:03`; `-` when not known yet."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    minutes, secs = divmod(int(round(max(seconds, 0.0))), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def mean_text(mean: Optional[float]) -> str:
    return "-" if mean is None else f"{mean:.2f}"


@dataclass
class Bar:
    """One evaluation's episodes: an eval, one checkpoint of a sweep, or the best's
    confirmation (on Ray, a whole sweep's)."""

    total: int
    description: str
    max_steps: Optional[int] = None
    started: float = field(default_factory=time.monotonic)
    done: int = 0
    returns: float = 0.0
    steps: int = 0
    finished_steps: int = 0
    running_slots: int = 1

    def advance(self, record) -> None:
        self.done += 1
        self.returns += record.return_
        self.finished_steps += record.length

    def step(self, env_steps: int) -> None:
        self.steps += env_steps
        self.running_slots = max(env_steps, 1)

    def completed(self) -> float:
        """Finished episodes, plus the running ones' share of their step limit when known."""
        if not self.max_steps:
            return float(self.done)
        running = (self.steps - self.finished_steps) / self.max_steps
        return self.done + min(max(running, 0.0), self.running_slots * 0.99)

    def fraction(self) -> float:
        return min(self.completed() / self.total, 1.0) if self.total > 0 else 0.0

    def mean(self) -> Optional[float]:
        return self.returns / self.done if self.done else None

    def elapsed(self, now: float) -> float:
        return max(now - self.started, 0.0)

    def rate(self, now: float) -> Optional[float]:
        """Env steps per second."""
        elapsed = self.elapsed(now)
        return self.steps / elapsed if elapsed > 0 and self.steps else None

    def eta(self, now: float) -> Optional[float]:
        completed = self.completed()
        if completed <= 0:
            return None
        return self.elapsed(now) / completed * max(self.total - completed, 0.0)

    def counts(self) -> str:
        return f"{self.done}/{self.total} episodes"

    def alive_line(self, now: float, prefix: str = "") -> str:
        """What a CI log gets every ALIVE_SECONDS of a long evaluation."""
        mean = mean_text(self.mean())
        return f"{prefix}episodes {self.done}/{self.total}, mean {mean}, ETA {clock(self.eta(now))}"


@dataclass
class SweepTally:
    """A sweep's checkpoints: `finished` of `total` (so far, when `growing`: --watch), each of
    `episodes` episodes. Its ETA is the episodes left at the rate episodes ran so far (those
    taken from the journal cost nothing); `busy` is the seconds of the bars that ended."""

    total: int
    episodes: int
    growing: bool = False
    finished: int = 0
    run_episodes: int = 0  # episodes run by this sweep
    in_flight: int = 0  # of which those whose checkpoint is not finished yet
    busy: float = 0.0

    def advance(self) -> None:
        self.run_episodes += 1
        self.in_flight += 1

    def finish(self, episodes: int, reused: bool) -> None:
        self.finished += 1
        if not reused:
            self.in_flight = max(self.in_flight - episodes, 0)

    def remaining(self) -> int:
        """Episodes left to run, of the checkpoints known."""
        return max((self.total - self.finished) * self.episodes - self.in_flight, 0)

    def fraction(self) -> float:
        whole = self.total * self.episodes
        return 1.0 - self.remaining() / whole if whole > 0 else 0.0

    def eta(self, running: float) -> Optional[float]:
        """Seconds left; `running`: those of the bar under way."""
        remaining = self.remaining()
        if remaining == 0:
            return 0.0
        if self.run_episodes == 0:
            return None
        return (self.busy + running) / self.run_episodes * remaining

    def counts(self) -> str:
        return f"{self.finished}/{self.total}" + (" so far" if self.growing else "")

    def checkpoint_line(
        self, step: int, mean: Optional[float], episodes: int, reused: bool, eta: Optional[float]
    ) -> str:
        """The line of a finished checkpoint: its own mean (not a running one) and episodes."""
        if episodes == 0 and mean is None:
            what = "not evaluated (see the warning above)"
        else:
            journal = ", from the journal" if reused else ""
            what = f"mean {mean_text(mean)} ({episodes} episodes{journal})"
        return f"checkpoint {self.counts()} step {step}: {what}, ETA {clock(eta)}"
