"""The one way pytfpol opens an input file: never blocking, never reading more than its format
allows (docs/security.md, "FIFOs, devices and sizes").

Inputs come from other jobs and other people. A FIFO in place of `fingerprint.pb` blocks a
reader forever; a symlink to `/dev/zero` reads without end; a sparse 10 GB `saved_model.pb`
costs no disk but is read whole into memory. So every input file is:

1. stat'ed by path: anything but a regular file (FIFO, device, socket, directory) is refused
   without being opened (opening some devices has effects of its own);
2. opened `O_RDONLY | O_NONBLOCK` (a FIFO swapped in since step 1 opens at once instead of
   waiting for a writer), then checked again with `fstat` on the descriptor that will be read:
   the decision is about the file read, not a path that may have changed;
3. refused when its size is over the limit of its format (`LIMITS`), before a byte is read;
4. read with `O_NONBLOCK` cleared.

Symlinks are followed (no `O_NOFOLLOW`): artifact stores and CI caches legitimately link policy
files; the checks are on what the link resolves to. Files TensorFlow opens itself
(`saved_model.pb`, `fingerprint.pb`, assets) cannot be handed to it as a descriptor; they are
checked by path (`check_path`) just before TensorFlow is called. Every refusal is an
`InputError` (exit 3) naming the file.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import stat
from pathlib import Path
from typing import Iterator, Optional

from pytfpol.errors import InputError

MIB, GIB = 1 << 20, 1 << 30

# Format -> the largest file of it pytfpol reads (bytes). docs/security.md has this table, with
# the reason for each.
LIMITS: dict[str, int] = {
    "saved_model.pb": 2 * GIB - 1,  # protobuf cannot parse a message of 2 GiB or more
    "keras_metadata.pb": 2 * GIB - 1,  # protobuf's limit too
    "fingerprint.pb": 1 * MIB,  # five integers and a version: tens of bytes
    "policy_specs.pbtxt": 16 * MIB,  # a text proto of specs: kilobytes
    "SavedModel asset": 1 * GIB,  # any other file of a SavedModel (e.g. a vocabulary)
    "checkpoint index": 1 * GIB,  # `.index`: one entry per tensor
    "checkpoint state file": 1 * MIB,  # `checkpoint`: a few lines per checkpoint kept
    "stats.json": 256 * MIB,  # ~300 bytes per episode: about 800,000 episodes
    "policy config": 1 * MIB,  # a TOML file of a few lines
}
# A checkpoint's `.data-*` shard is limited by what its index says it holds (the end of its
# last tensor: `checkpoint_reader`); a policy file replay re-checks, by the size it had when it
# was evaluated (`provenance`).

_SAVED_MODEL_FILES = ("saved_model.pb", "keras_metadata.pb", "fingerprint.pb", "policy_specs.pbtxt")
_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)
_DEFAULT_HINT = "give a regular file written by TF-Agents or pytfpol"


def saved_model_kind(relative: str) -> str:
    """The format (a key of LIMITS) of the SavedModel file at `relative` to its directory: its
    own name for the files TensorFlow knows, else "SavedModel asset"."""
    return relative if relative in _SAVED_MODEL_FILES else "SavedModel asset"


def check_mode(path: str | os.PathLike, info: os.stat_result, hint: str = _DEFAULT_HINT) -> None:
    """InputError unless `info` (a stat of `path`) is of a regular file; says what it is."""
    if stat.S_ISREG(info.st_mode):
        return
    what = next((name for test, name in _KINDS if test(info.st_mode)), "not a file")
    raise InputError(f"{path}: not a regular file ({what})", hint, path=path)


def check_size(path: str | os.PathLike, size: int, limit: Optional[int], what: str) -> None:
    """InputError when `size` is over `limit` (None: no limit), naming both and the format."""
    if limit is not None and size > limit:
        raise InputError(
            f"{path}: {size} bytes, over the limit of {limit} bytes for {what}",
            "no file TF-Agents or pytfpol writes is that large: is it the file you meant? "
            'docs/security.md ("FIFOs, devices and sizes") lists the limits',
            path=path,
        )


def check_path(
    path: str | os.PathLike, limit: Optional[int], what: str, hint: str = _DEFAULT_HINT
) -> int:
    """Check a file by path without opening it (for files TensorFlow opens itself): a regular
    file within `limit`. Returns its size."""
    info = _stat(path, hint)
    check_mode(path, info, hint)
    check_size(path, info.st_size, limit, what)
    return info.st_size


@contextlib.contextmanager
def opened(
    path: str | os.PathLike, limit: Optional[int], what: str, hint: str = _DEFAULT_HINT
) -> Iterator[tuple[int, int]]:
    """(descriptor, size) of a regular input file within `limit`, checked as the module
    docstring says, closed on exit."""
    check_mode(path, _stat(path, hint), hint)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise _unreadable(path, exc, hint) from None
    try:
        info = os.fstat(fd)
        check_mode(path, info, hint)
        check_size(path, info.st_size, limit, what)
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        yield fd, info.st_size
    finally:
        os.close(fd)


def read_bytes(
    path: str | os.PathLike, limit: Optional[int], what: str, hint: str = _DEFAULT_HINT
) -> bytes:
    """The whole of a regular input file within `limit` (see `opened`)."""
    with opened(path, limit, what, hint) as (fd, size):
        chunks, done = [], 0
        try:
            while done < size:  # the size fstat saw, within the limit, even if the file grows
                chunk = os.read(fd, min(size - done, GIB))
                if not chunk:
                    break
                chunks.append(chunk)
                done += len(chunk)
        except OSError as exc:
            raise _unreadable(path, exc, hint) from None
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def read_text(
    path: str | os.PathLike, limit: Optional[int], what: str, hint: str = _DEFAULT_HINT
) -> str:
    """A regular UTF-8 input file within `limit`, as text (InputError when not UTF-8)."""
    data = read_bytes(path, limit, what, hint)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason})", hint, path=path) from None


def sha256_of_descriptor(fd: int, path: str | os.PathLike, hint: str = _DEFAULT_HINT) -> str:
    """The sha256 of what is left to read from `fd` (an input opened by `opened`)."""
    digest = hashlib.sha256()
    try:
        for chunk in iter(lambda: os.read(fd, 1 << 20), b""):
            digest.update(chunk)
    except OSError as exc:
        raise _unreadable(path, exc, hint) from None
    return digest.hexdigest()


def sha256(
    path: str | os.PathLike, limit: Optional[int], what: str, hint: str = _DEFAULT_HINT
) -> str:
    """The sha256 of a regular input file within `limit` (read through `opened`)."""
    with opened(path, limit, what, hint) as (fd, _):
        return sha256_of_descriptor(fd, path, hint)


def _stat(path: str | os.PathLike, hint: str) -> os.stat_result:
    try:
        return os.stat(path)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file", hint, path=path) from None
    except OSError as exc:
        raise _unreadable(path, exc, hint) from None


def _unreadable(path: str | os.PathLike, exc: OSError, hint: str) -> InputError:
    return InputError(f"{path}: cannot read ({exc.strerror or exc})", hint, path=Path(path))
