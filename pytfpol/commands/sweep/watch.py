"""`sweep --watch`: keep listing the runs' directories and evaluate each new complete
checkpoint as training writes it, until `--watch-timeout` passes with none new or Ctrl-C is
pressed while waiting (the sweep then finishes as usual; Ctrl-C while a checkpoint is
evaluated, or SIGTERM, stops it as interrupted). A checkpoint that fails validation is tried
again on the next listings (it may still be being written), WATCH_TRIES times. A watch started
before training (`wait_for_runs`) first waits for the run directories to appear."""

from __future__ import annotations

import os
import time

from pytfpol.commands.progress import Progress
from pytfpol.commands.sweep.scheduler import collect, evaluate
from pytfpol.commands.sweep.state import SweepState
from pytfpol.errors import InputError, Terminated
from pytfpol.running import sweep_plan
from pytfpol.settings import SweepSettings

WATCH_TRIES = 3  # a checkpoint that keeps failing validation while watched is recorded as failed


def watch(state: SweepState) -> None:
    """Evaluate new checkpoints as they appear, until the watch ends."""
    settings = state.settings
    # --every / --last chose among the checkpoints there at the start; every new one counts
    seen = [{c.name for c in run.found.checkpoints if c.complete} for run in state.plan.runs]
    tries: dict[str, int] = {}
    last_new = time.monotonic()
    while True:
        found = _evaluate_new(state, seen, tries)
        collect(state, 0)  # every result of this listing journaled before the next
        if found:
            last_new = time.monotonic()
        timeout_left = _timeout_left(settings, last_new)
        if timeout_left is not None and timeout_left < 0:
            return
        if not _wait(state, timeout_left):
            return


def _timeout_left(settings: SweepSettings, last_new: float) -> float | None:
    """Seconds until --watch-timeout ends the watch (negative: it has), None without one."""
    if settings.watch_timeout is None:
        return None
    return settings.watch_timeout - (time.monotonic() - last_new)


def _evaluate_new(state: SweepState, seen: list[set], tries: dict[str, int]) -> bool:
    """One listing of every run: its new complete checkpoints evaluated (one that fails
    validation is left for the next listing, until its last try records why). Whether any
    was new."""
    found = False
    for number, run in enumerate(state.plan.runs):
        for checkpoint in sweep_plan.new_checkpoints(run, state.settings, seen[number]):
            outcome = evaluate(state, number, run, checkpoint, watching=True)
            if outcome == "retry":
                tries[checkpoint.name] = tries.get(checkpoint.name, 0) + 1
                if tries[checkpoint.name] < WATCH_TRIES:
                    continue
                evaluate(state, number, run, checkpoint)  # record why it fails
            seen[number].add(checkpoint.name)
            found = True
    return found


def _wait(state: SweepState, timeout_left: float | None) -> bool:
    """Sleep until the next listing; False when Ctrl-C ended the watch meanwhile."""
    try:
        state.progress.stage("watching for new checkpoints (Ctrl-C ends the watch)")
        state.progress.waiting(list(state.settings.paths), len(state.entries), timeout_left)
        time.sleep(state.settings.poll_seconds)
    except Terminated:
        raise
    except KeyboardInterrupt:  # while idle, Ctrl-C is how a watch without timeout ends
        state.note("watching ended by Ctrl-C")
        return False
    return True


def wait_for_runs(settings: SweepSettings, progress: Progress) -> None:
    """`--watch` started beside training: wait for each run directory not there yet (or still
    empty), saying so once. Once there it is checked as any given path is (a symlink, a file);
    when --watch-timeout passes first, it is the missing input it is without --watch (exit 3)."""
    started = time.monotonic()
    for path in settings.paths:
        if _appeared(path):
            continue
        progress.warn(f"waiting for {path} to appear (--watch)")
        while not _appeared(path):
            timeout = settings.watch_timeout
            if timeout is not None and time.monotonic() - started > timeout:
                raise InputError(
                    f"{path}: did not appear within --watch-timeout {timeout:g} s",
                    "check the directory training writes its checkpoints to, or give a longer "
                    "--watch-timeout",
                    path=path,
                )
            time.sleep(settings.poll_seconds)


def _appeared(path: str) -> bool:
    """There, as anything (a dangling symlink too: the checks of a given path then refuse it),
    but not as the empty directory training creates before its first checkpoint."""
    if not os.path.lexists(path):
        return False
    if os.path.isdir(path) and not os.path.islink(path):
        try:
            return bool(os.listdir(path))
        except OSError:
            return True  # unreadable: reported by the checks of a given path
    return True
