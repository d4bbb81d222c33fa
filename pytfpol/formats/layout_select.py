"""Choosing the one checkpoint of a layout: `--step N`, `--checkpoint PATH` or the newest complete
one, with the same rules and warnings for every kind (see `layout`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from pytfpol.errors import InputError, UsageError
from pytfpol.formats import checkpoint_reader
from pytfpol.formats.layout_kinds import (
    CKPT_NAME_RE,
    KIND_CHECKPOINT,
    KIND_CHECKPOINTER,
    KIND_EVAL_OUTPUT,
    KIND_SAVED_MODEL,
    KIND_SAVED_MODEL_SERIES,
    STATE_FILE,
    VARIABLES_PREFIX,
    Checkpoint,
    Layout,
    Selection,
)
from pytfpol.formats.layout_listing import (
    _exists,
    _missing_bundle,
    _policy_checkpoint_entry,
)

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
        given_prefix = checkpoint_reader.prefix_of(given)
        if given_prefix is not None and CKPT_NAME_RE.match(Path(given_prefix).name):
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
