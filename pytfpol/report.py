"""The evaluation report (`stats.json`): its schema, built from what really ran.

Every field says what was run, not what was asked: the checkpoint and SavedModel actually loaded
(absolute paths, so the report stays true from any directory), the env id Gymnasium made, whether
actions were sampled, and the warnings given on the way. No TensorFlow at import.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import sys
from pathlib import Path
from typing import Optional

from pytfpol import __version__, storage
from pytfpol.config import EvalSettings
from pytfpol.errors import GateFailed, PytfpolError
from pytfpol.sources import FORMAT_CHECKPOINTER, PolicySource
from pytfpol.stats import summarize

SCHEMA_VERSION = 1


def report_base(
    settings: EvalSettings,
    source: PolicySource,
    loaded,
    out: Path,
    env_id: str,
    notes: tuple = (),
) -> dict:
    """Everything known once the policy is loaded; episodes and summary come later."""
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
            "config": _absolute(settings.config or source.bundled_config),
            "inferred": loaded.architecture is not None
            and settings.config is None
            and source.bundled_config is None,
            "stochastic": loaded.stochastic,
            "unmatched": loaded.unmatched,
            "side_data": [
                {"name": name, "dtype": array.dtype.name, "shape": list(array.shape)}
                for name, array in sorted(loaded.side_data.items())
            ],
        },
        "env": {
            "id": env_id,
            "requested_id": settings.env_id,
            "kwargs": dict(settings.env_kwargs),
            "max_episode_steps": settings.max_episode_steps,
        },
        "settings": {
            "episodes": settings.episodes,
            "seed": settings.seed,
            "num_envs": settings.num_envs_used,
            "vector": settings.vector,
        },
        "gates": {},
        "warnings": list(notes),
        "timing": {},
        "versions": versions(),
        "output": {
            "dir": str(out),
            "stats": str(out / storage.STATS_JSON),
            "episodes": str(out / storage.EPISODES_CSV),
            "checkpoint": None,
        },
    }


def finish_report(
    base: dict,
    settings: EvalSettings,
    results: list,
    error: Optional[PytfpolError],
    load_seconds: float,
    run_seconds: float,
) -> dict:
    """The report with its episodes, summary, timing and gates."""
    report = dict(base)
    report["episodes"] = [
        {
            "index": r.index,
            "seed": r.seed,
            "return": finite_or_none(r.return_),
            "length": r.length,
            "terminated": r.terminated,
            "truncated": r.truncated,
        }
        for r in results
    ]
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


def check_gates(report: dict) -> None:
    """Raise GateFailed (exit 1) when a gate recorded in the report did not pass."""
    for name, gate in report.get("gates", {}).items():
        if not gate["passed"]:
            value = "none" if gate["value"] is None else f"{gate['value']:g}"
            raise GateFailed(
                f"gate {name} failed: {gate['statistic']} {value} < {gate['threshold']:g}",
                f"the report is in {report['output']['dir']}",
            )


def finite_or_none(value: float) -> Optional[float]:
    return value if value == value and abs(value) != float("inf") else None


def _finite_summary(summary: dict) -> dict:
    return {k: (finite_or_none(v) if isinstance(v, float) else v) for k, v in summary.items()}


def _absolute(path: Optional[str]) -> Optional[str]:
    return None if path is None else os.path.abspath(path)


def versions() -> dict:
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
