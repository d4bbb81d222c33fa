"""What a path on disk holds: every name and pattern pytfpol knows, and the one detector of it.

`eval`, `inspect` (and `sweep`) all start here. `detect(path)` looks at names and file types only
(no file is opened but the small `checkpoint` state file, nothing is created) and returns a
`Layout`: its kind, the SavedModels in it and every checkpoint it holds, oldest first, each with
what is wrong with it if anything. `select(layout, step=..., checkpoint=...)` then picks the one
checkpoint to use by the same rules for every kind:

- `--step N` names the checkpoint at train step N (`ckpt-N`, `policy_checkpoint_<N>`,
  `policy_<N>`); a step that is not there is an InputError listing the steps that are.
- `--checkpoint PATH` names one checkpoint by path (a prefix, its `.index`, a
  `policy_checkpoint_<N>` directory, ...); it must be the kind of checkpoint the input takes.
- Neither: the newest complete checkpoint by step. A newer one whose files are not all there
  (its `.index` not yet written, or its data gone) is skipped with a warning naming the missing
  file; one whose files are there but damaged (a FIFO, a directory, a device, bad bytes) is
  selected all the same, so that validation refuses it (exit 3) naming the damaged file: a
  damaged newest checkpoint is never silently replaced by an older one. The `checkpoint` state
  file is never followed: when it names another checkpoint, a warning says so.
"""

from __future__ import annotations

import contextvars
import dataclasses
import functools
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from pytfpol.errors import InputError, UsageError
from pytfpol.formats import checkpoint_reader

# ------------------------------------------------------------------------------ names on disk

SAVED_MODEL_PB = "saved_model.pb"
POLICY_SPECS = "policy_specs.pbtxt"
VARIABLES_PREFIX = os.path.join("variables", "variables")  # a SavedModel's or policy checkpoint's
STATE_FILE = "checkpoint"  # tf.train.CheckpointManager's state file
POLICIES_DIR = "policies"  # Learner: PolicySavedModelTrigger's root
CHECKPOINTS_DIR = "checkpoints"  # Learner: policies/checkpoints/policy_checkpoint_<step>
POLICY_SAVED_MODEL_DIR = "policy_saved_model"  # PPO v2 train_eval: policy_<step>/ SavedModels
TRAIN_DIR = "train"  # train_eval scripts: root/train/{ckpt-*, policy/}
POLICY_CHECKPOINTER_DIR = "policy"  # train_eval scripts: root/train/policy/ckpt-*
LEARNER_POLICIES = {"greedy": "greedy_policy", "collect": "collect_policy", "policy": "policy"}

POLICY_CHECKPOINT_RE = re.compile(r"^policy_checkpoint_(\d+)$")
POLICY_SAVED_MODEL_RE = re.compile(r"^policy_(\d+)$")
CKPT_INDEX_RE = re.compile(r"^ckpt-(\d+)\.index$")
CKPT_DATA_RE = re.compile(r"^ckpt-(\d+)\.data-\d{5}-of-\d{5}$")
CKPT_NAME_RE = re.compile(r"^ckpt-(\d+)$")
CKPT_DATA_START_RE = re.compile(r"^(ckpt-\d+)\.data-")  # any file named like a bundle's data

# What `pytfpol eval` writes into OUT.
STATS_JSON = "stats.json"
EPISODES_CSV = "episodes.csv"
RETURNS_PNG = "returns.png"  # with --plot
VIDEOS_DIR = "videos"  # with --video: episode-<index>.mp4 (or .gif)
TRAJECTORIES_DIR = "trajectories"  # with --save-trajectories: episode-<index>.npz
OUTPUT_CHECKPOINT_DIR = "checkpoint"  # the new checkpoint, in the layout of the input
BUNDLED_CONFIG = "pytfpol-policy.toml"  # the policy config saved with it
LOCK_NAME = ".pytfpol.lock"  # the output directory's lock file (see locking)
SET_MANIFEST = ".pytfpol-outputs.json"  # OUT's output set: each file, size, sha256 (see storage)
# What `pytfpol sweep` writes into OUT.
SWEEP_JSON = "sweep.json"
CURVE_CSV = "curve.csv"
CURVE_PNG = "curve.png"
TENSORBOARD_DIR = "tensorboard"
BEST_DIR = "best"  # the best checkpoint, as an output directory of `pytfpol eval`
JOURNAL_DIR = "journal"  # each checkpoint's result, as soon as it is known
EVALUATION_DIR = "evaluation"  # OUT/checkpoint/evaluation/: pytfpol's own NumpyState checkpoint
EVALUATION_PREFIX = os.path.join(EVALUATION_DIR, "evaluation")
# The columns of the `evaluation/history` NumpyState array, one row per evaluation.
HISTORY_COLUMNS = ("train_step", "episodes", "mean_return", "std_return", "unix_time")

