"""Episode trajectories: what the policy saw, did and got, step by step, kept per episode.

`TrajectoryCollector` is an observer of the evaluation loop (`evaluation.EpisodeObserver`): for
the episodes it is asked for, it copies each step's rows out of the loop's batch arrays and hands
over a finished `Trajectory` when the episode ends. Other episodes cost a dict lookup per step.

A trajectory of T steps holds T+1 observations (the reset observation, then one per step, the
last one the final observation), T actions, the policy's info per step (`PolicyStep.info`:
e.g. PPO's distribution parameters; empty for most greedy policies), T rewards and the
terminated/truncated flags. Observations are in the env's dtypes, actions in the policy's.

As a file (`to_npz` / `read_npz`, numpy's .npz without pickled objects): `observations`,
`actions`, `rewards`, `terminated`, `truncated`, `info/<path>` (nests as `observations/<key>`,
...), and the scalars `index`, `seed`, `return`, `length`. The return is the sum of the rewards
in step order (`np.cumsum(rewards)[-1]`), as the evaluation loop adds them up.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np


@dataclass
class Trajectory:
    """One episode, as flat named arrays (see the module docstring for the names)."""

    index: int
    seed: int
    observations: dict[str, np.ndarray]  # path -> (T+1, ...) ("observations" for one leaf)
    actions: dict[str, np.ndarray]  # path -> (T, ...)
    rewards: np.ndarray  # (T,) float64
    terminated: np.ndarray  # (T,) bool
    truncated: np.ndarray  # (T,) bool
    info: dict[str, np.ndarray] = field(default_factory=dict)  # "info/<path>" -> (T, ...)

    @property
    def length(self) -> int:
        return int(self.rewards.shape[0])

    @property
    def return_(self) -> float:
        """The sum of the rewards in step order: the evaluation loop's return, bit for bit."""
        return float(np.cumsum(self.rewards)[-1]) if self.length else 0.0

    def to_npz(self) -> bytes:
        arrays: dict[str, Any] = {
            **self.observations,
            **self.actions,
            "rewards": self.rewards,
            "terminated": self.terminated,
            "truncated": self.truncated,
            **self.info,
            "index": np.int64(self.index),
            "seed": np.int64(self.seed),
            "return": np.float64(self.return_),
            "length": np.int64(self.length),
        }
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return buffer.getvalue()


def read_npz(path: str | Path) -> Trajectory:
    """A trajectory file written by `Trajectory.to_npz` (no pickle)."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}

    def group(name: str) -> dict[str, np.ndarray]:
        return {k: v for k, v in arrays.items() if k == name or k.startswith(name + "/")}

    return Trajectory(
        index=int(arrays["index"]),
        seed=int(arrays["seed"]),
        observations=group("observations"),
        actions=group("actions"),
        rewards=arrays["rewards"],
        terminated=arrays["terminated"],
        truncated=arrays["truncated"],
        info=group("info"),
    )


def flat(nest: Any, prefix: str) -> list[tuple[str, Any]]:
    """(name, leaf) pairs of a nest (dicts, tuples, namedtuples such as TF-Agents' PolicyInfo):
    `prefix` for a single leaf, `prefix/<path>` inside a nest, in `tf.nest` order."""
    if isinstance(nest, dict):
        items = [(str(k), nest[k]) for k in sorted(nest)]
    elif isinstance(nest, tuple) and hasattr(nest, "_fields"):
        items = list(zip(nest._fields, nest))
    elif isinstance(nest, (tuple, list)):
        items = [(str(i), v) for i, v in enumerate(nest)]
    else:
        return [(prefix, nest)]
    out: list[tuple[str, Any]] = []
    for key, value in items:
        out.extend(flat(value, f"{prefix}/{key}"))
    return out


def nest_like(space: Any, arrays: dict[str, np.ndarray], prefix: str) -> Any:
    """The arrays named `prefix...` (see `flat`) packed as `space`'s structure (a Gymnasium
    space: Dict -> dict, Tuple -> tuple, anything else one array)."""
    subspaces = getattr(space, "spaces", None)
    if isinstance(subspaces, dict):
        return {k: nest_like(subspaces[k], arrays, f"{prefix}/{k}") for k in sorted(subspaces)}
    if isinstance(subspaces, tuple):
        return tuple(nest_like(s, arrays, f"{prefix}/{i}") for i, s in enumerate(subspaces))
    return arrays[prefix]


class _Episode:
    """The rows of one running episode, appended step by step."""

    def __init__(self, index: int, seed: int, first_observation: list) -> None:
        self.index = index
        self.seed = seed
        self.observations = [first_observation]  # per step: a list of leaf rows
        self.actions: list = []
        self.info: list = []
        self.rewards: list = []
        self.terminated: list = []
        self.truncated: list = []

    def trajectory(self, names: dict[str, list[str]]) -> Trajectory:
        def stack(rows: list, keys: list[str]) -> dict[str, np.ndarray]:
            return {key: np.stack([row[i] for row in rows]) for i, key in enumerate(keys)}

        info = stack(self.info, names["info"]) if self.info else {}
        return Trajectory(
            index=self.index,
            seed=self.seed,
            observations=stack(self.observations, names["observations"]),
            actions=stack(self.actions, names["actions"]),
            rewards=np.asarray(self.rewards, dtype=np.float64),
            terminated=np.asarray(self.terminated, dtype=bool),
            truncated=np.asarray(self.truncated, dtype=bool),
            info=info,
        )


class TrajectoryCollector:
    """An `evaluation.EpisodeObserver` keeping the trajectories of the episodes `wanted(index)`
    selects (all when None), each handed to `on_trajectory` as soon as its episode ends."""

    def __init__(
        self,
        on_trajectory: Callable[[Trajectory], None],
        wanted: Optional[Callable[[int], bool]] = None,
    ) -> None:
        self._on_trajectory = on_trajectory
        self._wanted = wanted
        self._running: dict[int, _Episode] = {}  # by slot
        self._names: Optional[dict[str, list[str]]] = None

    def episode_start(self, slots, indices, seeds, observations) -> None:
        leaves = flat(observations, "observations")
        for k, (slot, index, seed) in enumerate(zip(slots.tolist(), indices.tolist(), seeds)):
            if self._wanted is not None and not self._wanted(index):
                self._running.pop(slot, None)
                continue
            rows = [np.array(leaf[k]) for _, leaf in leaves]
            self._running[slot] = _Episode(index, int(seed), rows)
        if self._names is None:
            self._names = {"observations": [name for name, _ in leaves]}

    def step(self, slots, indices, action_step, observations, rewards, terminated, truncated):
        if not self._running:
            return
        observation_leaves = [leaf for _, leaf in flat(observations, "observations")]
        actions = flat(action_step.action, "actions")
        info = [] if action_step.info is None else flat(action_step.info, "info")
        if "actions" not in self._names:
            self._names["actions"] = [name for name, _ in actions]
            self._names["info"] = [name for name, _ in info]
        for k, slot in enumerate(slots.tolist()):
            episode = self._running.get(slot)
            if episode is None:
                continue
            episode.observations.append([np.array(leaf[k]) for leaf in observation_leaves])
            episode.actions.append([np.array(np.asarray(leaf)[k]) for _, leaf in actions])
            if info:
                episode.info.append([np.array(np.asarray(leaf)[k]) for _, leaf in info])
            episode.rewards.append(rewards[k])
            episode.terminated.append(bool(terminated[k]))
            episode.truncated.append(bool(truncated[k]))
            if terminated[k] or truncated[k]:
                del self._running[slot]
                self._on_trajectory(episode.trajectory(self._names))
