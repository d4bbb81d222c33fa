"""One sweep's state, under the lock: the plan, OUT, the runners, and what has arrived so far.

A dataclass with a few small helpers, so that each responsibility of a sweep is a module of
functions over it: `scheduler` (evaluating checkpoints), `watch`, `best`, `documents`.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

from pytfpol.commands.progress import Progress
from pytfpol.errors import PytfpolError
from pytfpol.results import journal as journal_module
from pytfpol.running.plan import run_options
from pytfpol.running.sweep_plan import SweepPlan
from pytfpol.running.units import RunOptions
from pytfpol.settings import SweepSettings

CONFIRM = "confirm"  # the tag of the best's confirmation units


@dataclass
class Job:
    """A checkpoint whose units are submitted: its entry, made when they are all in."""

    number: int
    entry: dict
    source: Any
    checked: Any
    expected: int = 0  # units (set when they are submitted)
    results: list = field(default_factory=list)
    arrived: int = 0
    failed: bool = False
    validate_seconds: float = 0.0


@dataclass
class SweepState:
    """What one sweep knows while it runs."""

    plan: SweepPlan
    out: Path
    progress: Progress
    journal: journal_module.Journal
    # One in-process runner per run (`runner`: made when first needed; a re-run answered
    # from the journal makes none): it runs the run's units locally; with a
    # remote backend it only loads the best checkpoint's policy, to write OUT/best.
    runners: list
    remote: Any = None  # the runner of --backend ray (made by scheduler.start_backend)
    plotter: Any = None  # the child drawing curve.png (`start_plotter`)
    jobs: dict[int, Job] = field(default_factory=dict)  # checkpoints submitted, by tag
    confirmed: list = field(default_factory=list)  # the best's confirmation units, as they arrive
    tags: Iterator[int] = field(default_factory=itertools.count)
    units: list[dict] = field(default_factory=list)  # where each unit ran (backend.units)
    entries: list[dict] = field(default_factory=list)
    best_inputs: dict[int, tuple] = field(default_factory=dict)  # run -> (entry, source, inputs)
    saved_models: list[dict] = field(default_factory=list)  # each run's SavedModel, read once
    graph_digests: dict[str, str] = field(default_factory=dict)  # SavedModel dir -> pb sha256
    video_error: Optional[PytfpolError] = None
    notes: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    counted: set[str] = field(default_factory=set)  # the checkpoints the progress's k/N counts

    @property
    def settings(self) -> SweepSettings:
        return self.plan.settings

    def note(self, message: str) -> None:
        self.notes.append(message)
        self.progress.warn(message)

    def options(self) -> RunOptions:
        return run_options(self.settings.eval)

    def executor(self, number: int) -> Any:
        """Where run `number`'s units go: the remote backend, else the run's own runner."""
        return self.remote if self.remote is not None else self.runner(number)

    def runner(self, number: int) -> Any:
        """Run `number`'s in-process runner, made on first use (it imports TensorFlow when it
        makes its worker); the first one gets the env the plan made."""
        if self.runners[number] is None:
            from pytfpol.running.runners import InProcessRunner

            first_env = self.plan.take_first_env() if number == 0 else None
            self.runners[number] = InProcessRunner(first_env)
        return self.runners[number]

    def start_plotter(self) -> None:
        """Start the child that draws curve.png (`results.plot_process`; when a core is spare),
        once: called when a checkpoint is to be evaluated, so matplotlib's import overlaps the
        evaluation's (a re-run answered from the journal starts none)."""
        if self.plotter is None:
            from pytfpol.results import plot_process

            self.plotter = plot_process.start()

    def workers(self) -> int:
        return 1 if self.remote is None else int(self.remote.describe()["actors"])

    def checkpoint_count(self) -> int:
        return max(1, sum(len(run.chosen) for run in self.plan.runs))

    def count(self, paths: list[str], counted: bool = True) -> None:
        """The checkpoints at `paths` are (or, deleted, no longer are) among those the sweep
        evaluates: the N of its progress's k/N (so far, with --watch; 0 while a watch waits for
        training's first checkpoint)."""
        if counted:
            self.counted.update(paths)
        else:
            self.counted.difference_update(paths)
        settings = self.settings
        self.progress.checkpoints(len(self.counted), settings.eval.episodes, settings.watch)

    def hooks(self) -> Any:
        """Episodes and steps for the bar (started by the caller: one per checkpoint locally,
        one for the sweep remotely); a note while a policy loads here."""
        from pytfpol.running.runners import Hooks

        progress = self.progress
        if self.remote is not None:
            return Hooks(on_episode=progress.advance, on_step=progress.step)
        return Hooks(
            on_episode=progress.advance,
            on_step=progress.step,
            loading=lambda unit: progress.stage(f"loading {unit.source.path}"),
        )


def new_state(plan: SweepPlan, out: Path, progress: Progress) -> SweepState:
    """The state of a sweep about to run into `out` (locked by the caller); no TensorFlow
    yet (`SweepState.runner`)."""
    return SweepState(
        plan=plan,
        out=out,
        progress=progress,
        journal=journal_module.Journal(out),
        runners=[None for _ in plan.runs],
        saved_models=[{} for _ in plan.runs],
        notes=list(plan.notes),
    )
