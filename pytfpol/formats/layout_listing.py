"""Listing a directory's checkpoints (Checkpointer, Learner, SavedModel series), each with the files
it is missing; each directory listed once per `detect`; the predicates that tell kinds apart."""

from __future__ import annotations

import contextvars
import os
import stat
from pathlib import Path
from typing import Optional

from pytfpol.formats.layout_kinds import (
    CHECKPOINTS_DIR,
    CKPT_DATA_RE,
    CKPT_DATA_START_RE,
    CKPT_INDEX_RE,
    LEARNER_POLICIES,
    POLICY_CHECKPOINT_RE,
    POLICY_SAVED_MODEL_RE,
    POLICY_SPECS,
    SAVED_MODEL_PB,
    STATE_FILE,
    VARIABLES_PREFIX,
    Checkpoint,
)

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
        if match is None or not (directory / name).is_dir():
            continue
        sub = directory / name
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
