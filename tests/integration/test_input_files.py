"""FIFOs, devices and sizes (issue 23, points 6-7; docs/security.md "FIFOs, devices and sizes").

Every file `eval`, `sweep`, `replay`, `compare` and `inspect` read is, in turn, replaced by a
FIFO or a symlink to a device, or made larger than its format allows (sparse: no disk used):
each command must exit 3 naming the file, in a child process with a timeout (a hang fails the
test, never the suite). A refused oversized file must not be read: the child runs under a 4 GiB
address-space limit (so that a regression fails instead of eating the machine) and its peak RSS
is measured by a wrapper process (`resource.getrusage(RUSAGE_CHILDREN)`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pytfpol.errors import InputError
from pytfpol.formats import input_files
from tests.helpers.repo import REPO, run_cli
from tests.integration.test_faults import assert_refused

QUICK = 60  # seconds: every refusal here comes before TensorFlow runs an episode
SWEEP = 240  # a sweep evaluates the undamaged checkpoints before it reports the damaged one
SPARSE = 10 << 30  # a 10 GB sparse file: no disk blocks, but 10 GB to whoever reads it
AS_LIMIT = 4 << 30  # the child's address space: reading SPARSE would fail, not swap the machine
RSS_LIMIT_KB = 2 << 20  # peak RSS of a refusal, in KiB (ru_maxrss): under 2 GiB
SM_VARS = "variables/variables"
CONFIG = str(REPO / "configs" / "tf-agents-dqn-v2-cartpole.toml")


def fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def dev_zero(path: Path) -> None:
    path.unlink()
    path.symlink_to("/dev/zero")


def dev_urandom(path: Path) -> None:
    path.unlink()
    path.symlink_to("/dev/urandom")


def sparse(path: Path, size: int = SPARSE) -> None:
    """`path` grown to `size` bytes without writing them (a hole); skips when the filesystem
    would store them."""
    with open(path, "r+b") as handle:
        handle.truncate(size)
    if path.stat().st_blocks * 512 >= size // 2:
        pytest.skip(f"{path.parent}: the filesystem does not keep sparse files sparse")


DAMAGE = {"fifo": fifo, "dev-zero": dev_zero, "dev-urandom": dev_urandom}
NOT_REGULAR = {"fifo": "a FIFO", "dev-zero": "a character device", "dev-urandom": "character"}


def refused(result, path: Path, *fragments: str) -> None:
    """Exit 3, the first line naming `path` (and `fragments`)."""
    assert_refused(result, 3, str(path), *fragments)


def measured(*args: str, timeout: float = QUICK):
    """`python -m pytfpol ARGS` run by a wrapper process under AS_LIMIT; the result carries
    `peak_kb`, the child's peak RSS (ru_maxrss of RUSAGE_CHILDREN, as the wrapper saw it)."""
    wrapper = (
        "import resource, subprocess, sys\n"
        "limit = int(sys.argv[1])\n"
        "def cap():\n"
        "    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))\n"
        "done = subprocess.run(sys.argv[2:], preexec_fn=cap)\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "sys.stdout.write(f'peak_kb={peak}\\n')\n"
        "sys.exit(done.returncode if done.returncode >= 0 else 128 - done.returncode)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", wrapper, str(AS_LIMIT), sys.executable, "-m", "pytfpol", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "NO_COLOR": "1"},
    )
    *out, peak = result.stdout.splitlines() or ["peak_kb=-1"]
    result.peak_kb = int(peak.split("=")[1])
    result.stdout = "\n".join(out)
    return result


# ---------------------------------------------------------------------------------------------
# The inputs: private copies of the session's artifacts


@pytest.fixture(scope="module")
def evaluation(artifacts, tmp_path_factory) -> Path:
    """One evaluation of a copy of the cartpole SavedModel: (its directory)/{policy,out}."""
    root = tmp_path_factory.mktemp("evaluated")
    shutil.copytree(artifacts / "cartpole_sm", root / "policy")
    args = ("eval", str(root / "policy"), "--env", "CartPole-v1", "--episodes", "2")
    result = run_cli(*args, "--out", str(root / "out"), "-q")
    assert result.returncode == 0, result.stderr
    return root


