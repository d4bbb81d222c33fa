"""The loop's per-step checks (issue 26 made their fast paths cheaper): the fast path must never
let a NaN or infinite value, or an out-of-bounds action, through, in any row, at any batch size,
and must not stop a run on finite values whose sum would overflow."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from tf_agents.specs import array_spec

from pytfpol.running.step_checks import SMALL_BATCH, ActionBounds, all_finite
from pytfpol.running.stepper import UNKNOWN_SUCCESS, stack_rows, step_envs

SIZES = [1, 3, 8, 64, 300]


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_all_finite_finds_a_non_finite_value_in_any_position(dtype, size, bad):
    values = np.linspace(-3, 3, size * 4).astype(dtype).reshape(size, 4)
    assert all_finite(values)
    for position in {0, values.size // 2, values.size - 1}:
        damaged = values.copy()
        damaged.reshape(-1)[position] = bad
        assert not all_finite(damaged), (position, damaged)


@pytest.mark.parametrize("size", SIZES)
def test_all_finite_accepts_huge_finite_values_whose_sum_overflows(size):
    huge = np.finfo(np.float64).max
    assert all_finite(np.full(max(size, 2), huge))
    assert all_finite(np.full((max(size, 2), 3), np.finfo(np.float32).max, np.float32))


@pytest.mark.parametrize("size", [1, 2, SMALL_BATCH, SMALL_BATCH + 1, 300])
def test_integer_action_bounds_checked_in_every_row(size):
    """Small integer batches take the Python-int path, larger ones numpy's: both see a row out
    of bounds below and above, wherever it is."""
    bounds = ActionBounds(array_spec.BoundedArraySpec((), np.int64, minimum=0, maximum=1))
    actions = np.arange(size, dtype=np.int64) % 2
    active = np.arange(size)
    assert bounds.all_within(actions, active)
    for row in {0, size - 1}:
        for value in (-1, 2):
            damaged = actions.copy()
            damaged[row] = value
            assert not bounds.all_within(damaged, active), (row, value)


def test_float_action_bounds_reject_nan():
    bounds = ActionBounds(array_spec.BoundedArraySpec((2,), np.float32, minimum=-1, maximum=1))
    actions = np.zeros((3, 2), np.float32)
    assert bounds.all_within(actions, np.arange(3))
    actions[2, 1] = np.nan
    assert not bounds.all_within(actions, np.arange(3))


class _Ends(gym.Env):
    """Ends its episode on step `end` (reporting is_success=True), never before."""

    observation_space = gym.spaces.Box(-1, 1, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, end: int) -> None:
        self.end, self.t = end, 0

    def step(self, action):
        self.t += 1
        done = self.t == self.end
        return np.zeros(2, np.float32), 1.0, done, False, {"is_success": done}


def test_step_envs_reports_success_only_for_the_episodes_that_ended():
    envs = [_Ends(2), _Ends(1), _Ends(3)]
    stack = stack_rows(envs[0].observation_space)
    first = step_envs(envs, [0, 1, 2], [0, 0, 0], stack)
    assert first[2].tolist() == [False, True, False]
    assert first[4].tolist() == [UNKNOWN_SUCCESS, 1, UNKNOWN_SUCCESS]
    second = step_envs(envs, [0, 2], [0, 0], stack)
    assert second[4].tolist() == [1, UNKNOWN_SUCCESS]
    # no episode ends: all unknown, and that shared row cannot be written by a caller
    quiet = step_envs([_Ends(9), _Ends(9)], [0, 1], [0, 0], stack)
    assert quiet[4].tolist() == [UNKNOWN_SUCCESS] * 2
    assert not quiet[4].flags.writeable
