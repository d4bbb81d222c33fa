"""The evaluation loop: a batch of environment slots, one policy call per step for all of them
(or for each group of them).

Episode `i` is always reset with seed `seed + i`, whichever slot runs it, and results are kept by
episode index: the per-episode results do not depend on how many environments run side by side,
on the backend (`pytfpol.running.vector`) nor on how the slots are grouped. A slot whose episode
ends starts the next unstarted episode at once; when none is left it idles (its last observation
still fills its row of the fixed-size policy batch, and its action is ignored). Recurrent policy
state is reset for exactly the slots that start an episode.

The slots may be split into groups, each computed by one policy call; with more than one group a
worker thread computes one group's actions while the loop steps another group's environments
(`pytfpol.running.pipeline`). Each group keeps its time step in preallocated arrays, written in
place, that the policy call (`pytfpol.policy.batch_call`: the PyTFPolicy's graph through one C++
callable) takes as they are. The per-step work is done on whole batches with numpy; Python loops
run per finished episode, not per step. Knows no files and no UI: progress is reported through
callbacks.
"""

from __future__ import annotations

import time
import zlib
from typing import Any, Callable, Optional, Protocol

import numpy as np
import tensorflow as tf
from tf_agents.trajectories import policy_step
from tf_agents.trajectories import time_step as ts

from pytfpol.errors import PytfpolError, RunError, interrupted, stopped_by
from pytfpol.policy.batch_call import batch_call
from pytfpol.running.envs import ActionUnbatcher, flatten_with_paths
from pytfpol.running.interrupts import timed_out
from pytfpol.running.metrics import METHOD_INFO_KEY, MetricTotals, info_failure
from pytfpol.running.pipeline import Calls
from pytfpol.running.step_checks import (
    ActionBounds,
    action_leaves,
    check_actions,
    check_observations,
    check_return,
    check_rewards,
    count_nonzero,
    rows_of,
)
from pytfpol.running.stepper import EnvFailure, Stepper
from pytfpol.running.units import EpisodeRecord


class EpisodeObserver(Protocol):
    """Sees every episode start and batch step through the loop's own arrays, for recording
    videos and trajectories (`pytfpol.recording`); must not modify them. Every argument has one
    row per entry of `slots` (the stepper's slots): `observations`, `rewards` and the flags in
    the env's dtypes, as the stepper returned them, `action_step` the policy's actions and info.
    `indices` are the episodes those slots run, `seeds` their reset seeds."""

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
    """One group of slots computed by one policy call, as arrays: what the policy sees, what each
    slot runs, and the policy state. Row r is the stepper's slot `slot[r]`; rows past the real
    slots (`slot == -1`) only fill the policy's fixed batch and never run an episode."""

    def __init__(
        self, slots: np.ndarray, size: int, observation_spec: Any, action_spec: Any, state: list
    ) -> None:
        self.size = size
        self.metrics: Optional[MetricTotals] = None  # with --metric: set by the loop
        self.slot = np.full(size, -1, dtype=np.int64)
        self.slot[: slots.size] = slots
        self.real = np.arange(slots.size)  # the rows that are real slots
        self.episode = np.full(size, -1, dtype=np.int64)  # episode index run by each row, -1 idle
        self.returns = np.zeros(size, dtype=np.float64)
        self.first_crc = np.zeros(size, dtype=np.int64)  # crc32 of each episode's first observation
        # Episode lengths without a per-step array update: the lane's step count less the count
        # at each row's episode start (a row that idles never runs an episode again).
        self.steps = 0
        self.start = np.zeros(size, dtype=np.int64)
        self.step_type = np.full(size, ts.StepType.MID, dtype=np.int32)  # FIRST when starting
        self.fresh = False  # some rows are FIRST: set them to MID after the next step
        self.reward = np.zeros(size, dtype=np.float32)
        self.discount = np.ones(size, dtype=np.float32)
        leaves = flatten_with_paths(observation_spec, "observation")
        self.paths = [path for path, _ in leaves]
        self.leaves = [np.zeros((size, *s.shape), dtype=s.dtype) for _, s in leaves]
        # The time step as the policy call takes it, in tf.nest order; written in place.
        self.time_step = [self.step_type, self.reward, self.discount, *self.leaves]
        self.action_bounds = ActionBounds(action_spec)
        self.state = state
        self.initial_state = state
        self._active: Optional[np.ndarray] = None  # rows running an episode; None: recompute

    @property
    def lengths(self) -> np.ndarray:
        """Each row's episode length so far (steps taken; meaningless for idle rows)."""
        return self.steps - self.start

    def length(self, row: int) -> int:
        return self.steps - int(self.start[row])

    def write(self, rows: Any, observations: Any) -> None:
        """Observations (a batch nest from the env) into `rows`, in the policy's dtypes."""
        if isinstance(observations, np.ndarray):  # one leaf: no nest to walk
            self.leaves[0][rows] = observations
            return
        for leaf, (_, values) in zip(self.leaves, flatten_with_paths(observations)):
            leaf[rows] = values

    def observation_crc(self, row: int, start: int = 0) -> int:
        """crc32 of row `row`'s observation (every leaf), continuing from `start`."""
        crc = start
        for leaf in self.leaves:
            crc = zlib.crc32(leaf[row].tobytes(), crc)
        return crc

    def set_episodes(self, rows: np.ndarray, indices: Any) -> None:
        """Rows `rows` now run episodes `indices` (-1: idle)."""
        self.episode[rows] = indices
        self._active = None

    def active(self) -> np.ndarray:
        """The rows running an episode, ascending (kept until an episode starts or a row idles:
        most steps start none)."""
        if self._active is None:
            self._active = np.flatnonzero(self.episode >= 0)
            self._active.flags.writeable = False
        return self._active


