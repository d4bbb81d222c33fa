"""Runners execute units of work. This one runs them in this process, one after the other.

It keeps one `PolicyWorker` at a time: units that share a graph (the checkpoints of one training
run) reuse it, a unit of another graph replaces it. Worker processes and a Ray cluster run the
same units with the same workers; their results merge by (train step, episode index).
"""

from __future__ import annotations

from typing import Any, Optional

from pytfpol.formats.validation import CheckedInputs
from pytfpol.running.units import Unit, UnitResult
from pytfpol.running.worker import PolicyWorker


class InProcessRunner:
    """Runs units in this process. `first_env` (an env the driver already made for the units'
    spec) is handed to the first worker."""

    def __init__(self, first_env: Any = None) -> None:
        self._first_env = first_env
        self._worker: Optional[PolicyWorker] = None

    def worker_for(self, unit: Unit, checked: CheckedInputs) -> PolicyWorker:
        """The worker that runs `unit`: the current one if it can, else a new one (the graph
        is built there; a failure to load is raised)."""
        if self._worker is not None and self._worker.accepts(unit):
            return self._worker
        self.close()
        first, self._first_env = self._first_env, None
        self._worker = PolicyWorker(unit, checked, first_env=first)
        return self._worker

    def run(self, unit: Unit, checked: CheckedInputs, **hooks) -> UnitResult:
        """Execute `unit` (hooks: on_episode, on_step, deadline, timeout, observer; see PolicyWorker)."""
        return self.worker_for(unit, checked).run(unit, checked, **hooks)

    def close(self) -> None:
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
