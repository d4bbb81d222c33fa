"""Every name and pattern pytfpol knows on disk, the kinds of input, and what `detect` and
`select` return (`Layout`, `Checkpoint`, `Selection`)."""

from __future__ import annotations

import dataclasses
import functools
import os
import re
from dataclasses import dataclass, field
from typing import Optional

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
