"""Find out what kind of policy a path holds, from the file system alone (no TensorFlow).

The result is a small, picklable `PolicySource` that `loading` turns into a running policy. Reading
never creates or changes anything: every path is checked here before TensorFlow sees it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from pytfpol.errors import InputError, UsageError

SAVED_MODEL_PB = "saved_model.pb"
POLICY_SPECS = "policy_specs.pbtxt"
VARIABLES_INDEX = os.path.join("variables", "variables.index")
CHECKPOINTS_DIR = "checkpoints"
POLICY_CHECKPOINT_RE = re.compile(r"^policy_checkpoint_(\d+)$")
CHECKPOINTER_INDEX_RE = re.compile(r"^ckpt-(\d+)\.index$")

# `--policy` choice -> directory name used by TF-Agents' PolicySavedModelTrigger.
LEARNER_POLICIES = {"greedy": "greedy_policy", "collect": "collect_policy", "policy": "policy"}

FORMAT_SAVED_MODEL = "saved_model"
FORMAT_LEARNER = "learner_policies"
FORMAT_CHECKPOINTER = "checkpointer"

OUTPUT_CHECKPOINT_DIR = "checkpoint"  # what `pytfpol eval` writes next to stats.json
BUNDLED_CONFIG = "pytfpol-policy.toml"  # the config copied into an output checkpoint


@dataclass(frozen=True)
class PolicySource:
    """Where a policy's graph and weights come from; small and picklable on purpose."""

    path: str  # what the user gave
    format: str  # FORMAT_SAVED_MODEL, FORMAT_LEARNER or FORMAT_CHECKPOINTER
    saved_model_dir: Optional[str]  # None for Checkpointer directories (no graph on disk)
    policy_name: Optional[str] = None  # greedy / collect / policy, for Learner roots
    checkpoint_dir: Optional[str] = None  # policy_checkpoint_* dir, or the Checkpointer dir
    checkpoint_step: Optional[int] = None  # the step in the checkpoint's file or dir name
    checkpoint_prefix: Optional[str] = None  # what tf.train.Checkpoint reads
    bundled_config: Optional[str] = None  # a config saved with an output checkpoint


def resolve_policy_source(
    path: str | os.PathLike,
    policy: str = "greedy",
    checkpoint: str | os.PathLike | None = None,
    step: Optional[int] = None,
) -> PolicySource:
    """Detect the layout at `path` and pick the SavedModel and checkpoint to use."""
    if policy not in LEARNER_POLICIES:
        raise UsageError(
            f"unknown --policy {policy!r}", f"choose one of: {', '.join(LEARNER_POLICIES)}"
        )
    root = Path(path)
    if not root.exists():
        raise InputError(
            f"{root}: no such file or directory",
            "check the path to the saved policy",
            path=root,
        )
    if not root.is_dir():
        raise InputError(
            f"{root}: is a file, not a policy directory",
            "give the directory written by PolicySaver (it holds saved_model.pb) "
            "or a Learner policies/ root",
            path=root,
        )
    if _is_saved_model(root):
        learner_root = _learner_root_of(root)
        if learner_root is not None:  # e.g. policies/greedy_policy: its checkpoints are siblings
            name = next(k for k, v in LEARNER_POLICIES.items() if v == _named(root).name)
            return _learner_source(learner_root, name, checkpoint, given=root)
        if checkpoint is not None:
            return _with_checkpoint(
                PolicySource(str(root), FORMAT_SAVED_MODEL, str(root)), Path(checkpoint)
            )
        return PolicySource(str(root), FORMAT_SAVED_MODEL, str(root))
    if any(_is_saved_model(root / d) for d in LEARNER_POLICIES.values()):
        return _learner_source(root, policy, checkpoint, given=root)
    if (root / "policies").is_dir():  # a training run's root dir
        source = resolve_policy_source(root / "policies", policy, checkpoint)
        return dataclasses.replace(source, path=str(root))
    if (root / "checkpoint").is_file() or list_checkpointer_dir(root):
        return _checkpointer_source(root, root, step)
    if (root / OUTPUT_CHECKPOINT_DIR).is_dir():  # an output directory of `pytfpol eval`
        return _output_source(root, step)
    raise InputError(
        f"{root}: not a TF-Agents policy directory (no {SAVED_MODEL_PB}, "
        f"no greedy_policy/ or policy/ inside, no ckpt-<step>.index)",
        "give a PolicySaver SavedModel directory, a Learner policies/ root or a "
        "common.Checkpointer directory",
        path=root,
    )


def list_checkpointer_dir(directory: Path) -> list[tuple[int, str]]:
    """(step, prefix) of every `ckpt-<step>.index` regular file, oldest first.

    The `checkpoint` state file is never followed: it may name paths anywhere."""
    found = []
    for entry in Path(directory).iterdir():
        match = CHECKPOINTER_INDEX_RE.match(entry.name)
        if match and entry.is_file():
            found.append((int(match.group(1)), str(entry.with_suffix(""))))
    return sorted(found)


