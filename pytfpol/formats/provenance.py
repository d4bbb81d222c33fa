"""Which files a policy was loaded from, and their sha256: what `pytfpol replay` re-checks.

A report records, in `policy.files`, every file the run's policy came from: all files of the
SavedModel directory, the `.index` and `.data-*` files of the checkpoint applied (and of an eval
output's side data), and the policy config a Checkpointer policy was rebuilt from. A replay
refuses to run (exit 3) when one of them has changed or gone since. No TensorFlow.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Iterable, Optional

from pytfpol.errors import InputError
from pytfpol.formats import input_files
from pytfpol.formats.sources import PolicySource

HINT_REPLAY = "replay needs the policy files exactly as they were evaluated"


def policy_files(source: PolicySource, config_path: Optional[str] = None) -> list[str]:
    """Absolute paths of the files `source` (and its config) is loaded from, sorted."""
    files: set[str] = set()
    if source.saved_model_dir is not None:
        for root, _, names in os.walk(source.saved_model_dir):
            files.update(os.path.join(root, name) for name in names)
    for prefix in (source.checkpoint_prefix, source.evaluation_prefix):
        if prefix is not None:
            files.add(f"{prefix}.index")
            files.update(glob.glob(f"{glob.escape(prefix)}.data-*"))
    if config_path is not None:
        files.add(config_path)
    return sorted(os.path.abspath(f) for f in files if os.path.isfile(f))


def sha256(path: str | os.PathLike) -> str:
    """The sha256 of a regular file (never blocks on a FIFO or reads a device). No format
    limit: the policy's files were checked against theirs when validated."""
    return input_files.sha256(path, None, "a policy file", HINT_REPLAY)


def fingerprints(
    source: PolicySource, config_path: Optional[str] = None, known: Optional[dict] = None
) -> list[dict]:
    """[{"path", "sha256", "bytes"}] for `policy_files`: the report's `policy.files`. `known`
    (absolute path -> (sha256, bytes)) holds the digests validation computed from the bytes it
    read: those checkpoint files are not read again (each file is read once)."""
    known = known or {}
    found = []
    for path in policy_files(source, config_path):
        digest, size = known.get(path) or (sha256(path), os.path.getsize(path))
        found.append({"path": path, "sha256": digest, "bytes": size})
    return found


def check_unchanged(files: Iterable[dict], what: str) -> None:
    """InputError (exit 3) naming the first recorded file that is gone, is not a regular file,
    or whose size or sha256 differs (a file of another size is not hashed: the size it had is
    its limit)."""
    for entry in files:
        path = Path(entry["path"])
        if not os.path.exists(path):  # missing, or a symlink to nothing
            raise InputError(
                f"{path}: the policy file {what} used is gone",
                HINT_REPLAY,
                path=path,
            )
        with input_files.opened(path, None, "a policy file", HINT_REPLAY) as (fd, size):
            recorded = entry.get("bytes", size)
            digest = (
                input_files.sha256_of_descriptor(fd, path, HINT_REPLAY)
                if size == recorded
                else None
            )
        if size != recorded or digest != entry["sha256"]:
            now = (
                f"{size} bytes, recorded {recorded}"
                if digest is None
                else (f"sha256 {digest[:12]}..., recorded {entry['sha256'][:12]}...")
            )
            raise InputError(
                f"{path}: the policy file changed since {what} ({now})",
                "replay needs the policy files exactly as they were evaluated; evaluate the "
                "changed policy anew",
                path=path,
            )