def run_episodes(
    policy,
    stepper: Stepper,
    episodes: int,
    seed: int,
    on_episode: Optional[Callable[[EpisodeRecord], None]] = None,
    deadline: Optional[float] = None,
    timeout: Optional[float] = None,
    on_step: Optional[Callable[[int], None]] = None,
    groups: int = 1,
    first: int = 0,
    observer: Optional[EpisodeObserver] = None,
) -> list[EpisodeRecord]:
    """Run exactly `episodes` episodes of `policy` (a batched PyPolicy) on `stepper`'s slots:
    episode indices `first .. first + episodes - 1`, episode i reset with seed `seed + i`.

    The slots are split into `groups` (slot k in group k % groups), each computed by one policy
    call: `policy` must accept batches of ceil(`stepper.num_envs` / `groups`) time steps. With
    more than one group the policy calls run in a worker thread, overlapped with the steps of
    the other groups' environments (`pytfpol.running.pipeline`); the results are the same for
    any number of groups. Raises RunError (or Interrupted on Ctrl-C / SIGTERM) with the
    episodes completed so far in `.completed`; RunError too once `time.monotonic()` passes
    `deadline` (checked before each group's step; `timeout` is only named). `on_step(n)` is told
    after each group's step how many env steps it took. `observer` sees each episode start (the
    env's reset observations) and each step (actions, policy info, observations, rewards and
    flags of the active slots); None costs nothing (the policy info is not even fetched).
    """
    n = stepper.num_envs
    groups = max(1, min(int(groups), n))
    if groups > 1 and getattr(stepper, "steps_every_slot", False):
        raise ValueError(f"{type(stepper).__name__} steps all its slots at once: use groups=1")
    loop = _EpisodeLoop(policy, stepper, seed, range(first, first + episodes), groups, observer)
    loop.on_episode, loop.on_step = on_episode, on_step
    return loop.run(deadline, timeout)