def copy_evaluation(evaluation: Path, tmp_path: Path) -> Path:
    """A private copy of `evaluation`, its stats.json pointing at the copied policy files."""
    root = tmp_path / "evaluated"
    shutil.copytree(evaluation, root, symlinks=True)
    stats = root / "out" / "stats.json"
    stats.write_text(stats.read_text().replace(str(evaluation), str(root)))
    return root


def saved_model(artifacts: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(artifacts / "cartpole_sm", tmp_path / "in" / "cartpole_sm"))


def checkpointer_run(artifacts: Path, tmp_path: Path) -> Path:
    src = artifacts / "checkpointer" / "dqn_v2_run" / "train" / "policy"
    return Path(shutil.copytree(src, tmp_path / "in" / "policy"))


def evaluate(target: Path, tmp_path: Path, *extra: str, timeout: float = QUICK):
    args = ("eval", str(target), "--env", "CartPole-v1", "--episodes", "2", "-q", *extra)
    return run_cli(*args, "--out", str(tmp_path / "out"), timeout=timeout)


SAVED_MODEL_FILES = [
    "saved_model.pb",
    "fingerprint.pb",
    "policy_specs.pbtxt",
    f"{SM_VARS}.index",
    f"{SM_VARS}.data-00000-of-00001",
]


# ---------------------------------------------------------------------------------------------
# No hang on FIFOs or devices (point 6)


@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize("name", SAVED_MODEL_FILES)
def test_eval_refuses_a_saved_model_file_that_is_not_regular(artifacts, tmp_path, name, damage):
    target = saved_model(artifacts, tmp_path)
    DAMAGE[damage](target / name)
    refused(evaluate(target, tmp_path), target / name, NOT_REGULAR[damage])


@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize("name", ["stats.json", *SAVED_MODEL_FILES])
def test_replay_refuses_a_file_that_is_not_regular(evaluation, tmp_path, name, damage):
    """Before the fix, a FIFO fingerprint.pb made `replay` hang forever (hashing it)."""
    root = copy_evaluation(evaluation, tmp_path)
    path = root / ("out" if name == "stats.json" else "policy") / name
    DAMAGE[damage](path)
    result = run_cli("replay", str(root / "out"), "--episode", "0", timeout=QUICK)
    refused(result, path, NOT_REGULAR[damage])


@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize("side", ["baseline", "candidate"])
def test_compare_refuses_a_stats_json_that_is_not_regular(evaluation, tmp_path, side, damage):
    root = copy_evaluation(evaluation, tmp_path)
    path = root / "out" / "stats.json"
    other = tmp_path / "other.json"
    shutil.copy(path, other)
    DAMAGE[damage](path)
    pair = (root / "out", other) if side == "baseline" else (other, root / "out")
    result = run_cli("compare", *map(str, pair), timeout=QUICK)
    refused(result, path, NOT_REGULAR[damage])


@pytest.mark.parametrize("damage", ["fifo", "dev-zero"])
@pytest.mark.parametrize("name", ["saved_model.pb", "policy_specs.pbtxt", "stats.json"])
def test_inspect_refuses_a_file_that_is_not_regular(evaluation, tmp_path, name, damage):
    root = copy_evaluation(evaluation, tmp_path)
    target = root / ("out" if name == "stats.json" else "policy")
    DAMAGE[damage](target / name)
    result = run_cli("inspect", str(target), timeout=QUICK)
    assert result.returncode == 3, result.stderr
    assert str(target / name) in result.stdout + result.stderr
    assert NOT_REGULAR[damage] in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("name", "damage"), [("ckpt-20.index", "fifo"), ("ckpt-20.data-00000-of-00001", "dev-zero")]
)
def test_sweep_refuses_a_checkpoint_file_that_is_not_regular(artifacts, tmp_path, name, damage):
    """A damaged checkpoint is recorded (the sweep would go on), exiting 3 at the end with the
    file named (only the damaged step is swept, to keep the test fast)."""
    target = checkpointer_run(artifacts, tmp_path)
    DAMAGE[damage](target / name)
    args = ("sweep", str(target), "--env", "CartPole-v1", "--config", CONFIG, "--episodes", "1")
    result = run_cli(*args, "--steps", "20:20", "--out", str(tmp_path / "out"), "-q", timeout=SWEEP)
    assert result.returncode == 3, result.stderr
    assert f"{target / name}: not a regular file ({NOT_REGULAR[damage]}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["eval", "sweep"])
