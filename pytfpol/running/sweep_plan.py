"""What a sweep will evaluate, decided before TensorFlow is imported: the runs, and in each the
checkpoints chosen by `--steps`, `--every` and `--last`.

Each checkpoint becomes the `PolicySource` a single `pytfpol eval PATH --step N` would evaluate
(`sources.resolve_policy_source`, the same rules), so a sweep's checkpoint and an eval of it are
the same evaluation. `--watch` lists the directories again with `new_checkpoints`.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any, Optional

from pytfpol.errors import UsageError
from pytfpol.formats import layout as lay
from pytfpol.formats.sources import PolicySource, source_from_layout
from pytfpol.running.env_spec import EnvSpec, preflight
from pytfpol.running.plan import (
    HoldsFirstEnv,
    check_env_import,
    check_options,
    env_spec_for,
    given_config,
    step_limit,
)
from pytfpol.settings import SweepSettings

SWEEPABLE = (lay.KIND_LEARNER, lay.KIND_CHECKPOINTER, lay.KIND_SAVED_MODEL_SERIES)


@dataclass
class SweepRun:
    """One training run: a directory of checkpoints, and the ones chosen so far."""

    path: str
    found: lay.Layout
    chosen: list = field(default_factory=list)  # layout.Checkpoint, oldest first
    skipped: list = field(default_factory=list)  # notes: checkpoints left out, and why
    config: Any = None  # the PolicyConfig of a Checkpointer run, once known
    best: Optional[dict] = None  # its best entry, once the sweep has run

    @property
    def name(self) -> str:
        return self.path


@dataclass
class SweepPlan(HoldsFirstEnv):
    settings: SweepSettings
    runs: list[SweepRun]
    env: EnvSpec  # with the id Gymnasium really made
    first_env: Any
    notes: tuple[str, ...]
    max_episode_steps: Optional[int] = None
    recorded_env: Optional[dict] = None  # the env as Gymnasium records it (EnvSpec JSON)


def plan_sweep(settings: SweepSettings) -> SweepPlan:
    """Detect each run's layout, choose its checkpoints, make the env once (no TensorFlow)."""
    runs = [_run(path, settings) for path in settings.paths]
    base = settings.eval
    check_env_import(base)
    spec = env_spec_for(base)
    made = preflight(spec)
    env = dataclasses.replace(spec, env_id=made.made_id)
    limit = step_limit(base, made.env)
    notes = (*made.notes, *(note for run in runs for note in run.skipped))
    return SweepPlan(settings, runs, env, made.env, notes, limit, made.recorded)


def _run(path: str, settings: SweepSettings) -> SweepRun:
    found = lay.detect(path).in_context()
    if found.kind not in SWEEPABLE:
        raise UsageError(
            f"{path}: is {found.description}, not a directory of checkpoints",
            "give a Learner policies/ root (or the train dir above it), a common.Checkpointer "
            "directory or PPO's policy_saved_model/; evaluate one policy with `pytfpol eval`",
        )
    run = SweepRun(path, found)
    run.chosen = choose(list(found.checkpoints), settings, run.skipped)
    if not run.chosen and not settings.watch:
        raise UsageError(
            f"{path}: no checkpoint to evaluate"
            + (" (none is left by --steps/--every/--last)" if found.checkpoints else ""),
            f"steps there: {', '.join(str(s) for s in found.steps) or 'none'}",
        )
    if run.chosen:
        first = source_for(run, run.chosen[0], settings)
        check_options(settings.eval, first)
        if first.rebuilt:  # a factory its config names is refused now, before OUT is touched
            given_config(settings.eval, first)
    return run


def choose(checkpoints: list, settings: SweepSettings, notes: Optional[list] = None) -> list:
    """The checkpoints a sweep evaluates, oldest first: complete ones (an unfinished write is
    left for --watch, with a note), within --steps, every --every-th, the newest --last."""
    chosen = []
    for checkpoint in checkpoints:
        if not checkpoint.complete:
            if notes is not None:
                missing = os.path.basename(checkpoint.missing[0])
                notes.append(f"skipped {checkpoint.name}: incomplete (no {missing})")
            continue
        chosen.append(checkpoint)
    if settings.steps is not None:
        first, last = settings.steps
        chosen = [
            c
            for c in chosen
            if c.step is not None
            and (first is None or c.step >= first)
            and (last is None or c.step <= last)
        ]
    if settings.every is not None:
        chosen = chosen[:: settings.every]
    if settings.last is not None:
        chosen = chosen[-settings.last :]
    return chosen


def new_checkpoints(run: SweepRun, settings: SweepSettings, seen: set) -> list:
    """For --watch: the run's complete checkpoints not seen yet, oldest first (the directory is
    listed again; the `checkpoint` state file is never read)."""
    found = lay.detect(run.path).in_context()
    run.found = found
    fresh = [c for c in found.checkpoints if c.name not in seen]
    chosen = choose(fresh, dataclasses.replace(settings, every=None, last=None))
    return chosen


def source_for(run: SweepRun, checkpoint, settings: SweepSettings) -> PolicySource:
    """What `pytfpol eval PATH --step N` would evaluate for this checkpoint, from the run's
    listing (`run.found`: the directory is listed once per pass, not once per checkpoint)."""
    return source_from_layout(run.found, settings.eval.policy, step=checkpoint.step)
