"""A sweep's curve.png drawn in a child process (issue 26, `results.plot_process`): matplotlib's
import overlaps the evaluation. The child answers the bytes this process would write; any
failure of it (killed, stopped, garbage, not started) is drawn here, the same; it imports no
TensorFlow and nothing from the working directory; a sweep that evaluates uses it (its own
process may not import matplotlib), a re-run answered from the journal starts none; and it is
always reaped: normal end, exit 3, exit 5, Ctrl-C and SIGTERM (real signals).

Sweeps run on the shipped example Learner run (examples/cartpole-dqn-run), short episodes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytfpol import api
from pytfpol.commands.progress import NoProgress
from pytfpol.errors import PytfpolError
from pytfpol.formats import layout
from pytfpol.results import plot_process, plots
from pytfpol.settings import EvalSettings, SweepSettings
from tests.helpers.repo import REPO, wait_for_first_journal_entry

LEARNER_RUN = REPO / "examples" / "cartpole-dqn-run"
SUMMARY = {"mean_return": 10.0, "iqm_return": 9.0, "mean_return_ci_low": 8.0,
           "mean_return_ci_high": 12.0}  # fmt: skip
DOCUMENT = {
    "runs": [{"path": "/runs/a", "best": {"step": 20, "value": 12.0,
                                          "confirmation": {"mean_return": 11.5}}}],
    "checkpoints": [
        {"run": 0, "error": None, "step": s, "summary": {**SUMMARY, "mean_return": 5.0 + s / 4}}
        for s in (10, 20, 30)
    ],
    "settings": {"episodes": 2},
    "env": {"id": "CartPole-v1"},
    "confidence_level": 0.9,
}  # fmt: skip
# The parent of a sweep: importing the named modules (and their submodules) is impossible;
# Ctrl-C raises KeyboardInterrupt as in a terminal (even if this test's process ignores it).
BLOCKING = """
import runpy, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)

class Blocked:
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in {blocked!r}):
            raise ImportError("this process may not import " + name)
        return None

sys.meta_path.insert(0, Blocked())
sys.argv = ["pytfpol", *sys.argv[1:]]
runpy.run_module("pytfpol", run_name="__main__", alter_sys=True)
"""
GARBAGE = (
    "import sys, time; sys.stdin.buffer.read(8); "
    "sys.stdout.buffer.write(bytes(7) + bytes([5]) + b'hello'); sys.stdout.flush(); time.sleep(60)"
)


def children(pid: int) -> set[int]:
    """The child processes of `pid` (alive or zombies)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text()
        found.update(int(p) for p in text.split())
    return found


def plot_children(pid: int) -> set[int]:
    return {
        child
        for child in children(pid)
        if b"plot_process.serve()" in _read(Path(f"/proc/{child}/cmdline"))
    }


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def sweep_args(out: Path, *more: str) -> list[str]:
    return [
        "sweep", str(LEARNER_RUN), "--env", "CartPole-v1", "--episodes", "1",
        "--max-episode-steps", "10", "--last", "1", "--confirm-episodes", "1",
        "--out", str(out), *more,
    ]  # fmt: skip


FORCED = {**os.environ, plot_process.SWITCH: "1"}  # the child, whatever the machine's load


def run_blocked(blocked: tuple, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", BLOCKING.format(blocked=blocked), *args],
        capture_output=True, text=True, cwd=REPO, timeout=180, env=FORCED,
    )  # fmt: skip


# ----------------------------------------------------------------------------- the child


def test_the_child_writes_the_bytes_drawn_in_process_for_every_request(tmp_path):
    plotter = plot_process.PlotProcess()
    other = {**DOCUMENT, "checkpoints": DOCUMENT["checkpoints"][:2]}
    try:
        for number, document in enumerate((DOCUMENT, other)):
            plotter.write_curve_plot(document, tmp_path / f"child-{number}.png")
            served = plotter.process is not None
            plots.write_curve_plot(document, tmp_path / f"here-{number}.png")
            here = (tmp_path / f"here-{number}.png").read_bytes()
            assert (tmp_path / f"child-{number}.png").read_bytes() == here
            assert served  # the one child answered both
    finally:
        plotter.close()


def _break(plotter: plot_process.PlotProcess, how: str) -> None:
    if how == "killed":
        os.kill(plotter.process.pid, signal.SIGKILL)
    elif how == "stopped":
        os.kill(plotter.process.pid, signal.SIGSTOP)


@pytest.mark.parametrize("how", ["killed", "stopped", "garbage", "not started"])
def test_any_failure_of_the_child_is_drawn_here_the_same_and_the_child_reaped(tmp_path, how):
    command = {"garbage": [sys.executable, "-c", GARBAGE], "not started": [str(tmp_path / "no")]}
    plotter = plot_process.PlotProcess(timeout=2.0, command=command.get(how))
    pid = None if plotter.process is None else plotter.process.pid
    try:
        _break(plotter, how)
        started = time.monotonic()
        plotter.write_curve_plot(DOCUMENT, tmp_path / "curve.png")
        assert time.monotonic() - started < 30
        assert plotter.process is None  # not asked again
        assert pid is None or pid not in children(os.getpid())  # ended and reaped
    finally:
        plotter.close()
    assert (tmp_path / "curve.png").read_bytes() == plots.curve_png(DOCUMENT)


def test_the_child_imports_no_tensorflow(tmp_path):
    plotter = plot_process.PlotProcess()
    try:
        assert plotter.curve_png(DOCUMENT) is not None
        maps = Path(f"/proc/{plotter.process.pid}/maps").read_text()
    finally:
        plotter.close()
    assert "ft2font" in maps  # matplotlib's is loaded there
    assert "tensorflow" not in maps


