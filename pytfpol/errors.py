"""One exception family. Each error carries a one-line message, a hint and its exit code.

The library raises these; the CLI prints `error: <message>` and `hint: <hint>` and exits with
`exit_code`. Nothing below the CLI prints or exits.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_GATE = 1
EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_RUNTIME = 4
EXIT_OUTPUT = 5
EXIT_INTERRUPTED = 130


class PytfpolError(Exception):
    """Base of every error pytfpol reports to a user."""

    exit_code = EXIT_INPUT

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
    """The user pressed Ctrl-C (exit 130); completed episodes are still written."""

    exit_code = EXIT_INTERRUPTED
