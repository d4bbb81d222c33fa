"""Summary statistics of per-episode returns and lengths: pure numpy, nothing else."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def summarize(returns: Sequence[float], lengths: Sequence[int]) -> dict:
    """The `summary` block of the report. Population std (ddof=0), as TF-Agents' metrics use."""
    r = np.asarray(returns, dtype=np.float64)
    n = len(r)
    if n == 0:
        return {
            "episodes": 0,
            "mean_return": None,
            "std_return": None,
            "min_return": None,
            "max_return": None,
            "median_return": None,
            "mean_length": None,
            "total_steps": 0,
        }
    lengths_arr = np.asarray(lengths, dtype=np.int64)
    return {
        "episodes": n,
        "mean_return": float(r.mean()),
        "std_return": float(r.std()),
        "min_return": float(r.min()),
        "max_return": float(r.max()),
        "median_return": float(np.median(r)),
        "mean_length": float(lengths_arr.mean()),
        "total_steps": int(lengths_arr.sum()),
    }
