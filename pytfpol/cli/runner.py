"""How a command's body runs: failures to one line and an exit code; documents shown as a table
or as JSON, and written as JUnit.

Every command module hands its body to `run_command`. Nothing here imports rich, TensorFlow or
the library at module level: a command's body imports what it needs when it runs.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any, Callable, Optional

from pytfpol.errors import (
    EXIT_INTERRUPTED,
    EXIT_RUNTIME,
    EXIT_TERMINATED,
    PytfpolError,
    Terminated,
    one_line,
)


def run_command(body: Callable[[], None], verbose: bool) -> None:
    """Run a command body; turn every failure into its message and exit code."""
    from pytfpol.policy.quiet_tf import silence

    if not verbose:
        silence()
    _safe_streams()
    warnings.showwarning = _one_line_warning
    _working_directory_importable()
    try:
        body()
    except PytfpolError as exc:
        _report_error(exc, verbose)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt as exc:
        _report_error(exc, verbose)
        sys.exit(EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, exit 4
        _report_error(exc, verbose)
        sys.exit(EXIT_RUNTIME)


def _safe_streams() -> None:
    """Never fail on a character the terminal's encoding lacks (PYTHONIOENCODING=ascii)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="replace")  # type: ignore[attr-defined]
        except (AttributeError, ValueError):  # not a TextIOWrapper (e.g. a test runner's)
            pass


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Python warnings (Gymnasium's among them) as one plain `warning:` line on stderr, without
    the source line or colour codes."""
    sys.stderr.write(f"warning: {one_line(message)}\n")


def _working_directory_importable() -> None:
    """`--env module:ID` and config factories import modules from the working directory, as
    under `python -m pytfpol` (whose import path starts with it; the console script's starts with
    its own bin/). Appended, so a module there never shadows an installed package."""
    cwd = os.getcwd()
    if "" not in sys.path and cwd not in sys.path:
        sys.path.append(cwd)


def _report_error(exc: BaseException, verbose: bool) -> None:
    from pytfpol.cli import console

    if isinstance(exc, KeyboardInterrupt):
        console.print_note("terminated" if isinstance(exc, Terminated) else "interrupted")
        return
    console.print_error(exc, verbose)


def print_result(result, as_json: bool, print_table: Callable[..., None]) -> None:
    """A document as JSON on stdout, or as its table."""
    from pytfpol.cli import console

    if as_json:  # a typed document as its JSON object
        console.print_json(result.as_document() if hasattr(result, "as_document") else result)
    else:
        print_table(result)


def show_document(
    document: Any, as_json: bool, quiet: bool, print_table: Callable[[Any], None]
) -> None:
    """A document as JSON, or as its table unless -q."""
    if as_json or not quiet:
        print_result(document, as_json, print_table)


def write_junit(path: Optional[str], document: Any) -> None:
    """--junit FILE: the gates of an eval or sweep report, or a compare verdict, as JUnit XML."""
    if path is None:
        return
    from pytfpol.results import documents, junit

    if isinstance(document, documents.CompareResult):
        suite = junit.compare_suite(document)
    else:  # an eval or a sweep report: the view of its type
        suite = junit.suite_for(documents.typed_report(document))
    junit.write(path, [suite])


def write_summaries(path: Optional[str], document: Any) -> None:
    """--summary FILE.md and $GITHUB_STEP_SUMMARY: the document as Markdown (`summaries`)."""
    from pytfpol.cli import console
    from pytfpol.results import documents, summaries

    if not isinstance(document, documents.CompareResult):
        document = documents.typed_report(document)
    for warning in summaries.write(document, path):
        console.print_note(f"warning: {warning}")


def check_summary_target(path: Optional[str], out: Optional[str]) -> None:
    """--summary inside --out is refused before anything runs (`summaries.check_target`)."""
    from pytfpol.results import summaries

    summaries.check_target(path, out)


def shown(
    run: Callable[[], Any],
    show: Callable[[Any], None],
    junit_path: Optional[str],
    summary_path: Optional[str] = None,
) -> Any:
    """`run()`'s report, shown and written as JUnit; also the report an error carries (an
    incomplete run, failed checkpoints) before the error goes on to set the exit code."""
    try:
        document = run()
    except PytfpolError as exc:
        if exc.report is not None:
            show(exc.report)
            write_junit(junit_path, exc.report)
            write_summaries(summary_path, exc.report)
        raise
    show(document)
    write_junit(junit_path, document)
    write_summaries(summary_path, document)
    return document
