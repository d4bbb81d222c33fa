"""`pytfpol replay OUT --episode K|worst|best|median`: one episode of a past evaluation, run again
exactly, checked against what was recorded, and shown (a video, a trajectory file).

Every episode of `pytfpol eval` has its own seed (episode i: S+i) and its result depends on
nothing else — not the batch, not the backend (docs/reproducibility.md). So episode K
run alone, as a one-episode evaluation with seed S+K, is episode K: the same observations,
actions (sampled ones too: their draws are keyed by S+K and the step) and rewards. Replay reads
from OUT/stats.json what was evaluated (the policy files, with their sha256; the SavedModel,
checkpoint and config actually loaded; env id, kwargs and step limit; --stochastic and
--allow-partial), refuses when a policy file changed since (exit 3, naming it), runs the
episode through `evaluate` into a temporary directory, and compares its return and length
with the recorded ones: a difference is exit 4 naming both — the env or the policy is not
deterministic (or the stack changed). `--video FILE` and `--trajectory FILE.npz` are written
either way.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Optional

from pytfpol.commands import replay_sweep
from pytfpol.commands.compare import Report, load_report
from pytfpol.commands.episode_selection import select_episode
from pytfpol.commands.evaluate import evaluate
from pytfpol.commands.replay_result import ReplayResult
from pytfpol.errors import InputError, OutputError, RunError, UsageError
from pytfpol.formats import layout, provenance
from pytfpol.formats.sources import FORMAT_CHECKPOINTER, FORMAT_SAVED_MODEL
from pytfpol.results import files
from pytfpol.running.trajectories import read_npz
from pytfpol.settings import EvalSettings


def settings_for(
    report: Report,
    record: dict,
    allow_code: bool = False,
    env_id: Optional[str] = None,
    policy: Optional[dict] = None,
    **recording,
) -> EvalSettings:
    """The one-episode evaluation that is episode `record` of `report` again. The env id and
    config come from stats.json, data: their modules are imported only with `allow_code`, or
    (the env's) when the command line gives the recorded id again as `env_id`. `policy`: the
    EvalSettings fields that load the policy (a sweep's step: `replay_sweep`), else from
    stats.json."""
    env = report["env"]
    stats = report["output"]["stats"]
    if env_id is not None and env_id != env["id"]:
        raise UsageError(
            f"--env {env_id}: {stats} recorded env {env['id']}, and replay runs the env recorded",
            f"drop --env, or give --env {env['id']}",
        )
    recorded = report.get("settings", {})
    return EvalSettings(
        **(policy or _recorded_policy(report["policy"])),
        episodes=1,
        seed=record["seed"],
        **recorded_env_settings(env),
        num_envs=1,
        stochastic=bool(recorded.get("stochastic", False)),
        allow_partial=bool(recorded.get("allow_partial", False)),
        allow_code=allow_code,
        env_named_in=None if env_id is not None else stats,
        config_named_in=stats,
        **recording,
    )


def _recorded_policy(policy: dict) -> dict:
    """The EvalSettings fields that load the policy stats.json records."""
    if policy["format"] == FORMAT_CHECKPOINTER:
        path, checkpoint, config = policy["resolved_path"], policy["checkpoint"], policy["config"]
    elif policy["format"] == FORMAT_SAVED_MODEL:
        path, checkpoint, config = policy["saved_model"], None, None
    else:  # a Learner root: its SavedModel, and the checkpoint applied to it
        path, checkpoint, config = policy["saved_model"], policy["checkpoint"], None
    return {"policy_path": path, "checkpoint": checkpoint, "config": config}


def recorded_env_settings(env: dict) -> dict:
    """The EvalSettings fields that rebuild a report's env: its recorded Gymnasium EnvSpec
    (wrappers and all) when there is one; else the id, kwargs, step limit and --wrappers."""
    if env.get("spec"):
        return {"env_id": env["id"], "env_spec": json.dumps(env["spec"])}
    return {
        "env_id": env["id"],
        "env_kwargs": dict(env.get("kwargs") or {}),
        "max_episode_steps": env.get("max_episode_steps"),
        "wrappers": tuple(env.get("wrappers") or ()),
    }


def replay(
    out: str | Path,
    episode: str | int = "worst",
    video: Optional[str | Path] = None,
    trajectory: Optional[str | Path] = None,
    progress=None,
    allow_code: bool = False,
    env_id: Optional[str] = None,
    step: Optional[int] = None,
    run_number: Optional[int] = None,
    overwrite: bool = False,
) -> ReplayResult:
    """Replay one episode of the evaluation in `out` (see the module docstring), or with `step`
    (and `run_number`) of that checkpoint of the sweep in `out` (`replay_sweep`). Returns a
    `ReplayResult`; RunError (exit 4) when the replayed return or length differs from the recorded one,
    after writing `video` / `trajectory`, which must not exist unless `overwrite` (exit 5).
    `allow_code`, `env_id`: see `settings_for`."""
    sweep = replay_sweep.sweep_json(out)
    report: Report
    if sweep is not None:
        report, entry, identity = replay_sweep.step_report(sweep, step, run_number)
    else:
        report = _eval_report(out, step, run_number)
    record = select_episode(report, episode)
    video_format = _video_format(video)
    targets = [Path(p) for p in (video, trajectory) if p is not None]
    for target in targets:
        _check_writable(target, overwrite)
    if sweep is not None:
        policy = replay_sweep.check_unchanged(sweep, entry, identity, report["env"], allow_code)
    else:
        policy = None
        _check_policy_files(report)
    scratch = Path(tempfile.mkdtemp(prefix="pytfpol-replay-"))
    try:
        settings = settings_for(
            report,
            record,
            allow_code,
            env_id,
            policy,
            out=str(scratch / "run"),
            video=(0,) if video is not None else (),
            video_format=video_format or "mp4",
            save_trajectories=trajectory is not None,
        )
        run = evaluate(settings, progress)
        _check_same_policy(report, run)
        replayed = run["episodes"][0]
        result = _result(report, record, replayed, run)
        if video is not None:
            staged = Path(run["output"]["videos"][0]["path"])
            _check_writable(Path(video), overwrite)  # again: it may have appeared meanwhile
            files.write_atomic(Path(video), staged.read_bytes())
            frames = run["output"]["videos"][0]["frames"]
            result = dataclasses.replace(result, video=str(video), frames=frames)
        if trajectory is not None:
            _check_writable(Path(trajectory), overwrite)
            directory = Path(run["output"]["trajectories"])
            _write_trajectory(directory, record["index"], trajectory)
            result = dataclasses.replace(result, trajectory=str(trajectory))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if not result.identical:
        raise _mismatch(report, record, replayed, run, result)
    return result


def _eval_report(out: str | Path, step: Optional[int], run_number: Optional[int]) -> Report:
    """OUT's stats.json (an eval's output, or a sweep's best/); --step and --run are a
    sweep's."""
    if step is not None or run_number is not None:
        raise UsageError(
            f"{'--step' if step is not None else '--run'}: {out} is not a sweep's output "
            "(no sweep.json): its stats.json is one checkpoint's evaluation",
            "drop --step/--run to replay an episode of it",
        )
    if os.path.isdir(out) and not os.path.lexists(Path(out) / files.STATS_JSON):
        raise InputError(
            f"{out}: no {files.STATS_JSON} nor {layout.SWEEP_JSON} here",
            "give an output directory of `pytfpol eval` or `pytfpol sweep` (or its best/)",
            path=out,
        )
    return load_report(out)


def _check_policy_files(report: Report) -> None:
    """Every policy file stats.json records is there, unchanged (exit 3 naming it)."""
    policy_files = report["policy"].get("files")
    if not policy_files:
        raise InputError(
            f"{report['output']['stats']}: records no policy files with their sha256 (written "
            "by an older pytfpol): replay cannot check that it runs the same policy",
            "evaluate the policy again with this pytfpol, then replay",
        )
    provenance.check_unchanged(policy_files, f"the evaluation in {report['output']['dir']}")


def _video_format(video: Optional[str | Path]) -> Optional[str]:
    if video is None:
        return None
    suffix = Path(video).suffix.lower().lstrip(".")
    if suffix not in ("mp4", "gif"):
        raise UsageError(
            f"--video {video}: the file name must end in .mp4 or .gif",
            "e.g. --video episode-37.mp4 (or .gif, which needs no ffmpeg)",
        )
    return suffix


def _check_writable(target: Path, overwrite: bool = False) -> None:
    """A file replay may write: in a directory, and new unless `overwrite` (exit 5)."""
    if os.path.lexists(target) and not target.is_dir() and not overwrite:
        raise OutputError(
            f"{target}: exists; replay does not overwrite it",
            "pass --overwrite to replace it, or give another file name",
            path=target,
        )
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir() or target.is_dir():
        raise OutputError(
            f"{target}: cannot be written ({'a directory' if target.is_dir() else 'no directory ' + str(parent)})",
            "give a file path in an existing directory",
            path=target,
        )


def _check_same_policy(report: Report, run: Report) -> None:
    """The replay loaded the SavedModel and checkpoint the evaluation did (e.g. no newer
    sibling checkpoint picked instead of none); of a sweep's step, the checkpoint."""
    for key in ("saved_model", "checkpoint"):
        if key not in report["policy"]:
            continue
        then, now = report["policy"].get(key), run["policy"].get(key)
        if then != now:
            raise InputError(
                f"replay loaded {key} {now}, the evaluation {then}",
                "the policy directory changed since the evaluation; evaluate it anew",
            )


def _result(report: Report, record: dict, replayed: dict, run: Report) -> ReplayResult:
    fields = ("return", "length", "terminated", "truncated")
    return ReplayResult(
        report=report["output"]["stats"],
        episode=record["index"],
        seed=record["seed"],
        recorded={f: record.get(f) for f in fields},
        replayed={f: replayed.get(f) for f in fields},
        identical=all(replayed[f] == record[f] for f in ("return", "length")),
        policy=report["policy"]["resolved_path"],
        checkpoint=report["policy"]["checkpoint"],
        env=report["env"]["id"],
        stochastic=run["policy"]["stochastic"],
        video=None,
        frames=None,
        trajectory=None,
        versions={"recorded": report.get("versions"), "replayed": run.get("versions")},
    )


def _write_trajectory(directory: Path, index: int, target: str | Path) -> None:
    """The replayed trajectory (episode 0 of the one-episode run) as episode `index`."""
    replayed = read_npz(directory / "episode-0.npz")
    replayed.index = index
    files.write_atomic(Path(target), replayed.to_npz())


def _mismatch(
    report: Report, record: dict, replayed: dict, run: Report, result: ReplayResult
) -> RunError:
    then = (report.get("versions") or {}).get("tensorflow")
    now = (run.get("versions") or {}).get("tensorflow")
    stack = f"; the stack changed too (TensorFlow {then} then, {now} now)" if then != now else ""
    written = [p for p in (result.video, result.trajectory) if p]
    error = RunError(
        f"episode {record['index']} (seed {record['seed']}) did not replay: return "
        f"{replayed['return']!r} in {replayed['length']} steps now, recorded "
        f"{record['return']!r} in {record['length']} steps",
        "the environment or the policy is not deterministic from its seed"
        + stack
        + (f"; the replay is in {', '.join(written)}" if written else ""),
    )
    error.report = result
    return error
