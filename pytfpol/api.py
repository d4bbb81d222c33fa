"""The Python API that the CLI calls. Each function returns plain data (dicts) or raises a
`pytfpol.errors.PytfpolError`.

    from pytfpol import api
    report = api.evaluate(api.EvalSettings("examples/cartpole-dqn", "CartPole-v1", episodes=20))
    report["summary"]["mean_return"]

TensorFlow is imported on the first call, not on `import pytfpol.api`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from pathlib import Path
from typing import Optional, Protocol

import numpy as np

from pytfpol import interrupts
from pytfpol.config import EvalSettings
from pytfpol.errors import Interrupted, PytfpolError, RunError, interrupted, stopped_by
from pytfpol.formats import layout, validation
from pytfpol.results import locking, storage
from pytfpol.results.report import SCHEMA_VERSION, check_gates, finish_report, report_base
from pytfpol.running.plan import Plan, plan_evaluation

HISTORY = "evaluation/history"  # the NumpyState array of earlier evaluations

__all__ = ["EvalSettings", "evaluate", "check_gates", "configs", "SCHEMA_VERSION"]


class Progress(Protocol):
    """What the evaluation reports while it runs; `reporting` provides the rich one."""

    def warn(self, message: str) -> None: ...

    def stage(self, description: str) -> None: ...

    def start(
        self, total: int, description: str, max_episode_steps: Optional[int] = None
    ) -> None: ...

    def advance(self, result) -> None: ...  # an evaluation.EpisodeResult

    def step(self, env_steps: int) -> None: ...

    def stop(self) -> None: ...


class _NoProgress:
    def warn(self, message: str) -> None:
        pass

    def stage(self, description: str) -> None:
        pass

    def start(self, total: int, description: str, max_episode_steps: Optional[int] = None) -> None:
        pass

    def advance(self, result) -> None:
        pass

    def step(self, env_steps: int) -> None:
        pass

    def stop(self) -> None:
        pass


def evaluate(settings: EvalSettings, progress: Optional[Progress] = None) -> dict:
    """Run the episodes, write `stats.json`, `episodes.csv` and `checkpoint/`, return the report.

    plan (no TensorFlow: files resolved and validated, options and env checked) -> claim and lock
    the output directory -> load -> run -> write and commit the output set. The report is
    written (marked `"complete": false`) even when the run stops early on an environment/policy
    failure, `settings.timeout`, Ctrl-C or SIGTERM; the error is then raised with `.report` set.
    A run that fails before its first episode leaves no output directory behind it.
    """
    progress = progress or _NoProgress()
    deadline = None if settings.timeout is None else time.monotonic() + settings.timeout
    with interrupts.stop_on_signals():
        plan = plan_evaluation(settings)
        for note in plan.notes:
            progress.warn(note)
        try:
            out = (
                Path(settings.out)
                if settings.out
                else storage.default_run_dir(plan.env.env_id, settings.policy_path)
            )
            claim = storage.claim_output_dir(
                out, plan.input_paths(), plan.identity, settings.overwrite
            )
            try:
                with locking.locked_output(out):
                    locking.clean_stale_temporaries(out)
                    storage.check_free_space(out, plan.checked.total_bytes)
                    history = _previous_history(claim)
                    report, error = _evaluate_locked(plan, out, progress, deadline, history)
            except BaseException:
                storage.release_unused(claim)
                raise
        finally:
            plan.close()
    if error is not None:
        error.report = report
        raise error
    return report


def _evaluate_locked(plan: Plan, out: Path, progress, deadline, history):
    """Load, run, and write the checkpoint and the report into `out` (locked by the caller) as
    one output set: staged in a private directory, then committed (see storage). Signals that
    arrive once the episodes are over wait until the set is committed."""
    settings = plan.settings
    started = time.perf_counter()
    progress.stage(f"loading {settings.policy_path}")
    stage = storage.stage_outputs(out)
    deferral = interrupts.Deferral()
    try:
        try:
            with _policy_and_stepper(plan) as (loaded, stepper):
                load_seconds = time.perf_counter() - started
                base = report_base(settings, plan.source, loaded, out, plan.env.env_id, plan.notes)
                progress.start(settings.episodes, plan.env.env_id, plan.max_episode_steps)
                run_started = time.perf_counter()
                results, error = _run(loaded, stepper, settings, progress, deadline)
                run_seconds = time.perf_counter() - run_started
                deferral.start()
                if error is None:
                    staged = _write_checkpoint(loaded, stage, results, history)
                    base["output"]["checkpoint"] = str(out / Path(staged).relative_to(stage))
                else:  # no policy checkpoint for an incomplete run, but its history is kept
                    _write_history(loaded, stage, history)
        finally:
            progress.stop()
        report = finish_report(base, settings, results, error, load_seconds, run_seconds)
        if settings.plot and results:
            from pytfpol.results import plots  # matplotlib, only when asked for

            plots.write_returns_plot(report, stage / storage.RETURNS_PNG)
            report["output"]["plot"] = str(out / storage.RETURNS_PNG)
        storage.write_report(stage, report)
        storage.commit_outputs(out, stage)
    finally:
        shutil.rmtree(stage, ignore_errors=True)  # nothing left once committed
        late = deferral.finish()
    if late is not None and error is None:
        error = interrupted(
            late,
            f"{stopped_by(late)} after all {len(results)} episodes: the outputs were written "
            "completely",
            f"the report is in {out}",
        )
    return report, error


def _previous_history(claim: storage.OutputClaim) -> Optional[np.ndarray]:
    """The evaluation history in OUT from an earlier run of the same policy and env, so that a
    re-run appends to it (None when there is none, or it cannot be read: then it starts anew)."""
    if claim.previous_report is None:
        return None
    directory = claim.out / layout.OUTPUT_CHECKPOINT_DIR
    candidates = [directory / layout.EVALUATION_PREFIX]
    candidates += [Path(c.prefix) for c in reversed(layout.list_checkpointer_dir(directory))]
    candidates.append(directory / layout.VARIABLES_PREFIX)
    for prefix in candidates:
        if not os.path.lexists(f"{prefix}.index"):
            continue
        try:
            history = validation.check_bundle(str(prefix)).side_data.get(HISTORY)
        except PytfpolError:
            return None
        if history is not None:
            return history
    return None


@contextlib.contextmanager
def _policy_and_stepper(plan: Plan):
    """The loaded policy and a `vector.Stepper` over `num_envs_used` environments whose specs
    fit it; closed afterwards."""
    from pytfpol.policy import loading  # TensorFlow from here on
    from pytfpol.running import envs, vector  # TensorFlow from here on

    settings = plan.settings
    first, plan.first_env = plan.first_env, None
    loaded = stepper = None
    try:
        env_specs = {
            "observation": envs.space_to_spec(first.observation_space, "observation"),
            "action": envs.space_to_spec(first.action_space, "action"),
        }
        options = loading.LoadOptions(
            batch_size=settings.policy_batch_size,
            config=plan.policy_config,
            stochastic=settings.stochastic,
            seed=settings.seed,
            allow_partial=settings.allow_partial,
        )
        loaded = loading.load_policy(
            plan.source, options, envs.tensor_specs(env_specs), plan.checked
        )
        envs.check_specs(
            plan.env.env_id,
            str(plan.source.saved_model_dir or plan.source.checkpoint_prefix),
            env_specs,
            {"observation": loaded.observation_spec, "action": loaded.action_spec},
        )
        stepper, first = (
            vector.make_stepper(settings.vector, plan.env, settings.num_envs_used, first),
            None,
        )
        yield loaded, stepper
    finally:
        for resource in (first, stepper, loaded):
            if resource is not None:
                _close_quietly(resource)


def _write_checkpoint(loaded, directory: Path, results, history: Optional[np.ndarray]) -> str:
    """`directory`/checkpoint: the policy and its step, and beside it this evaluation appended to
    the history (OUT's own from an earlier run of the same policy, else the one the input
    carried, if any). Returns the policy checkpoint's prefix."""
    from pytfpol.policy import checkpoints

    returns = np.asarray([r.return_ for r in results], dtype=np.float64)
    evaluation = checkpoints.evaluation_state(
        returns=returns,
        lengths=np.asarray([r.length for r in results], dtype=np.int64),
        seeds=np.asarray([r.seed for r in results], dtype=np.int64),
        previous_history=history if history is not None else loaded.side_data.get(HISTORY),
        history_row=(
            float(loaded.train_step if loaded.train_step is not None else -1),
            float(len(results)),
            float(returns.mean()),
            float(returns.std()),
            time.time(),
        ),
    )
    return loaded.write_checkpoint(Path(directory) / layout.OUTPUT_CHECKPOINT_DIR, evaluation)


