"""`pytfpol sweep RUN --watch` started beside training, before RUN exists: it waits for RUN
(saying so once), then sweeps it as if it had been there; past --watch-timeout it is a missing
input (exit 3) naming RUN. What appears is checked as any given path is.

The run is a copy of the example Learner run (examples/cartpole-dqn-run, written by TF-Agents'
Learner), moved into place in one rename, as training's first save would make it appear."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytfpol.formats import layout
from tests.helpers.repo import REPO, run_cli

LEARNER_RUN = REPO / "examples" / "cartpole-dqn-run"
WAITING = "waiting for {} to appear"


def start_sweep(run: Path, out: Path, stderr: Path, timeout: str) -> subprocess.Popen:
    args = [
        "sweep", str(run), "--env", "CartPole-v1", "--out", str(out), "--watch",
        "--watch-timeout", timeout, "--poll", "0.1", "--last", "1", "--episodes", "2",
        "--confirm-episodes", "1",
    ]  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "pytfpol", *args],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=stderr.open("w"),
        env={**os.environ, "NO_COLOR": "1"},
    )


def wait_until_waiting(process: subprocess.Popen, stderr: Path, run: Path) -> None:
    """Until the sweep says it waits for RUN (generous: the machine may be loaded)."""
    deadline = time.monotonic() + 240
    while WAITING.format(run) not in stderr.read_text():
        assert process.poll() is None, stderr.read_text()
        assert time.monotonic() < deadline, stderr.read_text()
        time.sleep(0.1)
    time.sleep(1.0)  # several listings while RUN is missing: the message is not repeated


def finish(process: subprocess.Popen, stderr: Path) -> tuple[int, str]:
    try:
        process.wait(timeout=300)
    finally:
        process.kill()
    return process.returncode, stderr.read_text()


def appear(run: Path, how: str, tmp_path: Path) -> None:
    """RUN appears at once: a directory renamed into place (over the empty one training made
    first, too), a symlink to one, or a file."""
    if how == "file":
        run.write_text("not a run\n")
        return
    copy = tmp_path / "training" / "run-being-written"
    shutil.copytree(LEARNER_RUN, copy)
    if how in ("directory", "over an empty directory"):
        os.rename(copy, run)
    else:
        os.symlink(copy, run)


@pytest.mark.parametrize("how", ["directory", "symlink", "over an empty directory"])
def test_a_watch_started_before_training_waits_for_the_run(tmp_path, how):
    run, out, stderr = tmp_path / "train" / "policies", tmp_path / "o", tmp_path / "stderr"
    run.parent.mkdir()
    if how == "over an empty directory":
        run.mkdir()  # made by training before its first checkpoint: not a run yet
    (tmp_path / "training").mkdir()
    process = start_sweep(run, out, stderr, "6")
    wait_until_waiting(process, stderr, run)
    assert not out.exists()  # nothing is claimed while waiting
    appear(run, how, tmp_path)
    code, text = finish(process, stderr)
    assert code == 0, text
    assert text.count(WAITING.format(run)) == 1, text
    document = json.loads((out / layout.SWEEP_JSON).read_text())
    assert [e["step"] for e in document["checkpoints"]] == [15360]
    assert document["complete"] and document["best"]["step"] == 15360


def test_a_run_that_never_appears_is_a_missing_input_at_the_watch_timeout(tmp_path):
    run, out = tmp_path / "never", tmp_path / "o"
    result = run_cli("sweep", str(run), "--env", "CartPole-v1", "--out", str(out), "--watch",
                     "--watch-timeout", "0.5", "--poll", "0.1")  # fmt: skip
    assert result.returncode == 3, result.stderr
    lines = result.stderr.splitlines()
    assert lines.count(f"warning: {WAITING.format(run)} (--watch)") == 1, result.stderr
    assert f"error: {run}: did not appear within --watch-timeout 0.5 s" in lines
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_without_watch_a_missing_run_is_exit_3_at_once(tmp_path):
    run = tmp_path / "never"
    result = run_cli("sweep", str(run), "--env", "CartPole-v1", "--out", str(tmp_path / "o"))
    assert result.returncode == 3, result.stderr
    assert result.stderr.splitlines()[0] == (
        f"error: {run}: no such file or directory (nor a checkpoint prefix)"
    )
    assert "waiting" not in result.stderr


def test_what_appears_is_checked_as_a_given_path_is(tmp_path):
    """A file where the run should appear is refused as the same file given without --watch."""
    run, out, stderr = tmp_path / "run", tmp_path / "o", tmp_path / "stderr"
    process = start_sweep(run, out, stderr, "60")
    wait_until_waiting(process, stderr, run)
    appear(run, "file", tmp_path)
    code, text = finish(process, stderr)
    given = run_cli("sweep", str(run), "--env", "CartPole-v1", "--out", str(out))
    assert (code, given.returncode) == (3, 3), text
    assert text.splitlines()[-2:] == given.stderr.splitlines()[-2:]
    assert "is a file, not a checkpoint" in text
    assert not out.exists()