# ------------------------------------------------------------------------------ kinds

KIND_SAVED_MODEL = "saved_model"  # a PolicySaver SavedModel on its own
KIND_LEARNER = "learner_policies"  # a Learner policies/ root (or a SavedModel inside one)
KIND_CHECKPOINTER = "checkpointer_dir"  # a common.Checkpointer directory of ckpt-<step>
KIND_SAVED_MODEL_SERIES = "saved_model_series"  # PPO's policy_saved_model/policy_<step>/
KIND_POLICY_CHECKPOINT = "policy_checkpoint"  # one policies/checkpoints/policy_checkpoint_<step>
KIND_CHECKPOINT = "checkpoint"  # one checkpoint prefix (ckpt-30, its .index or .data-*)
KIND_EVAL_OUTPUT = "eval_output"  # an output directory of `pytfpol eval`

KIND_NAMES = {
    KIND_SAVED_MODEL: "a PolicySaver SavedModel",
    KIND_LEARNER: "a Learner policies/ root",
    KIND_CHECKPOINTER: "a common.Checkpointer directory",
    KIND_SAVED_MODEL_SERIES: "a folder of SavedModels (policy_saved_model/)",
    KIND_POLICY_CHECKPOINT: "a Learner policy checkpoint",
    KIND_CHECKPOINT: "a checkpoint prefix",
    KIND_EVAL_OUTPUT: "an output directory of pytfpol eval",
}

INPUT_KINDS_HELP = (
    "a PolicySaver SavedModel (saved_model.pb); a Learner policies/ root, a SavedModel inside "
    "it, or the training dir above it; a common.Checkpointer directory (ckpt-<step>.index), one "
    "of its checkpoints (ckpt-<step>), or a train dir holding policy/; PPO's "
    "policy_saved_model/ folder; an output directory of pytfpol eval"
)


@dataclass(frozen=True)
class Checkpoint:
    """One checkpoint of a layout: what TensorFlow reads, and what a user would name."""

    name: str  # ckpt-30, policy_checkpoint_0000000030, policy_000000030
    step: Optional[int]  # the train step in its name
    prefix: str  # the bundle prefix TensorFlow reads
    path: str  # what a user names: the prefix (ckpt-30) or the directory
    missing: tuple[str, ...] = ()  # paths of its files that are not there (being written?)
    saved_model: Optional[str] = None  # a series' SavedModel directory (its own graph)

    @property
    def complete(self) -> bool:
        return not self.missing


@dataclass(frozen=True)
class Layout:
    """What `detect` found at a path."""

    kind: str
    path: str  # as the user gave it
    directory: str  # the directory of that kind (e.g. policies/ for a train dir)
    saved_models: dict = field(default_factory=dict)  # Learner: --policy name -> SavedModel dir
    checkpoints: tuple[Checkpoint, ...] = ()  # oldest first
    given_policy: Optional[str] = None  # the Learner SavedModel the path itself named
    given_checkpoint: Optional[Checkpoint] = None  # the checkpoint the path itself named
    state: Optional[checkpoint_reader.CheckpointState] = None  # never followed; for warnings
    state_problem: Optional[str] = None  # why the state file could not be read
    # The layout this path is one part of: the Learner root of one of its SavedModels or policy
    # checkpoints, the Checkpointer directory of one ckpt-<step>. `in_context()` uses it.
    container: Optional[Layout] = None

    @property
    def description(self) -> str:
        return KIND_NAMES[self.kind]

    @property
    def steps(self) -> list[int]:
        return [c.step for c in self.checkpoints if c.step is not None]

    @functools.cached_property
    def by_step(self) -> dict[int, Checkpoint]:
        """The last checkpoint at each step: a sweep looks up every one of thousands by step."""
        return {c.step: c for c in self.checkpoints if c.step is not None}

    def in_context(self) -> Layout:
        """The containing layout, with this path's SavedModel or checkpoint as the given one
        (what `eval` evaluates); this layout itself when it stands alone."""
        if self.container is None:
            return self
        return dataclasses.replace(
            self.container,
            path=self.path,
            given_policy=self.given_policy,
            given_checkpoint=self.given_checkpoint,
        )


