"""Writing the output set fails (disk full, a file-size limit, EIO): say so as the user knows it.

A run assembles its outputs in a private staging directory inside OUT (`output_set.stage_outputs`)
and commits them as one unit, so a write that fails before the commit leaves OUT's previous
output set as it was. The writers raise `OutputError`s naming the staged file; `in_out` says the
same as `--out OUT: could not write stats.json (File too large)`, one line, exit 5.

Before any episode runs, what a run will write (`needed_bytes`) is compared with the free space
of OUT's file system (`files.check_free_space`, `os.statvfs`): a full disk found at the end
would cost the whole run. No TensorFlow here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from pytfpol.errors import OutputError, write_failure_cause

# Bytes one episode adds to one document that lists it, from above. Measured: about 250 in all
# for an eval (stats.json's JSON object, episodes.csv's row, the checkpoint's three arrays);
# about 500 in all for a sweep (its journal, sweep.json and episodes.csv, with each episode's
# share of the summaries), which `needed_bytes` counts as two documents.
EPISODE_BYTES = 512
# Bytes one checkpoint of a sweep adds besides its episodes: its journal file, its row of
# curve.csv, its TensorBoard events, its summary in sweep.json (measured: about 2.5 KiB).
SWEPT_CHECKPOINT_BYTES = 8192
HINT = (
    "free some space (or raise the file-size limit, `ulimit -f`) for that directory, "
    "or choose another --out"
)


def in_out(error: OutputError, out: Path, stage: Path) -> OutputError:
    """`error`, raised while a file of the output set staged in `stage` was written, said as
    the user knows it: `--out OUT: could not write NAME (cause)`, and that the previous outputs
    are unchanged (nothing is committed yet). Other errors are returned as they are."""
    if error.path is None:
        return error
    try:
        relative = Path(error.path).resolve().relative_to(Path(stage).resolve())
    except ValueError:
        return error
    name = relative.parts[0] if relative.parts else "the outputs"
    if error.__cause__ is not None:
        what = f"({write_failure_cause(error.__cause__)})"
    else:  # the writer found it out itself (e.g. an MP4 that ffmpeg left incomplete)
        prefix = f"{error.path}: "
        what = error.message[len(prefix) :] if error.message.startswith(prefix) else error.message
        what = f"({what})"
    translated = OutputError(
        f"--out {out}: could not write {name} {what}; its previous outputs are unchanged",
        HINT,
        path=out,
    )
    translated.__cause__ = error.__cause__
    return translated


def needed_bytes(checkpoint_bytes: int, episodes: int, checkpoints: int = 0) -> int:
    """What a run writes into OUT, estimated from above (pictures and videos are left to
    `files.FREE_SPACE_MARGIN`): the new checkpoint (the size of the input's), every episode
    in each document that lists it (an eval's reports, or a sweep's journal, sweep.json and
    episodes.csv), and a sweep's per-checkpoint files."""
    documents = 2 if checkpoints else 1
    return (
        checkpoint_bytes
        + episodes * documents * EPISODE_BYTES
        + checkpoints * SWEPT_CHECKPOINT_BYTES
    )


def checkpoint_bytes(prefixes: Iterable[str]) -> int:
    """The size of the largest of these checkpoint bundles (`.index` and `.data-*` files, as
    they are on disk now): what the new checkpoint of the best of them takes."""
    largest = 0
    for prefix in prefixes:
        directory, stem = os.path.split(prefix)
        try:
            names = os.listdir(directory or ".")
        except OSError:
            continue
        size = 0
        for name in names:
            if name == f"{stem}.index" or name.startswith(f"{stem}.data-"):
                try:
                    size += os.lstat(os.path.join(directory, name)).st_size
                except OSError:
                    pass
        largest = max(largest, size)
    return largest
