"""The evaluation loop's checks on every batch step: finite observations and rewards, actions
within the policy's action spec, and a finite return at each episode's end. Each stops the run
with a `RunError` naming the episode, its seed and the step.

They run on every step, so each has a fast path for the common case (all is well) that costs a
few numpy calls whatever the batch size, and only a failed fast path pays for the exact test
that finds the row and builds the message. `slots` is the loop's `evaluation._Slots` (its rows'
`episode` and `lengths`, its observation `leaves` and `paths`, its `action_bounds`).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import tensorflow as tf

from pytfpol.errors import RunError
from pytfpol.running.envs import flatten_with_paths

try:  # the C function behind np.count_nonzero, without its dispatch wrapper (~0.25 us a call)
    from numpy.core.multiarray import count_nonzero  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - numpy moved it
    count_nonzero = np.count_nonzero

# Integer action batches up to this many rows are bounds-checked as Python ints (`tolist`, then
# min/max: ~0.1 us) rather than by two numpy reductions (~0.6 us each); above it numpy is faster.
SMALL_BATCH = 64


def rows_of(leaf: np.ndarray, active: np.ndarray) -> np.ndarray:
    """The active rows of a batch leaf; the leaf itself (no copy) when every slot is active."""
    return leaf if active.size == leaf.shape[0] else leaf[active]


def all_finite(values: np.ndarray) -> bool:
    """True when every element of a float array is finite. One C loop, no overflow: the dot
    product with zeros is exactly 0 when every x is finite (x * 0 is +-0) and NaN as soon as one
    is NaN or +-inf (inf * 0 is NaN), whatever the other values (~0.2 us for a small batch,
    against ~0.6 us for a sum and a test of it)."""
    flat = values.reshape(-1)
    return bool(flat.dot(_zeros(flat.size, flat.dtype)) == 0)


@functools.lru_cache(maxsize=256)
def _zeros(size: int, dtype: np.dtype) -> np.ndarray:
    zeros = np.zeros(size, dtype=dtype)
    zeros.flags.writeable = False
    return zeros


def check_observations(slots: Any, active: np.ndarray, seed: int) -> None:
    """NaN/inf observations among the active rows stop the run."""
    for path, leaf in zip(slots.paths, slots.leaves):
        if leaf.dtype.kind != "f" or all_finite(rows_of(leaf, active)):
            continue
        bad = ~np.isfinite(leaf[active].reshape(active.size, -1)).all(axis=1)
        slot = int(active[int(np.argmax(bad))])
        index = int(slots.episode[slot])
        raise RunError(
            f"episode {index} (seed {seed + index}): the environment returned a non-finite "
            f"{path} at step {int(slots.lengths[slot])}",
            "fix the environment; completed episodes were written",
        )


def check_rewards(slots: Any, active: np.ndarray, reward: np.ndarray, seed: int) -> None:
    """A NaN/inf reward in any active row stops the run: summed into a return it would poison
    the mean, or vanish from the statistics that sort and trim (IQM, median), and a gate could
    pass on it."""
    if all_finite(reward):
        return
    k = int(np.argmax(~np.isfinite(reward)))
    row = int(active[k])
    index = int(slots.episode[row])
    raise RunError(
        f"episode {index} (seed {seed + index}): the environment returned a non-finite reward "
        f"({float(reward[k])}) at step {int(slots.lengths[row]) + 1}",
        "fix the environment; completed episodes were written",
    )


def check_return(slots: Any, row: int, seed: int) -> None:
    """Finite rewards can still add up to an infinite return (float64 overflow): that episode
    stops the run too, rather than leave the statistics null (checked once per episode)."""
    total = float(slots.returns[row])
    if math.isfinite(total):
        return
    index = int(slots.episode[row])
    raise RunError(
        f"episode {index} (seed {seed + index}): its return overflowed to {total} by its end at "
        f"step {int(slots.lengths[row])} (every reward was finite)",
        "fix the environment's reward scale; completed episodes were written",
    )


def action_leaves(action: Any) -> Any:
    """The leaves of an action batch (one array: itself, without walking a nest)."""
    return (action,) if isinstance(action, np.ndarray) else tf.nest.flatten(action)


class ActionBounds:
    """Per action leaf, its spec's bounds as flat float64 rows, for a fast in-bounds test."""

    def __init__(self, action_spec: Any) -> None:
        self.bounds = []
        for _, spec in flatten_with_paths(action_spec, "action"):
            low = getattr(spec, "minimum", -np.inf)
            high = getattr(spec, "maximum", np.inf)
            shape = tuple(spec.shape)
            low = np.broadcast_to(np.asarray(low, np.float64), shape).ravel()
            high = np.broadcast_to(np.asarray(high, np.float64), shape).ravel()
            if low.size and (low == low[0]).all() and (high == high[0]).all():
                low, high = float(low[0]), float(high[0])  # one scalar test per batch
            self.bounds.append((low, high))

    def all_within(self, action: Any, active: np.ndarray) -> bool:
        """True when every active action is within bounds (NaN fails: comparisons are False)."""
        for (low, high), leaf in zip(self.bounds, action_leaves(action)):
            rows = rows_of(leaf, active)
            if isinstance(low, float):
                if not _scalar_bounds_hold(rows, low, high):
                    return False
                continue
            flat = rows.reshape(rows.shape[0], -1)
            if not (np.all(low <= flat.min(axis=0)) and np.all(flat.max(axis=0) <= high)):
                return False
        return True


def _scalar_bounds_hold(rows: np.ndarray, low: float, high: Any) -> bool:
    if rows.dtype.kind in "iu" and rows.ndim == 1 and 0 < rows.size <= SMALL_BATCH:
        values = rows.tolist()  # integers: no NaN, Python's min/max are exact
        return low <= min(values) and max(values) <= high
    # the ufuncs' reduce: what .min()/.max() call, without their Python wrappers; NaN propagates
    return bool(
        low <= np.minimum.reduce(rows, axis=None) and np.maximum.reduce(rows, axis=None) <= high
    )


def check_actions(unbatcher, action, active: np.ndarray, slots: Any, seed: int) -> None:
    """An out-of-spec (or NaN) action among the active rows stops the run."""
    if slots.action_bounds.all_within(action, active):
        return
    bad = unbatcher.check(action, active)
    if bad is not None:
        slot, what = bad
        index = int(slots.episode[slot])
        raise RunError(
            f"episode {index} (seed {seed + index}): the policy emitted an out-of-spec action "
            f"at step {int(slots.lengths[slot])}: {what}",
            "check the policy's weights (NaN?) and that it matches this environment",
        )
