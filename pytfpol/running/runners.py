"""Runners execute units of work: the driver submits units and collects their results as they
complete. This module holds what every runner shares (`Hooks`, `Done`, the `Runner` protocol) and
the in-process runner, which runs them in this process, one after the other, when asked for the
next result. `running.ray_runner.RayRunner` runs the same units on Ray actors.

`InProcessRunner` keeps one `PolicyWorker` at a time: units that share a graph (the checkpoints of
one training run) reuse it, a unit of another graph replaces it. Results merge by (train step,
episode index), so they do not depend on which runner ran which unit.
"""

from __future__ import annotations

import os
import socket
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Optional, Protocol

from pytfpol.errors import InputError, RunError
from pytfpol.formats.validation import CheckedInputs
from pytfpol.running.units import LOCAL_BACKEND, EpisodeRecord, Unit, UnitResult

if TYPE_CHECKING:  # TensorFlow: imported when the first worker is made (a Ray driver never)
    from pytfpol.running.worker import PolicyWorker


@dataclass
class Hooks:
    """What the driver hears of a unit. `on_episode(record)` for each episode and `on_step(n)`
    for env steps: as they happen in this process, when its result arrives from elsewhere.
    `loading(unit)` announces a unit run here, before its policy loads (a remote runner cannot
    see when its units start). `deadline` (time.monotonic) and
    `timeout` (named in messages) stop a unit run here; a remote runner's driver checks them
    itself. `observer` sees the loop's arrays (only here)."""

    on_episode: Optional[Callable[[EpisodeRecord], None]] = None
    on_step: Optional[Callable[[int], None]] = None
    loading: Optional[Callable[[Unit], None]] = None
    deadline: Optional[float] = None
    timeout: Optional[float] = None
    observer: Any = None

    def run_kwargs(self) -> dict:
        return {
            "on_episode": self.on_episode,
            "on_step": self.on_step,
            "deadline": self.deadline,
            "timeout": self.timeout,
            "observer": self.observer,
        }


@dataclass
class Done:
    """A completed unit: the `tag` it was submitted with, and its result."""

    tag: Any
    result: UnitResult
    attempts: int = 1  # how many times it was started (a worker that died is tried again)
    where: dict = field(default_factory=dict)  # the worker's host and process id


class Runner(Protocol):
    """Submit units, then take results as they complete (in any order)."""

    capacity: int  # units worth having in flight; the driver submits more only below it

    def submit(
        self, unit: Unit, checked: CheckedInputs, hooks: Optional[Hooks] = None, tag: Any = None
    ) -> None: ...

    def pending(self) -> int: ...

    def next_result(self, poll: Optional[float] = None) -> Optional[Done]:
        """The next completed unit; None when `poll` seconds passed without one."""

    def cancel(self) -> None: ...

    def describe(self) -> dict: ...

    def close(self) -> None: ...


class InProcessRunner:
    """Runs units in this process, each when its result is asked for. `first_env` (an env the
    driver already made for the units' spec) is handed to the first worker."""

    capacity = 1

    def __init__(self, first_env: Any = None) -> None:
        self._first_env = first_env
        self._worker: Optional[PolicyWorker] = None
        self._queue: deque = deque()

    def worker_for(self, unit: Unit, checked: CheckedInputs) -> PolicyWorker:
        """The worker that runs `unit`: the current one if it can, else a new one (the graph
        is built there; a failure to load is raised)."""
        if self._worker is not None and self._worker.accepts(unit):
            return self._worker
        from pytfpol.policy.quiet_tf import heavy_imports

        with heavy_imports():
            from pytfpol.running.worker import PolicyWorker

        self._close_resources()
        first, self._first_env = self._first_env, None
        self._worker = PolicyWorker(unit, checked, first_env=first)
        return self._worker

    def run(self, unit: Unit, checked: CheckedInputs, **hooks) -> UnitResult:
        """Execute `unit` now (hooks: on_episode, on_step, deadline, timeout, observer; see
        PolicyWorker). A failure to load or restore is raised."""
        return self.worker_for(unit, checked).run(unit, checked, **hooks)

    # ------------------------------------------------------------------- the Runner protocol

    def submit(
        self, unit: Unit, checked: CheckedInputs, hooks: Optional[Hooks] = None, tag: Any = None
    ) -> None:
        self._queue.append((unit, checked, hooks or Hooks(), tag))

    def pending(self) -> int:
        return len(self._queue)

    def next_result(self, poll: Optional[float] = None) -> Optional[Done]:
        """Run the oldest submitted unit and return it. A failure to load or restore its policy
        (input or run error) is its result's `error`, with no records."""
        unit, checked, hooks, tag = self._queue.popleft()
        if hooks.loading is not None:
            hooks.loading(unit)
        try:
            worker = self.worker_for(unit, checked)
            result = worker.run(unit, checked, **hooks.run_kwargs())
        except (InputError, RunError) as exc:
            result = UnitResult(unit, error=exc, worker=socket.gethostname())
        return Done(tag, result, 1, {"host": result.worker, "pid": os.getpid()})

    def cancel(self) -> None:
        self._queue.clear()

    def describe(self) -> dict:
        return dict(LOCAL_BACKEND)

    # ------------------------------------------------------------------------------- closing

    def close(self) -> None:
        self._queue.clear()
        self._close_resources()

    def _close_resources(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None
        if self._first_env is not None:
            try:
                self._first_env.close()
            except Exception:  # noqa: BLE001 - closing must not hide the run's own outcome
                pass
            self._first_env = None

    def __enter__(self) -> InProcessRunner:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def remote_runner(
    backend: str,
    address: Optional[str],
    actors: Optional[int],
    shared: bool,
    warn: Optional[Callable[[str], None]] = None,
):
    """The runner of `--backend` when it runs units elsewhere (None for local); `warn` hears
    of workers that died (their units run again). Ray is imported only here."""
    if backend == "local":
        return None
    try:
        from pytfpol.running.ray_runner import RayRunner
    except ImportError as exc:
        from pytfpol.errors import UsageError

        raise UsageError(
            f"--backend ray: Ray is not installed ({exc})",
            "install it with: pip install 'pytfpol[ray]'",
        ) from None
    return RayRunner(address, actors, shared, warn)
