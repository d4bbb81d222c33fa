"""Issue 26 (start-up memory): the IQM is computed without importing `scipy.stats`, and is
bit for bit `scipy.stats.trim_mean(x, 0.25)` (what rliable computes and the reports promised),
for any n, along any axis, as the bootstrap calls it on batches of resamples."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import stats as scipy_stats

from pytfpol import stats


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 13, 100, 1001])
def test_iqm_is_scipys_trim_mean_bit_for_bit(n):
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n) * 10 ** rng.uniform(-3, 6, n)
    assert stats.iqm(x) == scipy_stats.trim_mean(x, 0.25)
    batch = rng.standard_normal((6, n, 3))
    for axis in (-1, 0, 1):
        np.testing.assert_array_equal(
            stats.iqm(batch, axis=axis), scipy_stats.trim_mean(batch, 0.25, axis=axis)
        )


def test_one_episode_summary_does_not_import_scipy_stats():
    code = (
        "import sys; from pytfpol import stats; "
        "s = stats.compute([3.5], [10], [True]); "
        "assert s.values['iqm_return'] == 3.5, s.values; "
        "print('scipy.stats' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