@dataclass(frozen=True)
class Selection:
    """The checkpoint `select` chose (None: the SavedModel's own weights) and why not others."""

    checkpoint: Optional[Checkpoint]
    warnings: tuple[str, ...] = ()


# ------------------------------------------------------------------------------ detection


def detect(path: str | os.PathLike) -> Layout:
    """The layout at `path`; InputError (naming it) when pytfpol does not know it. Each
    directory is listed at most once (a run of 10,000 checkpoints is one `listdir`)."""
    token = _LISTINGS.set({})
    try:
        return _detect(path)
    finally:
        _LISTINGS.reset(token)


def _detect(path: str | os.PathLike) -> Layout:
    given = Path(path)
    text = os.fspath(path)
    if not given.is_dir():
        prefix = checkpoint_reader.prefix_of(given)
        if prefix is not None and not Path(prefix).is_dir():
            return _single_checkpoint(text, Path(prefix))
        if not given.exists():
            raise InputError(
                f"{given}: no such file or directory (nor a checkpoint prefix)",
                "check the path to the saved policy",
                path=given,
            )
        raise InputError(
            f"{given}: is a file, not a checkpoint (.index, .data-*) or a policy directory",
            f"give {INPUT_KINDS_HELP}",
            path=given,
        )
    return _detect_directory(text, given)


def _detect_directory(text: str, directory: Path) -> Layout:
    if (directory / STATS_JSON).exists():
        return _eval_output(text, directory)
    if _is_saved_model(directory):
        learner_root = _learner_root_of(directory)
        if learner_root is None:
            return Layout(KIND_SAVED_MODEL, text, str(directory))
        given = next(k for k, v in LEARNER_POLICIES.items() if v == _named(directory).name)
        return Layout(
            KIND_SAVED_MODEL,
            text,
            str(directory),
            given_policy=given,
            container=_learner(text, learner_root),
        )
    if _is_learner_root(directory):
        return _learner(text, directory)
    if POLICY_CHECKPOINT_RE.match(_named(directory).name) and _exists(
        directory / VARIABLES_PREFIX, ".index"
    ):
        return _policy_checkpoint(text, directory)
    if _is_learner_root(directory / POLICIES_DIR):
        return _learner(text, directory / POLICIES_DIR)
    if (directory / POLICY_SAVED_MODEL_DIR).is_dir():
        return _series(text, directory / POLICY_SAVED_MODEL_DIR)
    if _named(directory).name == POLICY_SAVED_MODEL_DIR or _saved_model_steps(directory):
        return _series(text, directory)
    for sub in (Path(TRAIN_DIR) / POLICY_CHECKPOINTER_DIR, Path(POLICY_CHECKPOINTER_DIR)):
        if _is_checkpointer_dir(directory / sub):  # a train_eval root or its train/ dir
            return _checkpointer(text, directory / sub)
    if _is_checkpointer_dir(directory):
        return _checkpointer(text, directory)
    raise InputError(
        f"{directory}: not a TF-Agents policy directory (no {SAVED_MODEL_PB}, no policies/, "
        "no ckpt-<step>.index, no policy_saved_model/)",
        f"give {INPUT_KINDS_HELP}",
        path=directory,
    )


