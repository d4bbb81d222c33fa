"""Reading a checkpoint's files: by path within their size limits (`input_files`), and exactly
the bytes asked for (`pread`), or an InputError naming the file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from pytfpol.errors import InputError
from pytfpol.formats import input_files
from pytfpol.formats.sstable import (
    HINT_CORRUPT,
)


def _regular_file_size(path: Path, limit: Optional[int] = None, what: str = "") -> int:
    """Size of `path`, by path (never opened), refusing anything but a regular file within
    `limit` (see `input_files`)."""
    return input_files.check_path(path, limit, what, HINT_CORRUPT)


def _read_file(
    path: Path,
    offset: int = 0,
    size: Optional[int] = None,
    limit: Optional[int] = None,
    what: str = "",
) -> bytes:
    """Read bytes of a regular file within `limit` (to its end when `size` is None); see
    `_opened`."""
    with _opened(path, limit, what) as (fd, file_size):
        return _pread(fd, path, offset, file_size - offset if size is None else size)


def _opened(path: Path, limit: Optional[int] = None, what: str = ""):
    """A regular file's descriptor and size, within `limit`: pytfpol's one way to open an
    input file (`input_files.opened`: non-blocking, re-checked with fstat)."""
    return input_files.opened(path, limit, what, HINT_CORRUPT)


def _pread(fd: int, path: Path, offset: int, size: int) -> bytes:
    """Exactly `size` bytes at `offset` of an open file (InputError when it ends first)."""
    chunks, done = [], 0
    try:
        while done < size:
            chunk = os.pread(fd, min(size - done, 1 << 30), offset + done)
            if not chunk:
                raise InputError(
                    f"{path}: truncated (wanted {size} bytes at {offset}, got {done})",
                    HINT_CORRUPT,
                    path=path,
                )
            chunks.append(chunk)
            done += len(chunk)
    except OSError as exc:
        raise InputError(
            f"{path}: cannot read ({exc.strerror or exc})", HINT_CORRUPT, path=path
        ) from None
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)
