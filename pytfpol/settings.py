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
# One group whatever --vector and --num-envs: measured by `make bench` (bench/README.md), a policy
# call through the session callable costs ~15-50 us, less than the steps it serves from 16
# environments up, and on a 2-core machine shared with other jobs a worker thread rarely finds a
# free core to overlap it.
DEFAULT_PIPELINE_GROUPS = 1
VIDEO_FORMATS = ("mp4", "gif")
BACKENDS = ("local", "ray")
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
    wrappers: tuple = ()  # --wrapper NAME[:key=value,...] or a preset, applied in order
    env_spec: Optional[str] = None  # a recorded Gymnasium EnvSpec (JSON): the env itself
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
    # DEFAULT_PIPELINE_GROUPS.
    pipeline_groups: Optional[int] = None
    timeout: Optional[float] = None  # seconds for the whole run (loading included); exit 4
    trusted_sha256: tuple = ()  # accepted sha256 digests of saved_model.pb; () accepts any
    overwrite: bool = False  # replace another policy's results in --out, beside foreign files
    gates: tuple = ()  # --gate expressions ("iqm_return>=450") or gates.Gate values
    metrics: tuple = ()  # --metric info.KEY[:sum|last|max|mean] or running.metrics.Metric values
    success_threshold: Optional[float] = None  # an episode succeeds when its return >= this
    plot: bool = False  # also write OUT/returns.png
    tensorboard: Optional[str] = None  # eval's event files (None: OUT/tensorboard)
    video: tuple = ()  # episode indices recorded as OUT/videos/episode-<index>.<video_format>
    video_format: str = "mp4"  # mp4 (imageio-ffmpeg) or gif (Pillow)
    save_trajectories: bool = False  # OUT/trajectories/episode-<index>.npz for every episode
    dataset: Optional[str] = None  # also export the episodes as this Minari dataset
    backend: str = "local"  # who runs the units: this process, or actors of a Ray cluster
    ray_address: Optional[str] = None  # --ray-address (None: RAY_ADDRESS, else a local Ray)
    actors: Optional[int] = None  # Ray actors (None: one per CPU of the cluster)
    unit_episodes: Optional[int] = None  # episodes per unit of work (None: see units_size)
    shared_path: bool = False  # the policy files are at the same path on every Ray node
    # No code from data (code_from_data): import modules that files name (--allow-code), and
    # the files env_id and config were read from (None: the command line gave them).
    allow_code: bool = False
    env_named_in: Optional[str] = None
    config_named_in: Optional[str] = None

    def __post_init__(self) -> None:
        self._check_counts()
        self._check_vector()
        if not self.env_id:
            raise UsageError("--env is empty", "name a Gymnasium environment, e.g. CartPole-v1")
        object.__setattr__(self, "wrappers", tuple(self.wrappers))
        self._check_timeout()
        self._normalize_digests()
        from pytfpol import gates

        parsed = tuple(g if isinstance(g, gates.Gate) else gates.parse(g) for g in self.gates)
        object.__setattr__(self, "gates", parsed)
        gates.gates_for((), self.min_return)  # checks --min-return
        self._check_metrics()
        self._check_recording()
        self._check_backend()
        self._check_success_threshold()

    def _check_metrics(self) -> None:
        """--metric values parsed; a gate on a metric names one of them."""
        from pytfpol.running import metrics

        object.__setattr__(self, "metrics", metrics.parse_all(self.metrics))
        asked = {m.name for m in self.metrics}
        for gate in self.gates:
            name, _ = metrics.split_statistic(gate.statistic)
            if name and name not in asked:
                raise UsageError(
                    f"--gate {gate.expression!r}: {name} is not measured",
                    f"add --metric {name} (with its aggregation, e.g. {name}:max)",
                )

    def _check_counts(self) -> None:
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

    def _check_vector(self) -> None:
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

    def _check_timeout(self) -> None:
        if self.timeout is not None and (
            isinstance(self.timeout, bool)
            or not isinstance(self.timeout, (int, float))
            or not 0 < self.timeout < float("inf")
        ):
            raise UsageError(
                f"--timeout {self.timeout!r}: must be a number of seconds > 0",
                "e.g. --timeout 600",
            )

    def _normalize_digests(self) -> None:
        """--trusted-sha256 as lower-case hex digests, each checked."""
        digests = tuple(str(d).strip().lower() for d in self.trusted_sha256)
        for digest in digests:
            if not _SHA256.fullmatch(digest):
                raise UsageError(
                    f"--trusted-sha256 {digest!r}: not a sha256 digest (64 hex digits)",
                    "compute it with `sha256sum saved_model.pb`",
                )
        object.__setattr__(self, "trusted_sha256", digests)

    def _check_success_threshold(self) -> None:
        if self.success_threshold is not None and not (
            isinstance(self.success_threshold, (int, float))
            and not isinstance(self.success_threshold, bool)
            and abs(self.success_threshold) < float("inf")
        ):
            raise UsageError(
                f"--success-threshold {self.success_threshold!r}: must be a finite number",
                "e.g. --success-threshold 475 (an episode succeeds when its return is at least this)",
            )

    def _check_recording(self) -> None:
        for index in self.video:
            if isinstance(index, bool) or not isinstance(index, int) or index < 0:
                raise UsageError(
                    f"--video-episodes {index!r}: not an episode index",
                    "episode indices are whole numbers from 0",
                )
            if index >= self.episodes:
                raise UsageError(
                    f"--video-episodes {index}: there are only {self.episodes} episodes "
                    f"(0..{self.episodes - 1})",
                    "record episodes of this run, or raise --episodes",
                )
        object.__setattr__(self, "video", tuple(sorted(set(self.video))))
        if self.video_format not in VIDEO_FORMATS:
            raise UsageError(
                f"--video-format {self.video_format!r}: unknown",
                f"choose one of {', '.join(VIDEO_FORMATS)}",
            )
        if self.dataset is not None and not str(self.dataset).strip():
            raise UsageError("--dataset is empty", "name the dataset, e.g. cartpole/dqn-eval-v0")

    def _check_backend(self) -> None:
        """--backend and the options of Ray: the ones that mean nothing locally are refused."""
        if self.backend not in BACKENDS:
            raise UsageError(
                f"--backend {self.backend!r}: unknown", f"choose one of {', '.join(BACKENDS)}"
            )
        if self.actors is not None:
            _require_int("--actors", self.actors, minimum=1)
        if self.unit_episodes is not None:
            _require_int("--unit-episodes", self.unit_episodes, minimum=1)
        if self.backend == "ray":
            recording = [
                option
                for option, asked in (
                    ("--video", bool(self.video)),
                    ("--save-trajectories", self.save_trajectories),
                    ("--dataset", self.dataset is not None),
                )
                if asked
            ]
            if recording:
                raise UsageError(
                    f"{recording[0]}: recording runs in this process only, not with --backend ray",
                    "record with --backend local (e.g. `pytfpol replay` an episode of the Ray run)",
                )
            return
        for option, given in (
            ("--ray-address", self.ray_address is not None),
            ("--actors", self.actors is not None),
            ("--shared-path", self.shared_path),
        ):
            if given:
                raise UsageError(
                    f"{option}: has no meaning with --backend local",
                    f"add --backend ray, or drop {option}",
                )

    @property
    def all_gates(self) -> tuple:
        """`--min-return X` as the gate `mean_return>=X`, then the `--gate`s."""
        from pytfpol import gates

        return gates.gates_for((), self.min_return) + self.gates

    @property
    def ships_files(self) -> bool:
        """Whether the policy files' bytes go to the workers (Ray without --shared-path): then
        validation keeps the bytes it read, and they are shipped without being read again."""
        return self.backend == "ray" and not self.shared_path

    @property
    def num_envs_used(self) -> int:
        """Environments run side by side: never more than there are episodes. By default
        enough that one policy call serves many env steps (`default_num_envs`)."""
        wanted = self.num_envs if self.num_envs is not None else default_num_envs(self.vector)
        return max(1, min(wanted, self.episodes))

    @property
    def groups_used(self) -> int:
        """Groups of environments, each computed by one policy call (see
        `DEFAULT_PIPELINE_GROUPS`); never more than there are environments."""
        wanted = self.pipeline_groups
        if wanted is None:
            wanted = DEFAULT_PIPELINE_GROUPS
        return max(1, min(wanted, self.num_envs_used))

    @property
    def policy_batch_size(self) -> int:
        """Rows of one policy call: the environments of one group."""
        return -(-self.num_envs_used // self.groups_used)


@dataclass(frozen=True)
class SweepSettings:
    """`pytfpol sweep`: the selected checkpoints of one or more training runs (`paths`), each
    evaluated as `eval` would with `eval` (its `policy_path` is the first path; `--step` and
    `--checkpoint` are the sweep's to choose)."""

    paths: tuple
    eval: EvalSettings
    steps: Optional[tuple] = None  # (first, last) train steps, inclusive; either may be None
    every: Optional[int] = None  # every K-th selected checkpoint, from the first
    last: Optional[int] = None  # only the newest N selected checkpoints
    select: str = "mean_return"  # the statistic that picks the best checkpoint (the highest)
    confirm_episodes: Optional[int] = None  # fresh episodes for the best one (None: --episodes)
    tensorboard: Optional[str] = None  # where to write event files (None: OUT/tensorboard)
    watch: bool = False  # keep evaluating new checkpoints as training writes them
    watch_timeout: Optional[float] = None  # stop watching after this long without a new one
    poll_seconds: float = 5.0  # how often --watch lists the directories
    video_best: bool = False  # a video of the best checkpoint's median episode (eval.video_format)

    def __post_init__(self) -> None:
        from pytfpol import stats

        if not self.paths:
            raise UsageError("sweep needs at least one PATH", "give a training run's directory")
        object.__setattr__(self, "paths", tuple(str(p) for p in self.paths))
        if self.eval.step is not None or self.eval.checkpoint is not None:
            raise UsageError(
                "--step / --checkpoint: a sweep evaluates every checkpoint",
                "choose them with --steps A:B, --every K or --last N",
            )
        for option, value in (("--every", self.every), ("--last", self.last)):
            if value is not None:
                _require_int(option, value, minimum=1)
        if self.confirm_episodes is not None:
            _require_int("--confirm-episodes", self.confirm_episodes, minimum=0)
        names = [k for k in stats.SUMMARY_KEYS if k not in ("episodes", "total_steps")]
        if self.select not in names:
            raise UsageError(
                f"--select {self.select!r}: not a summary statistic",
                f"choose one of: {', '.join(names)}",
            )
        seconds: tuple[tuple[str, Optional[float]], ...] = (
            ("--watch-timeout", self.watch_timeout),
            ("--poll", self.poll_seconds),
        )
        for option, limit in seconds:
            if limit is not None and (
                isinstance(limit, bool) or not isinstance(limit, (int, float)) or limit <= 0
            ):
                raise UsageError(f"{option} {limit!r}: must be a number of seconds > 0", "e.g. 60")

    @property
    def confirm(self) -> int:
        return self.eval.episodes if self.confirm_episodes is None else self.confirm_episodes


def parse_steps(text: Optional[str]) -> Optional[tuple]:
    """`--steps A:B` (either side may be empty) as (A, B), inclusive train steps."""
    if text is None:
        return None
    first, sep, last = text.partition(":")
    try:
        bounds = tuple(int(part) if part.strip() else None for part in (first, last))
    except ValueError:
        bounds = None
    if not sep or bounds is None or any(b is not None and b < 0 for b in bounds):
        raise UsageError(
            f"--steps {text!r}: expected A:B, train steps (either may be left out)",
            "e.g. --steps 10000:50000, --steps 20000: or --steps :5000",
        )
    low, high = bounds
    if low is not None and high is not None and low > high:
        raise UsageError(
            f"--steps {text!r}: the first step is after the last",
            f"did you mean --steps {last}:{first}?",
        )
    return bounds


def video_episodes(first: Optional[int], indices: Optional[str], episodes: int) -> tuple:
    """`--video N` (the first N episodes) or `--video-episodes 3,7` as episode indices."""
    if first is not None and indices is not None:
        raise UsageError(
            "--video and --video-episodes: give one of them",
            "--video N records the first N episodes, --video-episodes I,J,... those episodes",
        )
    if first is not None:
        if first > episodes:
            raise UsageError(
                f"--video {first}: there are only {episodes} episodes",
                f"record at most --video {episodes}, or raise --episodes",
            )
        return tuple(range(first))
    if indices is None:
        return ()
    chosen = []
    for part in indices.split(","):
        try:
            chosen.append(int(part.strip()))
        except ValueError:
            raise UsageError(
                f"--video-episodes {indices!r}: {part.strip()!r} is not an episode index",
                "e.g. --video-episodes 3,7 (episode indices from 0)",
            ) from None
    return tuple(chosen)


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