def _single_checkpoint(text: str, prefix: Path) -> Layout:
    """A checkpoint prefix; part of a Checkpointer directory when it is named like one."""
    match = CKPT_NAME_RE.match(prefix.name)
    entry = (
        _ckpt_entry(prefix.parent, int(match.group(1)))
        if match
        else Checkpoint(prefix.name, None, str(prefix), str(prefix), _missing_bundle(prefix))
    )
    container = (
        _checkpointer(text, prefix.parent)
        if match and _is_checkpointer_dir(prefix.parent)
        else None
    )
    return Layout(
        KIND_CHECKPOINT,
        text,
        str(prefix.parent),
        checkpoints=(entry,),
        given_checkpoint=entry,
        container=container,
    )


def _learner(text: str, root: Path) -> Layout:
    saved_models = {
        name: str(root / sub) for name, sub in LEARNER_POLICIES.items() if (root / sub).is_dir()
    }
    return Layout(
        KIND_LEARNER,
        text,
        str(root),
        saved_models=saved_models,
        checkpoints=tuple(list_policy_checkpoints(root / CHECKPOINTS_DIR)),
    )


def _policy_checkpoint(text: str, directory: Path) -> Layout:
    """One policy_checkpoint_<step>; part of its Learner root when it sits in one."""
    entry = _policy_checkpoint_entry(directory)
    root = _named(directory).parent
    in_learner = root.name == CHECKPOINTS_DIR and _is_learner_root(root.parent)
    return Layout(
        KIND_POLICY_CHECKPOINT,
        text,
        str(directory),
        checkpoints=(entry,),
        given_checkpoint=entry,
        container=_learner(text, root.parent) if in_learner else None,
    )


def _series(text: str, directory: Path) -> Layout:
    return Layout(
        KIND_SAVED_MODEL_SERIES,
        text,
        str(directory),
        checkpoints=tuple(_saved_model_steps(directory)),
    )


def _checkpointer(text: str, directory: Path) -> Layout:
    state, problem = None, None
    try:
        state = checkpoint_reader.read_checkpoint_state(directory)
    except InputError as exc:
        problem = exc.message
    return Layout(
        KIND_CHECKPOINTER,
        text,
        str(directory),
        checkpoints=tuple(list_checkpointer_dir(directory)),
        state=state,
        state_problem=problem,
    )


def _eval_output(text: str, directory: Path) -> Layout:
    """An output directory of `pytfpol eval`: its checkpoint/ in the layout of the input."""
    checkpoint_dir = directory / OUTPUT_CHECKPOINT_DIR
    checkpoints: tuple[Checkpoint, ...] = ()
    if checkpoint_dir.is_dir():
        checkpoints = tuple(list_checkpointer_dir(checkpoint_dir))
        if not checkpoints and _exists(checkpoint_dir / VARIABLES_PREFIX, ".index"):
            checkpoints = (_policy_checkpoint_entry(checkpoint_dir),)
    return Layout(KIND_EVAL_OUTPUT, text, str(directory), checkpoints=checkpoints)


# ------------------------------------------------------------------------------ listings


def list_checkpointer_dir(directory: str | os.PathLike) -> list[Checkpoint]:
    """Every `ckpt-<step>` of a Checkpointer directory, oldest first: each step that has an
    `.index` (of any file type: validation judges it) or data files without one."""
    steps: set[int] = set()
    indexed: set[str] = set()  # prefixes (ckpt-<step>) with an .index
    with_data: set[str] = set()  # prefixes with a file named like data (`_missing_bundle`)
    for name in _names(directory):  # listed once: every entry is judged from these names
        index = CKPT_INDEX_RE.match(name)
        if index:
            steps.add(int(index.group(1)))
            indexed.add(name[: -len(".index")])
            continue
        data = CKPT_DATA_START_RE.match(name)
        if data:
            with_data.add(data.group(1))
            match = CKPT_DATA_RE.match(name)
            if match:
                steps.add(int(match.group(1)))
    base = str(Path(directory))  # joined as text: pathlib costs ~50 µs a checkpoint
    entries = []
    for step in sorted(steps):
        name = f"ckpt-{step}"
        prefix = name if base == "." else os.path.join(base, name)  # str(Path(base) / name)
        missing = _missing_from(name in indexed, name in with_data)
        entries.append(Checkpoint(name, step, prefix, prefix, tuple(prefix + m for m in missing)))
    return entries


