"""`--env module:function` factories returning TF-Agents PyEnvironments, for the tests."""

from __future__ import annotations

import numpy as np
from tf_agents.environments import py_environment, suite_gym
from tf_agents.specs import array_spec
from tf_agents.trajectories import time_step as ts


def cartpole():
    """TF-Agents' own CartPole-v1 (gym 0.23 under GymWrapper): seeded like Gymnasium's."""
    return suite_gym.load("CartPole-v1")


class Unseedable(py_environment.PyEnvironment):
    """A PyEnvironment with TF-Agents' default `seed` (NotImplementedError)."""

    def __init__(self) -> None:
        super().__init__()
        self._left = 3

    def observation_spec(self):
        return array_spec.BoundedArraySpec((4,), np.float32, -4.8, 4.8, name="observation")

    def action_spec(self):
        return array_spec.BoundedArraySpec((), np.int64, 0, 1, name="action")

    def _reset(self):
        self._left = 3
        return ts.restart(np.zeros(4, np.float32))

    def _step(self, action):
        self._left -= 1
        if self._left == 0:
            return ts.termination(np.zeros(4, np.float32), 1.0)
        return ts.transition(np.zeros(4, np.float32), 1.0)


def unseedable():
    return Unseedable()


def not_an_environment():
    return "CartPole-v1"
