"""`pytfpol compare BASELINE CANDIDATE`: is the candidate worse than the baseline, beyond noise?

Reads two eval reports (an output directory of `pytfpol eval`, or its `stats.json`), or evaluates
two policies on the same seeds first (`evaluate_both`), and returns a plain dict: the difference
of one statistic (candidate − baseline) with a bootstrap interval, a one-sided p-value, the
probability of improvement and a verdict. numpy/scipy only, unless policies are evaluated.

The verdict rule, with `[low, high]` the two-sided (1 − alpha) bootstrap interval of the
difference and `margin` >= 0 (non-inferiority):

    worse                      high < −margin           exit 1
    worse within margin        −margin <= high < 0      exit 0
    better                     low > 0                  exit 0
    no significant difference  otherwise                exit 0

The comparison is paired (episode i of both resampled together) when both reports ran the same
env (id, kwargs, step limit) on the same episode seeds; otherwise each side is resampled alone.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import numpy as np

from pytfpol import stats
from pytfpol.commands.evaluate import evaluate
from pytfpol.errors import InputError, UsageError
from pytfpol.formats import input_files
from pytfpol.results import storage
from pytfpol.settings import EvalSettings

SCHEMA_VERSION = 1
STATISTICS = tuple(stats.STATISTICS)
DEFAULT_STATISTIC = "iqm_return"
VERDICT_WORSE = "worse"
VERDICT_WORSE_WITHIN_MARGIN = "worse within margin"
VERDICT_BETTER = "better"
VERDICT_NO_DIFFERENCE = "no significant difference"
VERDICT_NO_INTERVAL = "no interval"
HINT_REPORT = "give the stats.json written by `pytfpol eval`"


def load_report(path: str | Path) -> dict:
    """The eval report at `path`: an output directory of `pytfpol eval` or a `stats.json`."""
    path = Path(path)
    file = path / storage.STATS_JSON if path.is_dir() else path
    if not os.path.lexists(file):  # anything else is read or refused by input_files
        raise InputError(
            f"{path}: no {storage.STATS_JSON} here" if path.is_dir() else f"{path}: no such file",
            "give an output directory of `pytfpol eval` or its stats.json; to evaluate two "
            "policies first, pass --env",
            path=path,
        )
    text = input_files.read_text(
        file, input_files.LIMITS[storage.STATS_JSON], storage.STATS_JSON, HINT_REPORT
    )
    try:
        report = json.loads(text)
        episodes = report["episodes"]
        report["env"]["id"]
        [(e["seed"], e["return"]) for e in episodes]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(
            f"{file}: not a pytfpol eval report ({type(exc).__name__}: {exc})",
            HINT_REPORT,
            path=file,
        ) from None
    report.setdefault("output", {})["stats"] = str(file)
    return report


def _returns(report: dict) -> tuple[np.ndarray, np.ndarray]:
    """(seeds, returns) ordered by seed; InputError for non-finite returns."""
    episodes = sorted(report["episodes"], key=lambda e: e["seed"])
    if any(e["return"] is None for e in episodes):
        raise InputError(
            f"{report['output']['stats']}: has non-finite returns",
            "compare runs whose returns are all finite",
            path=report["output"]["stats"],
        )
    seeds = np.array([e["seed"] for e in episodes], dtype=np.int64)
    return seeds, np.array([e["return"] for e in episodes], dtype=np.float64)


def _env_key(report: dict) -> tuple:
    env = report["env"]
    return (
        env.get("id"),
        json.dumps(env.get("kwargs") or {}, sort_keys=True),
        env.get("max_episode_steps"),
    )


def _warnings(baseline: dict, candidate: dict) -> list[str]:
    """Differences between the two runs that make the comparison less like-for-like."""
    found = []
    b_env, c_env = baseline["env"], candidate["env"]
    for key in ("kwargs", "max_episode_steps"):
        if (b_env.get(key) or None) != (c_env.get(key) or None):
            found.append(f"env {key} differ: baseline {b_env.get(key)}, candidate {c_env.get(key)}")
    b_pol, c_pol = baseline.get("policy") or {}, candidate.get("policy") or {}
    if bool(b_pol.get("stochastic")) != bool(c_pol.get("stochastic")):
        found.append(
            f"stochastic differs: baseline {bool(b_pol.get('stochastic'))}, "
            f"candidate {bool(c_pol.get('stochastic'))}"
        )
    b_set, c_set = baseline.get("settings") or {}, candidate.get("settings") or {}
    for key in ("episodes", "seed"):
        if b_set.get(key) != c_set.get(key):
            found.append(f"{key} differ: baseline {b_set.get(key)}, candidate {c_set.get(key)}")
    for name, report in (("baseline", baseline), ("candidate", candidate)):
        if report.get("complete") is False:
            found.append(f"{name} run is incomplete: {report['output']['stats']}")
    return found


def compare_reports(
    baseline: dict,
    candidate: dict,
    *,
    statistic: str = DEFAULT_STATISTIC,
    margin: float = 0.0,
    alpha: float = 0.05,
    seed: int = 0,
) -> dict:
    """Compare two eval reports (see the module docstring for the rule)."""
    _check_options(statistic, margin, alpha)
    if baseline["env"]["id"] != candidate["env"]["id"]:
        raise UsageError(
            f"different environments: baseline ran {baseline['env']['id']}, candidate ran "
            f"{candidate['env']['id']}",
            "compare runs of the same env id",
        )
    b_seeds, b_returns = _returns(baseline)
    c_seeds, c_returns = _returns(candidate)
    for name, values, report in (
        ("baseline", b_returns, baseline),
        ("candidate", c_returns, candidate),
    ):
        if values.size < stats.MIN_EPISODES_FOR_INTERVALS:
            raise UsageError(
                f"{name} {report['output']['stats']}: {values.size} episodes; compare needs at "
                f"least {stats.MIN_EPISODES_FOR_INTERVALS}",
                "evaluate with more --episodes (20 or more tell more)",
            )
    same_env = _env_key(baseline) == _env_key(candidate)
    paired = same_env and np.array_equal(b_seeds, c_seeds)
    if paired:
        pairing = f"paired: same env and seeds {_seed_text(b_seeds)}"
    elif not same_env:
        pairing = "unpaired: the env settings differ"
    else:
        pairing = (
            f"unpaired: different seeds (baseline {_seed_text(b_seeds)}, "
            f"candidate {_seed_text(c_seeds)})"
        )
    diff = stats.difference(
        b_returns,
        c_returns,
        statistic=statistic,
        paired=paired,
        margin=margin,
        alpha=alpha,
        seed=seed,
    )
    verdict = _verdict(diff.ci_low, diff.ci_high, margin)
    return {
        "schema_version": SCHEMA_VERSION,
        "baseline": _side(baseline, b_seeds),
        "candidate": _side(candidate, c_seeds),
        "statistic": statistic,
        "paired": paired,
        "pairing": pairing,
        "margin": margin,
        "alpha": alpha,
        "difference": {
            "baseline": diff.baseline,
            "candidate": diff.candidate,
            "difference": diff.difference,
            "ci_low": diff.ci_low,
            "ci_high": diff.ci_high,
            "confidence_level": diff.confidence_level,
            "interval_method": diff.interval_method,
            "resamples": stats.BOOTSTRAP_RESAMPLES,
            "bootstrap_seed": seed,
            "bootstrap_unit": stats.BOOTSTRAP_UNIT
            + (" (paired by seed)" if paired else " (each side resampled alone)"),
            "test": diff.test,
            "p_value": diff.p_value,
            "welch_p_value": diff.welch_p_value,
            "probability_of_improvement": diff.probability_of_improvement,
        },
        "verdict": verdict,
        "passed": verdict != VERDICT_WORSE,
        "rule": (
            f"worse (exit 1) when the upper end of the {1 - alpha:.0%} interval of "
            f"candidate - baseline is below -margin ({-margin:g})"
        ),
        "warnings": _warnings(baseline, candidate),
        "plot": None,
    }


def _verdict(low: Optional[float], high: Optional[float], margin: float) -> str:
    if low is None or high is None:
        return VERDICT_NO_INTERVAL
    if high < -margin:
        return VERDICT_WORSE
    if high < 0:
        return VERDICT_WORSE_WITHIN_MARGIN
    if low > 0:
        return VERDICT_BETTER
    return VERDICT_NO_DIFFERENCE


def _check_options(statistic: str, margin: float, alpha: float) -> None:
    if statistic not in STATISTICS:
        raise UsageError(
            f"--statistic {statistic!r}: unknown", f"choose one of: {', '.join(STATISTICS)}"
        )
    if not (isinstance(margin, (int, float)) and 0 <= margin < float("inf")):
        raise UsageError(f"--margin {margin!r}: must be a number >= 0", "e.g. --margin 10")
    if not (isinstance(alpha, (int, float)) and 0 < alpha < 0.5):
        raise UsageError(f"--alpha {alpha!r}: must be in (0, 0.5)", "e.g. --alpha 0.05")


def _seed_text(seeds: np.ndarray) -> str:
    if seeds.size and np.array_equal(seeds, np.arange(seeds[0], seeds[0] + seeds.size)):
        return f"{seeds[0]}..{seeds[-1]}"
    return ",".join(str(s) for s in seeds.tolist())


def _side(report: dict, seeds: np.ndarray) -> dict:
    policy = report.get("policy") or {}
    return {
        "report": report["output"]["stats"],
        "policy": policy.get("path"),
        "checkpoint": policy.get("checkpoint"),
        "train_step": policy.get("train_step"),
        "env": report["env"]["id"],
        "episodes": int(seeds.size),
        "seeds": _seed_text(seeds),
        "complete": report.get("complete"),
    }


def returns_of(report: dict) -> np.ndarray:
    """The report's returns ordered by seed (what was compared)."""
    return _returns(report)[1]


def evaluate_both(
    baseline: str,
    candidate: str,
    out: Path,
    baseline_checkpoint: Optional[str] = None,
    candidate_checkpoint: Optional[str] = None,
    progress_factory=None,
    **settings,
) -> tuple[dict, dict]:
    """Evaluate two policies with the same settings (env, episodes, seed: so the same seeds) into
    `out`/baseline and `out`/candidate with `evaluate`; return both reports."""
    reports = []
    for name, path, checkpoint in (
        ("baseline", baseline, baseline_checkpoint),
        ("candidate", candidate, candidate_checkpoint),
    ):
        eval_settings = EvalSettings(
            policy_path=path, checkpoint=checkpoint, out=str(Path(out) / name), **settings
        )
        progress = progress_factory() if progress_factory is not None else None
        reports.append(evaluate(eval_settings, progress=progress))
    return reports[0], reports[1]
