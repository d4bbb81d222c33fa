"""The checkpoints of a directory as plain data: each with its step, time and files (or what is
missing), the newest, and the one `--step` selects."""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from typing import Optional

from pytfpol.errors import InputError, PytfpolError
from pytfpol.formats import checkpoint_reader as cr
from pytfpol.formats import layout as lay
from pytfpol.formats.inspect_checkpoint import (
    CKPT_RE,
    KIND_CHECKPOINTER,
    describe_checkpoint,
)

# ----------------------------------------------------------------------------- checkpoint lists


def checkpoint_listing(found: lay.Layout) -> dict:
    """Every checkpoint of a layout for display: step, time, files missing, which is newest
    (the one `pytfpol eval` would take: `layout.select`), and the names a `checkpoint` state
    file lists that are not on disk."""
    state = found.state
    if found.kind == KIND_CHECKPOINTER and found.state_problem is not None:
        raise InputError(found.state_problem, cr.HINT_CORRUPT, path=Path(found.directory))
    listed = list(state.all_model_checkpoint_paths) if state else []
    stamps = list(state.all_model_checkpoint_timestamps) if state else []
    by_name = {c.name: c for c in found.checkpoints}
    names = dict.fromkeys(c.name for c in found.checkpoints)
    for name in listed + ([state.model_checkpoint_path] if state else []):
        if name:
            names.setdefault(name, None)
    entries = []
    for name in names:
        stamp = (
            stamps[listed.index(name)] if name in listed and len(stamps) == len(listed) else None
        )
        checkpoint = by_name.get(name)
        prefix = Path(checkpoint.prefix) if checkpoint else Path(found.directory) / name
        in_state = name in listed if found.kind == KIND_CHECKPOINTER else True
        entries.append(_listing_entry(name, prefix, checkpoint, in_state, stamp))
    entries.sort(key=lambda e: (e["step"] is None, e["step"] or 0, e["name"]))
    newest = _newest_name(found)
    for entry in entries:
        entry["newest"] = entry["name"] == newest
    return {
        "dir": found.directory,
        "state_file": state is not None,
        "newest": newest,
        "selected": None,
        "entries": entries,
    }


def _listing_entry(
    name: str, prefix: Path, checkpoint: Optional[lay.Checkpoint], listed: bool, stamp
) -> dict:
    missing, problem = _missing_files(prefix)
    index = cr.index_path(prefix)
    match = CKPT_RE.match(Path(name).name)
    step = checkpoint.step if checkpoint is not None else (int(match.group(1)) if match else None)
    base = (
        Path(checkpoint.path)
        if checkpoint is not None and checkpoint.path != checkpoint.prefix
        else None
    )
    if base is not None:  # a directory checkpoint: name its files relative to it
        missing = [os.path.relpath(prefix.parent / m, base) for m in missing]
    return {
        "name": name,
        "prefix": str(prefix),
        "step": step,
        "time": _iso(stamp) if stamp is not None else None,
        "mtime": _iso(index.stat().st_mtime) if index.is_file() else None,
        "listed": listed,
        "newest": False,
        "missing": missing,
        "problem": problem,
    }


def _newest_name(found: lay.Layout) -> Optional[str]:
    try:
        chosen = lay.select(found).checkpoint
    except PytfpolError:
        return None
    return chosen.name if chosen is not None else None


def _missing_files(prefix: Path) -> tuple[list[str], Optional[str]]:
    """Files of the bundle that are not there, and any other problem with it."""
    index = cr.index_path(prefix)
    if not os.path.lexists(index):
        return [index.name], None
    try:
        cr.open_bundle(prefix)
    except InputError as exc:
        num_shards = _num_shards(prefix)
        if num_shards is not None:
            absent = [
                cr.data_path(prefix, i, num_shards).name
                for i in range(num_shards)
                if not cr.data_path(prefix, i, num_shards).exists()
            ]
            if absent:
                return absent, None
        return [], exc.message
    return [], None


def _num_shards(prefix: Path) -> Optional[int]:
    try:
        return cr.read_index(prefix).header.num_shards
    except InputError:
        return None


def _describe_selected(found: lay.Layout, report: dict, step: Optional[int]) -> Optional[dict]:
    """Describe the checkpoint `pytfpol eval` would use (the newest, or the one at --step), by
    the same rules (`layout.select`); record which in the listing, and why others were not."""
    listing = report["checkpoints"]
    if not found.checkpoints and step is None:
        return None
    selection = lay.select(found, step=step)
    chosen = selection.checkpoint
    if chosen is None:
        return None
    report["warnings"].extend(selection.warnings)
    listing["selected"] = chosen.name
    return describe_checkpoint(chosen.prefix, step=chosen.step)


def _iso(timestamp: float) -> Optional[str]:
    """UTC ISO 8601 seconds; None for a time no calendar can show (a damaged state file)."""
    try:
        moment = _dt.datetime.fromtimestamp(timestamp, _dt.timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
    return moment.isoformat(timespec="seconds")
