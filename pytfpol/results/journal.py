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

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Optional

from pytfpol.formats import layout
from pytfpol.results import storage

JOURNAL_VERSION = 1


def checkpoint_key(digests: list[str], what: dict) -> str:
    """The journal key of a checkpoint's evaluation: its files' digests and the settings."""
    text = json.dumps({"version": JOURNAL_VERSION, "files": digests, **what}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


class Journal:
    def __init__(self, out: Path) -> None:
        self.directory = Path(out) / layout.JOURNAL_DIR

    def get(self, key: str) -> Optional[dict]:
        path = self.directory / f"{key}.json"
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):
                return None
            entry = json.loads(path.read_text())
        except (OSError, ValueError, UnicodeDecodeError):
            return None
        return entry if isinstance(entry, dict) and entry.get("key") == key else None

    def put(self, entry: dict) -> None:
        self.directory.mkdir(exist_ok=True)
        storage.write_atomic(
            self.directory / f"{entry['key']}.json", json.dumps(entry, allow_nan=False).encode()
        )