def _ckpt_entry(directory: Path, step: int) -> Checkpoint:
    prefix = directory / f"ckpt-{step}"
    return Checkpoint(prefix.name, step, str(prefix), str(prefix), _missing_bundle(prefix))


def list_policy_checkpoints(checkpoints_dir: str | os.PathLike) -> list[Checkpoint]:
    """Every `policy_checkpoint_<step>` directory of a Learner root, oldest first."""
    found = []
    for name in _names(checkpoints_dir):
        match = POLICY_CHECKPOINT_RE.match(name)
        if match and (Path(checkpoints_dir) / name).is_dir():
            found.append(_policy_checkpoint_entry(Path(checkpoints_dir) / name))
    return sorted(found, key=lambda c: (c.step, c.name))


def _policy_checkpoint_entry(directory: Path) -> Checkpoint:
    match = POLICY_CHECKPOINT_RE.match(_named(directory).name)
    prefix = directory / VARIABLES_PREFIX
    return Checkpoint(
        _named(directory).name,
        int(match.group(1)) if match else None,
        str(prefix),
        str(directory),
        _missing_bundle(prefix),
    )


def _saved_model_steps(directory: Path) -> list[Checkpoint]:
    """The `policy_<step>` SavedModels of a policy_saved_model/ folder, oldest first."""
    found = []
    for name in _names(directory):
        match = POLICY_SAVED_MODEL_RE.match(name)
        sub = directory / name if match else None
        if sub is not None and sub.is_dir():
            missing = tuple(
                str(sub / n) for n in (SAVED_MODEL_PB, POLICY_SPECS) if not (sub / n).exists()
            ) + _missing_bundle(sub / VARIABLES_PREFIX)
            found.append(
                Checkpoint(
                    name,
                    int(match.group(1)),
                    str(sub / VARIABLES_PREFIX),
                    str(sub),
                    missing,
                    saved_model=str(sub),
                )
            )
    return sorted(found, key=lambda c: (c.step, c.name))


def _missing_bundle(prefix: Path) -> tuple[str, ...]:
    """What of a bundle is not there: its `.index` (TensorFlow writes it last, so its data may be
    there already: a write in progress), or every data file. Only names are looked at; files
    that are there but damaged are for validation to refuse."""
    if not _exists(prefix, ".index"):
        return (f"{prefix}.index",)
    data = f"{prefix.name}.data-"
    if not any(name.startswith(data) for name in _names(prefix.parent)):
        return (f"{prefix}.data-*",)
    return ()


def _missing_from(has_index: bool, has_data: bool) -> tuple[str, ...]:
    """The suffixes `_missing_bundle` would name, from what one listing of the directory saw."""
    if not has_index:
        return (".index",)
    return () if has_data else (".data-*",)


# The listings of one `detect` call, by directory: every question about a directory's names
# in that call is answered from one `os.listdir`.
_LISTINGS: contextvars.ContextVar[Optional[dict]] = contextvars.ContextVar(
    "pytfpol_listings", default=None
)


def _names(directory: str | os.PathLike) -> list[str]:
    listings = _LISTINGS.get()
    key = os.path.normpath(os.fspath(directory))
    if listings is not None and key in listings:
        return listings[key]
    try:
        names = os.listdir(directory)
    except OSError:
        names = []
    if listings is not None:
        listings[key] = names
    return names


def _exists(prefix: Path, suffix: str = "") -> bool:
    return os.path.lexists(f"{prefix}{suffix}")


# ------------------------------------------------------------------------------ selection