def test_a_state_file_that_is_a_fifo_is_refused_not_waited_for(artifacts, tmp_path, command):
    """The `checkpoint` state file is only a hint (a damaged text is a warning), but a FIFO or a
    device there is a crafted input: exit 3 naming it, never opened, nothing written."""
    target = checkpointer_run(artifacts, tmp_path)
    fifo(target / "checkpoint")
    args = (command, str(target), "--env", "CartPole-v1", "--config", CONFIG, "--episodes", "1")
    result = run_cli(*args, "--out", str(tmp_path / "out"), timeout=SWEEP)
    refused(result, target / "checkpoint", "not a regular file (a FIFO)")
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------------
# Size limits before parsing (point 7)


def test_a_10_gb_sparse_saved_model_pb_is_refused_before_it_is_read(artifacts, tmp_path):
    """Before the fix, TensorFlow read it whole (the kernel killed the run at ~24 GB)."""
    target = saved_model(artifacts, tmp_path)
    sparse(target / "saved_model.pb")
    args = ("eval", str(target), "--env", "CartPole-v1", "--episodes", "2", "-q")
    result = measured(*args, "--out", str(tmp_path / "out"))
    refused(result, target / "saved_model.pb", f"{SPARSE} bytes, over the limit of")
    assert 0 < result.peak_kb < RSS_LIMIT_KB, result.peak_kb


@pytest.mark.parametrize("command", ["replay", "compare", "inspect"])
def test_a_10_gb_sparse_stats_json_is_refused_before_it_is_read(evaluation, tmp_path, command):
    root = copy_evaluation(evaluation, tmp_path)
    stats = root / "out" / "stats.json"
    other = tmp_path / "other.json"
    shutil.copy(stats, other)
    sparse(stats)
    args = {
        "replay": ("replay", str(root / "out"), "--episode", "0"),
        "compare": ("compare", str(other), str(root / "out")),
        "inspect": ("inspect", str(root / "out")),
    }[command]
    result = measured(*args)
    limit = input_files.LIMITS["stats.json"]
    assert result.returncode == 3, result.stderr
    message = f"{stats}: {SPARSE} bytes, over the limit of {limit} bytes for stats.json"
    assert message in " ".join((result.stdout + result.stderr).split())
    assert 0 < result.peak_kb < RSS_LIMIT_KB, result.peak_kb


@pytest.mark.parametrize(
    ("name", "size"),
    [
        (f"{SM_VARS}.index", SPARSE),
        ("fingerprint.pb", input_files.LIMITS["fingerprint.pb"] + 1),
        ("policy_specs.pbtxt", input_files.LIMITS["policy_specs.pbtxt"] + 1),
        ("assets/vocabulary.txt", input_files.LIMITS["SavedModel asset"] + 1),
    ],
)
def test_eval_refuses_a_saved_model_file_over_its_limit(artifacts, tmp_path, name, size):
    target = saved_model(artifacts, tmp_path)
    (target / name).touch()
    sparse(target / name, size)
    args = ("eval", str(target), "--env", "CartPole-v1", "--episodes", "2", "-q")
    result = measured(*args, "--out", str(tmp_path / "out"))
    refused(result, target / name, f"{size} bytes, over the limit of")
    assert 0 < result.peak_kb < RSS_LIMIT_KB, result.peak_kb


