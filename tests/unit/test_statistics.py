"""pytfpol.stats against independent computations: rliable (whose intervals come from the `arch`
package's own BCa bootstrap, not scipy's), worked examples with published numbers, and brute-force
counting. No TensorFlow."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

from pytfpol import stats

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from rliable import library as rly
    from rliable import metrics as rly_metrics


def skewed_returns(n: int, seed: int = 1) -> np.ndarray:
    """Continuous, right-skewed returns: where BCa and the percentile interval differ."""
    return np.random.default_rng(seed).gamma(2.0, 50.0, size=n)


def rliable_bca(x: np.ndarray, aggregate) -> np.ndarray:
    """rliable's 95 % BCa interval of one policy's episodes (one task, episodes as the rows)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, intervals = rly.get_interval_estimates(
            {"policy": x[:, None]},
            lambda scores: np.array([aggregate(scores)]),
            method="bca",
            reps=50_000,
            random_state=np.random.RandomState(0),
        )
    return intervals["policy"][:, 0]


# ----------------------------------------------------------------------------------------- IQM


def test_iqm_worked_example():
    """8 returns: the IQM drops the lowest two and highest two and means the middle four."""
    returns = [100.0, 1.0, 8.0, 3.0, 5.0, 4.0, 6.0, 2.0]
    assert stats.iqm(np.array(returns)) == (3 + 4 + 5 + 6) / 4
    summary = stats.summarize(returns, [1] * 8)
    assert summary["iqm_return"] == 4.5
    assert summary["mean_return"] == 16.125  # the outlier moves the mean, not the IQM


def test_iqm_equals_rliable_and_the_middle_half_by_sorting():
    x = skewed_returns(40)
    middle = np.sort(x)[10:30]  # n/4 = 10 cut from each end
    assert stats.summarize(x, [1] * 40)["iqm_return"] == pytest.approx(middle.mean(), rel=1e-12)
    assert stats.iqm(x) == pytest.approx(rly_metrics.aggregate_iqm(x), rel=1e-12)


# ----------------------------------------------------------------------------------- intervals


@pytest.mark.parametrize("n", [30, 100])
@pytest.mark.parametrize(
    "name, aggregate",
    [("mean_return", rly_metrics.aggregate_mean), ("iqm_return", rly_metrics.aggregate_iqm)],
)
def test_bca_intervals_agree_with_rliable(n, name, aggregate):
    """Two BCa implementations (scipy in pytfpol, arch in rliable), different random draws:
    the ends agree to within 5 % of the interval's width (Monte Carlo error is ~2 %)."""
    x = skewed_returns(n)
    summary = stats.compute(x, [1] * n, seed=0)
    low, high = summary.values[f"{name}_ci_low"], summary.values[f"{name}_ci_high"]
    assert summary.methods[name] == "BCa"
    reference = rliable_bca(x, aggregate)
    width = reference[1] - reference[0]
    assert abs(low - reference[0]) < 0.05 * width, (low, high, reference)
    assert abs(high - reference[1]) < 0.05 * width, (low, high, reference)


def test_paired_difference_interval_agrees_with_rliable_on_differences():
    """Paired by seed, the bootstrap of mean(c) - mean(b) is the bootstrap of mean(c - b)."""
    b = skewed_returns(40, seed=2)
    c = b + np.random.default_rng(3).normal(-10.0, 15.0, size=40)
    diff = stats.difference(b, c, statistic="mean_return", paired=True, seed=0)
    assert diff.paired and diff.interval_method == "BCa"
    assert diff.difference == pytest.approx(np.mean(c - b))
    reference = rliable_bca(c - b, rly_metrics.aggregate_mean)
    width = reference[1] - reference[0]
    assert abs(diff.ci_low - reference[0]) < 0.05 * width
    assert abs(diff.ci_high - reference[1]) < 0.05 * width


def test_intervals_are_reproducible_for_a_seed_and_move_with_it():
    x = skewed_returns(25)
    first = stats.summarize(x, [1] * 25, seed=7)
    again = stats.summarize(x, [1] * 25, seed=7)
    other = stats.summarize(x, [1] * 25, seed=8)
    keys = ["mean_return_ci_low", "mean_return_ci_high", "iqm_return_ci_low", "iqm_return_ci_high"]
    assert [first[k] for k in keys] == [again[k] for k in keys]  # bit for bit
    assert [first[k] for k in keys] != [other[k] for k in keys]


def test_no_intervals_below_five_episodes():
    summary = stats.summarize([1.0, 5.0, 2.0, 9.0], [1] * 4, [True, False, True, True])
    assert summary["mean_return_ci_low"] is None and summary["iqm_return_ci_high"] is None
    assert summary["success_rate"] == 0.75 and summary["success_rate_ci_low"] is None
    assert stats.summarize([1.0, 5.0, 2.0, 9.0, 3.0], [1] * 5)["mean_return_ci_low"] is not None


