"""Shared, expensive fixtures: the TF-Agents artifacts are written once per test session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_POLICY = REPO / "examples" / "cartpole-dqn"

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def write_artifacts(tmp_path_factory, script: str) -> Path:
    """Run tests/<script> OUT in its own process (eager TF-Agents savers never share a process
    with the graph-mode loading under test) and return OUT."""
    out = tmp_path_factory.mktemp(Path(script).stem)
    subprocess.run(
        [sys.executable, str(REPO / "tests" / script), str(out)],
        check=True,
        cwd=REPO,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        stdout=subprocess.DEVNULL,
    )
    return out


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory) -> Path:
    """Real policies written by TF-Agents' own savers (see tests/artifacts.py), in a temp dir."""
    return write_artifacts(tmp_path_factory, "artifacts.py")


@pytest.fixture(scope="session")
def det_artifacts(tmp_path_factory) -> Path:
    """MuJoCo and pixel actors for the determinism tests (see tests/artifacts_determinism.py)."""
    return write_artifacts(tmp_path_factory, "artifacts_determinism.py")


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


@pytest.fixture(scope="session")
def agents(tmp_path_factory) -> Path:
    """Every TF-Agents agent trained briefly and saved as its example script saves it, with
    eager reference returns (see tests/artifacts_agents.py), in a temp dir."""
    return write_artifacts(tmp_path_factory, "artifacts_agents.py")


@pytest.fixture(scope="session")
def networks(tmp_path_factory) -> Path:
    """Conv, recurrent (DQN v2), action-masked and PPO networks written by TF-Agents' own code
    with eager reference returns (see tests/artifacts_networks.py), in a temp dir."""
    return write_artifacts(tmp_path_factory, "artifacts_networks.py")
