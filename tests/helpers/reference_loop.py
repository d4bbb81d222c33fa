"""The straightforward eager reference loop that pytfpol's results are compared with.

A TF-Agents eager policy that takes unbatched time steps (`SavedModelPyTFEagerPolicy`,
`PyTFEagerPolicy`), one Gymnasium env, each episode reset with its own seed, policy state from
`get_initial_state` at the start of every episode. Nothing of pytfpol is used here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import gymnasium as gym
import numpy as np
from tf_agents.trajectories import time_step as ts


@dataclass(frozen=True)
class Outcome:
    return_: float
    length: int
    terminated: bool
    truncated: bool


def as_float32(observation):
    return np.asarray(observation, np.float32)


def run_episode(
    policy, env: gym.Env, seed: int, carry_state: bool = True, convert=as_float32
) -> Outcome:
    """One episode; `carry_state=False` feeds the initial policy state at every step; `convert`
    turns an env observation into the policy's (float32 unless given)."""
    observation, _ = env.reset(seed=seed)
    step_type, reward, total, length = ts.StepType.FIRST, 0.0, 0.0, 0
    state = policy.get_initial_state(1)
    while True:
        time_step = ts.TimeStep(
            np.int32(step_type),
            np.float32(reward),
            np.float32(1.0),
            convert(observation),
        )
        step = policy.action(time_step, state if carry_state else policy.get_initial_state(1))
        state = step.state
        action = step.action
        if isinstance(env.action_space, gym.spaces.Discrete):
            action = int(action)
        observation, reward, terminated, truncated, _ = env.step(action)
        total += float(reward)
        length += 1
        step_type = ts.StepType.MID
        if terminated or truncated:
            return Outcome(total, length, bool(terminated), bool(truncated and not terminated))


def run_episodes(
    policy, env: gym.Env, seeds: Iterable[int], carry_state: bool = True, convert=as_float32
):
    return [run_episode(policy, env, seed, carry_state, convert) for seed in seeds]
