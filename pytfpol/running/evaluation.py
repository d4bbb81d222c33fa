"""The evaluation loop: a batch of environment slots, one policy call per step for all of them.

Episode `i` is always reset with seed `seed + i`, whichever slot runs it, and results are kept by
episode index: the per-episode results do not depend on how many environments run side by side
nor on the backend (`pytfpol.running.vector`). A slot whose episode ends starts the next unstarted episode
at once; when none is left it idles (its last observation still fills its row of the fixed-size
policy batch, and its action is ignored). Recurrent policy state is reset for exactly the slots
that start an episode.

The per-step work is done on whole batches with numpy; Python loops run per finished episode,
not per step. Knows no files and no UI: progress is reported through a callback.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Optional, Protocol

import numpy as np
import tensorflow as tf
from tf_agents.trajectories import time_step as ts

from pytfpol.errors import PytfpolError, RunError, interrupted, stopped_by
from pytfpol.running.envs import ActionUnbatcher, _pack_like, flatten_with_paths
from pytfpol.running.units import EpisodeRecord
from pytfpol.running.vector import EnvFailure, Stepper


class EpisodeObserver(Protocol):
    """Sees every episode start and batch step through the loop's own arrays, for recording
    videos and trajectories (`pytfpol.recording`); must not modify them. `observations`,
    `rewards` and the flags have one row per entry of `slots` (the env's dtypes, as the stepper
    returned them); `action_step` (actions, policy info) has a row for every slot: take rows
    `slots`. `indices` are the episodes those slots run, `seeds` their reset seeds."""

    def episode_start(
        self, slots: np.ndarray, indices: np.ndarray, seeds: np.ndarray, observations: Any
    ) -> None: ...

    def step(
        self,
        slots: np.ndarray,
        indices: np.ndarray,
        action_step: Any,
        observations: Any,
        rewards: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
    ) -> None: ...


class _Slots:
    """Per-slot state of the batch, as arrays: what the policy sees and what each slot runs."""

    def __init__(self, n: int, observation_spec: Any, action_spec: Any) -> None:
        self.episode = np.full(n, -1, dtype=np.int64)  # episode index run by each slot, -1 idle
        self.returns = np.zeros(n, dtype=np.float64)
        self.lengths = np.zeros(n, dtype=np.int64)
        self.step_type = np.full(n, ts.StepType.FIRST, dtype=np.int32)
        self.reward = np.zeros(n, dtype=np.float32)
        self.discount = np.ones(n, dtype=np.float32)
        leaves = flatten_with_paths(observation_spec, "observation")
        self.paths = [path for path, _ in leaves]
        self.leaves = [np.zeros((n, *s.shape), dtype=s.dtype) for _, s in leaves]
        self.observation = _pack_like(observation_spec, iter(self.leaves))  # views of `leaves`
        self.action_bounds = _ActionBounds(action_spec)

    def write(self, slots: np.ndarray, observations: Any) -> None:
        """Observations (a batch nest from the env) into rows `slots`, in the policy's dtypes."""
        for leaf, (_, values) in zip(self.leaves, flatten_with_paths(observations)):
            leaf[slots] = values

    def time_step(self) -> ts.TimeStep:
        return ts.TimeStep(self.step_type, self.reward, self.discount, self.observation)


