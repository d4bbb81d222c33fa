"""The Python API that the CLI calls. Each function returns plain data (dicts) or raises a
`pytfpol.errors.PytfpolError`.

    from pytfpol import api
    report = api.evaluate(api.EvalSettings("examples/cartpole-dqn", "CartPole-v1", episodes=20))
    report["summary"]["mean_return"]

TensorFlow is imported on the first call, not on `import pytfpol.api`.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import os
import platform
import shutil
import signal
import stat
import sys
import threading
import time
from pathlib import Path
from typing import Optional, Protocol

import numpy as np

from pytfpol import __version__, checkpoint_reader, locking, storage
from pytfpol.config import EvalSettings
from pytfpol.errors import GateFailed, InputError, Interrupted, PytfpolError, RunError, UsageError
from pytfpol.inference import infer_policy_config
from pytfpol.policy_config import (
    SHIPPED_CONFIGS_DIR,
    PolicyConfig,
    describe_shipped,
    load_policy_config,
    resolve_config_path,
    shipped_hint,
)
from pytfpol.sources import (
    FORMAT_CHECKPOINTER,
    FORMAT_LEARNER,
    OUTPUT_CHECKPOINT_DIR,
    resolve_policy_source,
)
from pytfpol.stats import summarize

SCHEMA_VERSION = 1

__all__ = ["EvalSettings", "evaluate", "check_gates", "configs", "SCHEMA_VERSION"]


class Progress(Protocol):
    """What the evaluation reports while it runs; `reporting` provides the rich one."""

    def stage(self, description: str) -> None: ...

    def start(self, total: int, description: str) -> None: ...

    def advance(self, episode_return: float) -> None: ...

    def stop(self) -> None: ...


class _NoProgress:
    def stage(self, description: str) -> None:
        pass

    def start(self, total: int, description: str) -> None:
        pass

    def advance(self, episode_return: float) -> None:
        pass

    def stop(self) -> None:
        pass


def evaluate(settings: EvalSettings, progress: Optional[Progress] = None) -> dict:
    """Run the episodes, write `stats.json` and `episodes.csv`, and return the report.

    The report is written (marked `"complete": false`) even when the run stops early on an
    environment/policy failure, `settings.timeout` or Ctrl-C; the error is then re-raised with
    `.report` set. Inputs are validated before TensorFlow reads them; the output directory is
    locked for the whole run (OutputError, exit 5, when another run holds it).
    """
    progress = progress or _NoProgress()
    deadline = None if settings.timeout is None else time.monotonic() + settings.timeout
    source = resolve_policy_source(
        settings.policy_path, settings.policy, settings.checkpoint, settings.step
    )
    _check_trusted(source, settings.trusted_sha256)
    _validate_saved_model_files(source)
    _validate_checkpoints(source)  # before TensorFlow reads any of them
    policy_config = _policy_config(settings, source)
    out = (
        Path(settings.out)
        if settings.out
        else storage.default_run_dir(settings.env_id, settings.policy_path)
    )
    storage.prepare_output_dir(out, inputs=_input_paths(settings, source))
    with locking.locked_output(out):
        locking.clean_stale_temporaries(out)
        storage.check_free_space(out, _expected_output_bytes(source))
        report, error = _evaluate_locked(settings, source, policy_config, out, progress, deadline)
    if error is not None:
        error.report = report
        raise error
    return report


def _evaluate_locked(settings, source, policy_config, out: Path, progress, deadline):
    """Load, run, and write the checkpoint and the report into `out` (locked by the caller) as
    one output set: staged in a private directory, then committed (see storage)."""
    started = time.perf_counter()
    progress.stage(f"loading {settings.policy_path}")
    stage = storage.stage_outputs(out)
    try:
        try:
            with _policy_and_envs(settings, source, policy_config) as (loaded, environments):
                load_seconds = time.perf_counter() - started
                base = _report_base(settings, source, loaded, out)
                progress.start(settings.episodes, settings.env_id)
                run_started = time.perf_counter()
                results, error = _run(loaded, environments, settings, progress, deadline)
                run_seconds = time.perf_counter() - run_started
                if error is None:
                    staged = _write_checkpoint(loaded, stage, results)
                    base["output"]["checkpoint"] = str(out / Path(staged).relative_to(stage))
        finally:
            progress.stop()
        report = _finish_report(base, settings, results, error, load_seconds, run_seconds)
        storage.write_report(stage, report)
        storage.commit_outputs(out, stage)
    finally:
        shutil.rmtree(stage, ignore_errors=True)  # nothing left once committed
    return report, error


def _check_trusted(source, trusted: tuple) -> None:
    """With --trusted-sha256, refuse a SavedModel whose saved_model.pb is not listed (exit 3),
    before TensorFlow loads it: loading a SavedModel runs its graph."""
    if not trusted or source.saved_model_dir is None:
        return  # a Checkpointer directory holds no program: its network is rebuilt from a config
    path = Path(source.saved_model_dir) / "saved_model.pb"
    digest = _sha256_of_regular_file(path)
    if digest not in trusted:
        raise InputError(
            f"{path}: sha256 {digest} is not among the --trusted-sha256 digests",
            "a SavedModel is a program: evaluate it only if you trust where it came from, "
            "then add its digest",
            path=path,
        )


def _sha256_of_regular_file(path: Path) -> str:
    """Hash a regular file (never a FIFO or a device: opened non-blocking, checked by fstat)."""
    digest = hashlib.sha256()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise InputError(f"{path}: not a regular file", "give a SavedModel", path=path)
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise InputError(
            f"{path}: cannot read ({exc.strerror or exc})", "check the SavedModel", path=path
        ) from exc
    return digest.hexdigest()


def _validate_saved_model_files(source) -> None:
    """Only regular files and directories in the SavedModel: TensorFlow blocks forever reading a
    FIFO (e.g. as `fingerprint.pb`) and reads devices (a symlink to /dev/zero) without end."""
    if source.saved_model_dir is None:
        return
    for root, dirs, files in os.walk(source.saved_model_dir):
        for name in [*dirs, *files]:
            path = Path(root) / name
            try:
                mode = os.stat(path).st_mode
            except OSError as exc:
                raise InputError(
                    f"{path}: cannot read ({exc.strerror or exc}; a broken symlink?)",
                    "re-export the policy with TF-Agents' PolicySaver",
                    path=path,
                ) from exc
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise InputError(
                    f"{path}: not a regular file (a FIFO, device or socket) in a SavedModel",
                    "a SavedModel holds only regular files; re-export it with PolicySaver",
                    path=path,
                )


def _validate_checkpoints(source) -> None:
    """Every checkpoint the run will hand to TensorFlow, checked by the pure-Python reader: index
    structure and bounds, regular files only, every tensor's data checksum, and finite float
    values (NaN weights would otherwise restore silently). TensorFlow aborts, crashes or blocks on
    some damaged or crafted files, so nothing reaches it unchecked."""
    prefixes = []
    if source.saved_model_dir is not None:
        prefixes.append(str(Path(source.saved_model_dir) / "variables" / "variables"))
    if source.checkpoint_prefix is not None:
        prefixes.append(source.checkpoint_prefix)
    for prefix in prefixes:
        bundle = checkpoint_reader.open_bundle(prefix)
        for key, entry in bundle.entries.items():
            if entry.sliced or (entry.dtype_enum != checkpoint_reader.DT_STRING and not entry.size):
                continue
            if checkpoint_reader.DTYPES[entry.dtype_enum][1] is None and (
                entry.dtype_enum != checkpoint_reader.DT_STRING
            ):
                continue
            value = bundle.read(key)  # verifies the data checksum
            data_file = bundle.data_file(entry.shard_id)
            if entry.is_py_state:
                payload = value.item() if value.dtype == object and value.shape == () else None
                try:  # numeric .npy only, never unpickled (as loading will decode it)
                    checkpoint_reader.decode_py_state(payload, key, numeric_only=True)
                except InputError as exc:
                    raise InputError(
                        f"{data_file}: {exc.message}", exc.hint, path=data_file
                    ) from None
            elif value.dtype.kind in "fc" and not np.isfinite(value).all():
                raise InputError(
                    f"{data_file}: {checkpoint_reader.short_name(key)} holds non-finite values "
                    f"({int(np.isnan(value).sum())} NaN, {int(np.isinf(value).sum())} inf)",
                    "the policy diverged in training or the file is damaged: evaluate an "
                    "earlier checkpoint",
                    path=data_file,
                )


def _expected_output_bytes(source) -> int:
    """About what the run writes: a new checkpoint as large as the input's variables."""
    prefix = source.checkpoint_prefix or (
        str(Path(source.saved_model_dir) / "variables" / "variables")
        if source.saved_model_dir
        else None
    )
    if prefix is None:
        return 0
    directory, stem = Path(prefix).parent, Path(prefix).name
    total = 0
    for path in directory.glob(f"{stem}.*"):
        try:
            total += path.stat().st_size
        except OSError:
            pass
    return total


