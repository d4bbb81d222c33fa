"""A unit of work, its result, and merging results: what any runner executes, in any process.

A `Unit` is a small picklable value: which policy graph (`PolicySource`), which checkpoint's
weights, which environment, which block of episode indices, the seed, and how to run. Executing a
unit gives a `UnitResult`: one `EpisodeRecord` per episode run, keyed by (train step, episode
index), and the error that stopped it, if any. The in-process runner, worker processes and Ray
actors all execute the same units; `merge` puts their results back together by key, refusing gaps
and duplicates, so the merged result does not depend on who ran what, in which order, in how many
pieces. No TensorFlow here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Iterable, Optional

from pytfpol.errors import PytfpolError, RunError
from pytfpol.formats.sources import PolicySource
from pytfpol.policy.policy_config import PolicyConfig
from pytfpol.running.env_spec import EnvSpec

# How the in-process runner describes itself in sweep.json's `backend` (no TensorFlow needed)
LOCAL_BACKEND = {"name": "local", "address": None, "actors": None}


@dataclass(frozen=True)
class RunOptions:
    """How the episodes of a unit run (the same for every unit of one run)."""

    num_envs: int
    vector: str = "sync"
    stochastic: bool = False
    allow_partial: bool = False
    groups: int = 1  # pipelined groups of environments, one policy call each
    metrics: tuple = ()  # running.metrics.Metric: info values aggregated per episode

    def at_most(self, envs: int) -> RunOptions:
        """These options for a unit of at most `envs` episodes: no more envs (or groups)."""
        num_envs = min(self.num_envs, envs)
        return dataclasses.replace(self, num_envs=num_envs, groups=min(self.groups, num_envs))

    @property
    def policy_batch_size(self) -> int:
        """Rows of one policy call: the environments of one group."""
        return -(-self.num_envs // self.groups)


@dataclass(frozen=True)
class Unit:
    """Episodes `first .. first + count - 1` of `source`'s policy with the weights of `source`'s
    checkpoint, on `env`; episode i is reset with seed `seed + i`."""

    source: PolicySource
    env: EnvSpec
    first: int
    count: int
    seed: int
    options: RunOptions
    config: Optional[PolicyConfig] = None  # what rebuilds a Checkpointer policy's network

    @property
    def step(self) -> Optional[int]:
        """The train step its checkpoint is named for (None: not known from the name)."""
        return self.source.checkpoint_step

    @property
    def indices(self) -> range:
        return range(self.first, self.first + self.count)

    def pieces(self, size: Optional[int]) -> list[Unit]:
        """This unit as units of `size` episodes (itself when None or not smaller), each with
        no more envs than episodes: results do not depend on it."""
        if size is None or size >= self.count:
            return [self]
        options = self.options.at_most(size)
        return [
            dataclasses.replace(self, first=self.first + first, count=count, options=options)
            for first, count in split(self.count, size)
        ]

    def with_one_env(self) -> Unit:
        """The same policy in this process with one env (to load it where its episodes do not
        run)."""
        options = dataclasses.replace(self.options, num_envs=1, vector="sync", groups=1)
        return dataclasses.replace(self, options=options)

    @property
    def label(self) -> str:
        where = self.source.checkpoint_prefix or self.source.saved_model_dir or self.source.path
        return f"{where} episodes {self.first}..{self.first + self.count - 1}"


@dataclass(frozen=True)
class EpisodeRecord:
    """One episode's outcome: plain numbers, so that it crosses process boundaries cheaply."""

    index: int
    seed: int
    return_: float
    length: int
    terminated: bool
    truncated: bool
    success: Optional[bool] = None
    # crc32 of the first and last observations, return and length: equal for every episode
    # of a run only when the env ignores the seed (a deterministic Atari game, say)
    fingerprint: Optional[int] = None
    metrics: Optional[dict] = None  # with --metric: each metric's value, by name (`info.KEY`)


@dataclass
class UnitResult:
    """What executing a unit gave: its records (in index order), the train step its weights
    were restored from, and the error that stopped it early (records hold what completed)."""

    unit: Unit
    records: list[EpisodeRecord] = field(default_factory=list)
    train_step: Optional[int] = None
    error: Optional[PytfpolError] = None
    seconds: float = 0.0  # restoring the checkpoint and running the episodes
    restore_seconds: float = 0.0  # of which restoring its weights into the graph
    worker: str = ""  # which process or host ran it

    @property
    def key(self) -> Optional[int]:
        return self.train_step if self.train_step is not None else self.unit.step


def split(count: int, block: Optional[int]) -> list[tuple[int, int]]:
    """(first, count) blocks of episode indices 0..count-1, `block` at a time (all at once when
    `block` is None)."""
    size = count if not block else max(1, block)
    return [(first, min(size, count - first)) for first in range(0, count, size)]


def unit_size(
    episodes: int, asked: Optional[int], workers: int = 1, checkpoints: int = 1
) -> Optional[int]:
    """Episodes per unit: `asked` (--unit-episodes); else None (all of a checkpoint's episodes
    in one unit) for one worker; for several, enough units that each has about two to run
    (so none idles while another finishes a long one), but at least 8 episodes a unit, so
    that the per-unit cost (a restore, a round trip) stays small next to the episodes."""
    if asked is not None:
        return min(asked, episodes)
    if workers <= 1:
        return None
    per_checkpoint = max(1, -(-2 * workers // max(1, checkpoints)))
    size = min(episodes, max(8, -(-episodes // per_checkpoint)))
    return None if size >= episodes else size


def merge(results: Iterable[UnitResult], expected: Iterable[tuple]) -> dict[tuple, EpisodeRecord]:
    """The records of `results` by (train step, episode index), exactly the `expected` keys:
    a key that two results hold, or that none holds, is a RunError naming it (a runner lost or
    repeated an episode). Results that stopped early are the caller's to report first."""
    merged: dict[tuple, EpisodeRecord] = {}
    for result in results:
        for record in result.records:
            key = (result.key, record.index)
            if key in merged:
                raise RunError(
                    f"episode {record.index} of step {result.key} was run twice "
                    f"({result.unit.label})",
                    "a runner executed overlapping units; this is a bug in pytfpol",
                )
            merged[key] = record
    wanted = list(expected)
    missing = [key for key in wanted if key not in merged]
    extra = sorted(set(merged) - set(wanted), key=_sortable)
    if missing or extra:
        what = (
            f"episode {missing[0][1]} of step {missing[0][0]} is missing"
            if missing
            else f"episode {extra[0][1]} of step {extra[0][0]} was not asked for"
        )
        raise RunError(
            f"the merged results do not match the planned units: {what}",
            "a runner lost or added episodes; this is a bug in pytfpol",
        )
    return {key: merged[key] for key in wanted}


def _sortable(key: tuple) -> tuple:
    step, index = key
    return (-1 if step is None else step, index)