def select(
    layout: Layout,
    step: Optional[int] = None,
    checkpoint: str | os.PathLike | None = None,
) -> Selection:
    """The checkpoint to use, by the rules in the module docstring."""
    if step is not None and checkpoint is not None:
        raise UsageError(
            "--step and --checkpoint both name a checkpoint", "give one of them, not both"
        )
    if layout.kind == KIND_SAVED_MODEL and step is not None:
        raise UsageError(
            f"--step {step}: {layout.path} is {layout.description}, which holds one set of "
            "weights and no checkpoints",
            "drop --step, or give the directory of checkpoints (e.g. a Learner policies/ root)",
        )
    if checkpoint is not None:
        return Selection(_given_checkpoint(layout, Path(checkpoint)))
    if layout.given_checkpoint is not None:
        if step is not None and step != layout.given_checkpoint.step:
            raise UsageError(
                f"--step {step}: {layout.path} is itself the checkpoint at step "
                f"{layout.given_checkpoint.step}",
                "drop --step, or give the directory that holds the checkpoints",
            )
        return Selection(_require_complete(layout.given_checkpoint, layout))
    if step is not None:
        return Selection(_at_step(layout, step))
    return _newest(layout)


def _at_step(layout: Layout, step: int) -> Checkpoint:
    matching = layout.by_step.get(step)
    if matching is None:
        steps = ", ".join(str(s) for s in layout.steps) or "none"
        raise InputError(
            f"{layout.directory}: no checkpoint at step {step}",
            f"steps there: {steps}",
            path=layout.directory,
        )
    return _require_complete(matching, layout)


def _require_complete(entry: Checkpoint, layout: Layout) -> Checkpoint:
    if entry.missing:
        missing = _missing_data_files(entry) or entry.missing[0]
        steps = ", ".join(str(s) for s in layout.steps) or "none"
        raise InputError(
            f"{missing}: missing, so checkpoint {entry.name} is incomplete",
            f"it may still be being written, or was deleted; steps there: {steps} (--step N)",
            path=missing,
        )
    return entry


def _missing_data_files(entry: Checkpoint) -> Optional[str]:
    """The first data file an index names that is not there (the index read for its header;
    an index that cannot be read is the damaged file: its InputError is raised); None when
    there is no index."""
    if not _exists(Path(entry.prefix), ".index"):
        return None
    header = checkpoint_reader.read_index(entry.prefix).header
    for shard in range(header.num_shards):
        path = checkpoint_reader.data_path(entry.prefix, shard, header.num_shards)
        if not os.path.lexists(path):
            return str(path)
    return None


def _newest(layout: Layout) -> Selection:
    if not layout.checkpoints:
        if layout.kind in (KIND_CHECKPOINTER, KIND_SAVED_MODEL_SERIES):
            expected = "ckpt-<step>.index" if layout.kind == KIND_CHECKPOINTER else "policy_<step>/"
            raise InputError(
                f"{layout.directory}: holds no checkpoint (no {expected})",
                "point at the directory the checkpoints were saved into",
                path=layout.directory,
            )
        return Selection(None)
    complete = [c for c in layout.checkpoints if c.complete]
    warnings = []
    if not complete:
        _require_complete(layout.checkpoints[-1], layout)
    chosen = complete[-1]
    skipped = [c for c in layout.checkpoints if not c.complete and _later(c, chosen)]
    if skipped:
        names = ", ".join(f"{c.name} (missing {_missing_path(c)})" for c in skipped)
        warnings.append(
            f"skipped {names}: incomplete, being written or deleted; using {chosen.name}"
        )
    warnings.extend(_state_warnings(layout, chosen, skipped))
    return Selection(chosen, tuple(warnings))


def _later(entry: Checkpoint, than: Checkpoint) -> bool:
    return (entry.step if entry.step is not None else -1) > (
        than.step if than.step is not None else -1
    )


def _missing_path(entry: Checkpoint) -> str:
    try:
        return _missing_data_files(entry) or entry.missing[0]
    except InputError:  # an unreadable index: name what the listing saw
        return entry.missing[0]


def _state_warnings(layout: Layout, chosen: Checkpoint, skipped: list) -> list[str]:
    """A `checkpoint` state file that names another checkpoint than the one used (one already
    named as skipped needs no second warning)."""
    state_path = Path(layout.directory) / STATE_FILE
    if layout.state_problem is not None:
        return [f"{layout.state_problem}; ignored it and used {chosen.name}"]
    if layout.state is None or layout.state.model_checkpoint_path is None:
        return []
    named = layout.state.model_checkpoint_path
    if named == chosen.name or named in {c.name for c in skipped}:
        return []
    return [
        f"{state_path} names {named}, which is not the newest complete checkpoint; "
        f"used {chosen.name} (pytfpol picks by step and never follows the state file; "
        "--step N chooses)"
    ]


