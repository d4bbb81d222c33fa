"""Statistics of per-episode results, and of the difference between two sets of episodes.

numpy and scipy only (no TensorFlow): `pytfpol compare` reads reports without loading a policy.

Why these statistics (rliable, Agarwal et al., NeurIPS 2021): a mean of ten episodes hides how
spread they are; the interquartile mean (IQM, the mean of the middle 50 %) is robust to a few
outlying episodes yet uses more data than the median; bootstrap confidence intervals say how much
the estimate would move with other episode seeds; the probability of improvement says how often a
random episode of one beats a random episode of the other.

The bootstrap unit is the *episode of one policy*: the intervals say how precisely these episodes
measure this policy, not how a training method varies across independent training runs (treating
episodes as runs narrows intervals wrongly; rliable issue #20).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

CONFIDENCE_LEVEL = 0.95
BOOTSTRAP_METHOD = "BCa"
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_BATCH = 500  # resamples evaluated at once: bounds memory for long runs
BOOTSTRAP_UNIT = "episodes of one policy"
MIN_EPISODES_FOR_INTERVALS = 5
# Above this many episodes a summary's intervals are normal-approximation intervals (METHOD_NORMAL):
# a bootstrap costs BOOTSTRAP_RESAMPLES x episodes (10^9 values at 100,000 episodes), and with
# thousands of episodes the bootstrap distribution of a mean or an IQM is normal anyway.
BOOTSTRAP_MAX_EPISODES = 5_000
PERCENTILES = (5, 25, 75, 95)
IQM_CUT = 0.25  # trimmed from each end: the interquartile mean

# Each interval's "method" in the report: BCa, or the percentile bootstrap where BCa is undefined
# (e.g. no resample falls below the estimate: returns piled up at an env's maximum).
METHOD_BCA = "BCa"
METHOD_PERCENTILE = "percentile"
METHOD_CONSTANT = "constant"  # every resample gives the same value: the interval is that value
METHOD_WILSON = "Wilson"
# Above BOOTSTRAP_MAX_EPISODES: estimate ± z·SE, the SE of the mean (ddof=1) or of the IQM
# (Tukey-McLaughlin / Yuen: the winsorized variance, scipy.stats.mstats.winsorize at 25 %).
METHOD_NORMAL = "normal"

SUMMARY_KEYS = (
    "episodes",
    "mean_return",
    "std_return",
    "sem_return",
    "min_return",
    "p5_return",
    "p25_return",
    "median_return",
    "p75_return",
    "p95_return",
    "max_return",
    "iqm_return",
    "mean_return_ci_low",
    "mean_return_ci_high",
    "iqm_return_ci_low",
    "iqm_return_ci_high",
    "mean_length",
    "total_steps",
    "successes",
    "success_rate",
    "success_rate_ci_low",
    "success_rate_ci_high",
)


def mean(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x, axis=axis)


def iqm(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Interquartile mean: `scipy.stats.trim_mean(x, 0.25)`, as rliable computes it (with n not
    a multiple of 4, int(n/4) values are cut from each end). scipy's own steps (the same
    partition, then the mean: the same bits), without importing `scipy.stats` (~30 MB, and
    ~0.1 s) for a run too short for intervals."""
    x = np.asarray(x)
    if x.size == 0:
        return np.nan  # type: ignore[return-value]
    count = x.shape[axis]
    low = int(IQM_CUT * count)
    high = count - low
    kept = np.partition(x, (low, high - 1), axis)
    middle = [slice(None)] * kept.ndim
    middle[axis] = slice(low, high)
    return np.mean(kept[tuple(middle)], axis=axis)


