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

The names and types are in `layout_kinds`, listings in `layout_listing`, the rules of `select` in
`layout_select`; this module detects and re-exports them (callers use `layout.X`).
"""

from __future__ import annotations

import os
from pathlib import Path

from pytfpol.errors import InputError
from pytfpol.formats import checkpoint_reader, input_files
from pytfpol.formats.layout_kinds import (
    BEST_DIR,
    BUNDLED_CONFIG,
    CHECKPOINTS_DIR,
    CKPT_DATA_RE,
    CKPT_DATA_START_RE,
    CKPT_INDEX_RE,
    CKPT_NAME_RE,
    CURVE_CSV,
    CURVE_PNG,
    EPISODES_CSV,
    EVALUATION_DIR,
    EVALUATION_PREFIX,
    HISTORY_COLUMNS,
    INPUT_KINDS_HELP,
    JOURNAL_DIR,
    KIND_CHECKPOINT,
    KIND_CHECKPOINTER,
    KIND_EVAL_OUTPUT,
    KIND_LEARNER,
    KIND_NAMES,
    KIND_POLICY_CHECKPOINT,
    KIND_SAVED_MODEL,
    KIND_SAVED_MODEL_SERIES,
    LEARNER_POLICIES,
    LOCK_NAME,
    OUTPUT_CHECKPOINT_DIR,
    POLICIES_DIR,
    POLICY_CHECKPOINT_RE,
    POLICY_CHECKPOINTER_DIR,
    POLICY_SAVED_MODEL_DIR,
    POLICY_SAVED_MODEL_RE,
    POLICY_SPECS,
    RETURNS_PNG,
    SAVED_MODEL_PB,
    SET_MANIFEST,
    STATE_FILE,
    STATS_JSON,
    SWEEP_JSON,
    TENSORBOARD_DIR,
    TRAIN_DIR,
    TRAJECTORIES_DIR,
    VARIABLES_PREFIX,
    VIDEOS_DIR,
    Checkpoint,
    Layout,
    Selection,
)
from pytfpol.formats.layout_listing import (
    _LISTINGS,
    _ckpt_entry,
    _exists,
    _is_checkpointer_dir,
    _is_learner_root,
    _is_saved_model,
    _learner_root_of,
    _missing_bundle,
    _named,
    _policy_checkpoint_entry,
    _saved_model_steps,
    is_regular_file,
    list_checkpointer_dir,
    list_policy_checkpoints,
)
from pytfpol.formats.layout_select import (
    select,
)

__all__ = [
    "BEST_DIR",
    "BUNDLED_CONFIG",
    "CHECKPOINTS_DIR",
    "CKPT_DATA_RE",
    "CKPT_DATA_START_RE",
    "CKPT_INDEX_RE",
    "CKPT_NAME_RE",
    "CURVE_CSV",
    "CURVE_PNG",
    "Checkpoint",
    "EPISODES_CSV",
    "EVALUATION_DIR",
    "EVALUATION_PREFIX",
    "HISTORY_COLUMNS",
    "INPUT_KINDS_HELP",
    "JOURNAL_DIR",
    "KIND_CHECKPOINT",
    "KIND_CHECKPOINTER",
    "KIND_EVAL_OUTPUT",
    "KIND_LEARNER",
    "KIND_NAMES",
    "KIND_POLICY_CHECKPOINT",
    "KIND_SAVED_MODEL",
    "KIND_SAVED_MODEL_SERIES",
    "LEARNER_POLICIES",
    "LOCK_NAME",
    "Layout",
    "OUTPUT_CHECKPOINT_DIR",
    "POLICIES_DIR",
    "POLICY_CHECKPOINTER_DIR",
    "POLICY_CHECKPOINT_RE",
    "POLICY_SAVED_MODEL_DIR",
    "POLICY_SAVED_MODEL_RE",
    "POLICY_SPECS",
    "RETURNS_PNG",
    "SAVED_MODEL_PB",
    "SET_MANIFEST",
    "STATE_FILE",
    "STATS_JSON",
    "SWEEP_JSON",
    "Selection",
    "TENSORBOARD_DIR",
    "TRAIN_DIR",
    "TRAJECTORIES_DIR",
    "VARIABLES_PREFIX",
    "VIDEOS_DIR",
    "_missing_bundle",
    "detect",
    "is_regular_file",
    "list_checkpointer_dir",
    "list_policy_checkpoints",
    "select",
]


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
    _check_state_file(directory / STATE_FILE)
    try:
        state = checkpoint_reader.read_checkpoint_state(directory)
    except InputError as exc:  # damaged text: a hint only, never followed anyway
        problem = exc.message
    return Layout(
        KIND_CHECKPOINTER,
        text,
        str(directory),
        checkpoints=tuple(list_checkpointer_dir(directory)),
        state=state,
        state_problem=problem,
    )


def _check_state_file(path: Path) -> None:
    """A `checkpoint` state file that is a FIFO, a device or over its size limit is a crafted
    input: exit 3 naming it (it is never opened). Its text, when damaged, is only a warning."""
    if os.path.lexists(path):
        input_files.check_path(
            path, input_files.LIMITS["checkpoint state file"], "a checkpoint state file"
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
