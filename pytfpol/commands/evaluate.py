"""`pytfpol eval`: run a policy's episodes and write its output folder.

plan (no TensorFlow: files resolved and validated, options and env checked) -> claim and lock
OUT -> load -> run the episodes as units on the runner of --backend -> write the output folder
(`write_eval_outputs`: checkpoint/, videos/, trajectories/, returns.png, episodes.csv,
stats.json) staged in a private directory, then committed as one output set (results.output_set).

TensorFlow is imported when the policy is loaded, not on import. The report is built as a dict
while the run writes into it, and returned typed (`EvalReport`, stats.json's document).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence

from pytfpol.commands.progress import NoProgress, Progress
from pytfpol.errors import OutputError, PytfpolError, interrupted, stopped_by
from pytfpol.formats import layout
from pytfpol.policy.quiet_tf import heavy_imports
from pytfpol.results import (
    documents,
    files,
    locking,
    output_checkpoint,
    output_set,
    plots,
    recording,
    sweep_report,
    write_failures,
)
from pytfpol.results.report import finish_report, report_base
from pytfpol.running import collect, interrupts
from pytfpol.running.plan import Plan, plan_evaluation
from pytfpol.running.units import Unit, merge, unit_size
from pytfpol.settings import EvalSettings

if TYPE_CHECKING:
    import numpy as np

    from pytfpol.running.runners import InProcessRunner


def evaluate(settings: EvalSettings, progress: Optional[Progress] = None) -> documents.EvalReport:
    """Run the episodes, write `stats.json`, `episodes.csv` and `checkpoint/`, return the report
    (`EvalReport`: `as_document()` is stats.json's JSON object).

    The report is written (marked `"complete": false`) even when the run stops early on an
    environment/policy failure, `settings.timeout`, Ctrl-C or SIGTERM; the error is then raised
    with `.report` set. A run that fails before its first episode leaves no output directory.
    """
    progress = progress or NoProgress()
    deadline = None if settings.timeout is None else time.monotonic() + settings.timeout
    with interrupts.stop_on_signals():
        plan = plan_evaluation(settings)
        for note in plan.notes:
            progress.warn(note)
        try:
            recording.check(plan)  # --video, --dataset: refused before anything is written
            out = output_dir(settings, plan)
            claim = output_set.claim_output_dir(
                out, plan.input_paths(), plan.identity, settings.overwrite
            )
            with locking.working_in(out, claim):
                files.check_free_space(
                    out, write_failures.needed_bytes(plan.checked.total_bytes, settings.episodes)
                )
                history = output_checkpoint.previous_history(claim)
                built, error = _evaluate_locked(plan, out, progress, deadline, history)
        finally:
            plan.close()
    report = documents.EvalReport.from_dict(built)
    if error is not None:
        error.report = report
        raise error
    return report


def output_dir(settings: EvalSettings, plan: Plan) -> Path:
    """--out, else a new directory under pytfpol-runs/ named for the env and the policy."""
    if settings.out:
        return Path(settings.out)
    return files.default_run_dir(plan.env.env_id, settings.policy_path)


@dataclass
class _Episodes:
    """What running the episodes gave: the policy loaded here, the report so far, the episode
    records (by index) and what stopped the run, if anything."""

    loaded: Any
    base: dict
    recorder: recording.Recorder
    records: list
    error: Optional[PytfpolError]
    load_seconds: float
    run_seconds: float


def _evaluate_locked(
    plan: Plan,
    out: Path,
    progress: Progress,
    deadline: Optional[float],
    history: Optional[np.ndarray],
) -> tuple[dict, Optional[PytfpolError]]:
    """Load, run, and write the output folder into `out` (locked by the caller) as one output
    set: staged in a private directory, then committed (see storage). Signals that arrive once
    the episodes are over wait until the set is committed."""
    with heavy_imports():
        from pytfpol.running.runners import InProcessRunner, remote_runner  # TensorFlow

    settings = plan.settings
    started = time.perf_counter()
    progress.stage(f"loading {settings.policy_path}")
    stage = output_set.stage_outputs(out)
    deferral = interrupts.Deferral()
    local = InProcessRunner(first_env=plan.take_first_env())
    runner = local
    try:
        try:
            runner = (
                remote_runner(
                    settings.backend,
                    settings.ray_address,
                    settings.actors,
                    settings.shared_path,
                    progress.warn,
                )
                or local
            )
            ran = _run_episodes(plan, runner, local, out, stage, progress, deadline, started)
            if isinstance(ran.error, OutputError):  # a video or trajectory: nothing is committed
                raise ran.error
            deferral.start()
        finally:
            progress.stop()
        report = finish_report(
            ran.base, settings, ran.records, ran.error, ran.load_seconds, ran.run_seconds
        )
        _write_tensorboard(settings, report, stage, out)
        write_eval_outputs(
            stage,
            out,
            report,
            ran.loaded,
            ran.records,
            history,
            error=ran.error,
            recorder=ran.recorder,
            plot=settings.plot,
        )
        output_set.commit_outputs(out, stage)
    except OutputError as exc:  # a staged file could not be written: say it of OUT
        raise write_failures.in_out(exc, out, stage) from exc.__cause__
    finally:
        shutil.rmtree(stage, ignore_errors=True)  # nothing left once committed
        if runner is not local:
            runner.close()
        local.close()
        late = deferral.finish()
    return report, _late_stop(late, ran.error, len(ran.records), out)


def _run_episodes(
    plan: Plan,
    runner: Any,
    local: InProcessRunner,
    out: Path,
    stage: Path,
    progress: Progress,
    deadline: Optional[float],
    started: float,
) -> _Episodes:
    """The episodes as units on `runner`: locally one unit (or --unit-episodes blocks) on the
    worker that loaded the policy; on Ray, blocks submitted before the policy is loaded here
    (this process still loads it, for the report and the new checkpoint)."""
    from pytfpol.running.runners import Hooks  # imported (TensorFlow) by _evaluate_locked

    settings = plan.settings
    workers = runner.describe()["actors"] or 1
    size = unit_size(settings.episodes, settings.unit_episodes, workers)
    units = plan.units(size)
    hooks = Hooks(
        on_episode=progress.advance,
        on_step=progress.step,
        deadline=deadline,
        timeout=settings.timeout,
    )
    if runner is not local:  # the actors start while this process loads the policy
        for unit in units:
            runner.submit(unit, plan.checked, hooks, tag=unit)
        plan.checked.forget_contents()  # shipped: the object store holds them now
    worker = local.worker_for(_driver_unit(units[0], runner is local), plan.checked)
    load_seconds = time.perf_counter() - started
    base = report_base(
        settings,
        plan.source,
        worker.loaded,
        out,
        plan.env.env_id,
        plan.notes,
        plan.checked,
        plan.recorded_env,
    )
    progress.start(settings.episodes, plan.env.env_id, plan.max_episode_steps)
    recorder = recording.Recorder(
        plan, stage, out, worker.stepper.observation_space, worker.stepper.action_space
    )
    if runner is local:
        hooks.observer = recorder.observer
        for unit in units:
            runner.submit(unit, plan.checked, hooks, tag=unit)
    run_started = time.perf_counter()
    dones, error = collect.collect(runner, settings, deadline)
    run_seconds = time.perf_counter() - run_started
    records = sorted((r for d in dones for r in d.result.records), key=lambda r: r.index)
    base["backend"] = collect.backend_report(runner, size or settings.episodes, dones)
    if error is None:
        key = dones[0].result.key
        merge([d.result for d in dones], [(key, i) for i in range(settings.episodes)])
    return _Episodes(worker.loaded, base, recorder, records, error, load_seconds, run_seconds)


def _driver_unit(unit: Unit, runs_here: bool) -> Unit:
    """The unit this process loads the policy for: the first unit when it runs them; else the
    same policy with one env in this process (its episodes run elsewhere)."""
    return unit if runs_here else unit.with_one_env()


def _late_stop(
    late: Optional[BaseException], error: Optional[PytfpolError], episodes: int, out: Path
) -> Optional[PytfpolError]:
    """The run's error; or, for a complete run, the signal that arrived while it was written."""
    if late is None or error is not None:
        return error
    return interrupted(
        late,
        f"{stopped_by(late)} after all {episodes} episodes: the outputs were written completely",
        f"the report is in {out}",
    )


def _write_tensorboard(settings: EvalSettings, report: dict, stage: Path, out: Path) -> None:
    """--tensorboard DIR (written there now, new event files only), else OUT/tensorboard
    (staged with the rest of the output set); named in the report's `output.tensorboard`."""
    if report["error"] is not None:
        return
    board = Path(settings.tensorboard) if settings.tensorboard else stage / layout.TENSORBOARD_DIR
    sweep_report.write_eval_tensorboard(board, report)
    named = Path(settings.tensorboard) if settings.tensorboard else out / layout.TENSORBOARD_DIR
    report["output"]["tensorboard"] = str(named)


def write_eval_outputs(
    stage: Path,
    final: Path,
    report: dict,
    loaded: Any,
    records: Sequence,
    history: Optional[np.ndarray] = None,
    *,
    error: Optional[PytfpolError] = None,
    recorder: Optional[recording.Recorder] = None,
    plot: bool = False,
) -> None:
    """Eval's output folder, staged in `stage`, named in `report` as it will be once committed
    to `final`: checkpoint/ (the policy and its evaluation history; for a run stopped by
    `error`, the history only), the recorder's videos/, trajectories/ and dataset, returns.png
    (`plot`), then episodes.csv and stats.json, last. `report` is stats.json's document
    (`finish_report`); `records` its episode records; `history` the evaluations before (else
    the policy's own). `pytfpol eval` and sweep's best/ write it."""
    if error is None:
        staged = output_checkpoint.write(loaded, stage, records, history)
        report["output"]["checkpoint"] = str(final / Path(staged).relative_to(stage))
    else:  # no policy checkpoint for an incomplete run, but its history is kept
        output_checkpoint.write_history_only(loaded, stage, history)
    if recorder is not None:
        recorder.finish(report, error)  # videos, trajectories, the Minari dataset
    if plot and records:
        plots.write_returns_plot(report, stage / files.RETURNS_PNG)
        report["output"]["plot"] = str(final / files.RETURNS_PNG)
    documents.write_eval_report(stage, report)
