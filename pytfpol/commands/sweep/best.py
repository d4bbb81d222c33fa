"""A sweep's best checkpoint: each run's best by `--select` (a tie goes to the earliest step,
`sweep_report.best_entry`), the best of all re-evaluated on `--confirm-episodes` fresh seeds
(the episodes after the sweep's) and written to OUT/best/ as an eval output, and with
`--video-best` its median episode recorded (`commands.best_video`)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Optional

from pytfpol.commands import best_video
from pytfpol.commands.evaluate import write_eval_outputs
from pytfpol.commands.sweep import reuse
from pytfpol.commands.sweep.scheduler import collect
from pytfpol.commands.sweep.state import CONFIRM, SweepState
from pytfpol.errors import InputError, Interrupted, RunError, UsageError
from pytfpol.formats import layout, validation
from pytfpol.results import files, report, sweep_report
from pytfpol.running import sweep_plan
from pytfpol.running.units import Unit, merge, unit_size


def best_and_confirm(state: SweepState, stage: Path) -> Optional[dict]:
    """Each run's best checkpoint by --select; the best of all confirmed into `stage`/best
    and, with --video-best, recorded into `stage`/videos. None when no checkpoint has a
    result."""
    settings = state.settings
    overall = None
    for number, run in enumerate(state.plan.runs):
        entries = [e for e in state.entries if e["run"] == number]
        best = sweep_report.best_entry(entries, settings.select)
        run.best = best
        if best is not None and (
            overall is None
            or best["summary"][settings.select] > overall["summary"][settings.select]
        ):
            overall = best
    if overall is None:
        return None
    confirmation = None
    if settings.confirm > 0:
        confirmation = _confirm(state, overall, stage / layout.BEST_DIR)
    video = None
    if settings.video_best:
        episodes = (confirmation or overall)["episodes"]
        video = _video(state, overall, episodes, stage / files.VIDEOS_DIR)
    return {"entry": overall, "confirmation": confirmation, "video": video}


def _best_inputs(state: SweepState, entry: dict) -> tuple:
    """The best entry's run number, source and validated inputs (kept when it was
    evaluated, so nothing is read again)."""
    number, settings = entry["run"], state.settings
    kept = state.best_inputs.get(number)
    if kept is not None and kept[0] is entry:
        return number, kept[1], kept[2]
    run = state.plan.runs[number]  # not kept (cannot happen for an entry of this sweep)
    checkpoint = next(c for c in run.found.checkpoints if c.step == entry["step"])
    source = sweep_plan.source_for(run, checkpoint, settings)
    checked = validation.validate(source, settings.eval.trusted_sha256, state.saved_models[number])
    return number, source, checked


def _video(state: SweepState, entry: dict, episodes: list, directory: Path) -> Optional[dict]:
    """--video-best: the median episode re-run on the run's worker and recorded. A failure
    to render is noted, and makes the exit code once the sweep is written; one to write
    stops the sweep before its outputs are committed (exit 5)."""
    number, source, checked = _best_inputs(state, entry)
    run, base = state.plan.runs[number], state.settings.eval

    def run_episode(index: int, observer: Any) -> Any:
        unit = Unit(
            source, state.plan.env, index, 1, base.seed, state.options(), run.config
        )  # fmt: skip
        if state.remote is not None:  # the local worker loaded it with one env (_confirm)
            unit = unit.with_one_env()
        state.progress.stage(f"recording episode {index} of step {entry['step']}")
        return state.runner(number).run(unit, checked, observer=observer)

    try:
        video, notes = best_video.record_median_episode(
            episodes, entry["step"], run_episode, state.plan.env, directory, base.video_format
        )
    except (InputError, RunError, UsageError) as exc:  # an OutputError stops the commit
        state.video_error = exc
        state.note(f"--video-best: {exc.message}")
        return None
    for note in notes:
        state.note(note)
    video["path"] = str(state.out / files.VIDEOS_DIR / video.pop("file"))
    return video


def _confirm(state: SweepState, entry: dict, directory: Path) -> Optional[dict]:
    """The best checkpoint on `--confirm-episodes` fresh seeds: a unit of episodes
    N .. N+M-1 (seeds S+N ...), on the run's worker; its eval output in `directory`."""
    key = reuse.confirmation_key(state, entry)
    if reuse.carry_over(state.journal, key, state.out, directory.parent, layout.BEST_DIR):
        return reuse.kept_document(directory / files.STATS_JSON)  # a re-run: as it was
    settings = state.settings
    number, source, checked = _best_inputs(state, entry)
    run = state.plan.runs[number]
    base = settings.eval
    whole = Unit(
        source, state.plan.env, base.episodes, settings.confirm, base.seed, state.options(),
        run.config,
    )  # fmt: skip
    records, problem = _run_confirmation(state, number, whole, checked, entry["step"])
    if problem is not None:
        if isinstance(problem, Interrupted):
            raise problem
        state.note(f"the best checkpoint could not be re-evaluated: {problem.message}")
        return None
    loaded = (
        state.runner(number)
        .worker_for(whole if state.remote is None else whole.with_one_env(), checked)
        .loaded
    )
    directory.mkdir()
    final = state.out / layout.BEST_DIR
    best_settings = dataclasses.replace(base, policy_path=run.path, step=entry["step"])
    document = report.report_base(
        best_settings,
        source,
        loaded,
        final,
        state.plan.env.env_id,
        (),
        checked,
        state.plan.recorded_env,
    )
    document = report.finish_report(document, best_settings, records, None, 0.0, 0.0)
    write_eval_outputs(directory, final, document, loaded, records)  # as `pytfpol eval` does
    reuse.remember(state.journal, key, directory.parent, layout.BEST_DIR)
    return document


def _run_confirmation(
    state: SweepState, number: int, whole: Unit, checked: Any, step: Any
) -> tuple:
    """The confirmation's episodes (as units on the backend) and the error that stopped
    them, if any."""
    base = state.settings.eval
    size = unit_size(whole.count, base.unit_episodes, state.workers())
    units = whole.pieces(size)
    runner = state.executor(number)
    state.progress.start(whole.count, f"best (step {step}), fresh seeds")
    hooks = state.hooks()
    state.confirmed = []
    for unit in units:
        runner.submit(unit, checked, hooks, tag=CONFIRM)
    try:
        collect(state, 0, runner)
    finally:
        state.progress.stop()
    results = sorted(state.confirmed, key=lambda r: r.unit.first)
    for result in results:
        if result.error is not None:
            if runner.pending():
                runner.cancel()
            return [], result.error
    key = results[0].key
    merged = merge(results, [(key, whole.first + i) for i in range(whole.count)])
    return list(merged.values()), None
