"""Tiny deterministic Gymnasium envs for the networks of issue 24: images and action masks.

Like tests/helpers/probe_env.py, the reward of step t is `action * 4**t`, so equal returns mean equal
actions at every step; observations are drawn from the episode's seed. Episodes last 8 steps.

- `pytfpol_test/PixelProbe-v0`: a float32 image (12, 9, 2) in [0, 1], Discrete(3).
- `pytfpol_test/PixelProbeUint8-v0`: the same image as uint8 in [0, 255].
- `pytfpol_test/MaskedProbe-v0`: Dict({"mask": int32 (4,) in {0, 1}, "observation": float32 (3,)})
  with TF-Agents' action-mask convention; two of the four actions are allowed at each step, and
  an action that is not costs -1e6 (so a return says whether a masked action was chosen).

From the CLI: `--env tests.helpers.network_envs:pytfpol_test/PixelProbe-v0`.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

IMAGE_SHAPE = (12, 9, 2)
STEPS = 8
MASKED_PENALTY = -1e6
PIXEL_ID, PIXEL_UINT8_ID, MASKED_ID = (
    "pytfpol_test/PixelProbe-v0",
    "pytfpol_test/PixelProbeUint8-v0",
    "pytfpol_test/MaskedProbe-v0",
)
CLI_IDS = {
    env_id: f"tests.helpers.network_envs:{env_id}"
    for env_id in (PIXEL_ID, PIXEL_UINT8_ID, MASKED_ID)
}


class _Probe(gym.Env):
    metadata = {"render_modes": []}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._t = 0
        return self._observation(), {}

    def step(self, action):
        reward = self._reward(int(action)) * 4.0**self._t
        self._t += 1
        return self._observation(), reward, self._t >= STEPS, False, {}

    def _reward(self, action: int) -> float:
        return float(action)


class PixelProbeEnv(_Probe):
    def __init__(self, uint8: bool = False) -> None:
        self._uint8 = uint8
        if uint8:
            self.observation_space = spaces.Box(0, 255, IMAGE_SHAPE, np.uint8)
        else:
            self.observation_space = spaces.Box(0.0, 1.0, IMAGE_SHAPE, np.float32)
        self.action_space = spaces.Discrete(3)

    def _observation(self) -> np.ndarray:
        if self._uint8:
            return self.np_random.integers(0, 256, IMAGE_SHAPE).astype(np.uint8)
        return self.np_random.uniform(0.0, 1.0, IMAGE_SHAPE).astype(np.float32)


class MaskedProbeEnv(_Probe):
    def __init__(self) -> None:
        self.observation_space = spaces.Dict(
            {
                "mask": spaces.Box(0, 1, (4,), np.int32),
                "observation": spaces.Box(-1.0, 1.0, (3,), np.float32),
            }
        )
        self.action_space = spaces.Discrete(4)
        self._mask = np.ones(4, np.int32)

    def _observation(self) -> dict:
        self._mask = np.zeros(4, np.int32)
        self._mask[self.np_random.choice(4, 2, replace=False)] = 1
        observation = self.np_random.uniform(-1.0, 1.0, 3).astype(np.float32)
        return {"mask": self._mask.copy(), "observation": observation}

    def _reward(self, action: int) -> float:
        return float(action) if self._mask[action] else MASKED_PENALTY


for _id, _entry, _kwargs in (
    (PIXEL_ID, PixelProbeEnv, {}),
    (PIXEL_UINT8_ID, PixelProbeEnv, {"uint8": True}),
    (MASKED_ID, MaskedProbeEnv, {}),
):
    if _id not in gym.registry:
        gym.register(_id, entry_point=_entry, kwargs=_kwargs)