def run_episodes(
    policy,
    stepper: Stepper,
    episodes: int,
    seed: int,
    on_episode: Optional[Callable[[EpisodeRecord], None]] = None,
    deadline: Optional[float] = None,
    timeout: Optional[float] = None,
    on_step: Optional[Callable[[int], None]] = None,
    first: int = 0,
    observer: Optional[EpisodeObserver] = None,
) -> list[EpisodeRecord]:
    """Run exactly `episodes` episodes of `policy` (a batched PyPolicy) on `stepper`'s slots:
    episode indices `first .. first + episodes - 1`, episode i reset with seed `seed + i`.

    `policy` must accept a batch of `stepper.num_envs` time steps. Raises RunError (or
    Interrupted on Ctrl-C / SIGTERM) with the episodes completed so far in `.completed`; RunError
    too once `time.monotonic()` passes `deadline` (checked once per batch step; `timeout` is only
    named). `on_step(n)` is told after each batch step how many env steps it took. `observer`
    sees each episode start (the env's reset observations) and each step (actions, policy info,
    observations, rewards and flags, the rows of the active slots); None costs nothing.
    """
    n = stepper.num_envs
    slots = _Slots(n, policy.time_step_spec.observation, policy.action_spec)
    # A policy that samples per episode (pytfpol.policy.sampling) is told each row's episode seed and
    # step, so its draws do not depend on the batch.
    set_episode_keys = getattr(policy, "set_episode_keys", None)
    unbatcher = ActionUnbatcher(policy.action_spec, stepper.action_space)
    results: dict[int, EpisodeRecord] = {}
    next_episode, end = first, first + episodes

    def begin(free: np.ndarray) -> None:
        """Start the next unstarted episodes on the `free` slots; idle the rest."""
        nonlocal next_episode
        count = min(free.size, end - next_episode)
        starting, idle = free[:count], free[count:]
        slots.episode[idle] = -1
        if not count:
            return
        indices = np.arange(next_episode, next_episode + count, dtype=np.int64)
        next_episode += count
        slots.episode[starting] = indices
        slots.returns[starting] = 0.0
        slots.lengths[starting] = 0
        slots.step_type[starting] = ts.StepType.FIRST
        slots.reward[starting] = 0.0
        observations = stepper.reset(starting, seed + indices)
        slots.write(starting, observations)
        if observer is not None:
            observer.episode_start(starting, indices, seed + indices, observations)

    def finish(slot: int, terminated: bool, truncated: bool, success: int) -> None:
        index = int(slots.episode[slot])
        result = EpisodeRecord(
            index=index,
            seed=seed + index,
            return_=float(slots.returns[slot]),
            length=int(slots.lengths[slot]),
            terminated=terminated,
            truncated=truncated and not terminated,
            success=None if success < 0 else bool(success),
        )
        results[index] = result
        if on_episode is not None:
            on_episode(result)

    try:
        begin(np.arange(n))
        initial_state = policy.get_initial_state(n)
        state = initial_state
        active = np.flatnonzero(slots.episode >= 0)
        while active.size:
            if deadline is not None and time.monotonic() > deadline:
                _timed_out(slots, active, seed, len(results), episodes, timeout)
            _check_observations(slots, active, seed)
            state = _reset_state(state, initial_state, slots.step_type)
            if set_episode_keys is not None:
                set_episode_keys(seed + slots.episode, slots.lengths)
            action_step = policy.action(slots.time_step(), state)
            state = action_step.state
            _check_actions(unbatcher, action_step.action, active, slots, seed)
            observation, reward, terminated, truncated, success = stepper.step(
                active, action_step.action
            )
            slots.write(active, observation)
            slots.returns[active] += reward
            slots.lengths[active] += 1
            slots.step_type[active] = ts.StepType.MID
            slots.reward[active] = reward
            if observer is not None:
                observer.step(
                    active,
                    slots.episode[active],
                    action_step,
                    observation,
                    reward,
                    terminated,
                    truncated,
                )
            if on_step is not None:
                on_step(active.size)
            done = terminated | truncated
            if done.any():
                for k in np.flatnonzero(done).tolist():
                    finish(int(active[k]), bool(terminated[k]), bool(truncated[k]), int(success[k]))
                begin(active[done])
                active = np.flatnonzero(slots.episode >= 0)
    except EnvFailure as exc:
        index = int(slots.episode[exc.slot])
        error = RunError(
            f"episode {index} (seed {seed + index}): the environment raised in "
            f"{exc.method}(): {exc.description}",
            "fix the environment or its --env-kwargs; completed episodes were written",
        )
        error.completed = _in_order(results)
        raise error from exc
    except KeyboardInterrupt as exc:
        error = interrupted(
            exc,
            f"{stopped_by(exc)} after {len(results)} of {episodes} episodes",
            "the completed episodes were written, marked incomplete",
        )
        error.completed = _in_order(results)
        raise error from exc
    except PytfpolError as exc:
        exc.completed = _in_order(results)
        raise
    return _in_order(results)


def _in_order(results: dict[int, EpisodeRecord]) -> list[EpisodeRecord]:
    return [results[i] for i in sorted(results)]


def _reset_state(state, initial_state, step_type: np.ndarray):
    """Initial policy state for the slots that start an episode, the carried state elsewhere."""
    if not tf.nest.flatten(state):
        return state
    starting = step_type == ts.StepType.FIRST
    if not starting.any():
        return state

    def pick(current, initial):
        mask = starting.reshape((-1,) + (1,) * (np.ndim(current) - 1))
        return np.where(mask, initial, current)

    return tf.nest.map_structure(pick, state, initial_state)


def _timed_out(slots: _Slots, active: np.ndarray, seed: int, done: int, total: int, timeout):
    slot = int(active[np.argmin(slots.episode[active])])
    first = int(slots.episode[slot])
    more = f" (and {active.size - 1} more running)" if active.size > 1 else ""
    limit = f"--timeout {timeout:g}s" if timeout is not None else "the deadline"
    raise RunError(
        f"{limit} reached after {done} of {total} episodes, in episode {first} "
        f"(seed {seed + first}) at step {int(slots.lengths[slot])}{more}",
        "raise --timeout, lower --max-episode-steps, or check the environment ends its "
        "episodes; completed episodes were written",
    )


def _rows(leaf: np.ndarray, active: np.ndarray) -> np.ndarray:
    """The active rows of a batch leaf; the leaf itself (no copy) when every slot is active."""
    return leaf if active.size == leaf.shape[0] else leaf[active]


def _check_observations(slots: _Slots, active: np.ndarray, seed: int) -> None:
    """NaN/inf observations among the active rows stop the run. Fast path: one sum per leaf is
    finite when every element is (a huge finite sum overflowing only costs the exact test)."""
    for path, leaf in zip(slots.paths, slots.leaves):
        if leaf.dtype.kind != "f" or np.isfinite(_rows(leaf, active).sum()):
            continue
        if np.isfinite(leaf[active]).all():
            continue
        bad = ~np.isfinite(leaf[active].reshape(active.size, -1)).all(axis=1)
        slot = int(active[int(np.argmax(bad))])
        index = int(slots.episode[slot])
        raise RunError(
            f"episode {index} (seed {seed + index}): the environment returned a non-finite "
            f"{path} at step {int(slots.lengths[slot])}",
            "fix the environment; completed episodes were written",
        )


class _ActionBounds:
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
        for (low, high), leaf in zip(self.bounds, tf.nest.flatten(action)):
            rows = _rows(leaf, active)
            if isinstance(low, float):
                if not (low <= rows.min() and rows.max() <= high):
                    return False
                continue
            flat = rows.reshape(rows.shape[0], -1)
            if not (np.all(low <= flat.min(axis=0)) and np.all(flat.max(axis=0) <= high)):
                return False
        return True


def _check_actions(unbatcher, action, active: np.ndarray, slots: _Slots, seed: int) -> None:
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
