"""The evaluation loop: a batch of environments, one policy call per step for all of them.

Episode `i` is always reset with seed `seed + i`, whichever environment slot runs it, and results
are kept by episode index: the per-episode results do not depend on how many environments run
side by side. A slot whose episode ends starts the next unstarted episode at once; when none is
left it idles (its row is still fed to the fixed-size policy batch, and its action ignored).
Recurrent policy state is reset for exactly the slots that start an episode.

Knows no files and no UI: progress is reported through a callback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import gymnasium as gym
import numpy as np
import tensorflow as tf
from tf_agents.trajectories import time_step as ts

from pytfpol.envs import ActionUnbatcher, ObservationBatcher
from pytfpol.errors import Interrupted, PytfpolError, RunError


@dataclass(frozen=True)
class EpisodeResult:
    index: int
    seed: int
    return_: float
    length: int
    terminated: bool
    truncated: bool


class _Slots:
    """Per-slot bookkeeping for the batch of environments."""

    def __init__(self, n: int) -> None:
        self.episode = np.full(n, -1, dtype=np.int64)  # episode index run by each slot, -1 idle
        self.returns = np.zeros(n, dtype=np.float64)
        self.lengths = np.zeros(n, dtype=np.int64)
        self.step_type = np.full(n, ts.StepType.FIRST, dtype=np.int32)
        self.reward = np.zeros(n, dtype=np.float32)
        self.discount = np.ones(n, dtype=np.float32)
        self.observations: list = [None] * n


def run_episodes(
    policy,
    envs: Sequence[gym.Env],
    episodes: int,
    seed: int,
    on_episode: Optional[Callable[[EpisodeResult], None]] = None,
) -> list[EpisodeResult]:
    """Run exactly `episodes` episodes of `policy` (a batched PyPolicy) on `envs`.

    `policy` must accept a batch of `len(envs)` time steps. Raises RunError (or Interrupted on
    Ctrl-C) with the episodes completed so far in `.completed`.
    """
    n = len(envs)
    batcher = ObservationBatcher(policy.time_step_spec.observation)
    unbatcher = ActionUnbatcher(policy.action_spec, envs[0].action_space)
    slots = _Slots(n)
    results: dict[int, EpisodeResult] = {}
    next_episode = 0

    def begin(slot: int) -> None:
        nonlocal next_episode
        if next_episode >= episodes:
            slots.episode[slot] = -1
            return
        index, next_episode = next_episode, next_episode + 1
        slots.episode[slot] = index
        slots.returns[slot] = 0.0
        slots.lengths[slot] = 0
        slots.step_type[slot] = ts.StepType.FIRST
        slots.reward[slot] = 0.0
        slots.discount[slot] = 1.0
        observation, _ = _call_env(envs[slot].reset, index, seed, seed=seed + index)
        slots.observations[slot] = observation

    try:
        for slot in range(n):
            begin(slot)
        filler = next(o for o in slots.observations if o is not None)
        initial_state = policy.get_initial_state(n)
        state = initial_state
        while (active := np.flatnonzero(slots.episode >= 0)).size:
            rows = [o if o is not None else filler for o in slots.observations]
            observation = batcher(rows)
            _check_observations(batcher, observation, active, slots, seed)
            state = _reset_state(state, initial_state, slots.step_type == ts.StepType.FIRST)
            time_step = ts.TimeStep(slots.step_type, slots.reward, slots.discount, observation)
            action_step = policy.action(time_step, state)
            state = action_step.state
            _check_actions(unbatcher, action_step.action, active, slots, seed)
            for slot in active:
                index = int(slots.episode[slot])
                step = _call_env(
                    envs[slot].step, index, seed, unbatcher.row(action_step.action, slot)
                )
                observation_, reward, terminated, truncated, _ = step
                slots.returns[slot] += float(reward)
                slots.lengths[slot] += 1
                slots.observations[slot] = observation_
                if terminated or truncated:
                    result = EpisodeResult(
                        index=index,
                        seed=seed + index,
                        return_=float(slots.returns[slot]),
                        length=int(slots.lengths[slot]),
                        terminated=bool(terminated),
                        truncated=bool(truncated) and not terminated,
                    )
                    results[index] = result
                    if on_episode is not None:
                        on_episode(result)
                    begin(slot)
                else:
                    slots.step_type[slot] = ts.StepType.MID
                    slots.reward[slot] = reward
    except KeyboardInterrupt as exc:
        error = Interrupted(
            f"interrupted after {len(results)} of {episodes} episodes",
            "the completed episodes were written, marked incomplete",
        )
        error.completed = _in_order(results)
        raise error from exc
    except PytfpolError as exc:
        exc.completed = _in_order(results)
        raise
    return _in_order(results)


def _in_order(results: dict[int, EpisodeResult]) -> list[EpisodeResult]:
    return [results[i] for i in sorted(results)]


def _call_env(method, index: int, base_seed: int, *args, **kwargs):
    try:
        return method(*args, **kwargs)
    except (KeyboardInterrupt, PytfpolError):
        raise
    except Exception as exc:  # noqa: BLE001 - environments raise anything
        raise RunError(
            f"episode {index} (seed {base_seed + index}): the environment raised in "
            f"{method.__name__}(): {type(exc).__name__}: {exc}",
            "fix the environment or its --env-kwargs; completed episodes were written",
        ) from exc


def _reset_state(state, initial_state, starting: np.ndarray):
    """Initial policy state for the slots that start an episode, the carried state elsewhere."""
    if not tf.nest.flatten(state) or not starting.any():
        return state

    def pick(current, initial):
        mask = starting.reshape((-1,) + (1,) * (np.ndim(current) - 1))
        return np.where(mask, initial, current)

    return tf.nest.map_structure(pick, state, initial_state)


def _check_observations(batcher, observation, active, slots: _Slots, seed: int) -> None:
    bad = batcher.non_finite(observation, list(active))
    if bad is not None:
        slot, path = bad
        index = int(slots.episode[slot])
        raise RunError(
            f"episode {index} (seed {seed + index}): the environment returned a non-finite "
            f"{path} at step {int(slots.lengths[slot])}",
            "fix the environment; completed episodes were written",
        )


def _check_actions(unbatcher, action, active, slots: _Slots, seed: int) -> None:
    bad = unbatcher.check(action, list(active))
    if bad is not None:
        slot, what = bad
        index = int(slots.episode[slot])
        raise RunError(
            f"episode {index} (seed {seed + index}): the policy emitted an out-of-spec action "
            f"at step {int(slots.lengths[slot])}: {what}",
            "check the policy's weights (NaN?) and that it matches this environment",
        )
