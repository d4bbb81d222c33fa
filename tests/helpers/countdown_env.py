"""A tiny deterministic Gymnasium env with exactly known returns, for exact expectations.

Episode length is 3 + seed % 5. Each observation is one-hot over the two actions and marks the
rewarded one (+1; the other gives -1), so a policy with Q = observation scores exactly the length.
Registered as `pytfpol_test/Countdown-v0`; from the CLI use
`--env tests.helpers.countdown_env:pytfpol_test/Countdown-v0` (run from the repository root).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.envs.classic_control.cartpole import CartPoleEnv

ENV_ID = "pytfpol_test/Countdown-v0"
CLI_ENV_ID = f"tests.helpers.countdown_env:{ENV_ID}"


def episode_length(seed: int) -> int:
    return 3 + seed % 5


class CountdownEnv(gym.Env):
    metadata = {"render_modes": []}

    def __init__(self, reward_scale: float = 1.0, obs_scale: float = 1.0, obs_offset=(0.0, 0.0)):
        self._obs_scale = np.float32(obs_scale)
        self._obs_offset = np.asarray(obs_offset, dtype=np.float32)
        low = np.minimum(self._obs_offset, self._obs_offset + self._obs_scale)
        high = np.maximum(self._obs_offset, self._obs_offset + self._obs_scale)
        self.observation_space = spaces.Box(low, high, (2,), np.float32)
        self.action_space = spaces.Discrete(2)
        self._scale = float(reward_scale)
        self._length = 3
        self._t = 0
        self._good = 0

    def _observation(self) -> np.ndarray:
        observation = np.zeros(2, np.float32)
        observation[self._good] = 1.0
        return observation * self._obs_scale + self._obs_offset

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._length = episode_length(seed or 0)
        self._t = 0
        self._good = int(self.np_random.integers(2))
        return self._observation(), {}

    def step(self, action):
        reward = self._scale if int(action) == self._good else -self._scale
        self._t += 1
        self._good = int(self.np_random.integers(2))
        return self._observation(), reward, self._t >= self._length, False, {}


BAD_REWARDS = {"nan_reward": float("nan"), "inf_reward": float("inf"), "-inf_reward": -float("inf")}


class FaultyCountdownEnv(CountdownEnv):
    """Countdown that fails at step 2 of the episode reset with `fail_seed`: raising, returning
    a NaN observation, or (`fault` one of `BAD_REWARDS`) a NaN, +inf or -inf reward."""

    def __init__(self, fail_seed: int = 3, fault: str = "raise") -> None:
        super().__init__()
        self._fail_seed = fail_seed
        self._fault = fault
        self._seed = None

    def reset(self, *, seed=None, options=None):
        self._seed = seed
        return super().reset(seed=seed, options=options)

    def step(self, action):
        observation, reward, terminated, truncated, info = super().step(action)
        if self._seed == self._fail_seed and self._t == 2:
            if self._fault == "raise":
                raise RuntimeError("simulated physics failure")
            if self._fault in BAD_REWARDS:
                return observation, BAD_REWARDS[self._fault], terminated, truncated, info
            observation = np.full(2, np.nan, np.float32)
        return observation, reward, terminated, truncated, info


FAULTY_ENV_ID = "pytfpol_test/FaultyCountdown-v0"

for _id, _entry in ((ENV_ID, CountdownEnv), (FAULTY_ENV_ID, FaultyCountdownEnv)):
    if _id not in gym.registry:
        gym.register(_id, entry_point=_entry)


class SlowCountdownEnv(CountdownEnv):
    """Countdown whose steps take `delay` seconds; touches `marker` (a path) at its first step,
    so a test knows the episodes are running. For the lock, timeout and Ctrl-C tests."""

    def __init__(self, delay: float = 0.05, marker: str = "") -> None:
        super().__init__()
        self._delay = float(delay)
        self._marker = marker

    def step(self, action):
        if self._marker:
            open(self._marker, "a").close()
        import time

        time.sleep(self._delay)
        return super().step(action)


SLOW_ENV_ID = "pytfpol_test/SlowCountdown-v0"
if SLOW_ENV_ID not in gym.registry:
    gym.register(SLOW_ENV_ID, entry_point=SlowCountdownEnv)


class SuccessCountdownEnv(CountdownEnv):
    """Countdown that reports `info["is_success"]` at every step, as goal envs do: False until
    the last step, then True when the episode was long (`long_episode(seed)`)."""

    def reset(self, *, seed=None, options=None):
        self._seed = seed or 0
        return super().reset(seed=seed, options=options)

    def step(self, action):
        observation, reward, terminated, truncated, info = super().step(action)
        info = dict(info, is_success=bool(terminated and long_episode(self._seed)))
        return observation, reward, terminated, truncated, info


def long_episode(seed: int) -> bool:
    return episode_length(seed) >= 5


SUCCESS_ENV_ID = "pytfpol_test/SuccessCountdown-v0"
if SUCCESS_ENV_ID not in gym.registry:
    gym.register(SUCCESS_ENV_ID, entry_point=SuccessCountdownEnv)


class NoisyCountdownEnv(CountdownEnv):
    """Countdown whose rewards carry noise from an unseeded generator: NOT reproducible from
    its seed (each process, each env draws differently). For replay's mismatch detection."""

    def __init__(self) -> None:
        super().__init__()
        self._noise = np.random.default_rng()  # deliberately unseeded

    def step(self, action):
        observation, reward, terminated, truncated, info = super().step(action)
        return observation, reward + float(self._noise.random()), terminated, truncated, info


