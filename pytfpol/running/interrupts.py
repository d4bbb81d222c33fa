"""Signals during a run: SIGTERM stops it like Ctrl-C, and neither can cut the final write.

`pytfpol eval` is run by CI systems and `timeout`, which stop it with SIGTERM, not Ctrl-C. Inside
`stop_on_signals()`, SIGTERM raises `errors.Terminated` (a KeyboardInterrupt) wherever the run is,
so the evaluation loop writes the completed episodes exactly as for Ctrl-C. During a `Deferral`
(the final write and commit of the output set), both signals are only noted and acted on when it
is done: the output set is committed whole, then the run stops. `hard_deadline` stops an env
step that never returns, for --timeout.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from typing import Iterator, Optional

from pytfpol.errors import RunError, Terminated


def _raise_terminated(signum, frame) -> None:
    raise Terminated()


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGTERM raises Terminated (main thread only; elsewhere nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class Deferral:
    """Between `start()` and `finish()`, SIGINT and SIGTERM are only noted; `finish()` restores
    the handlers and returns the exception the first one would have raised (or None)."""

    def __init__(self) -> None:
        self._received: list[int] = []
        self._previous: dict = {}

    def start(self) -> None:
        if threading.current_thread() is not threading.main_thread() or self._previous:
            return
        self._previous = {
            sig: signal.signal(sig, self._note) for sig in (signal.SIGINT, signal.SIGTERM)
        }

    def _note(self, signum, frame) -> None:
        self._received.append(signum)

    def finish(self) -> Optional[BaseException]:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}
        if not self._received:
            return None
        return Terminated() if self._received[0] == signal.SIGTERM else KeyboardInterrupt()


HARD_DEADLINE_GRACE = 2.0  # seconds after --timeout before a blocked env step is interrupted


@contextlib.contextmanager
def hard_deadline(deadline: Optional[float]) -> Iterator[list]:
    """The loop checks the deadline between steps; an env step that never returns is stopped by
    SIGALRM shortly after it (raising KeyboardInterrupt in the step; main thread only). The
    yielded list is non-empty once that happened."""
    expired: list[bool] = []
    if deadline is None or threading.current_thread() is not threading.main_thread():
        yield expired
        return

    def alarm(signum, frame):
        expired.append(True)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, max(deadline - time.monotonic(), 0) + HARD_DEADLINE_GRACE)
    try:
        yield expired
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def timed_out(lanes: list, seed: int, done: int, total: int, timeout) -> None:
    """The evaluation loop's error once the deadline passed: where each lane's episodes were."""
    running = [
        (int(lane.episode[r]), int(lane.lengths[r])) for lane in lanes for r in lane.active()
    ]
    first, step = min(running)
    more = f" (and {len(running) - 1} more running)" if len(running) > 1 else ""
    limit = f"--timeout {timeout:g}s" if timeout is not None else "the deadline"
    raise RunError(
        f"{limit} reached after {done} of {total} episodes, in episode {first} "
        f"(seed {seed + first}) at step {step}{more}",
        "raise --timeout, lower --max-episode-steps, or check the environment ends its "
        "episodes; completed episodes were written",
    )