def _input_paths(settings: EvalSettings, source) -> list[str]:
    """Every directory the run reads; the output may be inside none of them."""
    paths = [settings.policy_path, source.saved_model_dir, source.checkpoint_dir]
    if source.format == FORMAT_LEARNER:
        paths.append(str(Path(source.saved_model_dir).parent))
    return [p for p in paths if p is not None]


def _policy_config(settings: EvalSettings, source) -> Optional[PolicyConfig]:
    """The config that rebuilds a Checkpointer policy: --config, else the one saved with it."""
    if settings.config is not None:
        return load_policy_config(resolve_config_path(settings.config))
    if source.format != FORMAT_CHECKPOINTER:
        return None
    if source.bundled_config is not None:
        return load_policy_config(source.bundled_config)
    bundle = checkpoint_reader.read_index(source.checkpoint_prefix)
    shapes = {key: entry.shape for key, entry in bundle.entries.items()}
    if not any(key.startswith("policy/") for key in shapes):
        raise InputError(
            f"{source.checkpoint_prefix}: holds no policy (no variable under policy/): "
            "not a checkpoint of a TF-Agents policy",
            "point at the directory the policy was checkpointed into (e.g. train_dir/policy), "
            "or pass --config naming where the policy is saved ([checkpoint] policy)",
            path=source.checkpoint_prefix,
        )
    inferred = infer_policy_config(shapes, source.checkpoint_prefix)
    if inferred is not None:
        return inferred
    raise UsageError(
        f"{source.checkpoint_dir}: is a common.Checkpointer directory, which holds weights but "
        "no network, and its variables are not those of a TF-Agents policy over one of "
        "TF-Agents' own networks: pytfpol needs --config to rebuild it",
        shipped_hint(),
        path=source.checkpoint_dir,
    )