def _checkpointer_source(given: Path, directory: Path, step: Optional[int]) -> PolicySource:
    available = list_checkpointer_dir(directory)
    if not available:
        raise InputError(
            f"{directory}: a `checkpoint` file but no ckpt-<step>.index beside it",
            "point at the directory common.Checkpointer saved into",
            path=directory,
        )
    chosen = available[-1]
    if step is not None:
        matching = [c for c in available if c[0] == step]
        if not matching:
            steps = ", ".join(str(s) for s, _ in available)
            raise InputError(
                f"{directory}: no checkpoint at step {step}",
                f"available steps: {steps}",
                path=directory,
            )
        chosen = matching[0]
    bundled = directory / BUNDLED_CONFIG
    return PolicySource(
        path=str(given),
        format=FORMAT_CHECKPOINTER,
        saved_model_dir=None,
        checkpoint_dir=str(directory),
        checkpoint_step=chosen[0],
        checkpoint_prefix=chosen[1],
        bundled_config=str(bundled) if bundled.is_file() else None,
    )


def _output_source(root: Path, step: Optional[int]) -> PolicySource:
    """An output directory of `pytfpol eval`: its checkpoint/ in the layout of the input."""
    directory = root / OUTPUT_CHECKPOINT_DIR
    if list_checkpointer_dir(directory):
        return _checkpointer_source(root, directory, step)
    saved_model = _saved_model_of_report(root)
    if saved_model is not None and (directory / VARIABLES_INDEX).is_file():
        source = PolicySource(str(root), FORMAT_SAVED_MODEL, str(saved_model))
        return dataclasses.replace(_with_checkpoint(source, directory), path=str(root))
    raise InputError(
        f"{directory}: not a checkpoint pytfpol can evaluate",
        "evaluate the original policy, or an output directory with its stats.json",
        path=directory,
    )


def _saved_model_of_report(root: Path) -> Optional[Path]:
    if not (root / "stats.json").is_file():  # never read a FIFO: it would block
        return None
    try:
        report = json.loads((root / "stats.json").read_text())
        saved_model = Path(report["policy"]["saved_model"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return saved_model if _is_saved_model(saved_model) else None


def _is_saved_model(directory: Path) -> bool:
    return (directory / SAVED_MODEL_PB).is_file()


def _named(directory: Path) -> Path:
    """`directory`, resolved when it has no name of its own (`.`, `..`)."""
    return directory if directory.name not in ("", "..") else directory.resolve()


def _learner_root_of(saved_model_dir: Path) -> Optional[Path]:
    """The policies/ root when `saved_model_dir` is one of its SavedModels with checkpoints."""
    directory = _named(saved_model_dir)
    if (
        directory.name in LEARNER_POLICIES.values()
        and (directory.parent / CHECKPOINTS_DIR).is_dir()
    ):
        return directory.parent
    return None


def _learner_source(
    root: Path, policy: str, checkpoint: str | os.PathLike | None, given: Path
) -> PolicySource:
    saved_model_dir = root / LEARNER_POLICIES[policy]
    _require_saved_model(saved_model_dir, root)
    source = PolicySource(str(given), FORMAT_LEARNER, str(saved_model_dir), policy_name=policy)
    if checkpoint is not None:
        return _with_checkpoint(source, Path(checkpoint))
    newest = newest_policy_checkpoint(root / CHECKPOINTS_DIR)
    return source if newest is None else _with_checkpoint(source, newest)


def _require_saved_model(saved_model_dir: Path, root: Path) -> None:
    if not saved_model_dir.is_dir():
        present = [k for k, v in LEARNER_POLICIES.items() if (root / v).is_dir()]
        raise InputError(
            f"{root}: has no {saved_model_dir.name}/ SavedModel",
            f"choose one that is there with --policy: {', '.join(present) or 'none found'}",
            path=saved_model_dir,
        )
    for name in (SAVED_MODEL_PB, POLICY_SPECS, VARIABLES_INDEX):
        if not (saved_model_dir / name).is_file():
            raise InputError(
                f"{saved_model_dir}: incomplete SavedModel, {name} is missing",
                "re-export the policy with TF-Agents' PolicySaver",
                path=saved_model_dir / name,
            )


def newest_policy_checkpoint(checkpoints_dir: Path) -> Optional[Path]:
    """The `policy_checkpoint_<step>` directory with the highest step, or None."""
    if not checkpoints_dir.is_dir():
        return None
    found = [
        (int(m.group(1)), p)
        for p in checkpoints_dir.iterdir()
        if (m := POLICY_CHECKPOINT_RE.match(p.name)) and p.is_dir()
    ]
    return max(found)[1] if found else None


def _with_checkpoint(source: PolicySource, checkpoint: Path) -> PolicySource:
    """Attach a `policy_checkpoint_*` directory (or its variables/ prefix) to a SavedModel."""
    _require_saved_model(Path(source.saved_model_dir), Path(source.saved_model_dir).parent)
    # Accept the directory, its variables/ folder, the variables/variables prefix or its .index.
    # A path that does not exist (a typo) is refused, never replaced by its parent directory.
    given = checkpoint.exists() or Path(f"{checkpoint}.index").is_file()
    candidates = (checkpoint, checkpoint.parent, checkpoint.parent.parent) if given else ()
    directory = next((c for c in candidates if (c / VARIABLES_INDEX).is_file()), None)
    if directory is None:
        problem = (
            "no such file or directory" if not checkpoint.exists() else "not a policy checkpoint"
        )
        raise InputError(
            f"{checkpoint}: {problem} (expected {VARIABLES_INDEX} inside)",
            "give a policies/checkpoints/policy_checkpoint_<step> directory",
            path=checkpoint,
        )
    match = POLICY_CHECKPOINT_RE.match(directory.name)
    return dataclasses.replace(
        source,
        checkpoint_dir=str(directory),
        checkpoint_step=int(match.group(1)) if match else None,
        checkpoint_prefix=os.path.join(str(directory), "variables", "variables"),
    )
