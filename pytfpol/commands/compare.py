"""`pytfpol compare BASELINE CANDIDATE`: is the candidate worse than the baseline, beyond noise?

`compare(CompareSettings(...))` reads two eval reports (an output directory of `pytfpol eval`, or
its `stats.json`), or evaluates two policies on the same seeds first (`evaluate_both`), and
returns a `Comparison`: its `document` (the JSON `--json` prints) holds the difference of one
statistic (candidate − baseline) with a bootstrap interval, a one-sided p-value, the probability
of improvement and a verdict; `check_verdict` raises GateFailed (exit 1) for "worse". numpy/scipy
only, unless policies are evaluated (TensorFlow) or a plot is drawn (matplotlib).

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence, cast

import numpy as np

from pytfpol import stats
from pytfpol.commands.evaluate import evaluate
from pytfpol.commands.progress import Progress
from pytfpol.errors import GateFailed, InputError, UsageError
from pytfpol.results import documents, files, plots
from pytfpol.results.documents import (
    VERDICT_BETTER,
    VERDICT_NO_DIFFERENCE,
    VERDICT_NO_INTERVAL,
    VERDICT_WORSE,
    VERDICT_WORSE_WITHIN_MARGIN,
    CompareResult,
    EvalReport,
)
from pytfpol.settings import EvalSettings, parse_env_kwargs

SCHEMA_VERSION = documents.COMPARE_SCHEMA_VERSION
STATISTICS = tuple(stats.STATISTICS)
DEFAULT_STATISTIC = "iqm_return"
Report = Mapping[str, Any]  # an EvalReport, or a dict of the same keys
HINT_REPORT = "give the stats.json written by `pytfpol eval`"


@dataclass(frozen=True)
class CompareSettings:
    """What `pytfpol compare` is asked: BASELINE and CANDIDATE are eval outputs; with `env_id`
    they are policies, evaluated first on the same seeds (the fields from `out` on mean
    something only then)."""

    baseline: str
    candidate: str
    statistic: str = DEFAULT_STATISTIC
    margin: float = 0.0
    alpha: float = 0.05
    seed: int = 0
    plot: Optional[str] = None
    env_id: Optional[str] = None
    episodes: int = 20
    out: Optional[str] = None
    baseline_checkpoint: Optional[str] = None
    candidate_checkpoint: Optional[str] = None
    env_kwargs: Sequence[str] = ()  # as given: a JSON object or key=value pairs each
    max_episode_steps: Optional[int] = None
    wrappers: Sequence[str] = ()  # --wrapper NAME[:K=V,...], applied in order
    num_envs: Optional[int] = None
    vector: str = "sync"
    allow_code: bool = False


@dataclass(frozen=True)
class Comparison:
    """The outcome of `compare`: the result document and the returns it compared."""

    document: CompareResult  # what --json prints (`as_document()`), --junit and --summary read
    baseline_returns: np.ndarray  # ordered by seed
    candidate_returns: np.ndarray

    @property
    def passed(self) -> bool:
        return self.document.passed

    @property
    def warnings(self) -> list[str]:
        return list(self.document.warnings)


def compare(
    settings: CompareSettings, progress_factory: Optional[Callable[[], Progress]] = None
) -> Comparison:
    """Compare CANDIDATE with BASELINE as `settings` asks (evaluating both first with
    `env_id`); with `plot`, draw both distributions there. A "worse" verdict is returned, not
    raised: `check_verdict` turns it into exit 1 once the result is shown."""
    _check_evaluation_options(settings)
    if settings.env_id is not None:
        baseline, candidate = _evaluate_settings(settings, progress_factory)
    else:
        baseline, candidate = load_report(settings.baseline), load_report(settings.candidate)
    document = compare_reports(
        baseline,
        candidate,
        statistic=settings.statistic,
        margin=settings.margin,
        alpha=settings.alpha,
        seed=settings.seed,
    )
    comparison = Comparison(document, returns_of(baseline), returns_of(candidate))
    if settings.plot is not None:
        plots.write_compare_plot(
            document.as_document(),
            comparison.baseline_returns,
            comparison.candidate_returns,
            Path(settings.plot),
        )
        document.plot = settings.plot
    return comparison


def check_verdict(document: Report) -> None:
    """GateFailed (exit 1) when the candidate is significantly worse than the baseline."""
    if document["passed"]:
        return
    d, margin = document["difference"], document["margin"]
    raise GateFailed(
        f"the candidate is worse: {document['statistic']} {d['candidate']:g} vs "
        f"{d['baseline']:g}, difference {d['difference']:g}, {d['confidence_level']:.0%} "
        f"interval [{d['ci_low']:g}, {d['ci_high']:g}] entirely below "
        + (f"-margin ({-margin:g})" if margin else "0"),
        f"candidate {document['candidate']['report']}; baseline {document['baseline']['report']}",
    )


def _check_evaluation_options(settings: CompareSettings) -> None:
    """The options of evaluating first are refused without --env (never ignored)."""
    evaluation_only = {
        "--out": settings.out,
        "--baseline-checkpoint": settings.baseline_checkpoint,
        "--candidate-checkpoint": settings.candidate_checkpoint,
        "--env-kwargs": settings.env_kwargs or None,
        "--max-episode-steps": settings.max_episode_steps,
        "--wrapper": tuple(settings.wrappers) or None,
        "--num-envs": settings.num_envs,
        "--allow-code": settings.allow_code or None,
    }
    given = [name for name, value in evaluation_only.items() if value is not None]
    if settings.env_id is None and given:
        raise UsageError(
            f"{', '.join(given)}: only with --env (evaluating two policies first)",
            "to compare two eval outputs, drop them; to evaluate two policies, add --env",
        )


def _evaluate_settings(
    settings: CompareSettings, progress_factory: Optional[Callable[[], Progress]]
) -> tuple[EvalReport, EvalReport]:
    """Both policies evaluated on the same env and seeds, into --out (default: a new run
    directory named for compare)."""
    assert settings.env_id is not None
    target = settings.out or str(files.default_run_dir(settings.env_id, "compare"))
    return evaluate_both(
        settings.baseline,
        settings.candidate,
        Path(target),
        baseline_checkpoint=settings.baseline_checkpoint,
        candidate_checkpoint=settings.candidate_checkpoint,
        progress_factory=progress_factory,
        env_id=settings.env_id,
        episodes=settings.episodes,
        seed=settings.seed,
        env_kwargs=parse_env_kwargs(settings.env_kwargs),
        max_episode_steps=settings.max_episode_steps,
        wrappers=tuple(settings.wrappers),
        num_envs=settings.num_envs,
        vector=settings.vector,
        allow_code=settings.allow_code,
    )


def load_report(path: str | Path) -> EvalReport:
    """The eval report at `path`: an output directory of `pytfpol eval` or a `stats.json`."""
    path = Path(path)
    file = path / files.STATS_JSON if path.is_dir() else path
    if not os.path.lexists(file):  # anything else is read or refused by input_files
        raise InputError(
            f"{path}: no {files.STATS_JSON} here" if path.is_dir() else f"{path}: no such file",
            "give an output directory of `pytfpol eval` or its stats.json; to evaluate two "
            "policies first, pass --env",
            path=path,
        )
    report = documents.read_eval_report(file)  # validated: episodes, env.id
    if "output" not in report.order:
        report.order += ("output",)
    report.output["stats"] = str(file)
    return report


def _returns(report: Report) -> tuple[np.ndarray, np.ndarray]:
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


def _env_key(report: Report) -> tuple:
    env = report["env"]
    return (
        env.get("id"),
        json.dumps(env.get("spec"), sort_keys=True),
        json.dumps(env.get("kwargs") or {}, sort_keys=True),
        env.get("max_episode_steps"),
    )


def _check_same_env_spec(baseline: Report, candidate: Report) -> None:
    """Refuse (exit 2) two runs whose recorded envs differ anywhere (kwargs, step limit, a
    wrapper or its kwargs), not only in their ids. Reports without a recorded spec (older
    pytfpol, PyEnvironments) are compared by id, kwargs and step limit (`_env_key`)."""
    b_spec, c_spec = baseline["env"].get("spec"), candidate["env"].get("spec")
    if b_spec is None or c_spec is None or b_spec == c_spec:
        return
    differing = sorted(k for k in set(b_spec) | set(c_spec) if b_spec.get(k) != c_spec.get(k))
    key = differing[0]
    raise UsageError(
        f"different environments: the env specs of baseline and candidate differ in {key} "
        f"(baseline {json.dumps(b_spec.get(key))}, candidate {json.dumps(c_spec.get(key))})",
        "compare runs of the same env, kwargs, step limit and wrappers "
        "(stats.json's env.spec records them)",
    )


def _warnings(baseline: Report, candidate: Report) -> list[str]:
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
    baseline: Report,
    candidate: Report,
    *,
    statistic: str = DEFAULT_STATISTIC,
    margin: float = 0.0,
    alpha: float = 0.05,
    seed: int = 0,
) -> CompareResult:
    """Compare two eval reports (see the module docstring for the rule)."""
    _check_options(statistic, margin, alpha)
    if baseline["env"]["id"] != candidate["env"]["id"]:
        raise UsageError(
            f"different environments: baseline ran {baseline['env']['id']}, candidate ran "
            f"{candidate['env']['id']}",
            "compare runs of the same env id",
        )
    _check_same_env_spec(baseline, candidate)
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
    diff = stats.difference(  # takes any array of floats, numpy arrays included
        cast(Sequence[float], b_returns),
        cast(Sequence[float], c_returns),
        statistic=statistic,
        paired=paired,
        margin=margin,
        alpha=alpha,
        seed=seed,
    )
    verdict = _verdict(diff.ci_low, diff.ci_high, margin)
    return CompareResult.from_dict(
        {
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
    )


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


def _side(report: Report, seeds: np.ndarray) -> dict:
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


def returns_of(report: Report) -> np.ndarray:
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
) -> tuple[EvalReport, EvalReport]:
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
