"""Write failures (exit 5, the previous output set intact) and a missing TensorFlow (exit 2).

Issue 23, points 8 and 9. Writes fail for real: a child process sets `RLIMIT_FSIZE` (with SIGXFSZ
ignored, so that a write past the limit fails with EFBIG instead of killing it) and execs
`python -m pytfpol`; the limit is chosen between the sizes of the files a run writes, so that
the one under test is the first to fail. TensorFlow is made unimportable for real too: a
directory first on PYTHONPATH holds a `tensorflow` package whose import fails as a missing one.

Runs use the example policy (examples/cartpole-dqn) and the example Learner run
(examples/cartpole-dqn-run), so no session fixture is needed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytfpol.commands import sweep as sweeping
from pytfpol.policy.quiet_tf import INSTALL_TENSORFLOW
from pytfpol.results import write_failures
from pytfpol.running import sweep_plan
from pytfpol.settings import EvalSettings, SweepSettings
from tests.helpers.repo import EXAMPLE_POLICY, REPO, run_cli

LEARNER_RUN = REPO / "examples" / "cartpole-dqn-run"
TIMEOUT = 240

# Sizes with the example policy, 200 episodes: the checkpoint's data file 23418 bytes, stats.json
# about 28400 (one line an episode). A limit between them lets the checkpoint through and stops stats.json; below
# both, TensorFlow's saver is stopped first (the checkpoint is written before the reports).
EVAL_LIMITS = {"checkpoint": 16_000, "stats.json": 26_000}
# The sweep's largest files: best/checkpoint's data file (23418 bytes, written first, by
# TensorFlow's saver), curve.png (about 68 KiB, written after the CSVs); the journal files and
# the TensorBoard events are below 10 KiB. Without a confirmation there is no best/.
SWEEP_LIMITS = {"best": (20_000, ()), "curve.png": (30_000, ("--confirm-episodes", "0"))}

LIMITED = """
import os, resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # inherited by exec: a write fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), resource.RLIM_INFINITY))
os.execv(sys.executable, [sys.executable, "-m", "pytfpol", *sys.argv[2:]])
"""


def run_limited(limit: int, *args: str) -> subprocess.CompletedProcess:
    """`python -m pytfpol ARGS` in a child whose files may not grow past `limit` bytes."""
    return subprocess.run(
        [sys.executable, "-c", LIMITED, str(limit), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, "NO_COLOR": "1"},
    )


def snapshot(out: Path) -> dict:
    """Every name under `out` (hidden ones too) with its size and sha256."""
    files = {}
    for path in sorted(out.rglob("*")):
        data = b"" if path.is_dir() else path.read_bytes()
        files[str(path.relative_to(out))] = (
            path.is_dir(),
            len(data),
            hashlib.sha256(data).digest(),
        )
    return files


def assert_write_failure(
    result: subprocess.CompletedProcess, out: Path, name: str, cause: str = "File too large"
) -> None:
    """Exit 5; one `error:` line naming OUT, the output and the cause; no traceback or graph
    stack of TensorFlow's."""
    assert result.returncode == 5, result.stderr
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    assert f"--out {out}: could not write {name} ({cause})" in errors[0], errors[0]
    assert all(line.startswith(("error: ", "hint: ")) for line in lines), result.stderr
    for trace in ("Traceback", "Original stack trace", 'File "', "[[{{node"):
        assert trace not in result.stderr
    assert result.stdout == ""


def non_picture_bytes(out: Path) -> int:
    """What a run wrote besides pictures (which `files.FREE_SPACE_MARGIN` covers)."""
    return sum(p.stat().st_size for p in out.rglob("*") if p.is_file() and p.suffix != ".png")


# ---------------------------------------------------------------------------------------------
# Write failures


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EVAL_LIMITS))
def test_a_write_failure_in_eval_is_exit_5_and_leaves_the_previous_set(tmp_path, name):
    out = tmp_path / "out"
    args = ["eval", str(EXAMPLE_POLICY), "--env", "CartPole-v1", "--episodes", "200"]
    args += ["--num-envs", "8", "--out", str(out)]
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    assert non_picture_bytes(out) <= write_failures.needed_bytes(
        sum(f.stat().st_size for f in (EXAMPLE_POLICY / "variables").iterdir()), 200
    )
    before = snapshot(out)

    result = run_limited(EVAL_LIMITS[name], *args)

    assert_write_failure(result, out, name)
    assert snapshot(out) == before


