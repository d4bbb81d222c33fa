"""Shared, expensive fixtures: the TF-Agents artifacts are written once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers.repo import write_artifacts

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# eval, sweep and compare append a summary to $GITHUB_STEP_SUMMARY: not the tests' runs to the
# CI job's page (tests/integration/test_summaries.py sets it to files of their own).
os.environ.pop("GITHUB_STEP_SUMMARY", None)

INTEGRATION = Path(__file__).resolve().parent / "integration"


def pytest_collection_modifyitems(config, items) -> None:
    """Everything under tests/integration/ is marked `integration` (so `-m "not integration"`
    selects the unit tests wherever they are named from)."""
    for item in items:
        if INTEGRATION in item.path.resolve().parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory) -> Path:
    """Real policies written by TF-Agents' own savers (see tests/helpers/artifacts.py), in a temp dir."""
    return write_artifacts(tmp_path_factory, "artifacts.py")


@pytest.fixture(scope="session")
def det_artifacts(tmp_path_factory) -> Path:
    """MuJoCo and pixel actors for the determinism tests (see tests/helpers/artifacts_determinism.py)."""
    return write_artifacts(tmp_path_factory, "artifacts_determinism.py")


@pytest.fixture(scope="session")
def agents(tmp_path_factory) -> Path:
    """Every TF-Agents agent trained briefly and saved as its example script saves it, with
    eager reference returns (see tests/helpers/artifacts_agents.py), in a temp dir."""
    return write_artifacts(tmp_path_factory, "artifacts_agents.py")


@pytest.fixture(scope="session")
def networks(tmp_path_factory) -> Path:
    """Conv, recurrent (DQN v2), action-masked and PPO networks written by TF-Agents' own code
    with eager reference returns (see tests/helpers/artifacts_networks.py), in a temp dir."""
    return write_artifacts(tmp_path_factory, "artifacts_networks.py")
