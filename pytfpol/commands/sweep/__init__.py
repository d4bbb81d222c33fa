"""`pytfpol sweep`: every chosen checkpoint of one or more training runs, on the same seeds.

plan (`running.sweep_plan`, no TensorFlow) → claim and lock OUT → `scheduler`: for each run,
for each checkpoint: validate it (read once), look its key (`journal_key`) up in the journal
(a re-run or a resumed sweep evaluates only what it has not), else run it as units on the
run's worker (the graph is built once per run; each checkpoint is restored into it) and
journal the result → `watch` (--watch): keep listing the directories for new complete
checkpoints → `best`: pick the best, re-evaluate it on fresh seeds into OUT/best/ →
`documents`: sweep.json, curve.csv, episodes.csv, curve.png, TensorBoard events, all committed
as one output set. A checkpoint that cannot be evaluated is recorded with its error and the
sweep goes on; the exit code then says so. `state.SweepState` is what these share.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Optional

from pytfpol.commands.progress import NoProgress, Progress
from pytfpol.commands.sweep import documents, identity, scheduler
from pytfpol.commands.sweep.best import best_and_confirm
from pytfpol.commands.sweep.state import SweepState, new_state
from pytfpol.commands.sweep.watch import wait_for_runs, watch
from pytfpol.errors import Interrupted, OutputError, PytfpolError, interrupted, stopped_by
from pytfpol.formats import layout
from pytfpol.results import files, locking, output_set, write_failures
from pytfpol.results.documents import SweepReport
from pytfpol.running import interrupts, sweep_plan
from pytfpol.settings import SweepSettings

__all__ = ["sweep"]


def sweep(settings: SweepSettings, progress: Optional[Progress] = None) -> SweepReport:
    """Run the sweep, write its outputs, return `sweep.json`'s document (`SweepReport`). Raises (with `.report`
    set, after writing) InputError when a checkpoint could not be evaluated, Interrupted on
    Ctrl-C/SIGTERM; check the gates with `report.check_gates`."""
    progress = progress or NoProgress()
    with interrupts.stop_on_signals():
        if settings.watch:
            wait_for_runs(settings, progress)
        plan = sweep_plan.plan_sweep(settings)
        for note in plan.notes:
            progress.warn(note)
        try:
            if settings.video_best:  # refused before anything is written
                from pytfpol.running import video  # imports what rendering needs

                video.check_can_render(
                    plan.env,
                    getattr(plan.first_env, "metadata", {}),
                    settings.eval.seed,
                    settings.eval.video_format,
                )
            out = _out_dir(settings, plan)
            identity.check_same_sweep(out, settings)
            claim = output_set.claim_output_dir(
                out,
                [run.found.directory for run in plan.runs] + list(settings.paths),
                documents.identity(settings, plan),
                settings.eval.overwrite,
                report_name=layout.SWEEP_JSON,
            )
            with locking.working_in(out, claim):
                files.check_free_space(out, _needed_bytes(plan))
                document, error = run_sweep(new_state(plan, out, progress))
        finally:
            plan.close()
    if error is not None:
        error.report = document
        raise error
    return document


def _out_dir(settings: SweepSettings, plan: sweep_plan.SweepPlan) -> Path:
    base = settings.eval
    if base.out:
        return Path(base.out)
    return files.default_run_dir(plan.env.env_id, f"sweep-{Path(settings.paths[0]).name}")


def _needed_bytes(plan: sweep_plan.SweepPlan) -> int:
    """What the sweep will write, estimated from above before it runs: the best checkpoint
    (as large as the largest chosen), every episode of every chosen checkpoint and of the
    confirmation (`write_failures.needed_bytes`). A --watch sweep counts the checkpoints there
    now."""
    chosen = [c for run in plan.runs for c in run.chosen]
    settings = plan.settings
    return write_failures.needed_bytes(
        write_failures.checkpoint_bytes(c.prefix for c in chosen),
        len(chosen) * settings.eval.episodes + settings.confirm,
        len(chosen),
    )


def run_sweep(state: SweepState) -> tuple[SweepReport, Optional[PytfpolError]]:
    """One sweep, under the lock: evaluate, watch, pick and confirm the best, and commit the
    output set (also when stopped: what was evaluated is written, marked incomplete). Returns
    the document and the error the exit code comes from, if any."""
    deferral = interrupts.Deferral()
    stage = output_set.stage_outputs(state.out)
    try:
        stopped = _evaluate(state)
        best = None
        if stopped is not None and state.remote is not None:
            state.remote.cancel()  # the units in flight are lost; the rest is journaled
        if stopped is None:
            best, stopped = _best(state, stage)
        deferral.start()
        document = SweepReport.from_dict(documents.sweep_document(state, best, stopped))
        documents.write_documents(state.settings, stage, document, state.journal, state.plotter)
        output_set.commit_outputs(state.out, stage, output_set.KIND_SWEEP)
    except OutputError as exc:  # a staged file could not be written: say it of OUT
        raise write_failures.in_out(exc, state.out, stage) from exc.__cause__
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        for runner in [state.plotter, *state.runners, state.remote]:  # each one's close()
            if runner is not None:
                runner.close()
        late = deferral.finish()
    error = stopped or documents.failures(document) or state.video_error
    if late is not None and error is None:
        error = interrupted(late, f"{stopped_by(late)} after the sweep was written", "")
    return document, error


def _evaluate(state: SweepState) -> Optional[PytfpolError]:
    """The chosen checkpoints, then the watch; the interruption that stopped them, if any."""
    try:
        scheduler.start_backend(state)
        scheduler.evaluate_chosen(state)
        if state.settings.watch:
            watch(state)
        state.progress.stop()
    except Interrupted as exc:
        return exc
    except KeyboardInterrupt as exc:  # between checkpoints, or while restoring one
        return interrupted(exc, f"{stopped_by(exc)} after {len(state.entries)} checkpoints", "")
    return None


def _best(state: SweepState, stage: Path) -> tuple[Optional[dict], Optional[PytfpolError]]:
    """The best and its confirmation; the interruption that stopped them, if any."""
    try:
        return best_and_confirm(state, stage), None
    except KeyboardInterrupt as exc:
        return None, interrupted(exc, f"{stopped_by(exc)} while confirming the best", "")
    except Interrupted as exc:
        return None, exc
