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