def _given_checkpoint(layout: Layout, given: Path) -> Checkpoint:
    """`--checkpoint PATH`: the checkpoint it names, of the kind `layout` takes."""
    if layout.kind in (KIND_SAVED_MODEL_SERIES,):
        raise UsageError(
            f"--checkpoint: {layout.path} is {layout.description}; each policy_<step> holds "
            "its own weights",
            "choose one with --step N",
        )
    if layout.kind in (KIND_CHECKPOINTER, KIND_CHECKPOINT) or (
        layout.kind == KIND_EVAL_OUTPUT and _is_checkpointer_output(layout)
    ):
        prefix = checkpoint_reader.prefix_of(given)
        if prefix is None or Path(prefix).is_dir():
            raise _not_a_checkpoint(given, layout, "a ckpt-<step> prefix (or its .index)")
        match = CKPT_NAME_RE.match(Path(prefix).name)
        return Checkpoint(
            Path(prefix).name,
            int(match.group(1)) if match else None,
            prefix,
            prefix,
            _missing_bundle(Path(prefix)),
        )
    # Learner roots and SavedModels take a policy checkpoint directory (or its variables/ files).
    exists = given.exists() or os.path.lexists(f"{given}.index")
    candidates = (given, given.parent, given.parent.parent) if exists else ()
    directory = next((c for c in candidates if _exists(c / VARIABLES_PREFIX, ".index")), None)
    if directory is None:
        if checkpoint_reader.prefix_of(given) is not None and CKPT_NAME_RE.match(
            Path(checkpoint_reader.prefix_of(given)).name
        ):
            raise UsageError(
                f"--checkpoint {given}: is a common.Checkpointer checkpoint; {layout.path} is "
                f"{layout.description}, which takes a policy_checkpoint_<step> directory",
                "give a policies/checkpoints/policy_checkpoint_<step> directory",
            )
        raise _not_a_checkpoint(given, layout, f"a directory with {VARIABLES_PREFIX}.index")
    return _policy_checkpoint_entry(directory)


def _not_a_checkpoint(given: Path, layout: Layout, expected: str) -> InputError:
    problem = "no such file or directory" if not given.exists() else "not a checkpoint"
    return InputError(
        f"--checkpoint {given}: {problem} (expected {expected}, for {layout.description})",
        "give a checkpoint of the input, e.g. with the path `pytfpol inspect` lists",
        path=given,
    )


def _is_checkpointer_output(layout: Layout) -> bool:
    return any(CKPT_NAME_RE.match(c.name) for c in layout.checkpoints)


# ------------------------------------------------------------------------------ predicates


def _is_saved_model(directory: Path) -> bool:
    return (directory / SAVED_MODEL_PB).exists()


def _is_learner_root(directory: Path) -> bool:
    return any(_is_saved_model(directory / sub) for sub in LEARNER_POLICIES.values())


def _is_checkpointer_dir(directory: Path) -> bool:
    if not directory.is_dir():
        return False
    return (directory / STATE_FILE).exists() or any(
        CKPT_INDEX_RE.match(n) or CKPT_DATA_RE.match(n) for n in _names(directory)
    )


def _named(directory: Path) -> Path:
    """`directory`, resolved when it has no name of its own (`.`, `..`)."""
    return directory if directory.name not in ("", "..", ".") else directory.resolve()


def _learner_root_of(saved_model_dir: Path) -> Optional[Path]:
    """The policies/ root when `saved_model_dir` is one of its SavedModels with checkpoints."""
    directory = _named(saved_model_dir)
    if (
        directory.name in LEARNER_POLICIES.values()
        and (directory.parent / CHECKPOINTS_DIR).is_dir()
    ):
        return directory.parent
    return None


def is_regular_file(path: str | os.PathLike) -> bool:
    """A regular file (following symlinks); never opens it (a FIFO would block)."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False
