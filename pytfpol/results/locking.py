"""An exclusive lock on an output directory, so that two runs never write into one.

`OUT/.pytfpol.lock` is locked with `fcntl.flock` for as long as the run holds it and says who
holds it (pid, host, start time). The kernel releases a flock when its holder exits, however it
exits (even `kill -9`), so a lock file left behind by a dead process never blocks a new run: the
file is only a label, the flock is the lock. The holder removes the file before releasing it; a
process that opened it just before checks after locking that it still is the file at that path.

Under the lock, `clean_stale_temporaries` removes what an interrupted earlier run of ours left in
OUT (temporary report files and checkpoint directories) and puts back `OUT/checkpoint` if a run
was killed in the middle of swapping a new checkpoint into place. No TensorFlow here.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import fcntl
import json
import os
import shutil
import socket
import stat
from pathlib import Path
from typing import Iterator

from pytfpol.errors import OutputError
from pytfpol.formats import layout
from pytfpol.results import output_set

LOCK_NAME = layout.LOCK_NAME
# What our writers leave behind when killed, besides output sets (output_set.recover_outputs):
# files.write_atomic's `.<name>.<random>.tmp`, and the checkpoint swap directories
# `.checkpoint.tmp-<random>` / `.checkpoint.old-<random>` of earlier pytfpol versions,
# output_set.claim_output_dir's probe.
STALE_FILE_PATTERNS = (".stats.json.*.tmp", ".episodes.csv.*.tmp", ".pytfpol-probe-*")
CHECKPOINT_NAME = layout.OUTPUT_CHECKPOINT_DIR
STALE_NEW_CHECKPOINTS = f".{CHECKPOINT_NAME}.tmp-*"
STALE_OLD_CHECKPOINTS = f".{CHECKPOINT_NAME}.old-*"


@contextlib.contextmanager
def working_in(out: Path, claim: output_set.OutputClaim) -> Iterator[Path]:
    """A run's hold on its claimed output directory: locked, cleaned of what an interrupted run
    left, and checked that whatever the run's output set will replace is pytfpol's
    (output_set.check_ours: refused before any episode runs); when the run fails, the directories
    the claim created are removed again if nothing was written in them."""
    try:
        with locked_output(out):
            clean_stale_temporaries(out)
            output_set.check_ours(out, output_set.replaced_names(claim.kind))
            yield out
    except BaseException:
        output_set.release_unused(claim)
        raise


@contextlib.contextmanager
def locked_output(out: Path) -> Iterator[Path]:
    """Hold the exclusive lock on `out` (an existing directory) for the `with` block.

    Raises OutputError (exit 5) naming the holder when another process holds it."""
    path = Path(out) / LOCK_NAME
    fd = _acquire(Path(out), path)
    try:
        _write_holder(fd)
        yield Path(out)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)  # still ours: removed while locked, so no one waits on it
        os.close(fd)  # releases the flock


def _acquire(out: Path, path: Path) -> int:
    """Open and flock the lock file; retry if it was unlinked by its previous holder between
    our open and our flock (we would hold a lock on an orphaned inode)."""
    while True:
        try:
            fd = _open_lock_file(path)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise OutputError(
                    f"--out {out}: the lock file {path} is a symlink; pytfpol never writes "
                    "through one",
                    "remove the symlink, or choose another --out",
                    path=path,
                ) from exc
            raise OutputError(
                f"--out {out}: cannot create the lock file {path} ({exc.strerror or exc})",
                "choose a directory you can write to",
                path=path,
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise OutputError(
                f"--out {out}: in use by another pytfpol run ({holder})",
                "wait for that run to finish, or choose another --out",
                path=out,
            ) from None
        except OSError as exc:  # e.g. a file system without flock support
            os.close(fd)
            raise OutputError(
                f"--out {out}: cannot lock {path} ({exc.strerror or exc})",
                "choose an output directory on a local file system",
                path=path,
            ) from exc
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino  # O_NOFOLLOW opened it
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


def _open_lock_file(path: Path) -> int:
    """The lock file, created if missing, never through a symlink (O_NOFOLLOW: ELOOP) and only
    a regular file (a FIFO or device planted there is refused)."""
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    fd = os.open(path, flags, 0o644)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OutputError(
            f"--out {path.parent}: the lock file {path} is not a regular file",
            "remove it, or choose another --out",
            path=path,
        )
    return fd


def _write_holder(fd: int) -> None:
    holder = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    data = (json.dumps(holder) + "\n").encode()
    with contextlib.suppress(OSError):  # the label is informative; the flock is the lock
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)


def _holder(fd: int) -> str:
    """Who holds the lock, as the holder wrote it (it may still be writing: then say so)."""
    try:
        holder = json.loads(os.pread(fd, 4096, 0).decode())
        return f"pid {holder['pid']} on {holder['host']}, started {holder['started']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "holder unknown"


def clean_stale_temporaries(out: Path) -> list[str]:
    """Complete or drop an interrupted run's output set (output_set.recover_outputs) and remove our
    own temporaries left in `out`. Call only while holding the lock. Returns what was done."""
    out = Path(out)
    done = output_set.recover_outputs(out)  # finish a committed output set, drop a staged one
    for pattern in (*STALE_FILE_PATTERNS, STALE_NEW_CHECKPOINTS, STALE_OLD_CHECKPOINTS):
        for path in out.glob(pattern):
            try:
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
            except OSError:
                continue
            done.append(f"removed {path.name}")
    return done
