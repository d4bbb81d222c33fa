"""The wheel carries the shipped configs: a pip-installed pytfpol evaluates a Checkpointer dir with
a shipped config by name, from a directory outside the repository.

The wheel is built from a copy of the sources (nothing is written into the checkout) and
installed with `pip install --no-deps` into a fresh venv without system site-packages; the
dependencies (TensorFlow, TF-Agents, ...) come from this venv's site-packages through a `.pth`
file, so nothing is downloaded or compiled. This venv's editable install of pytfpol is not
visible there (`.pth` files of an added directory are not processed), so the pytfpol that runs is
the wheel's: the test checks where it was imported from and where the config was read.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.helpers.repo import REPO


def run(*args, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "NO_COLOR": "1", "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ""},
    )
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with the wheel built from this checkout installed in it; its bin/ dir."""
    root = tmp_path_factory.mktemp("packaging")
    source = root / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name if source.exists() else _mkdir(source) / name)
    for name in ("pytfpol", "configs"):
        shutil.copytree(REPO / name, source / name, symlinks=True, ignore=ignore)
    assert (source / "pytfpol" / "configs").is_symlink()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    run(*pip, "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", root / "dist", source,
        cwd=root)  # fmt: skip
    (wheel,) = (root / "dist").glob("pytfpol-*.whl")
    venv = root / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=root)
    python = venv / "bin" / "python"
    run(*pip, "--python", python, "install", "--no-deps", "--no-index", "-q", wheel, cwd=root)
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                    cwd=root).stdout.strip())  # fmt: skip
    (site / "zz_pytfpol_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv / "bin"


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


def test_wheel_evaluates_a_checkpointer_dir_with_a_shipped_config_by_name(
    installed, artifacts, tmp_path
):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = run(installed / "python", "-c", "import pytfpol; print(pytfpol.__file__)",
                cwd=elsewhere).stdout.strip()  # fmt: skip
    assert Path(where).is_relative_to(installed.parent), where

    listing = json.loads(run(installed / "pytfpol", "configs", "--json", cwd=elsewhere).stdout)
    names = [c["name"] for c in listing["configs"]]
    assert names == sorted(p.stem for p in (REPO / "configs").glob("*.toml"))
    assert Path(listing["dir"]).is_relative_to(installed.parent)
    assert not Path(listing["dir"]).is_symlink()  # real files in the wheel, not a link

    policy_dir = artifacts / "checkpointer" / "dqn_v2" / "train" / "policy"
    expected = json.loads((artifacts / "checkpointer" / "dqn_v2" / "reference.json").read_text())
    report = json.loads(
        run(
            installed / "pytfpol",
            "eval",
            policy_dir,
            "--env",
            "CartPole-v1",
            "--config",
            "tf-agents-dqn-v2-cartpole",
            "--episodes",
            "6",
            "--seed",
            "20",
            "--json",
            "-q",
            "--out",
            tmp_path / "out",
            cwd=elsewhere,
        ).stdout  # fmt: skip
    )
    assert [e["return"] for e in report["episodes"]] == expected["returns"]
    assert report["policy"]["inferred"] is False
    config = Path(report["policy"]["config"])
    assert config.name == "tf-agents-dqn-v2-cartpole.toml"
    assert config.is_relative_to(installed.parent), config
