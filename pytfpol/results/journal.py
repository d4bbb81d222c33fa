"""A sweep's journal: each checkpoint's result, written as soon as it is known.

`OUT/journal/<key>.json` holds one checkpoint's evaluation (its sweep.json entry). The key is a
hash of everything the result depends on: the content of the checkpoint's files (their digests,
computed while validating them), the SavedModel or config that runs them, the env, its kwargs and
step limit, the episodes, the seed, sampling. Running the same sweep into the same OUT again
reuses every entry whose key it finds, so an interrupted sweep loses at most the checkpoint in
progress, and a finished one is not evaluated twice. Entries are written atomically; one that
cannot be read is ignored (the checkpoint is evaluated again).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Optional

from pytfpol.errors import OutputError
from pytfpol.formats import layout
from pytfpol.results import files

JOURNAL_VERSION = 1


def checkpoint_key(digests: list[str], what: dict) -> str:
    """The journal key of a checkpoint's evaluation: its files' digests and the settings."""
    text = json.dumps({"version": JOURNAL_VERSION, "files": digests, **what}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


class Journal:
    """OUT/journal: a directory of OUT's own, never a symlink; its entries regular files."""

    def __init__(self, out: Path) -> None:
        self.directory = Path(out) / layout.JOURNAL_DIR
        self._check_directory(missing_ok=True)

    def get(self, key: str) -> Optional[dict]:
        entry = files.read_json_file(self.directory / f"{key}.json")  # never through a link
        return entry if isinstance(entry, dict) and entry.get("key") == key else None

    def put(self, entry: dict) -> None:
        with contextlib.suppress(FileExistsError):
            os.mkdir(self.directory)
        self._check_directory(missing_ok=False)
        path = self.directory / f"{entry['key']}.json"
        with contextlib.suppress(FileNotFoundError):
            if not stat.S_ISREG(os.lstat(path).st_mode):
                raise _not_ours(path, "is not a regular file")
        files.write_atomic(path, json.dumps(entry, allow_nan=False).encode())

    def _check_directory(self, missing_ok: bool) -> None:
        try:
            info = os.lstat(self.directory)
        except FileNotFoundError:
            if missing_ok:
                return
            raise
        if stat.S_ISLNK(info.st_mode):
            raise _not_ours(self.directory, "is a symlink")
        if not stat.S_ISDIR(info.st_mode):
            raise _not_ours(self.directory, "is not a directory")


def _not_ours(path: Path, what: str) -> OutputError:
    return OutputError(
        f"{path}: {what}; pytfpol writes its journal only into a directory of its own",
        "move it out of the output directory, or choose another --out",
        path=path,
    )