# The video of an episode is written while the episodes run: MP4 (about 31 KiB; ffmpeg writes
# it, and leaves it truncated at the limit without an error of its own) or GIF (about 220 KiB,
# Pillow); everything else the run writes (the checkpoint: 23418 bytes) is below the limit.
VIDEO_CAUSES = {
    "mp4": "ffmpeg left the video incomplete: no space left on device, or a file-size limit?",
    "gif": "File too large",
}


@pytest.mark.slow
@pytest.mark.parametrize("video_format", sorted(VIDEO_CAUSES))
def test_a_video_that_cannot_be_written_is_exit_5_and_commits_nothing(tmp_path, video_format):
    out = tmp_path / "out"
    args = ["eval", str(EXAMPLE_POLICY), "--env", "CartPole-v1", "--episodes", "3", "--video", "1"]
    args += ["--video-format", video_format, "--out", str(out)]
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    before = snapshot(out)

    result = run_limited(25_000, *args)

    assert_write_failure(result, out, "videos", VIDEO_CAUSES[video_format])
    assert snapshot(out) == before


def test_tensorboard_events_that_cannot_be_written_are_an_output_error(tmp_path):
    """TensorFlow's event writer raises OutOfRangeError (with its op's name) at a file-size
    limit: `write_tensorboard` says it as an OutputError naming the directory and the cause."""
    code = LIMITED.split("os.execv")[0] + (
        "from pathlib import Path\n"
        "from pytfpol.errors import OutputError\n"
        "from pytfpol.results import sweep_report\n"
        "from pytfpol.results.documents import SweepReport\n"
        "entry = {'run': 0, 'error': None, 'summary': {'mean_return': 1.0, 'mean_length': 2.0}}\n"
        "entries = [dict(entry, step=s, episodes=[{'return': 1.0}] * 50) for s in range(50)]\n"
        "try:\n"
        "    document = SweepReport(checkpoints=entries)\n"
        "    sweep_report.write_tensorboard(Path(sys.argv[2]), document, ['run'])\n"
        "except OutputError as error:\n"
        "    print(error.message)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "2000", str(tmp_path / "board")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 0, result.stderr
    message = f"{tmp_path / 'board'}: could not write the TensorBoard events (File too large)"
    assert result.stdout.strip() == message


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SWEEP_LIMITS))
def test_a_write_failure_in_a_sweep_is_exit_5_and_leaves_the_previous_set(tmp_path, name):
    """The re-run takes every checkpoint from the journal (nothing is journaled again), then
    writes its output set: the best checkpoint's re-evaluation (TensorFlow's saver), or its
    documents and pictures (the atomic writer)."""
    limit, more = SWEEP_LIMITS[name]
    out = tmp_path / "out"
    args = ["sweep", str(LEARNER_RUN), "--env", "CartPole-v1", "--episodes", "5", *more]
    args += ["--out", str(out)]
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    before = snapshot(out)

    result = run_limited(limit, *args, "-q")  # -q: no progress lines beside the error

    assert_write_failure(result, out, name)
    assert snapshot(out) == before


def test_the_sweep_estimate_covers_what_it_writes(tmp_path):
    """`sweep._needed_bytes` of the plan against a real sweep's files (pictures aside)."""
    out = tmp_path / "out"
    result = run_cli(
        "sweep", str(LEARNER_RUN), "--env", "CartPole-v1", "--episodes", "40",
        "--num-envs", "8", "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    settings = SweepSettings(
        (str(LEARNER_RUN),), EvalSettings(str(LEARNER_RUN), "CartPole-v1", episodes=40)
    )
    plan = sweep_plan.plan_sweep(settings)
    try:
        needed = sweeping._needed_bytes(plan)
    finally:
        plan.close()
    assert non_picture_bytes(out) <= needed < 4 * non_picture_bytes(out)


