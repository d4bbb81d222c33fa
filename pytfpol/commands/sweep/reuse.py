"""What a re-run of a sweep keeps from OUT instead of making it again: the best's confirmation
(OUT/best), which needs TensorFlow to make (the policy, its output checkpoint), and curve.png,
which needs matplotlib (most of what is left of a re-run's time); so a re-run with nothing new
is answered from the journal without importing either (docs/sweep.md).

Each is kept only when (1) the journal holds a marker under the key of everything it is made
from (`confirmation_key`, `curve_key`), naming the files that were made from it, and
(2) OUT's output set records exactly those files (`output_manifest.read_set_manifest`), and
(3) each file, copied into the staged set, has the recorded size and sha256. Otherwise it is
made again, as before. Nothing is followed through a symlink; nothing outside OUT is read.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import stat
from pathlib import Path
from typing import Any, Optional

from pytfpol.results import journal as journal_module
from pytfpol.results import output_manifest, report

MARKER = "kept-outputs"  # the journal entries that name kept outputs (not checkpoints)


def confirmation_key(state: Any, entry: dict) -> str:
    """Everything OUT/best (the best re-evaluated on fresh seeds, its stats.json) depends on:
    the best's own journal key, the episodes, the run, every eval setting, OUT, the versions."""
    run = state.plan.runs[entry["run"]]
    return _key(
        {
            "best": entry["key"],
            "step": entry["step"],
            "confirm": state.settings.confirm,
            "run": run.path,
            "settings": dataclasses.asdict(state.settings.eval),
            "out": str(state.out),
            "versions": report.versions(),
        }
    )


def curve_key(document: dict) -> str:
    """Everything curve.png is drawn from: sweep.json's document but what says when and where
    work ran (and whether an entry came from the journal, what it cost)."""
    shown = {k: v for k, v in document.items() if k not in ("created", "timing", "backend")}
    shown["checkpoints"] = [
        {k: v for k, v in entry.items() if k not in ("reused", "seconds")}
        for entry in document["checkpoints"]
    ]
    return _key({"curve": shown})


def _key(what: dict) -> str:
    text = json.dumps({"kind": MARKER, **what}, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def remember(journal: journal_module.Journal, key: str, stage: Path, name: str) -> None:
    """Note in the journal that `stage`/`name` (just written) was made under `key`."""
    journal.put({"key": key, "kind": MARKER, "files": output_manifest.record(stage, [name])})


def carry_over(
    journal: journal_module.Journal, key: str, out: Path, stage: Path, name: str
) -> bool:
    """Copy OUT/`name` into `stage` when it was made under `key` and is, file for file, what
    OUT's output set recorded; False (and nothing staged) otherwise."""
    marker = journal.get(key)
    recorded = output_manifest.read_set_manifest(out)
    if marker is None or recorded is None:
        return False
    kept = {rel: v for rel, v in recorded.items() if rel.split("/")[0] == name}
    if not kept or kept != marker.get("files"):
        return False
    try:
        for rel, expected in sorted(kept.items()):
            _copy_checked(Path(out), Path(stage), rel, expected)
    except (OSError, ValueError):
        _remove(Path(stage) / name)
        return False
    return True


def _remove(path: Path) -> None:
    """What was staged of a kept output that could not be kept (a directory or a file)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def kept_document(path: Path) -> Optional[dict]:
    """The JSON document of a kept file (checked against its recorded sha256 when copied)."""
    with contextlib.suppress(OSError, ValueError):
        document = json.loads(path.read_bytes())
        return document if isinstance(document, dict) else None
    return None


def _copy_checked(out: Path, stage: Path, rel: str, expected: dict) -> None:
    """OUT/`rel` into `stage`/`rel`: every directory on the way a real one of OUT's, the file a
    regular one, its copy of the recorded size and sha256 (else ValueError)."""
    parts = rel.split("/")
    for depth in range(1, len(parts)):
        if not stat.S_ISDIR(os.lstat(out.joinpath(*parts[:depth])).st_mode):
            raise ValueError(f"{rel}: not under a directory of OUT's own")
    target = stage.joinpath(*parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out / rel, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    digest, size = hashlib.sha256(), 0
    with os.fdopen(fd, "rb") as source, open(target, "xb") as copy:
        if not stat.S_ISREG(os.fstat(source.fileno()).st_mode):
            raise ValueError(f"{rel}: not a regular file")
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
            copy.write(block)
    if size != expected.get("size") or digest.hexdigest() != expected.get("sha256"):
        raise ValueError(f"{rel}: not the file OUT's output set recorded")
