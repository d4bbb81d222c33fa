"""Evaluating a sweep's checkpoints: each one validated (read once), looked up in the journal
(a re-run or a resumed sweep evaluates only what it has not), else cut into units submitted to
its run's runner (or the remote backend); results are collected as they arrive, and each
checkpoint's entry is made and journaled as soon as its units are in. A checkpoint that cannot
be evaluated is an entry with its error; the sweep goes on."""

from __future__ import annotations

import os
import time
from typing import Any, Optional

from pytfpol.commands.sweep.journal_key import checkpoint_key
from pytfpol.commands.sweep.state import CONFIRM, Job, SweepState
from pytfpol.errors import Interrupted, PytfpolError, RunError
from pytfpol.formats import validation
from pytfpol.results import report, sweep_report
from pytfpol.running import sweep_plan
from pytfpol.running.collect import unit_row
from pytfpol.running.plan import policy_config_for
from pytfpol.running.sweep_plan import SweepRun
from pytfpol.running.units import Unit, merge, unit_size


def start_backend(state: SweepState) -> None:
    """Connect to the remote backend (Ray), if asked for; one progress bar for the sweep
    there, since its units' episodes arrive together."""
    if state.settings.eval.backend == "local":
        return  # the runs' own runners, made when a checkpoint is not in the journal
    from pytfpol.running.runners import remote_runner  # Ray: imported only for --backend ray

    base = state.settings.eval
    state.remote = remote_runner(
        base.backend, base.ray_address, base.actors, base.shared_path, state.note
    )
    if state.remote is not None:
        total = state.checkpoint_count() * base.episodes
        state.progress.start(total, f"sweep on {base.backend}", state.plan.max_episode_steps)


def evaluate_chosen(state: SweepState) -> None:
    """Every checkpoint the plan chose, run after run, oldest first; returns when every result
    is in and journaled."""
    state.count([os.path.abspath(c.path) for run in state.plan.runs for c in run.chosen])
    for number, run in enumerate(state.plan.runs):
        for checkpoint in run.chosen:
            evaluate(state, number, run, checkpoint)
    collect(state, 0)


def evaluate(
    state: SweepState, number: int, run: SweepRun, checkpoint: Any, watching: bool = False
) -> Optional[str]:
    """Evaluate one checkpoint (or take it from the journal) and record its entry. Returns
    "retry" when a watched checkpoint failed validation (it may still be being written),
    "deleted" when it went away before it was read."""
    settings = state.settings
    entry = _new_entry(number, checkpoint)
    started = time.perf_counter()
    try:
        source = sweep_plan.source_for(run, checkpoint, settings)
        checked = validation.validate(
            source,
            settings.eval.trusted_sha256,
            state.saved_models[number],
            keep_bytes=settings.eval.ships_files,
        )
        if run.config is None and source.rebuilt:
            run.config = policy_config_for(settings.eval, source, checked)
    except PytfpolError as exc:
        if not all(os.path.lexists(f) for f in _files(checkpoint)):
            state.note(f"{checkpoint.name}: deleted before it was evaluated; skipped")
            state.count([entry["checkpoint"]], counted=False)
            return "deleted"
        if watching:
            return "retry"
        state.count([entry["checkpoint"]])
        record_failure(state, entry, exc)
        return None
    state.count([entry["checkpoint"]])
    validate_seconds = time.perf_counter() - started
    entry["key"] = checkpoint_key(
        settings,
        state.plan.env.env_id,
        state.plan.recorded_env,
        state.graph_digests,
        source,
        checked,
        run,
    )
    reused = state.journal.get(entry["key"])
    if reused is not None:
        reused.update(run=number, reused=True, checkpoint=entry["checkpoint"])
        reused.setdefault("seconds", None)
        add(state, reused, source, checked)
        return None
    job = Job(number, entry, source, checked, validate_seconds=validate_seconds)
    _submit(state, job, run, f"step {checkpoint.step}")
    return None


def _new_entry(number: int, checkpoint: Any) -> dict:
    return {
        "run": number,
        "step": checkpoint.step,
        "checkpoint": os.path.abspath(checkpoint.path),
        "train_step": None,
        "complete": False,
        "reused": False,
        "error": None,
        "key": None,
        "summary": {},
        "episodes": [],
        "seconds": None,  # validate, restore, episodes (in the sweep that evaluated it)
    }


