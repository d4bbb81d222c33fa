"""Stepping a batch of environments slot by slot: all the evaluation loop asks of them.

A `Stepper` holds `num_envs` environment slots and does two things, both for a batch of slots:

    reset(slots, seeds)     -> observations          slot k is reset with exactly seeds[k]
    step(slots, actions)    -> observations, rewards, terminated, truncated, success, metrics

Observations come back stacked (a nest like the observation space, leading dimension
`len(slots)`), rewards as float64, flags as bool. `success` (int8) is, for the slots whose
episode ended on this step, the env's `info["is_success"]` (1 or 0), or -1 where the env does not
report it; -1 for the others. `metrics` is None unless the stepper was made with --metric's
(`running.metrics`): then one float64 row of their info values per slot (other info is never
looked at). No stepper ever resets a slot on its own: there
is no autoreset, so no episode starts with a seed the loop did not choose.

- `SyncStepper`: a list of `gymnasium.Env`s stepped in this process.
- `AsyncStepper`: the same envs spread over a few worker processes (one per CPU, each holding a
  contiguous block of slots); one pipe round trip per worker per step, workers step in parallel.
- `NativeStepper`: an env id's own vectorised implementation (`vector_entry_point`). Those keep
  one random generator for all sub-environments and reset them all at once, so per-episode seeds
  cannot be honoured in general; only implementations with a known exact per-slot reset are
  accepted (Gymnasium's `CartPoleVectorEnv`), anything else is refused.

No TensorFlow here: worker processes import this module and Gymnasium only.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from typing import Any, Callable, Optional, Sequence

from pytfpol.policy.quiet_tf import prepare_environment

prepare_environment()  # before Gymnasium (pygame's SDL) is imported; workers inherit it too

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
from gymnasium.utils import seeding  # noqa: E402

from pytfpol.errors import RunError, UsageError  # noqa: E402
from pytfpol.running.env_spec import EnvSpec  # noqa: E402
from pytfpol.running.metrics import (  # noqa: E402
    METHOD_INFO_KEY,
    InfoProblem,
    Metric,
    read_vector_metrics,
)
from pytfpol.running.stepper import (  # noqa: E402
    UNKNOWN_SUCCESS,
    EnvFailure,
    Stepper,
    action_rows,
    close_quietly,
    concatenate,
    describe_error,
    reset_envs,
    stack_rows,
    step_envs,
    take,
)

MODES = ("sync", "async", "native")


# ---------------------------------------------------------------------------------------------
# sync: envs in this process


class SyncStepper(Stepper):
    """A list of envs stepped one after the other in this process."""

    def __init__(self, envs: Sequence[gym.Env], metrics: Sequence[Metric] = ()) -> None:
        self._envs = list(envs)
        self.metrics = tuple(metrics)
        self.num_envs = len(self._envs)
        self.observation_space = self._envs[0].observation_space
        self.action_space = self._envs[0].action_space
        self._actions = action_rows(self.action_space)
        self._stack = stack_rows(self.observation_space)

    def reset(self, slots: np.ndarray, seeds: np.ndarray) -> Any:
        return self._stack(reset_envs(self._envs, slots.tolist(), seeds.tolist()))

    def step(self, slots: np.ndarray, actions: Any):
        every = len(slots) == self.num_envs  # slots are ascending: all of them, in order
        rows = self._actions(actions, None if every else slots)
        return step_envs(self._envs, slots.tolist(), rows, self._stack, self.metrics)

    def close(self) -> None:
        for env in self._envs:
            close_quietly(env)
        self._envs = []  # freed now: ALE's bindings warn of instances still alive at exit


# ---------------------------------------------------------------------------------------------
# async: worker processes, each holding a contiguous block of slots


class AsyncStepper(Stepper):
    """`num_envs` envs spread over `workers` processes (default: one per CPU).

    Workers are started with `spawn` (safe next to TensorFlow's threads) and ignore Ctrl-C: the
    main process handles it and closes them. Each step sends one message per worker that has
    active slots and waits for all replies, so workers step their blocks in parallel.
    """

    def __init__(
        self,
        env_spec: EnvSpec,
        num_envs: int,
        workers: Optional[int] = None,
        metrics: Sequence[Metric] = (),
    ) -> None:
        count = max(1, min(num_envs, workers or default_workers()))
        self.num_envs = num_envs
        self.metrics = tuple(metrics)
        self._bounds = np.linspace(0, num_envs, count + 1).astype(np.int64)
        context = multiprocessing.get_context("spawn")
        self._pipes, self._processes = [], []
        try:
            for w in range(count):
                parent, child = context.Pipe()
                size = int(self._bounds[w + 1] - self._bounds[w])
                process = context.Process(
                    target=_worker,
                    args=(child, env_spec.for_workers(), size, self.metrics),
                    daemon=True,
                    name=f"pytfpol-{w}",
                )
                process.start()
                child.close()
                self._pipes.append(parent)
                self._processes.append(process)
            spaces_ = [self._receive(w, "make") for w in range(count)]
        except EnvFailure as exc:
            self.close()
            raise RunError(
                f"--vector async: a worker process could not create {env_spec.env_id} "
                f"({exc.description})",
                "check that the environment can be created in a fresh process "
                "(its module importable), or use --vector sync",
            ) from exc
        except BaseException:
            self.close()
            raise
        self.observation_space, self.action_space = spaces_[0]
        self._actions = action_rows(self.action_space)

    @property
    def workers(self) -> int:
        return len(self._pipes)

    def _split(self, slots: np.ndarray) -> list[tuple[int, np.ndarray, slice]]:
        """(worker, its local slot numbers, the positions in `slots`) for each busy worker."""
        cuts = np.searchsorted(slots, self._bounds)
        return [
            (w, slots[cuts[w] : cuts[w + 1]] - self._bounds[w], slice(cuts[w], cuts[w + 1]))
            for w in range(self.workers)
            if cuts[w + 1] > cuts[w]
        ]

    def reset(self, slots: np.ndarray, seeds: np.ndarray) -> Any:
        parts = self._split(slots)
        for w, local, where in parts:
            self._send(w, ("reset", local.tolist(), seeds[where].tolist()))
        return concatenate(self._gather(parts, "reset"))

    def step(self, slots: np.ndarray, actions: Any):
        parts = self._split(slots)
        for w, local, where in parts:
            self._send(w, ("step", local.tolist(), take(actions, slots[where])))
        replies = self._gather(parts, "step")
        joined = [concatenate([r[i] for r in replies]) for i in range(5)]
        return (*joined, concatenate([r[5] for r in replies]) if self.metrics else None)

    def _send(self, w: int, message) -> None:
        try:
            self._pipes[w].send(message)
        except (OSError, EOFError) as exc:
            raise EnvFailure(int(self._bounds[w]), message[0], self._died(w, exc)) from exc

    def _gather(self, parts, method: str) -> list:
        replies, failure = [], None
        for w, _, _ in parts:  # collect every reply so the pipes stay in step
            try:
                replies.append(self._receive(w, method))
            except EnvFailure as exc:
                failure = failure or exc
        if failure is not None:
            raise failure
        return replies

    def _receive(self, w: int, method: str):
        try:
            status, payload = self._pipes[w].recv()
        except (OSError, EOFError) as exc:
            raise EnvFailure(int(self._bounds[w]), method, self._died(w, exc)) from exc
        if status == "error":
            local, method_, description = payload
            raise EnvFailure(int(self._bounds[w]) + local, method_, description)
        return payload

    def _died(self, w: int, exc: BaseException) -> str:
        process = self._processes[w]
        process.join(timeout=1)
        return f"worker process {process.name} died (exit code {process.exitcode}; {describe_error(exc)})"

    def close(self) -> None:
        for pipe in self._pipes:
            try:
                pipe.send(("close", None))
            except (OSError, EOFError):
                pass
        for process in self._processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
        for pipe in self._pipes:
            pipe.close()
        self._pipes, self._processes = [], []


def default_workers() -> int:
    """Worker processes for `--vector async`: one per CPU this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _worker(pipe, env_spec: EnvSpec, count: int, metrics: tuple = ()) -> None:
    """A worker process: `count` envs; answers reset/step messages until told to close."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process handles Ctrl-C
    envs: list = []
    try:
        try:
            envs = [env_spec() for _ in range(count)]
        except Exception as exc:  # noqa: BLE001
            pipe.send(("error", (0, "make", describe_error(exc))))
            return
        actions = action_rows(envs[0].action_space)
        stack = stack_rows(envs[0].observation_space)
        pipe.send(("ok", (envs[0].observation_space, envs[0].action_space)))
        while True:
            command, *args = pipe.recv()
            try:
                if command == "step":
                    local, batch = args
                    reply = step_envs(envs, local, actions(batch, None), stack, metrics)
                elif command == "reset":
                    local, seeds = args
                    reply = stack(reset_envs(envs, local, seeds))
                else:
                    return
            except EnvFailure as exc:
                pipe.send(("error", (exc.slot, exc.method, exc.description)))
                continue
            pipe.send(("ok", reply))
    except (EOFError, OSError, KeyboardInterrupt):
        return
    finally:
        for env in envs:
            close_quietly(env)


# ---------------------------------------------------------------------------------------------
# native: the env id's own vectorised implementation, where each slot can be reset exactly


def _reset_cartpole(env, slots: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """`CartPoleVectorEnv` sub-envs reset exactly as `CartPoleEnv.reset(seed=s)` does: the start
    state is `np_random(s).uniform(-0.05, 0.05, 4)`. Clearing `prev_done` stops its autoreset."""
    for slot, seed in zip(slots.tolist(), seeds.tolist()):
        rng, _ = seeding.np_random(seed)
        env.state[:, slot] = rng.uniform(low=-0.05, high=0.05, size=(4,))
    env.steps[slots] = 0
    env.prev_done[slots] = False
    return env.state[:, slots].T.astype(np.float32)


def _native_resetters() -> dict:
    """Vectorised env classes -> their exact per-slot reset. Add one only with a test showing
    that its per-episode results equal `--vector sync`."""
    from gymnasium.envs.classic_control.cartpole import CartPoleVectorEnv

    return {CartPoleVectorEnv: _reset_cartpole}


class NativeStepper(Stepper):
    """An env id's `vector_entry_point` implementation with an exact per-slot reset.

    Each `step` steps every sub-environment (idle ones with filler actions), so the loop cannot
    step one group of its slots while another group's actions are computed."""

    steps_every_slot = True

    def __init__(self, env_spec: EnvSpec, num_envs: int, metrics: Sequence[Metric] = ()) -> None:
        self.metrics = tuple(metrics)
        if not env_spec.plain:
            raise UsageError(
                f"--vector native: runs an env id's own vectorised implementation, without "
                f"wrappers, env spec files or PyEnvironments ({env_spec.env_id})",
                "use --vector sync or --vector async",
            )
        kwargs = dict(env_spec.kwargs)
        if env_spec.max_episode_steps is not None:
            kwargs["max_episode_steps"] = env_spec.max_episode_steps
        try:
            env = gym.make_vec(
                env_spec.env_id.split(":")[-1],  # a `module:` prefix was imported by then
                num_envs=num_envs,
                vectorization_mode="vector_entry_point",
                **kwargs,
            )
        except gym.error.Error as exc:
            raise UsageError(
                f"--vector native: {env_spec.env_id} has no vectorised implementation ({exc})",
                "use --vector sync or --vector async",
            ) from exc
        resetter = _native_resetters().get(type(env.unwrapped))
        if resetter is None:
            close_quietly(env)
            raise UsageError(
                f"--vector native: {env_spec.env_id}'s vectorised implementation "
                f"({type(env.unwrapped).__name__}) cannot reset one sub-environment with a "
                "chosen seed, so episode i would not be reset with seed S+i",
                "use --vector sync or --vector async (the same results, exactly seeded)",
            )
        env.reset(seed=0)  # allocates the state; every slot is then reset with its own seed
        self._env = env
        self._unwrapped = env.unwrapped
        self._resetter = resetter
        self.num_envs = num_envs
        self.observation_space = env.single_observation_space
        self.action_space = env.single_action_space
        self._dtype = env.action_space.dtype
        self._name = env_spec.env_id

    def reset(self, slots: np.ndarray, seeds: np.ndarray) -> Any:
        return self._resetter(self._unwrapped, slots, seeds)

    def step(self, slots: np.ndarray, actions: Any):
        try:
            observation, reward, terminated, truncated, info = self._env.step(
                np.asarray(actions, dtype=self._dtype)
            )
        except Exception as exc:  # noqa: BLE001
            raise EnvFailure(int(slots[0]), "step", describe_error(exc)) from exc
        terminated = np.asarray(terminated, dtype=bool)
        truncated = np.asarray(truncated, dtype=bool)
        reward = np.asarray(reward, dtype=np.float64)
        if slots.size != self.num_envs:  # the loop's slots are ascending: all of them, in order
            observation, reward = observation[slots], reward[slots]
            terminated, truncated = terminated[slots], truncated[slots]
        done = terminated | truncated
        values = None
        if self.metrics:
            try:
                values = read_vector_metrics(info, self.metrics, slots, done)
            except InfoProblem as exc:
                raise EnvFailure(int(slots[0]), METHOD_INFO_KEY, f"{self._name}: {exc}") from exc
        return (
            observation,
            reward,
            terminated,
            truncated,
            _vector_success(info, slots, done),
            values,
        )

    def close(self) -> None:
        close_quietly(self._env)


def _vector_success(info: Any, slots: np.ndarray, done: np.ndarray) -> np.ndarray:
    """A vector env's `is_success` (an array, with its `_is_success` mask) for the done slots."""
    success = np.full(len(slots), UNKNOWN_SUCCESS, dtype=np.int8)
    if not done.any() or not isinstance(info, dict) or "is_success" not in info:
        return success
    every = np.asarray(info["is_success"])
    values = every[slots].astype(bool)
    known = np.asarray(info.get("_is_success", np.ones(every.shape[0], bool)))[slots] & done
    success[known] = values[known]
    return success


def make_stepper(
    mode: str,
    env_spec: EnvSpec,
    num_envs: int,
    first: Optional[gym.Env] = None,
    make_env: Optional[Callable[[], gym.Env]] = None,
    metrics: Sequence[Metric] = (),
) -> Stepper:
    """A stepper for `mode`. `first` is an env already made (reused by sync, closed otherwise);
    `make_env` makes the others in this process (default: `env_spec`); `metrics`: the info
    values each step returns (`running.metrics`)."""
    if mode == "sync":
        make_env = make_env or env_spec
        envs = [first] if first is not None else []
        try:
            envs += [make_env() for _ in range(num_envs - len(envs))]
        except BaseException:
            for env in envs:
                close_quietly(env)
            raise
        return SyncStepper(envs, metrics)
    if first is not None:
        close_quietly(first)
    if mode == "async":
        return AsyncStepper(env_spec, num_envs, metrics=metrics)
    if mode == "native":
        return NativeStepper(env_spec, num_envs, metrics)
    raise UsageError(f"--vector {mode!r}: unknown", f"choose one of {', '.join(MODES)}")