def test_a_sweep_without_room_for_what_it_will_write_is_refused_before_it_reads_anything(
    tmp_path,
):
    """A real statvfs of OUT against an estimate inflated through --episodes (4e9 per
    checkpoint: terabytes). The run's checkpoints are damaged (their data emptied): a sweep
    that looked at them before the free-space check would say so (exit 3), not exit 5."""
    run = tmp_path / "run"
    shutil.copytree(LEARNER_RUN, run)
    for data in run.rglob("policy_checkpoint_*/variables/variables.data-*"):
        data.write_bytes(b"")
    out = tmp_path / "out"
    episodes = 4_000_000_000
    chosen = len(list(run.glob("policies/checkpoints/policy_checkpoint_*")))
    if write_failures.needed_bytes(0, chosen * episodes, chosen) < shutil.disk_usage(tmp_path).free:
        pytest.skip("this file system has terabytes free")

    result = run_cli(
        "sweep", str(run), "--env", "CartPole-v1", "--episodes", str(episodes),
        "--confirm-episodes", "0", "--out", str(out), timeout=120,
    )  # fmt: skip

    assert result.returncode == 5, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith(f"error: --out {out}: not enough free space ("), lines
    assert "Traceback" not in result.stderr
    assert not out.exists()  # the directory it created is removed again


# ---------------------------------------------------------------------------------------------
# TensorFlow missing


@pytest.fixture(scope="module")
def without_tensorflow(tmp_path_factory) -> dict:
    """The environment of a child process in which `import tensorflow` fails as it does when
    pytfpol was installed without its [cpu] or [gpu] extra."""
    shadow = tmp_path_factory.mktemp("no-tensorflow")
    (shadow / "tensorflow").mkdir()
    (shadow / "tensorflow" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'tensorflow'\", name='tensorflow')\n"
    )
    path = os.pathsep.join([str(shadow), str(REPO), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "NO_COLOR": "1", "PYTHONPATH": path}


@pytest.fixture(scope="module")
def eval_out(tmp_path_factory) -> Path:
    """An eval output (with TensorFlow), for replay and compare."""
    out = tmp_path_factory.mktemp("eval") / "out"
    result = run_cli("eval", str(EXAMPLE_POLICY), "--env", "CartPole-v1", "--episodes", "5",
                     "--out", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr
    return out


def run_without_tensorflow(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytfpol", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
    )


NEEDS_TENSORFLOW = {
    "eval": ["eval", str(EXAMPLE_POLICY), "--env", "CartPole-v1", "--episodes", "2"],
    "sweep": ["sweep", str(LEARNER_RUN), "--env", "CartPole-v1", "--episodes", "2"],
    "compare --env": [
        "compare", str(EXAMPLE_POLICY), str(EXAMPLE_POLICY), "--env", "CartPole-v1",
        "--episodes", "5",
    ],
    "replay": ["replay"],
}  # fmt: skip


@pytest.mark.parametrize("command", sorted(NEEDS_TENSORFLOW))
def test_without_tensorflow_a_command_that_needs_it_names_the_extra(
    without_tensorflow, eval_out, tmp_path, command
):
    args = NEEDS_TENSORFLOW[command]
    args = [*args, str(eval_out)] if command == "replay" else [*args, "--out", str(tmp_path / "o")]

    result = run_without_tensorflow(without_tensorflow, *args)

    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [f"error: {INSTALL_TENSORFLOW}"]
    assert "pip install 'pytfpol[cpu]'" in INSTALL_TENSORFLOW
    assert result.stdout == ""  # TF-Agents' own notice (printed on stdout) never shows
    assert not (tmp_path / "o").exists()


def test_without_tensorflow_inspect_compare_configs_and_help_work(
    without_tensorflow, eval_out, tmp_path
):
    for args in (
        ["--help"],
        ["eval", "--help"],
        ["inspect", str(EXAMPLE_POLICY), "--json"],
        ["compare", str(eval_out), str(eval_out), "--json"],
        ["configs"],
    ):
        result = run_without_tensorflow(without_tensorflow, *args)
        assert result.returncode == 0, (args, result.stderr)
        assert "tensorflow" not in result.stderr.lower(), (args, result.stderr)
        if "--json" in args:
            json.loads(result.stdout)
