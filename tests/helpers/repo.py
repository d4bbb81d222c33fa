"""Where the repository is, and how the tests run its CLI and the artifact-writing scripts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
HELPERS = Path(__file__).resolve().parent
EXAMPLE_POLICY = REPO / "examples" / "cartpole-dqn"


def write_artifacts(tmp_path_factory, script: str) -> Path:
    """Run tests/helpers/<script> OUT in its own process (eager TF-Agents savers never share a
    process with the graph-mode loading under test) and return OUT."""
    out = tmp_path_factory.mktemp(Path(script).stem)
    subprocess.run(
        [sys.executable, str(HELPERS / script), str(out)],
        check=True,
        cwd=REPO,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        stdout=subprocess.DEVNULL,
    )
    return out


def run_cli(*args: str, cwd: Path = REPO, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m pytfpol ARGS` in a child process, as a user runs it (no TTY)."""
    return subprocess.run(
        [sys.executable, "-m", "pytfpol", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "NO_COLOR": "1"},
    )


def wait_for_first_journal_entry(
    process: subprocess.Popen, out: Path, timeout: float = 240
) -> None:
    """Wait until the sweep `process` (a --watch into `out`) has journalled a checkpoint, then a
    second for it to be watching: it must not end meanwhile."""
    import time

    from pytfpol.formats import layout

    deadline = time.monotonic() + timeout
    while not list((out / layout.JOURNAL_DIR).glob("*.json")):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.2)
    time.sleep(1.0)  # watching now


def run_counting_opens(
    args: list[str], log: Path, **run: Any
) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Run `python -m pytfpol ARGS` under strace and return it with every path it and its
    children opened successfully. `-ff` writes one log a thread (`log.TID`): with one log for
    all, a call interrupted by another thread's is split over two lines, and the regex below
    would miss it."""
    import re

    result = subprocess.run(
        ["strace", "-ff", "-qq", "-e", "trace=open,openat", "-o", str(log), sys.executable, "-m",
         "pytfpol", *args],
        capture_output=True, text=True, timeout=300, **{"cwd": REPO, **run},
    )  # fmt: skip
    opened: list[str] = []
    for part in log.parent.glob(f"{log.name}.*"):
        opened += re.findall(r'open(?:at)?\([^"]*"([^"]+)"[^)]*\)\s*=\s*\d+', part.read_text())
    return result, opened