def _write_history(loaded, directory: Path, history: Optional[np.ndarray]) -> None:
    """For a run that stopped early: `directory`/checkpoint/evaluation/ with the history so far
    (unchanged: an incomplete run adds no row), so that the next run of the same policy into
    OUT continues it. Nothing when there is no history yet."""
    from pytfpol.policy import checkpoints

    history = history if history is not None else loaded.side_data.get(HISTORY)
    if history is None:
        return
    evaluation = checkpoints.evaluation_state(
        returns=np.zeros(0, np.float64),
        lengths=np.zeros(0, np.int64),
        seeds=np.zeros(0, np.int64),
        previous_history=history,
        history_row=None,
    )
    loaded.write_evaluation(Path(directory) / layout.OUTPUT_CHECKPOINT_DIR, evaluation)


def _run(loaded, stepper, settings: EvalSettings, progress: Progress, deadline=None):
    """(results, None), or (completed results, the error) when the run stopped early."""
    from pytfpol.running import evaluation

    expired: list = []
    try:
        with loaded.session.as_default(), interrupts.hard_deadline(deadline) as expired:
            results = evaluation.run_episodes(
                loaded.py_policy,
                stepper,
                settings.episodes,
                settings.seed,
                on_episode=progress.advance,
                deadline=deadline,
                timeout=settings.timeout,
                on_step=progress.step,
                groups=settings.groups_used,
            )
        return results, None
    except PytfpolError as exc:
        if exc.completed is None:
            raise
        if isinstance(exc, Interrupted) and expired:
            return exc.completed, _blocked_timeout(exc.completed, settings)
        return exc.completed, exc


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


def _close_quietly(resource) -> None:
    try:
        resource.close()
    except Exception:  # noqa: BLE001 - closing must not hide the run's own outcome
        pass


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

    `inspect(PATH)` describes PATH (see the README for the document); `diff=B` compares PATH's
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