class _EpisodeLoop:
    """One `run_episodes` call: its lanes (groups of slots), the episodes not yet started, the
    results so far, and the policy calls in flight."""

    def __init__(
        self,
        policy,
        stepper: Stepper,
        seed: int,
        indices: range,
        groups: int,
        observer: Optional[EpisodeObserver],
    ) -> None:
        n = stepper.num_envs
        size = -(-n // groups)
        self.call = batch_call(policy, size, with_info=observer is not None)
        self.lanes = [
            _Slots(
                np.arange(g, n, groups),
                size,
                policy.time_step_spec.observation,
                policy.action_spec,
                self.call.initial_state(),
            )
            for g in range(groups)
        ]
        for lane in self.lanes if stepper.metrics else ():
            lane.metrics = MetricTotals(stepper.metrics, size)
        self.stepper = stepper
        self.seed = seed
        self.unbatcher = ActionUnbatcher(policy.action_spec, stepper.action_space)
        self.scatter = _ActionScatter(n) if groups > 1 else None
        self.observer = observer
        self.on_episode: Optional[Callable[[EpisodeRecord], None]] = None
        self.on_step: Optional[Callable[[int], None]] = None
        self.results: dict[int, EpisodeRecord] = {}
        self.episodes = len(indices)
        self.next_episode, self.end = indices.start, indices.stop
        self.calls = Calls(self.call, threaded=groups > 1)

    def run(self, deadline: Optional[float], timeout: Optional[float]) -> list[EpisodeRecord]:
        """Every episode, in index order; errors carry the episodes completed before them."""
        failed_lane = self.lanes[0]
        try:
            for lane in self.lanes:
                self.begin(lane, lane.real)
            for lane in self.lanes:
                self.submit(lane)
            while len(self.calls):
                if deadline is not None and time.monotonic() > deadline:
                    timed_out(self.lanes, self.seed, len(self.results), self.episodes, timeout)
                (lane, active), (action, state, info) = self.calls.next()
                failed_lane = lane
                lane.state = state
                self.advance(lane, active, action, info)
                self.submit(lane)
        except EnvFailure as exc:
            raise self._env_failure(exc, failed_lane) from exc
        except KeyboardInterrupt as exc:
            error = interrupted(
                exc,
                f"{stopped_by(exc)} after {len(self.results)} of {self.episodes} episodes",
                "the completed episodes were written, marked incomplete",
            )
            error.completed = _in_order(self.results)
            raise error from exc
        except PytfpolError as exc:
            exc.completed = _in_order(self.results)
            raise
        finally:
            self.calls.close()
        return _in_order(self.results)

    def _env_failure(self, exc: EnvFailure, failed_lane: _Slots) -> RunError:
        index, step = _episode_of_slot(self.lanes, exc.slot, failed_lane)
        where = f"episode {index} (seed {self.seed + index})"
        error = RunError(
            f"{where}: the environment raised in {exc.method}(): {exc.description}",
            "fix the environment or its --env-kwargs; completed episodes were written",
        )
        if exc.method == METHOD_INFO_KEY:  # a --metric's value
            error = info_failure(f"{where} at step {step}", exc.description)
        error.completed = _in_order(self.results)
        return error

    def begin(self, lane: _Slots, free: np.ndarray) -> None:
        """Start the next unstarted episodes on the `free` rows of `lane`; idle the rest."""
        count = min(free.size, self.end - self.next_episode)
        starting, idle = free[:count], free[count:]
        lane.set_episodes(idle, -1)
        if not count:
            return
        indices = np.arange(self.next_episode, self.next_episode + count, dtype=np.int64)
        self.next_episode += count
        lane.set_episodes(starting, indices)
        lane.returns[starting] = 0.0
        lane.start[starting] = lane.steps
        lane.step_type[starting] = ts.StepType.FIRST
        lane.fresh = True
        lane.reward[starting] = 0.0
        if lane.metrics is not None:
            lane.metrics.start(starting)
        observations = self.stepper.reset(lane.slot[starting], self.seed + indices)
        lane.write(starting, observations)
        for row in starting.tolist():  # per episode, not per step
            lane.first_crc[row] = lane.observation_crc(row)
        if self.observer is not None:
            self.observer.episode_start(
                lane.slot[starting], indices, self.seed + indices, observations
            )

    def finish(
        self, lane: _Slots, row: int, terminated: bool, truncated: bool, success: int
    ) -> None:
        index, result_length = int(lane.episode[row]), lane.length(row)
        check_return(lane, row, self.seed)
        result = EpisodeRecord(
            index=index,
            seed=self.seed + index,
            return_=float(lane.returns[row]),
            length=result_length,
            terminated=terminated,
            truncated=truncated and not terminated,
            success=None if success < 0 else bool(success),
            fingerprint=_fingerprint(lane, row),
            metrics=None if lane.metrics is None else lane.metrics.episode(row, result_length),
        )
        self.results[index] = result
        if self.on_episode is not None:
            self.on_episode(result)

    def submit(self, lane: _Slots) -> None:
        """Ask for the actions of `lane`'s active rows, if any (computed when taken, or in the
        worker thread while other lanes step)."""
        active = lane.active()
        if not active.size:
            return
        check_observations(lane, active, self.seed)
        if lane.state:  # a flat list: empty for a policy without state
            lane.state = _reset_state(lane.state, lane.initial_state, lane.step_type)
        keys = (self.seed + lane.episode, lane.lengths) if self.call.keyed else None
        self.calls.submit((lane, active), lane.time_step, lane.state, keys)

    def advance(self, lane: _Slots, active: np.ndarray, action: Any, info: Any) -> None:
        """Step `lane`'s active environments with `action`; finish and begin episodes."""
        check_actions(self.unbatcher, action, active, lane, self.seed)
        full = active.size == lane.size  # every row runs: slices, not fancy indexing
        rows: Any = slice(None) if full else active
        slots = lane.slot if full else lane.slot[active]
        taken = action
        if self.scatter is not None:
            action = self.scatter(action, slots, active)
        observation, reward, terminated, truncated, success, values = self.stepper.step(
            slots, action
        )
        check_rewards(lane, active, reward, self.seed)
        if lane.metrics is not None and values is not None:
            lane.metrics.add(rows, values)
        if self.observer is not None:
            self.observer.step(
                slots,
                lane.episode[rows],
                policy_step.PolicyStep(
                    tf.nest.map_structure(lambda leaf: rows_of(leaf, active), taken),
                    (),
                    tf.nest.map_structure(lambda leaf: rows_of(np.asarray(leaf), active), info),
                ),
                observation,
                reward,
                terminated,
                truncated,
            )
        lane.write(rows, observation)
        if full:  # whole arrays in place: no slicing
            lane.returns += reward
        else:
            lane.returns[rows] += reward
        lane.steps += 1
        if lane.fresh:  # rows started episodes before this step: FIRST -> MID
            lane.step_type[rows] = ts.StepType.MID
            lane.fresh = False
        lane.reward[rows] = reward
        if self.on_step is not None:
            self.on_step(active.size)
        if count_nonzero(terminated) or count_nonzero(truncated):
            done = terminated | truncated
            for k in np.flatnonzero(done).tolist():
                self.finish(
                    lane, int(active[k]), bool(terminated[k]), bool(truncated[k]), int(success[k])
                )
            self.begin(lane, active[done])


def _fingerprint(lane: _Slots, row: int) -> int:
    """An episode's fingerprint: its first and last observations, return and length. Equal for
    all episodes of a run when the env plays the same episode whatever the seed."""
    outcome = np.array([lane.returns[row], lane.length(row)], dtype=np.float64).tobytes()
    return zlib.crc32(outcome, lane.observation_crc(row, int(lane.first_crc[row])))


def _episode_of_slot(lanes: list, slot: int, lane: _Slots) -> tuple[int, int]:
    """The episode the stepper's `slot` runs (`lane`'s, else any lane's), and its step now."""
    for candidate in (lane, *lanes):
        rows = np.flatnonzero(candidate.slot == slot)
        if rows.size:
            return int(candidate.episode[rows[0]]), candidate.length(int(rows[0])) + 1
    return -1, 0


class _ActionScatter:
    """A group's actions placed at its slots' rows of an action batch for all `n` slots (what
    `Stepper.step` takes); the other rows are left as they were."""

    def __init__(self, n: int) -> None:
        self._n = n
        self._full: Optional[list[np.ndarray]] = None

    def __call__(self, action: Any, slots: np.ndarray, rows: np.ndarray) -> Any:
        leaves = action_leaves(action)
        if self._full is None:
            self._full = [np.zeros((self._n, *leaf.shape[1:]), leaf.dtype) for leaf in leaves]
        fulls = self._full
        for full, leaf in zip(fulls, leaves):
            full[slots] = leaf[rows]
        return tf.nest.pack_sequence_as(action, list(fulls))


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
