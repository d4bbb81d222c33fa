"""Issue 26, the loop's own cost: the fast paths of the stepping loop keep its results.

The sync stepper answers a step that ends no episode with shared all-False flags (no new
arrays), the loop tests the two flags without combining them, and episode lengths are counted
per lane rather than per row: an episode that ends by truncation alone, or starts while other
slots are mid-episode, must still come out with its exact length and end.
"""

from __future__ import annotations

import numpy as np
import pytest
from tf_agents.policies import py_policy
from tf_agents.specs import array_spec
from tf_agents.trajectories import policy_step
from tf_agents.trajectories import time_step as ts

from pytfpol.running import evaluation, vector
from pytfpol.running.env_spec import EnvSpec
from pytfpol.running.stepper import UNKNOWN_SUCCESS
from tests.helpers import countdown_env

pytestmark = pytest.mark.fast


class FirstActionPolicy(py_policy.PyPolicy):
    """Always action 0: the countdown env's lengths do not depend on the actions."""

    def _action(self, time_step, policy_state):
        return policy_step.PolicyStep(np.zeros(time_step.step_type.shape, np.int64), ())


def first_action_policy() -> FirstActionPolicy:
    observation = array_spec.BoundedArraySpec((2,), np.float32, 0.0, 1.0, "observation")
    return FirstActionPolicy(
        ts.time_step_spec(observation), array_spec.BoundedArraySpec((), np.int64, 0, 1, "action")
    )


def stepped(max_steps, seeds, steps):
    """The flags of `steps` steps of sync countdown envs reset with `seeds`."""
    stepper = vector.make_stepper("sync", EnvSpec(countdown_env.ENV_ID, {}, max_steps), 2)
    try:
        slots = np.arange(2)
        stepper.reset(slots, np.asarray(seeds))
        return [stepper.step(slots, np.zeros(2, np.int64))[2:5] for _ in range(steps)]
    finally:
        stepper.close()


def test_a_step_that_ends_nothing_reports_false_flags():
    for terminated, truncated, success in stepped(None, [0, 1], 2):  # lengths 3 and 4
        assert terminated.dtype == truncated.dtype == bool
        assert terminated.tolist() == truncated.tolist() == [False, False]
        assert success.tolist() == [UNKNOWN_SUCCESS] * 2


def test_the_stepper_reports_a_truncation_alone():
    *_, (terminated, truncated, _) = stepped(2, [0, 1], 2)  # capped at 2 before either ends
    assert terminated.tolist() == [False, False]
    assert truncated.tolist() == [True, True]


def test_the_stepper_reports_a_termination_alone():
    *_, (terminated, truncated, _) = stepped(None, [0, 1], 3)  # seed 0: 3 steps, seed 1: 4
    assert terminated.tolist() == [True, False]
    assert truncated.tolist() == [False, False]


@pytest.mark.parametrize(("num_envs", "groups"), [(1, 1), (3, 1), (4, 2)])
def test_lengths_and_ends_with_a_cap_and_episodes_starting_mid_run(num_envs, groups):
    cap, episodes, seed = 5, 11, 3
    stepper = vector.make_stepper("sync", EnvSpec(countdown_env.ENV_ID, {}, cap), num_envs)
    try:
        results = evaluation.run_episodes(
            first_action_policy(), stepper, episodes, seed, groups=groups
        )
    finally:
        stepper.close()
    natural = [countdown_env.episode_length(seed + i) for i in range(episodes)]
    assert [r.length for r in results] == [min(n, cap) for n in natural]
    assert [r.terminated for r in results] == [n <= cap for n in natural]
    assert [r.truncated for r in results] == [n > cap for n in natural]
