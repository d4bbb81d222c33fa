"""Validated, frozen settings for a run, built from CLI options or Python arguments; no TensorFlow."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

from pytfpol.errors import UsageError

MAX_SEED = 2**32 - 1
VECTOR_MODES = ("sync", "async", "native")
# Commas separate key=value pairs only where a new `key=` follows: `sizes=[1,2],g=9.8` is 2 pairs.
_SHA256 = re.compile(r"[0-9a-f]{64}")
_PAIR_SEPARATOR = re.compile(r",(?=\s*[A-Za-z_]\w*\s*=)")


@dataclass(frozen=True)
class EvalSettings:
    """Everything `api.evaluate` needs to know, checked once."""

    policy_path: str
    env_id: str
    episodes: int = 10
    seed: int = 0
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    max_episode_steps: Optional[int] = None
    policy: Optional[str] = None  # a Learner root's SavedModel: greedy (default), collect, policy
    checkpoint: Optional[str] = None
    num_envs: Optional[int] = None  # None: chosen from the episode count
    out: Optional[str] = None
    min_return: Optional[float] = None
    config: Optional[str] = None  # policy config (TOML) for Checkpointer directories
    step: Optional[int] = None  # which checkpoint: ckpt-<step>, policy_checkpoint_<step>, ...
    allow_partial: bool = False  # restore what matches; list the rest
    stochastic: bool = False  # sample from the policy instead of its greedy mode
    vector: str = "sync"  # how the environments run side by side: sync | async | native
    # Groups of environments whose policy calls overlap the other groups' steps; None: chosen by
    # --vector and --num-envs (default_pipeline_groups).
    pipeline_groups: Optional[int] = None
    timeout: Optional[float] = None  # seconds for the whole run (loading included); exit 4
    trusted_sha256: tuple = ()  # accepted sha256 digests of saved_model.pb; () accepts any
    overwrite: bool = False  # replace another policy's results in --out, beside foreign files
    gates: tuple = ()  # --gate expressions ("iqm_return>=450") or gates.Gate values
    success_threshold: Optional[float] = None  # an episode succeeds when its return >= this
    plot: bool = False  # also write OUT/returns.png

    def __post_init__(self) -> None:
        _require_int("--episodes", self.episodes, minimum=1)
        _require_int("--seed", self.seed, minimum=0)
        if self.seed + self.episodes - 1 > MAX_SEED:
            raise UsageError(
                f"--seed {self.seed}: episode seeds would exceed {MAX_SEED}",
                "choose a smaller --seed",
            )
        if self.max_episode_steps is not None:
            _require_int("--max-episode-steps", self.max_episode_steps, minimum=1)
        if self.step is not None:
            _require_int("--step", self.step, minimum=0)
        if self.num_envs is not None:
            _require_int("--num-envs", self.num_envs, minimum=1)
        if self.vector not in VECTOR_MODES:
            raise UsageError(
                f"--vector {self.vector!r}: unknown", f"choose one of {', '.join(VECTOR_MODES)}"
            )
        if self.pipeline_groups is not None:
            _require_int("--pipeline-groups", self.pipeline_groups, minimum=1)
            if self.pipeline_groups > 1 and self.vector == "native":
                raise UsageError(
                    f"--pipeline-groups {self.pipeline_groups}: --vector native steps all its "
                    "environments at once, so no group can step while another is computed",
                    "drop --pipeline-groups, or use --vector sync",
                )
        if not self.env_id:
            raise UsageError("--env is empty", "name a Gymnasium environment, e.g. CartPole-v1")
        if self.timeout is not None and (
            isinstance(self.timeout, bool)
            or not isinstance(self.timeout, (int, float))
            or not 0 < self.timeout < float("inf")
        ):
            raise UsageError(
                f"--timeout {self.timeout!r}: must be a number of seconds > 0",
                "e.g. --timeout 600",
            )
        digests = tuple(str(d).strip().lower() for d in self.trusted_sha256)
        for digest in digests:
            if not _SHA256.fullmatch(digest):
                raise UsageError(
                    f"--trusted-sha256 {digest!r}: not a sha256 digest (64 hex digits)",
                    "compute it with `sha256sum saved_model.pb`",
                )
        object.__setattr__(self, "trusted_sha256", digests)
        from pytfpol import gates

        parsed = tuple(g if isinstance(g, gates.Gate) else gates.parse(g) for g in self.gates)
        object.__setattr__(self, "gates", parsed)
        gates.gates_for((), self.min_return)  # checks --min-return
        if self.success_threshold is not None and not (
            isinstance(self.success_threshold, (int, float))
            and not isinstance(self.success_threshold, bool)
            and abs(self.success_threshold) < float("inf")
        ):
            raise UsageError(
                f"--success-threshold {self.success_threshold!r}: must be a finite number",
                "e.g. --success-threshold 475 (an episode succeeds when its return is at least this)",
            )

    @property
    def all_gates(self) -> tuple:
        """`--min-return X` as the gate `mean_return>=X`, then the `--gate`s."""
        from pytfpol import gates

        return gates.gates_for((), self.min_return) + self.gates

    @property
    def num_envs_used(self) -> int:
        """Environments run side by side: never more than there are episodes. By default
        enough that one policy call serves many env steps (`default_num_envs`)."""
        wanted = self.num_envs if self.num_envs is not None else default_num_envs(self.vector)
        return max(1, min(wanted, self.episodes))

    @property
    def groups_used(self) -> int:
        """Groups of environments, each computed by one policy call (see
        `default_pipeline_groups`); never more than there are environments."""
        wanted = self.pipeline_groups
        if wanted is None:
            wanted = default_pipeline_groups(self.vector, self.num_envs_used)
        return max(1, min(wanted, self.num_envs_used))

    @property
    def policy_batch_size(self) -> int:
        """Rows of one policy call: the environments of one group."""
        return -(-self.num_envs_used // self.groups_used)


def default_pipeline_groups(vector: str, num_envs: int) -> int:
    """One group: measured by `make bench` (bench/README.md), a policy call through the session
    callable costs ~15-50 us, less than the steps it serves from 16 environments up, and on a
    2-core machine shared with other jobs a worker thread rarely finds a free core to overlap it."""
    return 1


def default_num_envs(vector: str) -> int:
    """64 environments in-process (a policy call then costs little per step); 32 per worker
    process for async (one worker per CPU); 256 for native vectorised envs, whose steps are
    so cheap that only a large batch amortises the policy call."""
    if vector == "native":
        return 256
    if vector == "async":
        try:
            cpus = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            cpus = os.cpu_count() or 1
        return 32 * max(1, cpus)
    return 64


def _require_int(option: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UsageError(
            f"{option} {value!r}: must be an integer >= {minimum}",
            f"use a whole number of at least {minimum} (not a bool or a float)",
        )


def parse_env_kwargs(values: Sequence[str]) -> dict[str, Any]:
    """`--env-kwargs` as one JSON object, or `key=value` pairs whose values are parsed as JSON
    when they can be (`render_mode=rgb_array g=9.81` gives {"render_mode": "rgb_array", "g": 9.81})."""
    kwargs: dict[str, Any] = {}
    for text in values:
        text = text.strip()
        if text.startswith("{"):
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError as exc:
                raise UsageError(
                    f"--env-kwargs {text!r}: not valid JSON ({exc.msg} at column {exc.colno})",
                    "write a JSON object, e.g. --env-kwargs '{\"g\": 9.81}', or key=value pairs",
                ) from exc
            if not isinstance(parsed, dict):
                raise UsageError(
                    f"--env-kwargs {text!r}: must be a JSON object",
                    "e.g. --env-kwargs '{\"g\": 9.81}'",
                )
            kwargs.update(parsed)
            continue
        for pair in _PAIR_SEPARATOR.split(text.rstrip(",")):
            if not pair.strip():
                continue
            key, sep, value = pair.partition("=")
            if not sep or not key.strip().isidentifier():
                raise UsageError(
                    f"--env-kwargs {pair!r}: expected key=value",
                    "e.g. --env-kwargs g=9.81 or --env-kwargs '{\"g\": 9.81}'",
                )
            kwargs[key.strip()] = _parse_value(value.strip())
    return kwargs


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text