def test_a_policy_config_over_its_limit_is_a_usage_error(artifacts, tmp_path):
    """--config is the user's own option: refused as every problem with it is (exit 2)."""
    target = checkpointer_run(artifacts, tmp_path)
    config = tmp_path / "policy.toml"
    shutil.copy(CONFIG, config)
    sparse(config, SPARSE)
    result = measured(
        "eval", str(target), "--env", "CartPole-v1", "--episodes", "2", "-q", "--config",
        str(config), "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert_refused(result, 2, f"--config {config}: {SPARSE} bytes, over the limit of")
    assert 0 < result.peak_kb < RSS_LIMIT_KB, result.peak_kb


@pytest.mark.parametrize("extra", [1, SPARSE])
def test_a_data_shard_larger_than_its_index_says_is_refused(artifacts, tmp_path, extra):
    """A data shard holds what its index says, nothing after its last tensor."""
    target = checkpointer_run(artifacts, tmp_path)
    data = target / "ckpt-20.data-00000-of-00001"
    held = data.stat().st_size
    sparse(data, held + extra) if extra > 1 else data.write_bytes(data.read_bytes() + b"\0")
    result = measured(
        "eval", str(target), "--env", "CartPole-v1", "--episodes", "2", "-q", "--step", "20",
        "--config", CONFIG, "--out", str(tmp_path / "out"),
    )  # fmt: skip
    refused(result, data, f"{held + extra} bytes, over the limit of {held} bytes")
    assert 0 < result.peak_kb < RSS_LIMIT_KB, result.peak_kb


def test_replay_refuses_a_policy_file_of_another_size_without_reading_it(evaluation, tmp_path):
    """The size a policy file had when it was evaluated is its limit: a 10 GB sparse
    fingerprint.pb is refused as changed, not hashed."""
    root = copy_evaluation(evaluation, tmp_path)
    path = root / "policy" / "fingerprint.pb"
    before = path.stat().st_size
    sparse(path)
    result = measured("replay", str(root / "out"), "--episode", "0")
    refused(
        result,
        path,
        f"changed since the evaluation in {root / 'out'}",
        f"({SPARSE} bytes, recorded {before})",
    )


def test_the_limits_table_is_the_documented_one():
    """docs/security.md lists exactly the limits the code applies."""
    text = (REPO / "docs" / "security.md").read_text()
    section = text.split("## FIFOs, devices and sizes", 1)[1].split("\n## ", 1)[0]
    rows = {
        cells[0].strip("` "): int(cells[1].replace(",", "").split()[0])
        for line in section.splitlines()
        if line.startswith("| ") and not line.startswith("| format") and "---" not in line
        for cells in [[c.strip() for c in line.strip("|").split("|")]]
        if cells[1][:1].isdigit()
    }
    assert rows == input_files.LIMITS


def test_a_file_swapped_for_a_fifo_after_its_stat_is_refused_by_fstat(tmp_path):
    """What is read is decided by `fstat` of the descriptor read, not by the `stat` of the path
    before: a thread swaps a symlink between a regular file and a FIFO as fast as it can while
    the file is read again and again; every read gives the whole file or a refusal, never the
    FIFO's nothing (without the fstat check, dozens to hundreds of reads in 3 s did here)."""
    content = b"x" * 100
    (tmp_path / "regular").write_bytes(content)
    os.mkfifo(tmp_path / "fifo")
    target, staged = tmp_path / "target", tmp_path / "staged"
    target.symlink_to(tmp_path / "regular")
    stop = threading.Event()

    def swap() -> None:
        while not stop.is_set():
            for name in ("fifo", "regular"):
                staged.symlink_to(tmp_path / name)
                os.replace(staged, target)

    swapper = threading.Thread(target=swap)
    swapper.start()
    outcomes = {"whole": 0, "refused": 0, "other": 0}
    deadline = time.monotonic() + 3
    try:
        while time.monotonic() < deadline:
            try:
                data = input_files.read_bytes(target, 1000, "a test file")
                outcomes["whole" if data == content else "other"] += 1
            except InputError:
                outcomes["refused"] += 1
    finally:
        stop.set()
        swapper.join()
    assert outcomes["other"] == 0, outcomes
    assert outcomes["whole"] and outcomes["refused"], outcomes  # the swap did race the reads
