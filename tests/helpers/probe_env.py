"""A probe env with the spaces of CartPole-v1 or Pendulum-v1 whose return pins down every action.

A barely trained policy on CartPole pushes one way and scores 8-10 whatever its weights, so equal
returns there prove little. Here each observation is drawn from the episode's seed over the
space's range, and the reward of step t is `action * 2**t` (discrete) or `sum(action) * (t + 1)`
(continuous): equal returns mean equal actions at every step, recurrent state included. Episodes
last `steps` steps. From the CLI: `--env tests.helpers.probe_env:pytfpol_test/ProbeCartPole-v0`.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

PROBES = {
    "CartPole-v1": "pytfpol_test/ProbeCartPole-v0",
    "Pendulum-v1": "pytfpol_test/ProbePendulum-v0",
}
CLI_IDS = {like: f"tests.helpers.probe_env:{env_id}" for like, env_id in PROBES.items()}


class ProbeEnv(gym.Env):
    metadata = {"render_modes": []}

    def __init__(self, like: str = "CartPole-v1", steps: int = 24) -> None:
        template = gym.make(like)
        self.observation_space = template.observation_space
        self.action_space = template.action_space
        self._scale = np.minimum(np.abs(self.observation_space.high), 3.0).astype(np.float32)
        self._steps = steps
        self._t = 0

    def _observation(self) -> np.ndarray:
        noise = self.np_random.uniform(-1.0, 1.0, self.observation_space.shape)
        return (noise * self._scale).astype(np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._t = 0
        return self._observation(), {}

    def step(self, action):
        if isinstance(self.action_space, gym.spaces.Discrete):
            reward = float(action) * 2.0**self._t
        else:
            reward = float(np.sum(action)) * (self._t + 1)
        self._t += 1
        return self._observation(), reward, self._t >= self._steps, False, {}


for _like, _id in PROBES.items():
    if _id not in gym.registry:
        gym.register(_id, entry_point=ProbeEnv, kwargs={"like": _like})
