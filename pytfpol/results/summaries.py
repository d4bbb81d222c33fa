"""Writing the Markdown summaries (`markdown.render`) of eval, sweep and compare.

`$GITHUB_STEP_SUMMARY` is the runner's file, shared by every step of the job: the summary is
appended to it (O_APPEND, never truncated), never through a symlink, only when it is a regular
file; anything else is a warning, not a failure (the evaluation's result stands). `--summary
FILE.md` is the user's own file, for other CI systems: written atomically, replacing it; a
failure to write it is an OutputError (exit 5) like any other output.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Optional

from pytfpol.errors import UsageError
from pytfpol.results import files, markdown

STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"


def write(document: markdown.Document, path: Optional[str]) -> list[str]:
    """The summary into `path` (if given) and appended to $GITHUB_STEP_SUMMARY (if set);
    the warnings for a step summary that could not be appended to."""
    summary = markdown.render(document)
    if path:
        files.write_atomic(Path(path), summary.encode())
    step_summary = os.environ.get(STEP_SUMMARY_ENV)
    if not step_summary:
        return []
    problem = append(Path(step_summary), summary)
    return [] if problem is None else [f"${STEP_SUMMARY_ENV} {step_summary}: {problem}"]


def append(path: Path, summary: str) -> Optional[str]:
    """Append `summary` to `path` (created if absent); what went wrong, else None."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "is a symbolic link: not written (the summary goes to a regular file only)"
        return f"could not be opened ({exc.strerror or exc}): not written"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return "is not a regular file: not written"
        data = (b"\n" if info.st_size else b"") + summary.encode()
        while data:
            data = data[os.write(fd, data) :]
    except OSError as exc:
        return f"could not be written ({exc.strerror or exc})"
    finally:
        os.close(fd)
    return None


def check_target(path: Optional[str], out: Optional[str]) -> None:
    """Refuse (exit 2, before anything runs) --summary inside OUT: OUT holds what pytfpol
    writes there, and a file it did not write makes the next run into OUT refuse it."""
    if not path or not out:
        return
    target, directory = Path(path).resolve(), Path(out).resolve()
    if target == directory or directory in target.parents:
        raise UsageError(
            f"--summary {path}: inside --out {out}, whose files pytfpol manages",
            "write the summary outside OUT, e.g. --summary summary.md",
        )
