"""Which policy files an evaluation loads: a `Layout` (see `layout`) and the options that pick
within it, turned into a small picklable `PolicySource`. No TensorFlow; nothing is created.

Options that have no meaning for the kind of input are refused (UsageError, exit 2) rather than
ignored: a CI gate must never evaluate something other than what its command line says.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from pytfpol.errors import InputError, UsageError
from pytfpol.formats import layout as lay
from pytfpol.formats import report_documents

FORMAT_SAVED_MODEL = "saved_model"  # a SavedModel's graph (and its own or a checkpoint's weights)
FORMAT_LEARNER = "learner_policies"  # a SavedModel of a Learner root with a policy checkpoint
FORMAT_CHECKPOINTER = "checkpointer"  # a network rebuilt from a config, weights from ckpt-<step>
HINT_SERIES = "check the path to the saved policy"


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
    kind: str = lay.KIND_SAVED_MODEL  # what the path was (layout.KIND_*)
    warnings: tuple[str, ...] = ()  # e.g. a newer, incomplete checkpoint skipped
    evaluation_prefix: Optional[str] = None  # an eval output's own NumpyState checkpoint

    @property
    def rebuilt(self) -> bool:
        """True when the network is rebuilt from a config (no graph on disk)."""
        return self.format == FORMAT_CHECKPOINTER

    @property
    def input_description(self) -> str:
        return lay.KIND_NAMES[self.kind]


def resolve_policy_source(
    path: str | os.PathLike,
    policy: Optional[str] = None,
    checkpoint: str | os.PathLike | None = None,
    step: Optional[int] = None,
) -> PolicySource:
    """Detect the layout at `path` and pick the SavedModel and checkpoint to use.

    `policy` chooses a Learner root's SavedModel (default greedy); `step` or `checkpoint` the
    checkpoint (default the newest complete one)."""
    _check_policy_name(policy)
    return source_from_layout(lay.detect(path).in_context(), policy, checkpoint, step)


def source_from_layout(
    found: lay.Layout,
    policy: Optional[str] = None,
    checkpoint: str | os.PathLike | None = None,
    step: Optional[int] = None,
) -> PolicySource:
    """`resolve_policy_source` of a layout already detected (`detect(path).in_context()`): a
    sweep lists its run once and resolves each of its checkpoints from that listing."""
    _check_policy_name(policy)
    if policy is not None and found.kind != lay.KIND_LEARNER:
        raise inapplicable("--policy", found, "it chooses among a Learner root's SavedModels")
    build = _BUILDERS.get(found.kind)
    if build is None:
        raise InputError(
            f"{found.path}: is {found.description}, which holds weights but no graph",
            "evaluate the directory it belongs to (a Learner policies/ root, or a "
            "Checkpointer directory) and choose this checkpoint with --step or --checkpoint",
            path=found.path,
        )
    return build(found, policy, checkpoint, step)


def _check_policy_name(policy: Optional[str]) -> None:
    """An unknown --policy is a usage error, before anything is read."""
    if policy is not None and policy not in lay.LEARNER_POLICIES:
        raise UsageError(
            f"unknown --policy {policy!r}", f"choose one of: {', '.join(lay.LEARNER_POLICIES)}"
        )


def inapplicable(option: str, found: lay.Layout | PolicySource, why: str) -> UsageError:
    """The error for an option that means nothing for this kind of input (exit 2)."""
    description = found.description if isinstance(found, lay.Layout) else found.input_description
    return UsageError(
        f"{option}: has no meaning for {found.path}, which is {description} ({why})",
        f"drop {option}",
    )


def _saved_model(found: lay.Layout, policy, checkpoint, step) -> PolicySource:
    _require_saved_model(Path(found.directory))
    source = PolicySource(str(found.path), FORMAT_SAVED_MODEL, found.directory, kind=found.kind)
    selection = lay.select(found, step=step, checkpoint=checkpoint)
    return _with_checkpoint(source, selection)


def _learner(found: lay.Layout, policy, checkpoint, step) -> PolicySource:
    if found.given_policy is not None and policy not in (None, found.given_policy):
        raise UsageError(
            f"--policy {policy}: {found.path} is the {found.given_policy} SavedModel itself",
            f"drop --policy, or give {found.directory} to choose with --policy",
        )
    name = found.given_policy or policy or "greedy"
    saved_model_dir = found.saved_models.get(name)
    if saved_model_dir is None:
        raise InputError(
            f"{found.directory}: has no {lay.LEARNER_POLICIES[name]}/ SavedModel",
            f"choose one that is there with --policy: {', '.join(found.saved_models) or 'none'}",
            path=Path(found.directory) / lay.LEARNER_POLICIES[name],
        )
    _require_saved_model(Path(saved_model_dir))
    source = PolicySource(
        str(found.path), FORMAT_LEARNER, saved_model_dir, policy_name=name, kind=found.kind
    )
    return _with_checkpoint(source, lay.select(found, step=step, checkpoint=checkpoint))


def _chosen(selection: lay.Selection, found: lay.Layout) -> lay.Checkpoint:
    """The checkpoint `select` chose: a series or a Checkpointer directory always has one."""
    if selection.checkpoint is None:
        raise InputError(f"{found.path}: holds no checkpoint", HINT_SERIES, path=found.path)
    return selection.checkpoint


def _series(found: lay.Layout, policy, checkpoint, step) -> PolicySource:
    selection = lay.select(found, step=step, checkpoint=checkpoint)
    chosen = _chosen(selection, found)
    saved_model = chosen.saved_model
    if saved_model is None:  # every checkpoint of a series is a SavedModel of its own
        raise InputError(f"{chosen.path}: not a SavedModel", HINT_SERIES, path=chosen.path)
    _require_saved_model(Path(saved_model))
    return PolicySource(
        str(found.path),
        FORMAT_SAVED_MODEL,
        saved_model,
        checkpoint_step=chosen.step,
        kind=found.kind,
        warnings=selection.warnings,
    )


def _checkpointer(found: lay.Layout, policy, checkpoint, step) -> PolicySource:
    selection = lay.select(found, step=step, checkpoint=checkpoint)
    chosen = _chosen(selection, found)
    directory = Path(chosen.prefix).parent
    bundled = directory / lay.BUNDLED_CONFIG
    return PolicySource(
        path=str(found.path),
        format=FORMAT_CHECKPOINTER,
        saved_model_dir=None,
        checkpoint_dir=str(directory),
        checkpoint_step=chosen.step,
        checkpoint_prefix=chosen.prefix,
        bundled_config=str(bundled) if lay.is_regular_file(bundled) else None,
        kind=found.kind,
        warnings=selection.warnings,
    )


def _eval_output(found: lay.Layout, policy, checkpoint, step) -> PolicySource:
    """An output directory of `pytfpol eval`: its checkpoint/ in the layout of the input."""
    directory = Path(found.directory) / lay.OUTPUT_CHECKPOINT_DIR
    evaluation = directory / lay.EVALUATION_PREFIX
    evaluation_prefix = str(evaluation) if os.path.lexists(f"{evaluation}.index") else None
    if any(lay.CKPT_NAME_RE.match(c.name) for c in found.checkpoints):
        source = _checkpointer(found, policy, checkpoint, step)
        return dataclasses.replace(source, evaluation_prefix=evaluation_prefix)
    if not found.checkpoints:
        raise InputError(
            f"{directory}: no checkpoint pytfpol can evaluate (the run that wrote "
            f"{found.directory} did not complete)",
            "evaluate the original policy",
            path=directory,
        )
    report = _read_report(Path(found.directory) / lay.STATS_JSON)
    saved_model = report.get("saved_model")
    if not saved_model or not lay.is_regular_file(Path(saved_model) / lay.SAVED_MODEL_PB):
        raise InputError(
            f"{directory}: its SavedModel {saved_model or '(not recorded)'} is not there: the "
            "checkpoint holds weights only",
            "evaluate the original policy, or restore its SavedModel to that path",
            path=directory,
        )
    if step is not None or checkpoint is not None:
        option = "--step" if step is not None else "--checkpoint"
        raise inapplicable(option, found, "it holds one checkpoint")
    source = PolicySource(
        str(found.path),
        FORMAT_SAVED_MODEL,
        saved_model,
        kind=found.kind,
        evaluation_prefix=evaluation_prefix,
    )
    return _with_checkpoint(source, lay.Selection(found.checkpoints[-1]), report.get("step"))


def _read_report(path: Path) -> dict:
    """The SavedModel and train step an eval output's stats.json recorded, if it has one (read
    and validated by the one reader of stats.json, `report_documents`: exit 3 when invalid)."""
    if not os.path.lexists(path):
        return {}
    policy = report_documents.read_eval_report(path).policy
    return {"saved_model": policy.get("saved_model"), "step": policy.get("train_step")}


_BUILDERS = {
    lay.KIND_SAVED_MODEL: _saved_model,
    lay.KIND_LEARNER: _learner,
    lay.KIND_SAVED_MODEL_SERIES: _series,
    lay.KIND_CHECKPOINTER: _checkpointer,
    lay.KIND_EVAL_OUTPUT: _eval_output,
}


def _require_saved_model(saved_model_dir: Path) -> None:
    for name in (lay.SAVED_MODEL_PB, lay.POLICY_SPECS, lay.VARIABLES_PREFIX + ".index"):
        if not os.path.lexists(saved_model_dir / name):
            raise InputError(
                f"{saved_model_dir / name}: missing, so the SavedModel {saved_model_dir} is "
                "incomplete",
                "re-export the policy with TF-Agents' PolicySaver",
                path=saved_model_dir / name,
            )


def _with_checkpoint(
    source: PolicySource, selection: lay.Selection, step: Optional[int] = None
) -> PolicySource:
    """Attach the selected policy checkpoint (None: the SavedModel's own weights)."""
    chosen = selection.checkpoint
    if chosen is None:
        return dataclasses.replace(source, warnings=selection.warnings)
    return dataclasses.replace(
        source,
        checkpoint_dir=chosen.path,
        checkpoint_step=chosen.step if chosen.step is not None else step,
        checkpoint_prefix=chosen.prefix,
        warnings=selection.warnings,
    )
