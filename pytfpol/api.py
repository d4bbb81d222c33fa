"""The Python API that the CLI calls. Each function returns plain data (dicts) or raises a
`pytfpol.errors.PytfpolError`.

    from pytfpol import api
    report = api.evaluate(api.EvalSettings("examples/cartpole-dqn", "CartPole-v1", episodes=20))
    report["summary"]["mean_return"]

TensorFlow is imported on the first call, not on `import pytfpol.api`.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Optional

from pytfpol.commands.progress import NoProgress, Progress
from pytfpol.errors import OutputError, interrupted, stopped_by
from pytfpol.results import locking, output_checkpoint, recording, storage, write_failures
from pytfpol.results.report import SCHEMA_VERSION, check_gates, finish_report, report_base
from pytfpol.running import collect, interrupts
from pytfpol.running.plan import Plan, plan_evaluation
from pytfpol.running.units import merge, unit_size
from pytfpol.settings import EvalSettings, SweepSettings

__all__ = [
    "EvalSettings",
    "SweepSettings",
    "evaluate",
    "sweep",
    "check_gates",
    "configs",
    "SCHEMA_VERSION",
]


def evaluate(settings: EvalSettings, progress: Optional[Progress] = None) -> dict:
    """Run the episodes, write `stats.json`, `episodes.csv` and `checkpoint/`, return the report.

    plan (no TensorFlow: files resolved and validated, options and env checked) -> claim and lock
    the output directory -> load -> run -> write and commit the output set. The report is
    written (marked `"complete": false`) even when the run stops early on an environment/policy
    failure, `settings.timeout`, Ctrl-C or SIGTERM; the error is then raised with `.report` set.
    A run that fails before its first episode leaves no output directory behind it.
    """
    progress = progress or NoProgress()
    deadline = None if settings.timeout is None else time.monotonic() + settings.timeout
    with interrupts.stop_on_signals():
        plan = plan_evaluation(settings)
        for note in plan.notes:
            progress.warn(note)
        try:
            recording.check(plan)  # --video, --dataset: refused before anything is written
            out = (
                Path(settings.out)
                if settings.out
                else storage.default_run_dir(plan.env.env_id, settings.policy_path)
            )
            claim = storage.claim_output_dir(
                out, plan.input_paths(), plan.identity, settings.overwrite
            )
            with locking.working_in(out, claim):
                storage.check_free_space(
                    out, write_failures.needed_bytes(plan.checked.total_bytes, settings.episodes)
                )
                history = output_checkpoint.previous_history(claim)
                report, error = _evaluate_locked(plan, out, progress, deadline, history)
        finally:
            plan.close()
    if error is not None:
        error.report = report
        raise error
    return report


def _evaluate_locked(plan: Plan, out: Path, progress, deadline, history):
    """Load, run, and write the checkpoint and the report into `out` (locked by the caller) as
    one output set: staged in a private directory, then committed (see storage). Signals that
    arrive once the episodes are over wait until the set is committed.

    The episodes run as units on the runner of --backend: locally one unit (or --unit-episodes
    blocks) on the worker that loaded the policy; on Ray, blocks submitted before the policy is
    loaded here (this process still loads it, for the report and the new checkpoint)."""
    from pytfpol.policy.quiet_tf import heavy_imports

    with heavy_imports():
        from pytfpol.running.runners import Hooks, InProcessRunner, remote_runner  # TensorFlow

    settings = plan.settings
    started = time.perf_counter()
    progress.stage(f"loading {settings.policy_path}")
    stage = storage.stage_outputs(out)
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
            loaded = worker.loaded
            load_seconds = time.perf_counter() - started
            base = report_base(
                settings,
                plan.source,
                loaded,
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
            if isinstance(error, OutputError):  # a video or trajectory: nothing is committed
                raise error
            run_seconds = time.perf_counter() - run_started
            records = sorted((r for d in dones for r in d.result.records), key=lambda r: r.index)
            base["backend"] = collect.backend_report(runner, size or settings.episodes, dones)
            deferral.start()
            if error is None:
                key = dones[0].result.key
                merge([d.result for d in dones], [(key, i) for i in range(settings.episodes)])
                staged = output_checkpoint.write(loaded, stage, records, history)
                base["output"]["checkpoint"] = str(out / Path(staged).relative_to(stage))
            else:  # no policy checkpoint for an incomplete run, but its history is kept
                output_checkpoint.write_history_only(loaded, stage, history)
        finally:
            progress.stop()
        report = finish_report(base, settings, records, error, load_seconds, run_seconds)
        recorder.finish(report, error)  # videos, trajectories, the Minari dataset
        if settings.plot and records:
            from pytfpol.results import plots  # matplotlib, only when asked for

            plots.write_returns_plot(report, stage / storage.RETURNS_PNG)
            report["output"]["plot"] = str(out / storage.RETURNS_PNG)
        storage.write_report(stage, report)
        storage.commit_outputs(out, stage)
    except OutputError as exc:  # a staged file could not be written: say it of OUT
        raise write_failures.in_out(exc, out, stage) from exc.__cause__
    finally:
        shutil.rmtree(stage, ignore_errors=True)  # nothing left once committed
        if runner is not local:
            runner.close()
        local.close()
        late = deferral.finish()
    if late is not None and error is None:
        error = interrupted(
            late,
            f"{stopped_by(late)} after all {len(records)} episodes: the outputs were written "
            "completely",
            f"the report is in {out}",
        )
    return report, error


def _driver_unit(unit, runs_here: bool):
    """The unit this process loads the policy for: the first unit when it runs them; else the
    same policy with one env in this process (its episodes run elsewhere)."""
    return unit if runs_here else unit.with_one_env()


def sweep(settings, progress: Optional[Progress] = None) -> dict:
    """`pytfpol sweep` (see `pytfpol.sweep`): every chosen checkpoint of one or more training
    runs on the same seeds; returns `sweep.json`'s document."""
    from pytfpol.commands import sweep as sweeping

    return sweeping.sweep(settings, progress)


def configs() -> dict:
    """The policy configs shipped with pytfpol (names `--config` accepts) and what each
    rebuilds, as plain data."""
    from pytfpol.policy.policy_config import SHIPPED_CONFIGS_DIR, describe_shipped

    return {"dir": str(SHIPPED_CONFIGS_DIR), "configs": describe_shipped()}


def inspect(
    path: str,
    step: Optional[int] = None,
    *,
    diff: Optional[str] = None,
    array: Optional[str] = None,
) -> dict:
    """What `pytfpol inspect` shows, as plain data; never builds the policy, no TensorFlow.

    `inspect(PATH)` describes PATH (docs/inspect.md has the document); `diff=B` compares PATH's
    checkpoint with B's; `array=NAME` returns `{"key", "dtype", "shape", "value"}` (a numpy array).
    Refused NumpyState entries are listed, never unpickled.
    """
    from pytfpol.formats import inspection

    if diff is not None:
        return inspection.diff(path, diff, step)
    if array is not None:
        key, value = inspection.read_array(path, array, step)
        return {
            "key": key,
            "dtype": inspection.dtype_name(value.dtype),
            "shape": list(value.shape),
            "value": value,
        }
    return inspection.inspect_path(path, step)


def export_npz(path: str, out: str, names: tuple = (), step: Optional[int] = None) -> dict:
    """Write PATH's NumpyState arrays and variables (all, or `names`) to `out` (.npz, no pickle)."""
    from pytfpol.formats import inspection

    result = inspection.export_npz(path, out, names, step)
    storage.write_atomic(Path(out), result.pop("data"))
    return result
