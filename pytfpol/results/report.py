"""The evaluation report (`stats.json`): its schema, built from what really ran.

Every field says what was run, not what was asked: the checkpoint and SavedModel actually loaded
(absolute paths, so the report stays true from any directory), the env id Gymnasium made, whether
actions were sampled, and the warnings given on the way. No TensorFlow at import.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import importlib.metadata
import os
import platform
import re
import sys
import time
from pathlib import Path
from typing import Any, Mapping, Optional

import pytfpol
from pytfpol import __version__, gates, stats
from pytfpol.errors import GateFailed, PytfpolError
from pytfpol.formats import provenance
from pytfpol.formats.sources import FORMAT_CHECKPOINTER, PolicySource
from pytfpol.results import documents, files
from pytfpol.running import metrics as metrics_module
from pytfpol.settings import EvalSettings

SCHEMA_VERSION = documents.EVAL_SCHEMA_VERSION  # of stats.json


def report_base(
    settings: EvalSettings,
    source: PolicySource,
    loaded,
    out: Path,
    env_id: str,
    notes: tuple = (),
    checked=None,
    recorded_env: Optional[dict] = None,
) -> dict:
    """Everything known once the policy is loaded; episodes and summary come later. `checked`
    (the validated inputs) gives the digests of the checkpoint files already read;
    `recorded_env` is the env as Gymnasium records it (see `env_block`)."""
    known = checked.file_digests() if checked is not None else None
    return {
        "schema_version": SCHEMA_VERSION,
        "complete": True,
        "error": None,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "summary": {},
        "episodes": [],
        "policy": {
            "path": str(source.path),
            "resolved_path": _absolute(source.path),
            "input_kind": source.kind,
            "format": source.format,
            "saved_model": _absolute(source.saved_model_dir),
            "policy": source.policy_name,
            "checkpoint": _absolute(
                source.checkpoint_prefix
                if source.format == FORMAT_CHECKPOINTER
                else source.checkpoint_dir
            ),
            "train_step": loaded.train_step,
            "metadata": loaded.metadata,
            "architecture": loaded.architecture,
            "config": _absolute(loaded.config_path),
            "inferred": loaded.inferred,
            "assumed": loaded.assumed,
            "stochastic": loaded.stochastic,
            "unmatched": loaded.unmatched,
            "lost": loaded.lost,
            "side_data": [
                {"name": name, "dtype": array.dtype.name, "shape": list(array.shape)}
                for name, array in sorted(loaded.side_data.items())
            ],
            # every file the policy was loaded from, with its sha256 (checked by replay)
            "files": provenance.fingerprints(source, loaded.config_path, known),
        },
        "env": env_block(settings, env_id, recorded_env),
        "settings": {
            "episodes": settings.episodes,
            "seed": settings.seed,
            "num_envs": settings.num_envs_used,
            "vector": settings.vector,
            "stochastic": settings.stochastic,
            "allow_partial": settings.allow_partial,
        },
        "backend": None,  # who ran the episodes, and where (set by the run)
        "statistics": {},
        "gates": [],
        "passed": False,
        "warnings": list(notes),
        "timing": {},
        "versions": versions(),
        "output": {
            "dir": str(out),
            "stats": str(out / files.STATS_JSON),
            "episodes": str(out / files.EPISODES_CSV),
            "checkpoint": None,
            "plot": None,
            "videos": [],  # [{"index", "seed", "path"}] with --video
            "trajectories": None,  # OUT/trajectories with --save-trajectories
            "dataset": None,  # {"id", "path", "episodes"} with --dataset
            "tensorboard": None,  # the event files' directory (a complete run's)
        },
    }


def env_block(settings: EvalSettings, env_id: str, recorded_env: Optional[dict]) -> dict:
    """The report's `env`: the id made, what was asked (id or file, kwargs, step limit,
    --wrapper), and `spec`, the whole env as Gymnasium records it (`env.spec.to_json()`: id,
    entry point, kwargs, step limit, every wrapper with its kwargs; null when it cannot be
    recorded, e.g. a lambda in a wrapper's kwargs), from which replay, compare, a resumed sweep
    and `--env` given that JSON rebuild the same env."""
    return {
        "id": env_id,
        "requested_id": settings.env_id,
        "kwargs": dict(settings.env_kwargs),
        "max_episode_steps": settings.max_episode_steps,
        "wrappers": [str(w) for w in settings.wrappers],
        "spec": recorded_env,
    }


def finish_report(
    base: dict,
    settings: EvalSettings,
    results: list,
    error: Optional[PytfpolError],
    load_seconds: float,
    run_seconds: float,
) -> dict:
    """The report with its episodes, summary (and how it was computed), timing and gates."""
    report = dict(base)
    report["episodes"], report["summary"], report["statistics"] = summarize_records(
        settings, results
    )
    report["complete"] = error is None
    report["error"] = (
        None if error is None else {"message": error.message, "exit_code": error.exit_code}
    )
    if report["statistics"]["identical_episodes"]:
        report["warnings"] = [*report.get("warnings", []), identical_note(len(results))]
    steps = report["summary"]["total_steps"]
    report["timing"] = {
        "load_seconds": round(load_seconds, 3),
        "run_seconds": round(run_seconds, 3),
        "steps_per_second": round(steps / run_seconds, 1) if run_seconds > 0 else None,
        "wall_seconds": round(process_seconds(), 3),
    }
    report["gates"] = gates.evaluate(settings.all_gates, report["summary"], error is None)
    if report["statistics"]["identical_episodes"]:
        for gate in report["gates"]:
            if gate["value"] is None and gate["statistic"] in ONE_SAMPLE_FIELDS:
                gate["reason"] = (
                    f"{gate['statistic']} has no value: all episodes are identical (one sample)"
                )
    report["passed"] = error is None and all(g["passed"] for g in report["gates"])
    return report


def process_seconds() -> float:
    """Wall time since this process started, the interpreter's start-up and every import
    (TensorFlow's) included: what a run cost a CI job. From /proc on Linux; elsewhere since
    pytfpol was imported."""
    try:
        with open("/proc/self/stat", "rb") as stat:
            # Field 22, starttime in clock ticks after boot; fields from the 3rd follow the ")".
            ticks = int(stat.read().rsplit(b")", 1)[1].split()[19])
        with open("/proc/uptime", "rb") as uptime:
            since_boot = float(uptime.read().split()[0])
        return max(0.0, since_boot - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return time.monotonic() - pytfpol.IMPORTED


def summarize_records(settings: EvalSettings, records: list) -> tuple[list, dict, dict]:
    """(episodes, summary, statistics) of a report for these episode records."""
    successes = [_success(r, settings.success_threshold) for r in records]
    episodes = [
        {
            "index": r.index,
            "seed": r.seed,
            "return": finite_or_none(r.return_),
            "length": r.length,
            "terminated": r.terminated,
            "truncated": r.truncated,
            "success": success,
        }
        for r, success in zip(records, successes)
    ]
    computed = stats.compute(
        [r.return_ for r in records], [r.length for r in records], successes, seed=settings.seed
    )
    identical = all_identical(records)
    if identical:
        _one_sample(computed)
    statistics = _statistics_block(settings, computed, successes)
    statistics["identical_episodes"] = identical
    if settings.metrics:  # new optional keys: a run without --metric reports as before
        for episode, record in zip(episodes, records):
            episode["metrics"] = {k: finite_or_none(v) for k, v in (record.metrics or {}).items()}
        metric_values, statistics["metrics"] = metric_summaries(settings, records, identical)
        computed.values.update(metric_values)
    return episodes, _finite_summary(computed.values), statistics


# Intervals and the standard error say how much other seeds would move the estimate: with every
# episode the same, they would claim a precision that n copies of one sample do not have.
ONE_SAMPLE_FIELDS = (
    "sem_return",
    "mean_return_ci_low",
    "mean_return_ci_high",
    "iqm_return_ci_low",
    "iqm_return_ci_high",
    "success_rate_ci_low",
    "success_rate_ci_high",
)
IDENTICAL_METHOD = "none: all episodes identical (one sample)"


def metric_summaries(settings: EvalSettings, records: list, identical: bool) -> tuple[dict, dict]:
    """Each --metric's statistics as the return's (`mean_return` -> `info.KEY_mean`, ...) for
    the summary, and how each was computed for `statistics.metrics`."""
    values: dict = {}
    described: dict = {}
    lengths = [r.length for r in records]
    for metric in settings.metrics:
        per_episode = [(r.metrics or {}).get(metric.name, float("nan")) for r in records]
        computed = stats.compute(per_episode, lengths, seed=settings.seed)
        if identical:
            _one_sample(computed)
        for key, value in computed.values.items():
            suffix = key.replace("_return", "", 1)
            if suffix in metrics_module.STATISTICS and "_return" in key:
                values[metric.statistic(suffix)] = value
        described[metric.name] = {
            "key": metric.key,
            "aggregation": metric.aggregation,
            "interval_methods": {
                "mean": computed.methods["mean_return"],
                "iqm": computed.methods["iqm_return"],
            },
        }
    return values, described


def all_identical(records: list) -> bool:
    """Two or more episodes, all with the same fingerprint (first and last observations, return
    and length): the env played the same episode whatever the seed."""
    prints = [getattr(r, "fingerprint", None) for r in records]
    return len(prints) > 1 and None not in prints and len(set(prints)) == 1


def identical_note(episodes: int) -> str:
    return (
        f"all {episodes} episodes are identical (same first and last observations, return and "
        "length): the env ignores the seed, so they are one sample and no interval is given; "
        "for episodes that differ use sticky actions (ALE/<Game>-v5, <Game>NoFrameskip-v0) "
        "or noop starts (--wrapper AtariPreprocessing:noop_max=30,...)"
    )


def _one_sample(computed) -> None:
    """No standard error and no intervals for identical episodes (see ONE_SAMPLE_FIELDS)."""
    for key in ONE_SAMPLE_FIELDS:
        if key in computed.values:
            computed.values[key] = None
    computed.methods = {key: IDENTICAL_METHOD for key in computed.methods}


def check_gates(report: Mapping[str, Any]) -> None:
    """Raise GateFailed (exit 1) naming every gate recorded in the report that did not pass
    (an `EvalReport` or a `SweepReport`; or their JSON object)."""
    results = report.get("gates", [])
    failed = [g for g in results if not g["passed"]]
    if failed:
        raise GateFailed(
            f"{len(failed)} of {len(results)} gate{'s' if len(results) > 1 else ''} failed: "
            + gates.describe_failures(results),
            f"the report is in {report['output']['dir']}",
        )


def _success(result, threshold: Optional[float]) -> Optional[bool]:
    """--success-threshold X: the return reached X; else the env's final info["is_success"]."""
    if threshold is not None:
        return bool(result.return_ >= threshold)
    return result.success


def _statistics_block(settings: EvalSettings, computed, successes: list) -> dict:
    """How the summary's intervals were computed, and what they are intervals over."""
    if settings.success_threshold is not None:
        source = "threshold"
    elif successes and all(s is not None for s in successes):
        source = "env"
    else:
        source = None
    return {
        "confidence_level": stats.CONFIDENCE_LEVEL,
        "interval_method": stats.BOOTSTRAP_METHOD,
        "bootstrap": "scipy.stats.bootstrap",
        "resamples": stats.BOOTSTRAP_RESAMPLES,
        "bootstrap_seed": settings.seed,
        "bootstrap_unit": stats.BOOTSTRAP_UNIT,
        "min_episodes_for_intervals": stats.MIN_EPISODES_FOR_INTERVALS,
        "interval_methods": computed.methods,
        "iqm": "scipy.stats.trim_mean(returns, 0.25)",
        "success": {"source": source, "threshold": settings.success_threshold},
    }


def finite_or_none(value: float) -> Optional[float]:
    return value if value == value and abs(value) != float("inf") else None


def _finite_summary(summary: dict) -> dict:
    return {k: (finite_or_none(v) if isinstance(v, float) else v) for k, v in summary.items()}


def _absolute(path: Optional[str]) -> Optional[str]:
    return None if path is None else os.path.abspath(path)


# The distributions TensorFlow and TF-Agents are installed as: a release's metadata version is
# its `__version__`, so a sweep answered from its journal reports them without importing them
_DISTRIBUTIONS = {
    "tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tensorflow-intel"),
    "tf_agents": ("tf-agents",),
}


def versions() -> dict:
    import gymnasium

    return {
        "pytfpol": __version__,
        "tensorflow": module_version("tensorflow"),
        "tf_agents": module_version("tf_agents"),
        "gymnasium": gymnasium.__version__,
        "python": platform.python_version(),
        "numpy": sys.modules["numpy"].__version__,
    }


def module_version(module: str) -> str:
    """`module.__version__`: from its installed metadata while it is not imported and that
    names a release (X.Y.Z, which `__version__` then is too); else from the module, imported."""
    if module not in sys.modules:
        for name in _DISTRIBUTIONS[module]:
            try:
                version = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                continue
            if re.fullmatch(r"\d+\.\d+\.\d+", version):
                return version
            break
    return str(importlib.import_module(module).__version__)
