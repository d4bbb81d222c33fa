"""What the evaluation loop asks of a batch of environments (`Stepper`, `EnvFailure`; the
steppers themselves are in `pytfpol.running.vector`), and the conversions between a policy's
batches and single environments' values that every stepper, worker process and video shares.

No TensorFlow here: worker processes import this module and Gymnasium only.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional, Sequence

from pytfpol.policy.quiet_tf import prepare_environment

prepare_environment()  # before Gymnasium (pygame's SDL) is imported; workers inherit it too

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
from gymnasium import spaces  # noqa: E402

from pytfpol.errors import UsageError  # noqa: E402
from pytfpol.running.metrics import METHOD_INFO_KEY, InfoProblem, Metric, read_metrics  # noqa: E402


class EnvFailure(Exception):
    """An environment raised (or its worker died) while handling `slot`."""

    def __init__(self, slot: int, method: str, description: str) -> None:
        super().__init__(f"slot {slot}: {method}(): {description}")
        self.slot = slot
        self.method = method
        self.description = description


class Stepper:
    """The interface the evaluation loop uses (see the module docstring)."""

    num_envs: int
    observation_space: spaces.Space  # of one environment
    action_space: spaces.Space
    steps_every_slot: bool = False  # True: `step` steps all slots, whichever are asked for

    metrics: tuple[Metric, ...] = ()  # read from each step's info (`running.metrics`)

    def reset(self, slots: np.ndarray, seeds: np.ndarray) -> Any:
        raise NotImplementedError

    def step(
        self, slots: np.ndarray, actions: Any
    ) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, np.ndarray, Optional[np.ndarray]]:
        """Step `slots` (ascending) with rows `slots` of `actions`, the policy's batch for all
        `num_envs` slots. The last item: one row of `metrics` values per slot (None without
        metrics)."""
        raise NotImplementedError

    def close(self) -> None:
        pass


# ---------------------------------------------------------------------------------------------
# Batch conversion (shared by the backends, and by worker processes)


def action_rows(space: spaces.Space) -> Callable[[Any, Optional[np.ndarray]], list]:
    """A function (policy action batch, rows) -> list of env actions, one per row (all if None)."""
    if isinstance(space, spaces.Discrete):
        return _discrete_rows
    if isinstance(space, (spaces.Box, spaces.MultiDiscrete, spaces.MultiBinary)):
        dtype = space.dtype

        def arrays(batch, rows):
            values = np.asarray(batch if rows is None else batch[rows], dtype=dtype)
            return list(values)

        return arrays
    if isinstance(space, spaces.Dict):
        convs = {k: action_rows(s) for k, s in space.spaces.items()}

        def dicts(batch, rows):
            columns = {k: c(batch[k], rows) for k, c in convs.items()}
            return [dict(zip(columns, values)) for values in zip(*columns.values())]

        return dicts
    if isinstance(space, spaces.Tuple):
        convs_ = [action_rows(s) for s in space.spaces]

        def tuples(batch, rows):
            return list(zip(*(c(b, rows) for c, b in zip(convs_, batch))))

        return tuples
    raise UsageError(f"action space {space} is not supported", "see the supported spaces")


def _discrete_rows(batch: Any, rows: Optional[np.ndarray]) -> list:
    """Discrete actions as Python ints (a policy's batch is already an array: no conversion)."""
    values = batch if rows is None else batch[rows]
    return (values if isinstance(values, np.ndarray) else np.asarray(values)).tolist()


def stack_rows(space: spaces.Space) -> Callable[[Sequence[Any]], Any]:
    """A function list of observations -> one batch nest in the space's dtypes."""
    if isinstance(space, spaces.Dict):
        stacks = {k: stack_rows(s) for k, s in space.spaces.items()}
        return lambda rows: {k: s([r[k] for r in rows]) for k, s in stacks.items()}
    if isinstance(space, spaces.Tuple):
        stacks_ = [stack_rows(s) for s in space.spaces]
        return lambda rows: tuple(s([r[i] for r in rows]) for i, s in enumerate(stacks_))
    dtype = space.dtype
    return lambda rows: np.asarray(rows, dtype=dtype)


def take(nest: Any, rows: Any) -> Any:
    """Rows `rows` of every array in a dict/tuple nest."""
    if isinstance(nest, dict):
        return {k: take(v, rows) for k, v in nest.items()}
    if isinstance(nest, (tuple, list)):
        return type(nest)(take(v, rows) for v in nest)
    return nest[rows]


def concatenate(nests: Sequence[Any]) -> Any:
    """Batch nests joined along the first axis."""
    first = nests[0]
    if len(nests) == 1:
        return first
    if isinstance(first, dict):
        return {k: concatenate([n[k] for n in nests]) for k in first}
    if isinstance(first, (tuple, list)):
        return type(first)(concatenate([n[i] for n in nests]) for i in range(len(first)))
    return np.concatenate(nests)


def describe_error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def reset_envs(envs: Sequence[gym.Env], slots: list, seeds: list) -> list:
    observations = []
    for slot, seed in zip(slots, seeds):
        try:
            observation, _ = envs[slot].reset(seed=seed)
        except Exception as exc:  # noqa: BLE001 - environments raise anything
            raise EnvFailure(slot, "reset", describe_error(exc)) from exc
        observations.append(observation)
    return observations


def step_envs(
    envs: Sequence[gym.Env],
    slots: list,
    actions: list,
    stack: Callable,
    metrics: Sequence[Metric] = (),
):
    results: list = []  # each env's (observation, reward, terminated, truncated, info)
    try:
        for slot, action in zip(slots, actions):
            results.append(envs[slot].step(action))
    except Exception as exc:  # noqa: BLE001 - environments raise anything
        raise EnvFailure(slots[len(results)], "step", describe_error(exc)) from exc
    observations, rewards, terminated, truncated, infos = zip(*results) if results else [()] * 5
    if any(terminated) or any(truncated):
        ended, cut = np.asarray(terminated, dtype=bool), np.asarray(truncated, dtype=bool)
        done = ended | cut
        success = _success(infos, done)
    else:  # most steps end no episode: shared read-only rows, no new arrays
        ended = cut = done = _no_flags(len(infos))
        success = _unknown_success(len(infos))
    return (
        stack(observations),
        np.asarray(rewards, dtype=np.float64),
        ended,
        cut,
        success,
        _metric_values(envs, slots, infos, done, metrics) if metrics else None,
    )


@functools.lru_cache(maxsize=64)
def _no_flags(size: int) -> np.ndarray:
    flags = np.zeros(size, dtype=bool)
    flags.flags.writeable = False
    return flags


def _metric_values(
    envs: Sequence[gym.Env],
    slots: list,
    infos: Sequence[Any],
    done: np.ndarray,
    metrics: Sequence[Metric],
) -> Optional[np.ndarray]:
    """Each --metric's value in each stepped env's info (None without --metric); a value that
    is not there or not a number is the env's failure, named as such."""
    if not metrics:
        return None
    values = []
    for k, info in enumerate(infos):
        try:
            values.append(read_metrics(info, metrics, bool(done[k])))
        except InfoProblem as exc:
            slot = slots[k]
            raise EnvFailure(slot, METHOD_INFO_KEY, f"{_env_name(envs[slot])}: {exc}") from exc
    return np.asarray(values, dtype=np.float64)


def _env_name(env: gym.Env) -> str:
    spec = getattr(env, "spec", None)
    return getattr(spec, "id", None) or type(env.unwrapped).__name__


def _success(infos: Sequence[Any], done: np.ndarray) -> np.ndarray:
    """`success_flag` of the ended episodes' infos, UNKNOWN_SUCCESS elsewhere."""
    success = np.full(len(infos), UNKNOWN_SUCCESS, dtype=np.int8)
    for k in np.flatnonzero(done).tolist():
        success[k] = success_flag(infos[k])
    return success


@functools.lru_cache(maxsize=64)
def _unknown_success(size: int) -> np.ndarray:
    success = np.full(size, UNKNOWN_SUCCESS, dtype=np.int8)
    success.flags.writeable = False
    return success


UNKNOWN_SUCCESS = -1


def success_flag(info: Any) -> int:
    """1 or 0 from an env's final `info["is_success"]`; -1 when it does not say."""
    try:
        value = info["is_success"]
    except (KeyError, TypeError, IndexError):
        return UNKNOWN_SUCCESS
    try:
        return int(bool(np.asarray(value).item()))
    except (TypeError, ValueError):  # not a single value
        return UNKNOWN_SUCCESS


def close_quietly(env) -> None:
    try:
        env.close()
    except Exception:  # noqa: BLE001 - closing must not hide the run's own outcome
        pass
