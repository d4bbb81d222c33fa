"""The output set's names and manifests: what an output set may hold, and what in OUT is ours.

The vocabulary of names an output set sets or unsets in OUT (nothing else is ever replaced or
removed), the manifests read back from OUT (OUT's own, `.pytfpol-outputs.json`, and a commit
directory's) validated as data, and the test of ownership: a file is pytfpol's when a manifest
records it with its size and sha256 (`foreign`). `output_set` builds the transaction on these.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from pathlib import Path
from typing import Any, Optional

from pytfpol.formats import layout
from pytfpol.results.files import (
    EPISODES_CSV,
    RETURNS_PNG,
    STATS_JSON,
    TRAJECTORIES_DIR,
    VIDEOS_DIR,
    read_json_file,
)

OUTPUT_CHECKPOINT = layout.OUTPUT_CHECKPOINT_DIR
# The output sets of `eval` and of `sweep`, each moved into place in this order (the report last).
OUTPUT_NAMES = (
    OUTPUT_CHECKPOINT,
    RETURNS_PNG,
    layout.TENSORBOARD_DIR,
    VIDEOS_DIR,
    TRAJECTORIES_DIR,
    EPISODES_CSV,
    STATS_JSON,
)
SWEEP_OUTPUT_NAMES = (
    layout.BEST_DIR,
    VIDEOS_DIR,
    layout.TENSORBOARD_DIR,
    layout.CURVE_PNG,
    layout.CURVE_CSV,
    EPISODES_CSV,
    layout.SWEEP_JSON,
)
PENDING_PREFIX = ".pending-"
COMMIT_PREFIX = ".commit-"
MANIFEST = ".manifest.json"  # a commit's: what it sets and unsets, and the files it holds
SET_MANIFEST = layout.SET_MANIFEST  # OUT's: the files of its output set, size and sha256
KIND_EVAL, KIND_SWEEP = "eval", "sweep"
SET_NAMES = {KIND_EVAL: OUTPUT_NAMES, KIND_SWEEP: SWEEP_OUTPUT_NAMES}
# Every name an output set may set or unset in OUT: nothing else is ever replaced or removed.
SET_VOCABULARY = tuple(
    dict.fromkeys((*OUTPUT_NAMES, *SWEEP_OUTPUT_NAMES, layout.JOURNAL_DIR, SET_MANIFEST))
)
_COMPONENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_DEPTH = 12
# The journal is written entry by entry, outside the set: its entries are ours by their name.
JOURNAL_ENTRY = re.compile(rf"{layout.JOURNAL_DIR}/[0-9a-f]{{64}}\.json")
# An OUT of an earlier pytfpol (no manifest) has no manifest: there, a file is taken as ours only under a name
# pytfpol writes (anything else, e.g. checkpoint/notes.txt, is the user's).
_DIRS = r"(?:[A-Za-z0-9_][A-Za-z0-9_.-]*/){0,4}"
LEGACY_FILE = re.compile(
    r"(?:best/)?(?:"
    rf"checkpoint/{_DIRS}(?:checkpoint|pytfpol-policy\.toml|[A-Za-z0-9_][A-Za-z0-9_.-]*"
    r"\.(?:index|data-\d{5}-of-\d{5}))"
    r"|videos/(?:best-step-\d+-)?episode-\d+\.(?:mp4|gif)"
    r"|trajectories/episode-\d+\.npz"
    rf"|tensorboard/{_DIRS}events\.out\.tfevents\.[A-Za-z0-9_.-]+"
    r"|stats\.json|episodes\.csv|returns\.png|curve\.png|curve\.csv|sweep\.json)"
)


def set_kind(report_name: str) -> str:
    """The kind of output set whose report is `report_name`."""
    return KIND_SWEEP if report_name == layout.SWEEP_JSON else KIND_EVAL


def replaced_names(kind: str) -> tuple:
    """What a commit of `kind` sets or unsets: its own names and the other kind's (one kind of
    result per OUT), the journal too for `eval` (a sweep's resume state)."""
    names = [*SET_NAMES[kind], SET_MANIFEST]
    names += [n for n in SET_VOCABULARY if n not in names]
    return tuple(n for n in names if kind == KIND_EVAL or n != layout.JOURNAL_DIR)


def valid_set_name(name: Any) -> bool:
    """A name of the output set's vocabulary: relative, no '..', no absolute path, no empty or
    hidden component, its first component one of SET_VOCABULARY."""
    if not isinstance(name, str) or not name or name.startswith("/"):
        return False
    parts = name.split("/")
    return (
        len(parts) <= MAX_DEPTH
        and parts[0] in SET_VOCABULARY
        and all(_COMPONENT.fullmatch(p) for p in parts[1:])
    )


def read_commit_manifest(commit: Path) -> Optional[dict]:
    """A commit directory's manifest, when it is one pytfpol wrote: its names of the output
    set's vocabulary, and the files still staged in it those it records. Else None."""
    manifest = read_json_file(commit / MANIFEST)
    if not isinstance(manifest, dict) or manifest.get("kind") not in SET_NAMES:
        return None
    lists = [manifest.get("set"), manifest.get("unset")]
    if not all(isinstance(x, list) and all(valid_set_name(n) for n in x) for x in lists):
        return None
    names = manifest["set"] + manifest["unset"]
    if any("/" in n for n in names) or len(set(names)) != len(names):
        return None
    files = _valid_files(manifest.get("files"))
    replaces = manifest.get("replaces")
    if files is None or (replaces is not None and _valid_files(replaces) is None):
        return None
    staged = [n for n in manifest["set"] if n != SET_MANIFEST]
    if foreign(commit, staged, [files], "") != []:
        return None
    return {**manifest, "files": files, "replaces": replaces}


def read_set_manifest(out: Path) -> Optional[dict]:
    """The files of OUT's output set as its manifest records them ({name: {size, sha256}}), or
    None when there is none or it does not validate (then OUT is taken as of an earlier pytfpol (no manifest))."""
    manifest = read_json_file(Path(out) / SET_MANIFEST)
    if not isinstance(manifest, dict) or manifest.get("kind") not in SET_NAMES:
        return None
    return _valid_files(manifest.get("files"))


def set_kind_in(out: Path) -> Optional[str]:
    """The kind of output set OUT holds ("eval", "sweep"), None when it holds none."""
    manifest = read_json_file(Path(out) / SET_MANIFEST)
    if isinstance(manifest, dict) and manifest.get("kind") in SET_NAMES:
        return manifest["kind"]
    for kind, report in ((KIND_SWEEP, layout.SWEEP_JSON), (KIND_EVAL, STATS_JSON)):
        if os.path.lexists(Path(out) / report):
            return kind
    return None


def _valid_files(files: Any) -> Optional[dict]:
    if not isinstance(files, dict):
        return None
    for name, entry in files.items():
        if not valid_set_name(name) or name == SET_MANIFEST or not isinstance(entry, dict):
            return None
        size, digest = entry.get("size"), entry.get("sha256")
        if not isinstance(size, int) or size < 0 or not isinstance(digest, str):
            return None
        if not _SHA256.fullmatch(digest):
            return None
    return files


def foreign(root: Path, names: list, manifests: list, prefix: str) -> list[str]:
    """The paths under `names` in `root` that are not ours (see check_ours), relative to it."""
    found = []
    for name in names:
        path, rel = root / name, f"{prefix}{name}"
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            continue
        except OSError:
            found.append(rel)
            continue
        if stat.S_ISDIR(info.st_mode):
            try:
                children = sorted(os.listdir(path))
            except OSError:
                found.append(rel)
                continue
            found += foreign(path, children, manifests, f"{rel}/")
        elif not stat.S_ISREG(info.st_mode) or not _is_ours(path, rel, info, manifests):
            found.append(rel)
    return found


def _is_ours(path: Path, rel: str, info: os.stat_result, manifests: list) -> bool:
    if rel == SET_MANIFEST or JOURNAL_ENTRY.fullmatch(rel):
        return True
    known = [m for m in manifests if m is not None]
    if len(known) < len(manifests) and LEGACY_FILE.fullmatch(rel):
        return True  # OUT has no manifest (an earlier pytfpol (no manifest)): a name pytfpol writes is ours
    entries = [m[rel] for m in known if rel in m and m[rel]["size"] == info.st_size]
    return bool(entries) and sha256(path) in {e["sha256"] for e in entries}


def record(stage: Path, names: list) -> dict:
    """Each file under `names` in the stage: {relative name: {size, sha256}}."""
    files = {}
    for name in names:
        top = stage / name
        paths = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        for path in paths:
            rel = path.relative_to(stage).as_posix()
            files[rel] = {"size": path.stat().st_size, "sha256": sha256(path)}
    return files


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