def test_the_child_runs_this_pytfpol_and_nothing_from_the_working_directory(tmp_path, monkeypatch):
    marker = tmp_path / "imported"
    for name in ("pytfpol", "matplotlib", "numpy"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(
            f"open({str(marker)!r}, 'a').write({name!r})\nraise ImportError({name!r})\n"
        )
    monkeypatch.chdir(tmp_path)
    plotter = plot_process.PlotProcess()
    try:
        png = plotter.curve_png(DOCUMENT)
    finally:
        plotter.close()
    assert not marker.exists()
    assert png == plots.curve_png(DOCUMENT)


def test_a_child_is_started_only_when_a_core_is_spare_unless_told():
    assert plot_process.spare_core(2, 0.9) and plot_process.spare_core(8, 7.0)
    assert not plot_process.spare_core(2, 1.6) and not plot_process.spare_core(1, 0.0)
    switch = plot_process.SWITCH  # decides whatever the load
    assert plot_process.worth_starting({switch: "1"}) and not plot_process.worth_starting(
        {switch: "0"}
    )
    assert plot_process.PlotProcess(start=False).curve_png(DOCUMENT) is None  # drawn here


# ----------------------------------------------------------------------------- in a sweep


def test_a_sweep_draws_its_curve_in_the_child_and_a_rerun_starts_none(tmp_path):
    """The sweep's own process may not import matplotlib: the child drew curve.png; the re-run
    (everything from the journal) may not import plot_process either: it keeps OUT's curve."""
    out = tmp_path / "out"
    first = run_blocked(("matplotlib",), *sweep_args(out))
    assert first.returncode == 0, first.stderr
    curve = (out / layout.CURVE_PNG).read_bytes()
    document = json.loads((out / layout.SWEEP_JSON).read_text())
    assert curve == plots.curve_png(document)
    blocked = ("tensorflow", "tf_agents", "matplotlib", "pytfpol.results.plot_process")
    again = run_blocked(blocked, *sweep_args(out))
    assert again.returncode == 0, again.stderr
    assert (out / layout.CURVE_PNG).read_bytes() == curve


class Stopping(NoProgress):
    """Notes the plot children of this process when a checkpoint is done; sends this process
    `signum` (a real signal) when the first one is; with `out`, puts a directory where the
    sweep will stage curve.png (so writing it fails: exit 5)."""

    def __init__(self, signum=None, out: Path | None = None) -> None:
        self.signum, self.out, self.seen = signum, out, set()

    def checkpoint_done(self, *args, **kwargs) -> None:
        self.seen |= plot_children(os.getpid())
        if self.signum is not None:
            os.kill(os.getpid(), self.signum)
        for stage in [] if self.out is None else self.out.glob(".pending-*"):
            (stage / layout.CURVE_PNG).mkdir(exist_ok=True)


def damaged_run(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(LEARNER_RUN, run)
    data = sorted((run / "policies" / "checkpoints").glob("*/variables/variables.data-*"))[-2]
    damaged = bytearray(data.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    data.write_bytes(bytes(damaged))
    return run


@pytest.mark.parametrize(
    "case, code",
    [("ends", None), ("exit 3", 3), ("exit 5", 5), ("SIGTERM", 143), ("Ctrl-C", 130)],
)
def test_the_child_is_reaped_however_the_sweep_ends(tmp_path, monkeypatch, case, code):
    monkeypatch.setenv(plot_process.SWITCH, "1")
    run = damaged_run(tmp_path) if case == "exit 3" else LEARNER_RUN
    signum = {"SIGTERM": signal.SIGTERM, "Ctrl-C": signal.SIGINT}.get(case)
    settings = SweepSettings(
        paths=(str(run),),
        eval=EvalSettings(str(run), "CartPole-v1", episodes=1, max_episode_steps=10,
                          out=str(tmp_path / "out")),
        last=2, confirm_episodes=1,
    )  # fmt: skip
    progress = Stopping(signum, tmp_path / "out" if case == "exit 5" else None)
    before = children(os.getpid())
    try:
        api.sweep(settings, progress)
        assert code is None
    except PytfpolError as exc:
        assert exc.exit_code == code
    assert progress.seen  # the child ran during the evaluation
    assert children(os.getpid()) - before == set()  # neither running nor a zombie
    assert (tmp_path / "out" / layout.CURVE_PNG).is_file() == (case != "exit 5")


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 0), (signal.SIGTERM, 143)])
def test_a_watch_stopped_by_a_real_signal_leaves_no_child(tmp_path, signum, code):
    """Ctrl-C (the whole process group: the child ignores it, so still draws; this process
    may not import matplotlib) ends the watch; SIGTERM to the sweep stops it. The child is
    gone when the sweep is."""
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-c", BLOCKING.format(blocked=("matplotlib",)),
         *sweep_args(out, "--watch", "--poll", "0.2")],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True, env={**FORCED, "NO_COLOR": "1"},
    )  # fmt: skip
    try:
        wait_for_first_journal_entry(process, out)
        child = plot_children(process.pid)
        assert len(child) == 1
        if signum == signal.SIGINT:
            os.killpg(process.pid, signum)
        else:
            process.send_signal(signum)
        _, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == code, stderr
    assert "Traceback" not in stderr and "may not import" not in stderr
    assert (out / layout.CURVE_PNG).exists()
    pid = child.pop()
    assert not Path(f"/proc/{pid}").exists() or b"plot_process" not in _read(
        Path(f"/proc/{pid}/cmdline")
    )