def median(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.median(x, axis=axis)


STATISTICS: dict[str, Callable[..., np.ndarray]] = {
    "mean_return": mean,
    "iqm_return": iqm,
    "median_return": median,
}


@dataclass
class Summary:
    """The report's `summary` (numbers only) and how its intervals were computed."""

    values: dict
    methods: dict = field(default_factory=dict)


def summarize(
    returns: Sequence[float],
    lengths: Sequence[int],
    successes: Optional[Sequence[Optional[bool]]] = None,
    *,
    seed: int = 0,
) -> dict:
    """The `summary` block of the report (see `compute`)."""
    return compute(returns, lengths, successes, seed=seed).values


def compute(
    returns: Sequence[float],
    lengths: Sequence[int],
    successes: Optional[Sequence[Optional[bool]]] = None,
    *,
    seed: int = 0,
) -> Summary:
    """Every summary statistic of these episodes. Population std (ddof=0), as TF-Agents' metrics
    use; `sem_return` uses ddof=1 (scipy.stats.sem). Intervals are 95 % BCa bootstrap intervals
    (`BOOTSTRAP_RESAMPLES` resamples seeded by `seed`: the same episodes and seed give the same
    interval), null with fewer than `MIN_EPISODES_FOR_INTERVALS` episodes. `successes` holds one
    flag per episode (None: unknown); the success rate is null unless every episode has one.
    One non-finite return leaves every return statistic null (a gate on it fails): sorted and
    trimmed, a NaN would vanish from the IQM and the median, never to be seen again."""
    r = np.asarray(returns, dtype=np.float64)
    n = len(r)
    values: dict = dict.fromkeys(SUMMARY_KEYS)
    values["episodes"] = n
    values["total_steps"] = int(np.sum(np.asarray(lengths, dtype=np.int64))) if n else 0
    methods: dict = {"mean_return": None, "iqm_return": None, "success_rate": None}
    if n:
        values["mean_length"] = float(np.mean(np.asarray(lengths, dtype=np.int64)))
    if n and np.isfinite(r).all():
        values.update(
            mean_return=float(r.mean()),
            std_return=float(r.std()),
            min_return=float(r.min()),
            max_return=float(r.max()),
            median_return=float(np.median(r)),
            iqm_return=float(iqm(r)),
        )
        for q, value in zip(PERCENTILES, np.percentile(r, PERCENTILES)):
            values[f"p{q}_return"] = float(value)
        if n >= 2:
            from scipy import stats  # here: a run of one episode never needs scipy.stats

            values["sem_return"] = float(stats.sem(r))
        if n >= MIN_EPISODES_FOR_INTERVALS:
            for name, statistic in (("mean_return", mean), ("iqm_return", iqm)):
                if n > BOOTSTRAP_MAX_EPISODES:
                    low, high, method = normal_interval(r, statistic)
                else:
                    low, high, method = bootstrap_interval((r,), statistic, seed=seed)
                values[f"{name}_ci_low"], values[f"{name}_ci_high"] = low, high
                methods[name] = method
    flags = None if successes is None else list(successes)
    if n and flags is not None and len(flags) == n and all(f is not None for f in flags):
        k = int(sum(bool(f) for f in flags))
        values["successes"] = k
        values["success_rate"] = k / n
        if n >= MIN_EPISODES_FOR_INTERVALS:
            from scipy import stats

            interval = stats.binomtest(k, n).proportion_ci(CONFIDENCE_LEVEL, method="wilson")
            values["success_rate_ci_low"] = float(interval.low)
            values["success_rate_ci_high"] = float(interval.high)
            methods["success_rate"] = METHOD_WILSON
    return Summary(values, methods)


def bootstrap_interval(
    samples: tuple,
    statistic: Callable[..., np.ndarray],
    *,
    seed: int,
    paired: bool = False,
    confidence_level: float = CONFIDENCE_LEVEL,
    resamples: int = BOOTSTRAP_RESAMPLES,
    jackknife: Optional[Callable[[tuple, bool], list]] = None,
) -> tuple[Optional[float], Optional[float], Optional[str]]:
    """(low, high, method) of a two-sided bootstrap interval of `statistic(*samples, axis=-1)`
    with `scipy.stats.bootstrap`: BCa; the percentile interval where BCa is undefined; the value
    itself when every resample gives it (constant data). (None, None, None) if neither exists.

    With `jackknife` (samples, paired) -> the statistic's leave-one-out values (the mean, the IQM
    and differences of them have them in closed form: `LEAVE_ONE_OUT`; scipy's own jackknife
    evaluates the statistic n times over n - 1 values, quadratic in the episodes), scipy draws
    the bootstrap distribution once and the interval is its BCa interval (`bca_interval`)."""
    if jackknife is None:
        jackknife = _jackknife_of(statistic)
    distribution = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DegenerateDataWarning / RuntimeWarning: handled below
        for method, distribution, (low, high) in _intervals(
            samples, statistic, seed, paired, confidence_level, resamples, jackknife
        ):
            if np.isfinite(low) and np.isfinite(high):
                if np.ptp(distribution) == 0:
                    value = float(distribution.flat[0])
                    return value, value, METHOD_CONSTANT
                return float(low), float(high), method
    if distribution is not None and np.ptp(distribution) == 0:
        value = float(distribution.flat[0])
        return value, value, METHOD_CONSTANT
    return None, None, None


def _intervals(samples, statistic, seed, paired, confidence_level, resamples, jackknife):
    """(method, bootstrap distribution, (low, high)): BCa, then the percentile interval. With a
    closed-form jackknife scipy draws the distribution once, for both."""
    from scipy import stats

    def bootstrap(method: str):
        return stats.bootstrap(
            samples,
            lambda *arrays, axis=-1: statistic(*arrays, axis=axis),
            n_resamples=resamples,
            batch=BOOTSTRAP_BATCH,
            vectorized=True,
            paired=paired,
            confidence_level=confidence_level,
            method=method,
            random_state=np.random.default_rng(seed),
        )

    if jackknife is None:
        for method in (METHOD_BCA, METHOD_PERCENTILE):
            result = bootstrap(method)
            yield method, result.bootstrap_distribution, result.confidence_interval
        return
    result = bootstrap(METHOD_PERCENTILE)
    distribution = result.bootstrap_distribution
    leave_one_out = jackknife(samples, paired)
    bca = bca_interval(samples, statistic, distribution, leave_one_out, confidence_level)
    yield METHOD_BCA, distribution, bca
    yield METHOD_PERCENTILE, distribution, result.confidence_interval


def bca_interval(
    samples: tuple,
    statistic: Callable[..., np.ndarray],
    distribution: np.ndarray,
    leave_one_out: list,
    confidence_level: float,
) -> tuple[float, float]:
    """The BCa interval exactly as `scipy.stats.bootstrap` computes it (Efron & Tibshirani 14.3,
    15.4), given the bootstrap distribution and the jackknife (leave-one-out) values of the
    statistic, one array per sample scipy jackknifes (one for paired samples); nan where BCa is
    undefined."""
    from scipy.special import ndtr, ndtri

    with np.errstate(all="ignore"):
        theta_hat = float(statistic(*samples, axis=-1))
        below = np.count_nonzero(distribution < theta_hat)
        at_or_below = np.count_nonzero(distribution <= theta_hat)
        z0 = ndtri((below + at_or_below) / (2 * distribution.shape[-1]))
        nums, dens = [], []
        for values in leave_one_out:
            n = values.shape[-1]
            u = (n - 1) * (values.mean() - values)
            nums.append((u**3).sum() / n**3)
            dens.append((u**2).sum() / n**2)
        a_hat = 1 / 6 * sum(nums) / sum(dens) ** (3 / 2)
        z_alpha = ndtri((1 - confidence_level) / 2)
        bounds = []
        for z in (z_alpha, -z_alpha):
            level = ndtr(z0 + (z0 + z) / (1 - a_hat * (z0 + z)))
            bounds.append(np.nan if np.isnan(level) else np.percentile(distribution, level * 100))
    return bounds[0], bounds[1]


def leave_one_out_mean(x: np.ndarray) -> np.ndarray:
    """The mean of x without x[i], for every i (what a jackknife evaluates n times)."""
    return (x.sum() - x) / (len(x) - 1)


def leave_one_out_iqm(x: np.ndarray) -> np.ndarray:
    """`iqm` of x without x[i], for every i, in O(n log n): over the sorted values and their
    prefix sums, removing the value at sorted position p leaves the trimmed window of the n - 1
    others either shifted by one (p below it), unchanged (p above it), or less that value."""
    n = len(x)
    m = n - 1  # the values left
    cut = int(IQM_CUT * m)  # scipy.stats.trim_mean's lowercut for m values
    order = np.argsort(x, kind="stable")
    ordered = x[order]
    prefix = np.concatenate(([0.0], np.cumsum(ordered)))

    def window(start: int, stop: int) -> float:  # sum of ordered[start:stop]
        return prefix[stop] - prefix[start]

    position = np.arange(n)
    sums = np.where(
        position < cut,
        window(cut + 1, n - cut),
        np.where(position >= m - cut, window(cut, m - cut), window(cut, n - cut) - ordered),
    )
    result = np.empty(n)
    result[order] = sums / (m - 2 * cut)
    return result


LEAVE_ONE_OUT: dict[Callable, Callable[[np.ndarray], np.ndarray]] = {
    mean: leave_one_out_mean,
    iqm: leave_one_out_iqm,
}


def _jackknife_of(function: Callable) -> Optional[Callable[[tuple, bool], list]]:
    """The jackknife of `function` of one sample, as scipy's BCa would evaluate it."""
    leave_one_out = LEAVE_ONE_OUT.get(function)
    if leave_one_out is None:
        return None
    return lambda samples, paired: [leave_one_out(samples[0])]


def _jackknife_of_difference(function: Callable) -> Optional[Callable[[tuple, bool], list]]:
    """The jackknife of function(candidate) - function(baseline) as scipy's BCa evaluates it:
    paired, leaving out episode i of both; unpaired, each sample in turn with the other whole."""
    leave_one_out = LEAVE_ONE_OUT.get(function)
    if leave_one_out is None:
        return None

    def jackknife(samples: tuple, paired: bool) -> list:
        base, cand = samples
        if paired:
            return [leave_one_out(cand) - leave_one_out(base)]
        return [function(cand) - leave_one_out(base), leave_one_out(cand) - function(base)]

    return jackknife


def normal_interval(
    x: np.ndarray, statistic: Callable[..., np.ndarray], confidence_level: float = CONFIDENCE_LEVEL
) -> tuple[Optional[float], Optional[float], Optional[str]]:
    """(low, high, METHOD_NORMAL) for many episodes: the estimate ± z·SE, with the SE of the
    mean (ddof=1) or the Tukey-McLaughlin SE of the IQM (the 25 %-winsorized variance of the
    n values over h(h - 1), h the values kept: Yuen's trimmed-mean SE). O(n log n)."""
    from scipy.special import ndtri

    n = len(x)
    estimate = float(statistic(x))
    if statistic is iqm:
        cut = int(IQM_CUT * n)
        ordered = np.sort(x)
        winsorized = np.clip(ordered, ordered[cut], ordered[n - cut - 1])
        kept = n - 2 * cut
        se = float(np.sqrt(np.var(winsorized, ddof=1) * (n - 1) / (kept * (kept - 1))))
    else:
        se = float(np.std(x, ddof=1) / np.sqrt(n))
    if se == 0:
        return estimate, estimate, METHOD_CONSTANT
    z = float(-ndtri((1 - confidence_level) / 2))
    return estimate - z * se, estimate + z * se, METHOD_NORMAL


# --------------------------------------------------------------------------- two sets of episodes


def probability_of_improvement(candidate: np.ndarray, baseline: np.ndarray) -> float:
    """P(a random candidate episode beats a random baseline episode), ties counting one half:
    the Mann–Whitney U of the candidate divided by n·m (rliable's definition)."""
    from scipy import stats

    candidate, baseline = np.asarray(candidate, float), np.asarray(baseline, float)
    u = stats.mannwhitneyu(candidate, baseline, alternative="two-sided").statistic
    return float(u) / (candidate.size * baseline.size)


@dataclass(frozen=True)
class Difference:
    """candidate − baseline for one statistic, with its interval and tests."""

    statistic: str
    paired: bool
    baseline: float
    candidate: float
    difference: float
    ci_low: Optional[float]
    ci_high: Optional[float]
    interval_method: Optional[str]
    confidence_level: float
    test: str
    p_value: Optional[float]
    welch_p_value: Optional[float]
    probability_of_improvement: float


def difference(
    baseline: Sequence[float],
    candidate: Sequence[float],
    *,
    statistic: str = "iqm_return",
    paired: bool,
    margin: float = 0.0,
    alpha: float = 0.05,
    seed: int = 0,
) -> Difference:
    """The difference of `statistic` (candidate − baseline) with a (1 − alpha) bootstrap interval:
    paired (episode i of both resampled together: same seeds) or unpaired (each resampled on its
    own). The p-value is one-sided, for "the candidate is worse by more than `margin`": Wilcoxon
    signed-rank on the paired differences + margin, else Mann–Whitney U on the candidate's
    returns + margin against the baseline's (plus Welch's t-test, reported beside it)."""
    from scipy import stats

    b, c = np.asarray(baseline, np.float64), np.asarray(candidate, np.float64)
    function = STATISTICS[statistic]
    if paired and b.shape != c.shape:
        raise ValueError("paired samples need the same number of episodes")

    def diff(base, cand, axis=-1):
        return function(cand, axis=axis) - function(base, axis=axis)

    low, high, method = bootstrap_interval(
        (b, c),
        diff,
        seed=seed,
        paired=paired,
        confidence_level=1.0 - alpha,
        jackknife=_jackknife_of_difference(function),
    )
    welch = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if paired:
            test = "Wilcoxon signed-rank (one-sided: candidate worse by more than the margin)"
            shifted = c - b + margin
            p = 1.0 if not shifted.any() else stats.wilcoxon(shifted, alternative="less").pvalue
        else:
            test = "Mann-Whitney U (one-sided: candidate worse by more than the margin)"
            p = stats.mannwhitneyu(c + margin, b, alternative="less").pvalue
            welch = stats.ttest_ind(c + margin, b, equal_var=False, alternative="less").pvalue
    return Difference(
        statistic=statistic,
        paired=paired,
        baseline=float(function(b)),
        candidate=float(function(c)),
        difference=float(diff(b, c)),
        ci_low=low,
        ci_high=high,
        interval_method=method,
        confidence_level=1.0 - alpha,
        test=test,
        p_value=_finite(p),
        welch_p_value=_finite(welch),
        probability_of_improvement=probability_of_improvement(c, b),
    )


def _finite(value) -> Optional[float]:
    if value is None:
        return None
    value = float(value)
    return value if np.isfinite(value) else None
