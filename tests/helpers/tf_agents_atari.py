"""TF-Agents' own Atari stack, for the tests: `suite_atari.load` over a real ALE game.

gym 0.23 (installed with tf-agents) refuses Atari ids, so `suite_atari.load` works only through
an adapter registered under an id of its own: `OldApiAle` shows a Gymnasium ALE env (ale-py
0.12, frame by frame) on gym 0.23's API (`reset() -> obs`, `step -> (obs, reward, done, info)`,
`seed`, `.ale`), which TF-Agents' `AtariPreprocessing` and `FrameStack4` wrap as they would
their own gym env. `load` is also a `--env module:function` factory returning a PyEnvironment.
"""

from __future__ import annotations

import ale_py
import gym as old_gym
import gymnasium
import numpy as np

gymnasium.register_envs(ale_py)

OLD_ID_PREFIX = "PytfpolOldApi"


class OldApiAle(old_gym.Env):
    """A Gymnasium ALE env with gym 0.23's API. `seed(s)` seeds the next reset."""

    def __init__(self, env_id: str) -> None:
        self._env = gymnasium.make(env_id)
        space = self._env.observation_space
        self.observation_space = old_gym.spaces.Box(0, 255, space.shape, np.uint8)
        self.action_space = old_gym.spaces.Discrete(int(self._env.action_space.n))
        self._seed = None

    @property
    def ale(self):
        return self._env.unwrapped.ale

    def seed(self, seed=None):
        self._seed = seed
        return [seed]

    def reset(self):
        observation, _ = self._env.reset(seed=self._seed)
        self._seed = None
        return observation

    def step(self, action):
        observation, reward, terminated, truncated, info = self._env.step(int(action))
        return observation, reward, terminated or truncated, info

    def render(self, mode="rgb_array"):
        return self._env.render()

    def close(self):
        self._env.close()


def old_id(env_id: str) -> str:
    """Register the adapter for `env_id` in gym 0.23 (once, with no step limit of gym's own:
    ale-py registers none) and return its id there."""
    name = f"{OLD_ID_PREFIX}{env_id.replace('/', '')}-v0"
    if name not in old_gym.envs.registry.env_specs:
        old_gym.register(id=name, entry_point=lambda: OldApiAle(env_id))
    return name


def load(game: str = "BreakoutNoFrameskip-v4", max_episode_steps=None):
    """`suite_atari.load` with FrameStack4, as TF-Agents' Atari DQN example builds it;
    `max_episode_steps` (agent steps) is its AtariTimeLimit."""
    from tf_agents.environments import suite_atari

    return suite_atari.load(
        old_id(game),
        max_episode_steps=max_episode_steps,
        gym_env_wrappers=suite_atari.DEFAULT_ATARI_GYM_WRAPPERS_WITH_STACKING,
    )