NOISY_ENV_ID = "pytfpol_test/NoisyCountdown-v0"
if NOISY_ENV_ID not in gym.registry:
    gym.register(NOISY_ENV_ID, entry_point=NoisyCountdownEnv)


def info_value(t: int) -> float:
    """What InfoCountdown reports as info["t"] (and its copies) at step t of an episode."""
    return float((3 * t) % 5)


class InfoCountdownEnv(CountdownEnv):
    """Countdown whose every step's info reports `t` = info_value(step) and its copies `t.1`,
    `t.2`, `t.3`; its final step's info `final` = 10 x length too. In the episode reset with
    `fault_seed`, step 2's info lacks `t` (`fault="missing"`) or holds a string ("text") or NaN
    ("nan") instead. For --metric's exact expectations."""

    def __init__(self, fault_seed: int = -1, fault: str = "missing") -> None:
        super().__init__()
        self._fault_seed, self._fault = fault_seed, fault
        self._seed = 0

    def reset(self, *, seed=None, options=None):
        self._seed = seed or 0
        return super().reset(seed=seed, options=options)

    def step(self, action):
        observation, reward, terminated, truncated, _ = super().step(action)
        value = info_value(self._t)
        info: dict = {"t": value, "t.1": value, "t.2": np.float32(value), "t.3": np.array(value)}
        if terminated:
            info["final"] = 10.0 * self._t
        if self._seed == self._fault_seed and self._t == 2:
            faults = {"text": "three", "nan": float("nan")}
            if self._fault in faults:
                info["t"] = faults[self._fault]
            else:
                del info["t"]
        return observation, reward, terminated, truncated, info


INFO_ENV_ID = "pytfpol_test/InfoCountdown-v0"
if INFO_ENV_ID not in gym.registry:
    gym.register(INFO_ENV_ID, entry_point=InfoCountdownEnv)


class InfoCartPoleEnv(CartPoleEnv):
    """CartPole-v1 whose every step's info reports `t`, the step number (1, 2, ...): with
    `--metric info.t` an episode of length L sums to L(L+1)/2. For sweeps of CartPole runs."""

    def reset(self, *, seed=None, options=None):
        self._t = 0
        return super().reset(seed=seed, options=options)

    def step(self, action):
        observation, reward, terminated, truncated, info = super().step(action)
        self._t += 1
        return observation, reward, terminated, truncated, dict(info, t=self._t)


INFO_CARTPOLE_ID = "pytfpol_test/InfoCartPole-v1"
if INFO_CARTPOLE_ID not in gym.registry:
    gym.register(INFO_CARTPOLE_ID, entry_point=InfoCartPoleEnv, max_episode_steps=500)