def configs() -> dict:
    """The policy configs shipped with pytfpol (names `--config` accepts) and what each
    rebuilds, as plain data."""
    return {"dir": str(SHIPPED_CONFIGS_DIR), "configs": describe_shipped()}


@contextlib.contextmanager
def _policy_and_envs(settings: EvalSettings, source, policy_config):
    """The loaded policy and a `vector.Stepper` over `batch_size` environments whose specs fit
    it; closed afterwards."""
    from pytfpol import envs, loading, vector  # TensorFlow from here on

    env_source = envs.EnvSource(
        settings.env_id, dict(settings.env_kwargs), settings.max_episode_steps
    )
    environments = [env_source.make()]
    loaded = None
    try:
        first = environments[0]
        env_specs = {
            "observation": envs.space_to_spec(first.observation_space, "observation"),
            "action": envs.space_to_spec(first.action_space, "action"),
        }
        options = loading.LoadOptions(
            batch_size=settings.batch_size,
            config=policy_config,
            stochastic=settings.stochastic,
            seed=settings.seed if settings.stochastic else None,
            allow_partial=settings.allow_partial,
        )
        loaded = loading.load_policy(source, options, envs.tensor_specs(env_specs))
        envs.check_specs(
            settings.env_id,
            str(source.saved_model_dir or source.checkpoint_prefix),
            env_specs,
            {"observation": loaded.observation_spec, "action": loaded.action_spec},
        )
        factory = vector.EnvFactory(
            settings.env_id, dict(settings.env_kwargs), settings.max_episode_steps
        )
        environments = [
            vector.make_stepper(
                settings.vector, factory, settings.batch_size, environments[0], env_source.make
            )
        ]
        yield loaded, environments[0]
    finally:
        for env in environments:
            _close_quietly(env)
        if loaded is not None:
            loaded.close()


def _write_checkpoint(loaded, directory: Path, results) -> str:
    """`directory`/checkpoint: the policy, its step and side data, and this evaluation (appended
    to the history carried by the input checkpoint, if any). Returns its prefix."""
    from pytfpol import checkpoints

    returns = np.asarray([r.return_ for r in results], dtype=np.float64)
    evaluation = checkpoints.evaluation_state(
        returns=returns,
        lengths=np.asarray([r.length for r in results], dtype=np.int64),
        seeds=np.asarray([r.seed for r in results], dtype=np.int64),
        previous_history=loaded.side_data.get("evaluation/history"),
        history_row=(
            float(loaded.train_step if loaded.train_step is not None else -1),
            float(len(results)),
            float(returns.mean()),
            float(returns.std()),
            time.time(),
        ),
    )
    return loaded.write_checkpoint(Path(directory) / OUTPUT_CHECKPOINT_DIR, evaluation)


def _run(loaded, environments, settings: EvalSettings, progress: Progress, deadline=None):
    """(results, None), or (completed results, the error) when the run stopped early."""
    from pytfpol import evaluation

    expired: list = []
    try:
        with loaded.session.as_default(), _hard_deadline(deadline) as expired:
            results = evaluation.run_episodes(
                loaded.py_policy,
                environments,
                settings.episodes,
                settings.seed,
                on_episode=lambda r: progress.advance(r.return_),
                deadline=deadline,
                timeout=settings.timeout,
            )
        return results, None
    except PytfpolError as exc:
        if not hasattr(exc, "completed"):
            raise
        if isinstance(exc, Interrupted) and expired:
            return exc.completed, _blocked_timeout(exc.completed, settings)
        return exc.completed, exc


