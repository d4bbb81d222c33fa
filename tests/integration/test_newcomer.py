"""Issue 9 as a new user meets it: what is evaluated is what was asked, errors come fast and in
one style, and the terminal output is honest. Through the CLI, on real artifacts.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import countdown_env
from tests.helpers.repo import REPO, run_cli

IN_PROCESS = """
import sys
from pytfpol.cli import main
try:
    main(sys.argv[1:])
finally:
    loaded = [m for m in ("tensorflow", "tf_agents") if m in sys.modules]
    sys.stderr.write(f"\\nMODULES {loaded}\\n")
"""


def run_in_process(*args: str, cwd: Path = REPO, env: dict | None = None):
    """`pytfpol ARGS` in a child process that reports, at exit, whether TensorFlow was imported."""
    result = subprocess.run(
        [sys.executable, "-c", IN_PROCESS, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
    )
    stderr, _, modules = result.stderr.rpartition("\nMODULES ")
    result.stderr = stderr.lstrip("\n")
    result.tensorflow_imported = modules.strip() != "[]"
    return result


def first_line(result) -> str:
    return result.stderr.strip().splitlines()[0]


# ---------------------------------------------------------------------------------------------
# 1. An option that does not apply is never silently ignored


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (("--policy", "collect"), "--policy: has no meaning for"),
        (("--step", "3"), "--step 3:"),
        (("--allow-partial",), "--allow-partial: has no meaning for"),
        (("--config", "configs/tf-agents-q-network.toml"), "--config: has no meaning for"),
    ],
)
def test_options_that_mean_nothing_for_a_saved_model_are_refused(
    artifacts, tmp_path, extra, fragment
):
    """Each exits 2 naming the option and the kind of input, before TensorFlow is imported,
    and writes nothing."""
    result = run_in_process("eval", str(artifacts / "cartpole_sm"), "--env", "CartPole-v1",
                            "--out", str(tmp_path / "o"), *extra)  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert first_line(result).startswith(f"error: {fragment}")
    assert "PolicySaver SavedModel" in result.stderr
    assert not result.tensorflow_imported
    assert not (tmp_path / "o").exists()


def test_stochastic_on_a_greedy_saved_model_is_refused(artifacts, tmp_path):
    """The greedy policy has nothing to sample: exit 2 rather than a report that says
    `stochastic: true` of a greedy run."""
    result = run_cli("eval", str(artifacts / "learner"), "--env", "CartPole-v1", "--stochastic",
                     "--out", str(tmp_path / "o"))  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "--stochastic" in first_line(result) and "deterministic" in first_line(result)
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_the_report_says_when_a_saved_policy_samples(artifacts, tmp_path):
    """The Learner's `policy` SavedModel samples: the report says so, and the sampling is seeded
    by --seed (two runs agree)."""
    args = ["eval", str(artifacts / "learner"), "--env", "CartPole-v1", "--policy", "policy",
            "--episodes", "6", "--json"]  # fmt: skip
    a = json.loads(run_cli(*args, "--out", str(tmp_path / "a")).stdout)
    b = json.loads(run_cli(*args, "--out", str(tmp_path / "b")).stdout)
    greedy = json.loads(run_cli(*args[:-5], "--episodes", "6", "--json",
                                "--out", str(tmp_path / "g")).stdout)  # fmt: skip
    assert a["policy"]["stochastic"] is True and greedy["policy"]["stochastic"] is False
    assert a["episodes"] == b["episodes"]
    assert a["policy"]["saved_model"].endswith("policies/policy")
    one_by_one = json.loads(run_cli(*args, "--num-envs", "1", "--out", str(tmp_path / "c")).stdout)
    assert one_by_one["episodes"] == a["episodes"]  # sampled per episode, not per batch


def test_a_collect_policy_that_cannot_be_seeded_is_refused(artifacts, tmp_path):
    """DQN's epsilon-greedy collect_policy samples with seeds fixed when it was saved and has no
    distribution to sample with --seed: its runs would not be reproducible."""
    result = run_cli("eval", str(artifacts / "learner"), "--env", "CartPole-v1",
                     "--policy", "collect", "--out", str(tmp_path / "o"))  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "collect_policy: samples its actions" in first_line(result)


def test_step_and_checkpoint_pick_what_eval_evaluates(artifacts, tmp_path):
    """`--step 5` on a Learner root and `--checkpoint .../ckpt-10` on a Checkpointer dir
    evaluate exactly those (were: the newest), as `inspect --step` shows them."""
    learner = json.loads(run_cli("eval", str(artifacts / "learner"), "--env", "CartPole-v1",
                                 "--step", "5", "--episodes", "1", "--json",
                                 "--out", str(tmp_path / "a")).stdout)  # fmt: skip
    assert learner["policy"]["train_step"] == 5
    assert learner["policy"]["checkpoint"].endswith("policy_checkpoint_0000000005")
    shown = json.loads(
        run_cli("inspect", str(artifacts / "learner"), "--step", "5", "--json").stdout
    )
    assert shown["checkpoint"]["step"] == 5
    policy = artifacts / "checkpointer" / "dqn_v2" / "train" / "policy"
    ckpt = json.loads(run_cli("eval", str(policy), "--env", "CartPole-v1", "--checkpoint",
                              str(policy / "ckpt-10"), "--episodes", "1", "--json",
                              "--out", str(tmp_path / "b")).stdout)  # fmt: skip
    assert ckpt["policy"]["checkpoint"] == str(policy / "ckpt-10")
    assert ckpt["policy"]["train_step"] == 10
    missing = run_cli("eval", str(policy), "--env", "CartPole-v1", "--step", "15",
                      "--out", str(tmp_path / "c"))  # fmt: skip
    assert missing.returncode == 3
    assert "no checkpoint at step 15" in first_line(missing) and "10, 20" in missing.stderr


# ---------------------------------------------------------------------------------------------
# 4. Fast, exact errors


@pytest.mark.parametrize(
    "env, kwargs, code, fragment, hint",
    [
        ("CartPole-v2", (), 3, "--env CartPole-v2: no such Gymnasium environment", "CartPole-v1"),
        ("CartPole-v1", ("--env-kwargs", "gravity=3"), 2, "--env-kwargs", "gravity"),
        ("Retro/Pong-v5", (), 3, "--env Retro/Pong-v5", "Retro"),  # ALE/ is installed now
    ],
)
def test_env_mistakes_are_reported_before_tensorflow_is_imported(
    artifacts, tmp_path, env, kwargs, code, fragment, hint
):
    result = run_in_process("eval", str(artifacts / "cartpole_sm"), "--env", env, *kwargs,
                            "--out", str(tmp_path / "o"))  # fmt: skip
    assert result.returncode == code, result.stderr
    assert first_line(result).startswith(f"error: {fragment}")
    assert hint in result.stderr  # Gymnasium's own hint is kept
    assert not result.tensorflow_imported
    assert not (tmp_path / "o").exists()


def test_an_unversioned_env_id_records_the_id_made_and_warns_plainly(artifacts, tmp_path):
    result = run_cli("eval", str(artifacts / "cartpole_sm"), "--env", "CartPole", "--episodes",
                     "1", "--json", "--out", str(tmp_path / "o"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["env"]["id"] == "CartPole-v1" and report["env"]["requested_id"] == "CartPole"
    assert report["warnings"] and "CartPole-v1" in report["warnings"][0]
    assert "\x1b[" not in result.stderr and "logger.warn(" not in result.stderr
    assert result.stderr.startswith("warning: Using the latest versioned environment")


def test_click_parse_errors_read_like_pytfpols(artifacts):
    for args, fragment in (
        (("--episodes", "0"), "error: --episodes 0: must be an integer in the range x>=1"),
        (("--bogus",), "error: No such option '--bogus'"),
    ):
        result = run_cli("eval", str(artifacts / "cartpole_sm"), "--env", "CartPole-v1", *args)
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert lines[0].startswith(fragment), lines
        assert lines[1] == "hint: see `pytfpol eval --help`"
        assert "Usage:" not in result.stderr


def test_an_ascii_terminal_gets_a_complete_run(artifacts, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pytfpol", "eval", str(artifacts / "countdown_sm"), "--env",
         countdown_env.CLI_ENV_ID, "--episodes", "2", "--out", str(tmp_path / "o")],
        cwd=REPO, capture_output=True, timeout=300,
        env={**os.environ, "PYTHONIOENCODING": "ascii", "NO_COLOR": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert b"mean return" in result.stdout and b"+/-" in result.stdout


# ---------------------------------------------------------------------------------------------
# 5. The terminal


def test_help_is_grouped_has_examples_and_fits_80_columns():
    result = subprocess.run(
        [sys.executable, "-m", "pytfpol", "eval", "--help"],
        capture_output=True, text=True, env={**os.environ, "COLUMNS": "80"}, cwd=REPO,
    )  # fmt: skip
    text = result.stdout
    sections = [line for line in text.splitlines() if line.endswith(" options:")]
    assert sections == [
        "Input options:",
        "Environment options:",
        "Run options:",
        "Output options:",
        "Recording options:",
        "Gate options:",
        "Other options:",
    ]
    assert "Examples:" in text and "POLICY is any of:" in text
    assert "policy_saved_model/" in text and "one ckpt-<step>" in text
    assert "[x>=1]" in text  # ranges are shown
    assert max(len(line) for line in text.splitlines()) <= 80
    for line in text.splitlines():  # words are never cut at a hyphen
        assert not line.rstrip().endswith("-") or line.strip() == "-", line


def test_inspect_epilog_lists_only_codes_it_can_return():
    text = run_cli("inspect", "--help").stdout
    codes = text.split("Exit codes:")[1].split()
    assert [c for c in codes if c.isdigit()] == ["0", "2", "3", "5", "130"]


def test_progress_advances_with_every_step(artifacts, tmp_path):
    """On a terminal, the bar moves (steps/s) before the first episode ends: one long episode
    of a slow env is not a frozen `0/1`."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: pytfpol with a terminal on stderr
        os.chdir(REPO)
        os.environ.update(NO_COLOR="1", COLUMNS="160")
        os.execv(sys.executable, [sys.executable, "-m", "pytfpol", "eval",
                                  str(artifacts / "countdown_sm"), "--env",
                                  f"tests.helpers.countdown_env:{countdown_env.SLOW_ENV_ID}",
                                  "--env-kwargs", "delay=0.5", "--max-episode-steps", "40",
                                  "--episodes", "1", "--seed", "4",
                                  "--out", str(tmp_path / "o")])  # fmt: skip
    output = b""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
    os.waitpid(pid, 0)
    text = output.decode(errors="replace")
    running = [
        frame
        for frame in re.split(r"[\r\n]", text)
        if "0/1 episodes" in frame and re.search(r"\d steps/s", frame)
    ]
    assert len(running) > 3, text[-2000:]  # the rate shows before the episode ends
    assert "ETA" in running[-1]