def _submit(state: SweepState, job: Job, run: SweepRun, description: str) -> None:
    """The checkpoint's episodes as units on its runner (the same seeds as `eval --step N`);
    then take results until the runner has room for more."""
    base = state.settings.eval
    size = unit_size(base.episodes, base.unit_episodes, state.workers(), state.checkpoint_count())
    whole = Unit(
        job.source, state.plan.env, 0, base.episodes, base.seed, state.options(), run.config
    )  # fmt: skip
    units = whole.pieces(size)
    job.expected = len(units)
    tag = next(state.tags)
    state.jobs[tag] = job
    state.start_plotter()  # before the runner imports TensorFlow
    runner = state.executor(job.number)
    local = state.remote is None
    if local:  # run here, now: a bar for this checkpoint's episodes
        state.progress.start(base.episodes, description, state.plan.max_episode_steps)
    hooks = state.hooks()
    for unit in units:
        runner.submit(unit, job.checked, hooks, tag=tag)
    collect(state, runner.capacity - 1, runner)
    if local:
        state.progress.stop()


def collect(state: SweepState, limit: int, runner: Any = None) -> None:
    """Take results until at most `limit` units are pending (on `runner`, else on every
    runner); each checkpoint's entry is made and journaled as soon as its units are in."""
    runners = [runner] if runner is not None else [*state.runners, state.remote]
    for each in runners:
        while each is not None and each.pending() > limit:
            done = each.next_result(poll=0.25)
            if done is not None:
                _arrived(state, done)
    if limit == 0 and runner is None and state.jobs:  # a runner lost a unit: never silently
        job = next(iter(state.jobs.values()))
        raise RunError(
            f"step {job.entry['step']}: {job.expected - job.arrived} of its units never "
            "returned a result",
            "a runner lost units of work; this is a bug in pytfpol",
        )


def _arrived(state: SweepState, done: Any) -> None:
    result = done.result
    run = None if done.tag == CONFIRM else state.jobs[done.tag].number
    state.units.append({"run": run, **unit_row(done)})
    if done.tag == CONFIRM:
        state.confirmed.append(result)
        return
    job = state.jobs[done.tag]
    job.arrived += 1
    if job.arrived == job.expected:
        del state.jobs[done.tag]
    if isinstance(result.error, Interrupted):
        raise result.error  # the checkpoint in progress is lost; the rest is journaled
    if job.failed:
        return
    if result.error is not None:  # the first error is the entry's; its other units ignored
        job.failed = True
        record_failure(state, job.entry, result.error)
        return
    job.results.append(result)
    if len(job.results) == job.expected:
        _finish(state, job)


def _finish(state: SweepState, job: Job) -> None:
    """All units of a checkpoint arrived: its entry, journaled at once."""
    results = sorted(job.results, key=lambda r: r.unit.first)
    key = results[0].key
    merged = merge(results, [(key, i) for i in range(state.settings.eval.episodes)])
    records = list(merged.values())
    episodes, summary, _ = report.summarize_records(state.settings.eval, records)
    job.entry.update(train_step=results[0].train_step, complete=True, summary=summary)
    job.entry["episodes"] = episodes
    restore = sum(r.restore_seconds for r in results)  # summed over the units
    job.entry["seconds"] = {
        "validate": round(job.validate_seconds, 4),
        "restore": round(restore, 4),
        "episodes": round(sum(r.seconds for r in results) - restore, 4),
    }
    state.journal.put(job.entry)
    add(state, job.entry, job.source, job.checked)


def add(state: SweepState, entry: dict, source: Any, checked: Any) -> None:
    """Record an evaluated entry (and show its own mean); keep what was validated of its
    run's best so far, so that confirming the best reads no file again."""
    state.entries.append(entry)
    state.progress.checkpoint_done(
        entry["step"], entry["summary"].get("mean_return"), len(entry["episodes"]), entry["reused"]
    )
    kept = state.best_inputs.get(entry["run"])
    contenders = [entry] if kept is None else [kept[0], entry]
    loser: Optional[tuple] = (source, checked)
    if sweep_report.best_entry(contenders, state.settings.select) is entry:
        state.best_inputs[entry["run"]] = (entry, source, checked)
        loser = kept[1:] if kept is not None else None
    if loser is not None:  # its checkpoint's bytes (kept to ship on Ray) are not needed again
        loser[1].forget_contents((loser[0].checkpoint_prefix, loser[0].evaluation_prefix))


def record_failure(state: SweepState, entry: dict, exc: PytfpolError) -> None:
    entry["error"] = {"message": exc.message, "exit_code": exc.exit_code}
    state.entries.append(entry)
    state.progress.warn(f"step {entry['step']}: {exc.message}")
    state.progress.checkpoint_done(entry["step"], None, 0)


def _files(checkpoint: Any) -> list[str]:
    return [f"{checkpoint.prefix}.index"]