HARD_DEADLINE_GRACE = 2.0  # seconds after --timeout before a blocked env step is interrupted


@contextlib.contextmanager
def _hard_deadline(deadline: Optional[float]):
    """The loop checks the deadline between steps; an env step that never returns is stopped by
    SIGALRM shortly after it (raising KeyboardInterrupt in the step; main thread only)."""
    expired: list[bool] = []
    if deadline is None or threading.current_thread() is not threading.main_thread():
        yield expired
        return

    def alarm(signum, frame):
        expired.append(True)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, max(deadline - time.monotonic(), 0) + HARD_DEADLINE_GRACE)
    try:
        yield expired
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


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


def check_gates(report: dict) -> None:
    """Raise GateFailed (exit 1) when a gate recorded in the report did not pass."""
    for name, gate in report.get("gates", {}).items():
        if not gate["passed"]:
            raise GateFailed(
                f"gate {name} failed: {gate['statistic']} {gate['value']:g} < {gate['threshold']:g}",
                f"the report is in {report['output']['dir']}",
            )


def _report_base(settings: EvalSettings, source, loaded, out: Path) -> dict:
    return {
        "schema_version": SCHEMA_VERSION,
        "complete": True,
        "error": None,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "summary": {},
        "episodes": [],
        "policy": {
            "path": str(source.path),
            "format": source.format,
            "saved_model": source.saved_model_dir,
            "policy": source.policy_name,
            "checkpoint": (
                source.checkpoint_prefix
                if source.format == FORMAT_CHECKPOINTER
                else source.checkpoint_dir
            ),
            "train_step": loaded.train_step,
            "metadata": loaded.metadata,
            "architecture": loaded.architecture,
            "config": loaded.config_path,
            "inferred": loaded.inferred,
            "assumed": loaded.assumed,
            "stochastic": settings.stochastic,
            "unmatched": loaded.unmatched,
            "lost": loaded.lost,
            "side_data": [
                {"name": name, "dtype": array.dtype.name, "shape": list(array.shape)}
                for name, array in sorted(loaded.side_data.items())
            ],
        },
        "env": {
            "id": settings.env_id,
            "kwargs": dict(settings.env_kwargs),
            "max_episode_steps": settings.max_episode_steps,
        },
        "settings": {
            "episodes": settings.episodes,
            "seed": settings.seed,
            "num_envs": settings.batch_size,
            "vector": settings.vector,
        },
        "gates": {},
        "timing": {},
        "versions": _versions(),
        "output": {
            "dir": str(out),
            "stats": str(out / storage.STATS_JSON),
            "episodes": str(out / storage.EPISODES_CSV),
            "checkpoint": None,
        },
    }


def _finish_report(base, settings, results, error, load_seconds, run_seconds) -> dict:
    report = dict(base)
    episodes = [
        {
            "index": r.index,
            "seed": r.seed,
            "return": _finite_or_none(r.return_),
            "length": r.length,
            "terminated": r.terminated,
            "truncated": r.truncated,
        }
        for r in results
    ]
    report["episodes"] = episodes
    report["summary"] = _finite_summary(
        summarize([r.return_ for r in results], [r.length for r in results])
    )
    report["complete"] = error is None
    report["error"] = (
        None if error is None else {"message": error.message, "exit_code": error.exit_code}
    )
    steps = report["summary"]["total_steps"]
    report["timing"] = {
        "load_seconds": round(load_seconds, 3),
        "run_seconds": round(run_seconds, 3),
        "steps_per_second": round(steps / run_seconds, 1) if run_seconds > 0 else None,
    }
    if settings.min_return is not None:
        mean = report["summary"]["mean_return"]
        report["gates"] = {
            "min_return": {
                "statistic": "mean_return",
                "threshold": settings.min_return,
                "value": mean,
                "passed": error is None and mean is not None and mean >= settings.min_return,
            }
        }
    return report


def _finite_or_none(value: float) -> Optional[float]:
    return value if value == value and abs(value) != float("inf") else None


def _finite_summary(summary: dict) -> dict:
    return {k: (_finite_or_none(v) if isinstance(v, float) else v) for k, v in summary.items()}


def _versions() -> dict:
    import gymnasium
    import tensorflow as tf
    import tf_agents

    return {
        "pytfpol": __version__,
        "tensorflow": tf.__version__,
        "tf_agents": tf_agents.__version__,
        "gymnasium": gymnasium.__version__,
        "python": platform.python_version(),
        "numpy": sys.modules["numpy"].__version__,
    }


def _close_quietly(env) -> None:
    try:
        env.close()
    except Exception:  # noqa: BLE001 - closing must not hide the run's own outcome
        pass


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
    from pytfpol import inspection

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
    from pytfpol import inspection

    return inspection.export_npz(path, out, names, step)
