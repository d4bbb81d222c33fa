"""Taking a run's unit results from its runner: until all are in, the first error, Ctrl-C or
--timeout; what stopped it, in words a user can act on; and the report's `backend` block.

No TensorFlow: the runner is whatever `pytfpol.running.runners` made (in-process or Ray).
"""

from __future__ import annotations

import time
from typing import Optional

from pytfpol.errors import Interrupted, PytfpolError, RunError, interrupted, stopped_by
from pytfpol.running import interrupts
from pytfpol.settings import EvalSettings

POLL_SECONDS = 0.25  # how often a run waiting on remote workers looks at --timeout


def collect(
    runner, settings: EvalSettings, deadline: Optional[float]
) -> tuple[list, Optional[PytfpolError]]:
    """Collect every submitted unit's result, stopping at the first error (the others are
    cancelled). An env step that blocks past --timeout here is stopped by SIGALRM and reported
    as the timeout it is; elsewhere the deadline is checked while waiting. Returns the results
    that arrived (with what stopped the run, if anything)."""
    dones: list = []
    error: Optional[PytfpolError] = None
    with interrupts.hard_deadline(deadline) as expired:
        try:
            while runner.pending():
                done = runner.next_result(poll=POLL_SECONDS)
                if done is None:
                    if deadline is not None and time.monotonic() > deadline:
                        error = _remote_timeout(dones, settings)
                        break
                    continue
                dones.append(done)
                if done.result.error is not None:
                    error = done.result.error
                    break
        except KeyboardInterrupt as exc:
            count = sum(len(d.result.records) for d in dones)
            error = interrupted(
                exc,
                f"{stopped_by(exc)} after {count} of {settings.episodes} episodes",
                "the completed episodes were written, marked incomplete",
            )
    if runner.pending():
        runner.cancel()
    if isinstance(error, Interrupted) and expired:
        completed = [r for d in dones for r in d.result.records]
        error = _blocked_timeout(sorted(completed, key=lambda r: r.index), settings)
    return dones, error


def _blocked_timeout(completed, settings: EvalSettings) -> RunError:
    done = {r.index for r in completed}
    running = min(set(range(settings.episodes)) - done, default=settings.episodes - 1)
    error = RunError(
        f"--timeout {settings.timeout:g}s reached after {len(completed)} of {settings.episodes} "
        f"episodes, in episode {running} (seed {settings.seed + running}): the environment did "
        "not return from step() or reset()",
        "check that the environment cannot block; completed episodes were written",
    )
    error.completed = completed
    return error


def _remote_timeout(dones: list, settings: EvalSettings) -> RunError:
    done = sorted(r.index for d in dones for r in d.result.records)
    missing = sorted(set(range(settings.episodes)) - set(done))
    return RunError(
        f"--timeout {settings.timeout:g}s reached after {len(done)} of {settings.episodes} "
        f"episodes; episodes {missing[0]}..{missing[-1]} were still running or waiting on "
        f"the {settings.backend} workers",
        "raise --timeout, add workers (--actors), or lower --max-episode-steps; completed "
        "episodes were written",
    )


def backend_report(runner, size: int, dones: list) -> dict:
    """The report's `backend`: who ran the episodes, and where each unit ran."""
    return {
        **runner.describe(),
        "unit_episodes": size,
        "units": [unit_row(d) for d in sorted(dones, key=lambda d: d.result.unit.first)],
    }


def unit_row(done) -> dict:
    """Where and how a unit ran (a `runners.Done`), as the reports list it."""
    result = done.result
    return {
        "step": result.key,
        "first": result.unit.first,
        "count": result.unit.count,
        "host": done.where.get("host"),
        "pid": done.where.get("pid"),
        "seconds": round(result.seconds, 3),
        "attempts": done.attempts,
    }