def test_constant_returns_give_the_value_as_interval():
    """Every resample of 20 episodes of 500 has mean 500: the bootstrap says [500, 500]
    (BCa itself is undefined there)."""
    computed = stats.compute([500.0] * 20, [500] * 20)
    assert computed.values["mean_return_ci_low"] == computed.values["mean_return_ci_high"] == 500
    assert computed.methods["mean_return"] == "constant"


def test_bca_undefined_falls_back_to_the_percentile_interval():
    """Returns piled at a maximum: no resample has an IQM below the estimate, so BCa's bias
    correction is infinite; the percentile interval is reported and named."""
    returns = [500.0] * 18 + [300.0, 400.0]
    computed = stats.compute(returns, [1] * 20)
    assert computed.methods["iqm_return"] == "percentile"
    assert computed.values["iqm_return_ci_high"] == 500.0


# ------------------------------------------------------------------------------- success rate


@pytest.mark.parametrize(
    "successes, n, low, high",
    [  # Newcombe (1998), Statistics in Medicine 17:857-872, Table I, method 3 (Wilson score)
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_published_values(successes, n, low, high):
    flags = [True] * successes + [False] * (n - successes)
    summary = stats.summarize([0.0] * n, [1] * n, flags)
    assert summary["successes"] == successes
    assert summary["success_rate"] == pytest.approx(successes / n)
    assert summary["success_rate_ci_low"] == pytest.approx(low, abs=5e-5)
    assert summary["success_rate_ci_high"] == pytest.approx(high, abs=5e-5)


def test_success_rate_unknown_when_any_episode_has_no_flag():
    summary = stats.summarize([1.0] * 6, [1] * 6, [True] * 5 + [None])
    assert summary["success_rate"] is None and summary["successes"] is None


# ------------------------------------------------------------------- probability of improvement


def brute_force_probability(x: np.ndarray, y: np.ndarray) -> float:
    """P(X > Y) + P(X = Y)/2 over every pair: the definition, counted."""
    wins = sum((a > b) + 0.5 * (a == b) for a, b in itertools.product(x, y))
    return wins / (len(x) * len(y))


@pytest.mark.parametrize("seed", [0, 1])
def test_probability_of_improvement_counts_pairs(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 8, size=13).astype(float)  # many ties
    y = rng.integers(2, 9, size=9).astype(float)
    expected = brute_force_probability(x, y)
    assert stats.probability_of_improvement(x, y) == pytest.approx(expected, abs=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert expected == pytest.approx(
            rly_metrics.probability_of_improvement(x[:, None], y[:, None])
        )


def test_probability_of_improvement_extremes():
    assert stats.probability_of_improvement([5.0] * 6, [1.0, 2.0, 3.0]) == 1.0
    assert stats.probability_of_improvement([1.0] * 6, [1.0] * 4) == 0.5


# ---------------------------------------------------------------------------------- difference


def test_difference_of_identical_runs_is_exactly_zero():
    x = skewed_returns(20)
    diff = stats.difference(x, x.copy(), paired=True)
    assert (diff.difference, diff.ci_low, diff.ci_high) == (0.0, 0.0, 0.0)
    assert diff.p_value == 1.0 and diff.probability_of_improvement == 0.5


def test_unpaired_difference_reports_mann_whitney_and_welch():
    b = skewed_returns(30, seed=4)
    c = skewed_returns(25, seed=5) - 60.0
    diff = stats.difference(b, c, statistic="mean_return", paired=False)
    assert not diff.paired and diff.ci_high < 0
    assert diff.p_value < 0.01 and diff.welch_p_value < 0.01
    assert "Mann-Whitney" in diff.test


def test_margin_shifts_the_one_sided_test():
    """Worse by about 10: significant against margin 0, not against margin 30."""
    b = skewed_returns(40, seed=6)
    c = b - 10.0 + np.random.default_rng(7).normal(0, 2, size=40)
    assert stats.difference(b, c, paired=True, statistic="mean_return").p_value < 0.001
    assert stats.difference(b, c, paired=True, margin=30.0, statistic="mean_return").p_value > 0.5


# --------------------------------------------------------------------------- speed at scale (issue 26)


def tied_returns(n: int, seed: int) -> np.ndarray:
    """Returns with many ties (few distinct values), as capped or discrete rewards give."""
    return np.random.default_rng(seed).integers(0, 5, size=n) * 1.5 - 2.0


def scipy_bca(samples: tuple, function, seed: int, paired: bool = False) -> tuple:
    """scipy.stats.bootstrap's own BCa interval (its quadratic jackknife) with the same seed."""
    from scipy.stats import bootstrap

    def statistic(*arrays, axis=-1):
        if len(arrays) == 1:
            return function(arrays[0], axis=axis)
        return function(arrays[1], axis=axis) - function(arrays[0], axis=axis)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = bootstrap(
            samples, statistic, n_resamples=stats.BOOTSTRAP_RESAMPLES, batch=stats.BOOTSTRAP_BATCH,
            vectorized=True, paired=paired, method="BCa", random_state=np.random.default_rng(seed),
        )  # fmt: skip
    return tuple(result.confidence_interval)


@pytest.mark.parametrize("n", [5, 6, 7, 8, 9, 12, 37, 100])
@pytest.mark.parametrize("data", [tied_returns, skewed_returns])
def test_closed_form_jackknife_equals_leaving_each_episode_out(n, data):
    """The leave-one-out mean and IQM (scipy.stats.trim_mean(x, 0.25)), as scipy's BCa
    jackknife evaluates them: each episode deleted in turn, the statistic of the rest."""
    from scipy.stats import trim_mean

    x = data(n, seed=n)
    left_out = [np.delete(x, i) for i in range(n)]
    assert np.allclose(
        stats.leave_one_out_iqm(x), [trim_mean(r, 0.25) for r in left_out], rtol=1e-13, atol=1e-12
    )
    assert np.allclose(
        stats.leave_one_out_mean(x), [np.mean(r) for r in left_out], rtol=1e-13, atol=1e-12
    )


@pytest.mark.parametrize("n", [5, 11, 60, 250])
@pytest.mark.parametrize("name", ["mean_return", "iqm_return"])
def test_bca_interval_equals_scipys_with_the_same_random_state(n, name):
    """The interval from scipy's bootstrap distribution and the closed-form jackknife is scipy's
    own BCa interval, for one sample and for paired and unpaired differences."""
    function = stats.STATISTICS[name]
    for seed, data in ((n, tied_returns), (n + 1, skewed_returns)):
        x = data(n, seed=seed)
        low, high, method = stats.bootstrap_interval((x,), function, seed=seed)
        assert method == stats.METHOD_BCA
        assert np.allclose((low, high), scipy_bca((x,), function, seed), rtol=1e-12, atol=0)
        y = data(n, seed=seed + 100)
        for paired in (True, False):
            d = stats.difference(x, y, statistic=name, paired=paired, seed=seed)
            assert d.interval_method == stats.METHOD_BCA
            expected = scipy_bca((x, y), function, seed, paired)
            assert np.allclose((d.ci_low, d.ci_high), expected, rtol=1e-12, atol=1e-12)


def test_many_episodes_switch_to_normal_intervals_at_the_stated_size(monkeypatch):
    """Up to BOOTSTRAP_MAX_EPISODES episodes (5,000, as docs/statistics.md says) the intervals
    are bootstrap intervals; above, the estimate ± z·SE: the mean's SE (ddof=1) and the IQM's
    Tukey-McLaughlin (Yuen) SE, checked against scipy's Yuen trimmed t-test, whose standard
    error is the same. (The size is lowered here so that the bootstrap side stays fast.)"""
    from scipy import stats as sps

    assert stats.BOOTSTRAP_MAX_EPISODES == 5_000
    limit = 60
    monkeypatch.setattr(stats, "BOOTSTRAP_MAX_EPISODES", limit)
    x = tied_returns(limit + 1, seed=3)
    summary = stats.compute(x, [5] * len(x))
    assert summary.methods["mean_return"] == summary.methods["iqm_return"] == stats.METHOD_NORMAL
    z = sps.norm.ppf(0.975)
    sem = sps.sem(x)
    assert np.isclose(summary.values["mean_return_ci_low"], x.mean() - z * sem, rtol=1e-12)
    assert np.isclose(summary.values["mean_return_ci_high"], x.mean() + z * sem, rtol=1e-12)
    # Yuen's trimmed t of x against its mirror -x (the same SE): t = 2 iqm / (SE √2).
    t = sps.ttest_ind(x, -x, trim=0.25).statistic
    se = 2 * stats.iqm(x) / (t * np.sqrt(2))
    iqm = summary.values["iqm_return"]
    assert np.isclose(summary.values["iqm_return_ci_low"], iqm - z * se, rtol=1e-9)
    assert np.isclose(summary.values["iqm_return_ci_high"], iqm + z * se, rtol=1e-9)
    at_limit = stats.compute(x[:limit], [5] * limit)
    assert at_limit.methods["mean_return"] == stats.METHOD_BCA
    constant = stats.compute(np.full(limit + 1, 7.0), [5] * (limit + 1))
    assert constant.values["iqm_return_ci_low"] == constant.values["iqm_return_ci_high"] == 7.0
    assert constant.methods["iqm_return"] == stats.METHOD_CONSTANT
