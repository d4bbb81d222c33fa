"""One exception family. Each error carries a one-line message, a hint and its exit code.

The library raises these; the CLI prints `error: <message>` and `hint: <hint>` and exits with
`exit_code`. Nothing below the CLI prints or exits.
"""

from __future__ import annotations

import re
from typing import Any, Optional

_ANSI = re.compile(r"\x1b\[[0-9;]*m")

EXIT_OK = 0
EXIT_GATE = 1
EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_RUNTIME = 4
EXIT_OUTPUT = 5
EXIT_INTERRUPTED = 130  # Ctrl-C (SIGINT)
EXIT_TERMINATED = 143  # SIGTERM: what `timeout`, a CI cancel and `kill` send

# What each exit code means (`pytfpol --help` shows this table); a command's --help words a code
# for what that command does, and lists only the codes it can exit with.
EXIT_CODES: dict[int, str] = {
    EXIT_OK: "ok",
    EXIT_GATE: "a gate failed (--gate, --min-return), or compare found a regression",
    EXIT_USAGE: "usage or config error, or an option that means nothing for the input;\n"
    "a factory named by a config found on disk, without --allow-code",
    EXIT_INPUT: "input error: missing, corrupt or incompatible policy, checkpoint or env",
    EXIT_RUNTIME: "the environment or the policy failed while running, or --timeout",
    EXIT_OUTPUT: "output error: not writable, disk full, in use, or holds other results",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C); completed episodes are written",
    EXIT_TERMINATED: "terminated (SIGTERM); completed episodes are written",
}


class PytfpolError(Exception):
    """Base of every error pytfpol reports to a user."""

    exit_code = EXIT_INPUT
    # A run that stopped early carries what it completed, and the report written for it.
    completed: Optional[list] = None
    # a typed document: EvalReport, SweepReport, or replay's ReplayResult
    report: Optional[Any] = None

    def __init__(
        self, message: str, hint: str = "", *, path: object = None, details: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.path = None if path is None else str(path)
        self.details = details  # optional multi-line context, e.g. a side-by-side spec table

    def __str__(self) -> str:
        return self.message


class UsageError(PytfpolError):
    """A bad option or config value (exit 2)."""

    exit_code = EXIT_USAGE


class InputError(PytfpolError):
    """A missing, corrupt or incompatible policy, checkpoint or environment (exit 3)."""

    exit_code = EXIT_INPUT


class SpecMismatchError(InputError):
    """The environment's specs do not fit the policy's (exit 3)."""


class RunError(PytfpolError):
    """The environment or the policy failed while episodes ran (exit 4)."""

    exit_code = EXIT_RUNTIME


class OutputError(PytfpolError):
    """The output could not be written (exit 5)."""

    exit_code = EXIT_OUTPUT


class GateFailed(PytfpolError):
    """A CI gate such as --min-return was not met (exit 1)."""

    exit_code = EXIT_GATE


class Interrupted(PytfpolError):
    """Ctrl-C (exit 130) or SIGTERM (exit 143); completed episodes are still written."""

    exit_code = EXIT_INTERRUPTED


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C wherever the run is, so that it stops the same way."""


def stopped_by(cause: BaseException) -> str:
    """ "terminated" for SIGTERM, "interrupted" for Ctrl-C: what a message says stopped a run."""
    return "terminated" if isinstance(cause, Terminated) else "interrupted"


def interrupted(cause: BaseException, message: str, hint: str) -> Interrupted:
    """The Interrupted error for `cause` (a KeyboardInterrupt or Terminated), exit code set."""
    error = Interrupted(message, hint)
    if isinstance(cause, Terminated):
        error.exit_code = EXIT_TERMINATED
    return error


def one_line(message: object) -> str:
    """A message as one plain line: colour codes, `WARN:` prefixes and line breaks removed
    (Gymnasium colours its warnings and errors)."""
    text = _ANSI.sub("", str(message)).strip()
    text = re.sub(r"^(WARN|WARNING|ERROR):\s*", "", text)
    return " ".join(text.split())


def first_line(exc: BaseException) -> str:
    """`TypeName: the first line of its message`: what a one-line error quotes of a library's."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def write_failure_cause(exc: BaseException) -> str:
    """Why a write failed, in the operating system's words (`File too large`, `No space left on
    device`), from an OSError or from TensorFlow's error of its checkpoint saver, whose message
    is `<file>; <strerror>` among a graph stack that a one-line error never quotes."""
    if isinstance(exc, OSError):
        return exc.strerror or first_line(exc)
    for line in str(getattr(exc, "message", exc)).splitlines():
        line = line.strip()
        if "; " in line and not line.startswith(("File ", "[[")):
            return line.rsplit("; ", 1)[1]
    return first_line(exc)
