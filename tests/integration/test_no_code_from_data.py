"""No code from data (issue 23, point 5): a module is imported only when the command line asks.

A planted module (`PLANTED`, on sys.path) writes a marker file when it is imported. A file found
on disk names it — a `pytfpol-policy.toml` with `factory = "PLANTED:make"` inside an input
directory, the `PLANTED:CartPole-v1` env id or the factory config a stats.json recorded — and
every command refuses (exit 2, one line naming the file and the key) without importing it. With
`--allow-code`, or the name given on the command line (`--config FILE`, `--env module:ID`), the
import does happen: the marker shows the mechanism works, not that everything is refused. Real
policies (tests/helpers/artifacts.py), real CLI runs, real imports (sys.modules is cleared between runs).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pytfpol.cli import main
from pytfpol.code_from_data import check_import, in_file, may_import, on_command_line
from pytfpol.errors import UsageError

PLANTED = "pytfpol_planted_module"
FACTORY = f"{PLANTED}:make"
CONFIG_NAME = "pytfpol-policy.toml"


def invoke(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> Path:
    """The planted module's marker file; the module is on sys.path for this test module."""
    directory = tmp_path_factory.mktemp("planted")
    marker = directory / "imported"
    (directory / f"{PLANTED}.py").write_text(
        "from pathlib import Path\n"
        f"Path({str(marker)!r}).write_text('imported')\n"
        "from tests.helpers.factories import dqn_v2_policy as make\n"
    )
    sys.path.insert(0, str(directory))
    yield marker
    sys.path.remove(str(directory))
    sys.modules.pop(PLANTED, None)


@pytest.fixture
def marker(planted: Path) -> Path:
    """No import of the planted module so far: not in sys.modules, no marker."""
    sys.modules.pop(PLANTED, None)
    planted.unlink(missing_ok=True)
    yield planted
    sys.modules.pop(PLANTED, None)


@pytest.fixture(scope="module")
def policy_dir(artifacts) -> Path:
    """DQN v2 `train_eval`'s Checkpointer directory: rebuilt by tests.helpers.factories.dqn_v2_policy."""
    return artifacts / "checkpointer" / "dqn_v2" / "train" / "policy"


@pytest.fixture(scope="module")
def factory_config(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("config") / "factory.toml"
    path.write_text(f'factory = "{FACTORY}"\n')
    return path


@pytest.fixture(scope="module")
def downloaded(policy_dir, tmp_path_factory) -> Path:
    """A Checkpointer directory as downloaded: its weights and a config naming the factory."""
    directory = tmp_path_factory.mktemp("downloaded") / "policy"
    shutil.copytree(policy_dir, directory)
    (directory / CONFIG_NAME).write_text(f'factory = "{FACTORY}"\n')
    return directory


@pytest.fixture(scope="module")
def factory_eval(policy_dir, factory_config, planted, tmp_path_factory) -> Path:
    """An earlier run: `eval --config factory.toml` (asked on its command line). Its output
    checkpoint holds that config, its stats.json records it."""
    out = tmp_path_factory.mktemp("earlier") / "out"
    result = invoke("eval", policy_dir, "--env", "CartPole-v1", "--config", factory_config,
                    "--episodes", "2", "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert (out / "checkpoint" / CONFIG_NAME).read_text() == f'factory = "{FACTORY}"\n'
    return out


@pytest.fixture(scope="module")
def planted_env_stats(artifacts, tmp_path_factory) -> list[Path]:
    """Two stats.json of a real CartPole eval whose recorded env id is `PLANTED:CartPole-v1`
    (Gymnasium would import PLANTED, then make CartPole-v1): what a forged report holds."""
    root = tmp_path_factory.mktemp("recorded-env")
    result = invoke("eval", artifacts / "cartpole_sm", "--env", "CartPole-v1", "--episodes", "5",
                    "--out", root / "out")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    report = json.loads((root / "out" / "stats.json").read_text())
    report["env"]["id"] = f"{PLANTED}:CartPole-v1"
    paths = []
    for name in ("a", "b"):
        (root / name).mkdir()
        paths.append(root / name / "stats.json")
        paths[-1].write_text(json.dumps(report))
    return paths


def assert_refused(result, file: Path, key: str, reference: str) -> None:
    assert result.exit_code == 2, result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"error: {file}: {key} = {reference!r} would import module "), first
    assert "--allow-code" in first
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------- a config found on disk


@pytest.mark.parametrize("where", ["checkpointer dir", "earlier output"])
def test_a_factory_in_a_config_found_in_the_input_is_not_imported(
    where, marker, downloaded, factory_eval, tmp_path
):
    policy = downloaded if where == "checkpointer dir" else factory_eval
    bundled = (
        downloaded / CONFIG_NAME if policy is downloaded else policy / "checkpoint" / CONFIG_NAME
    )
    result = invoke("eval", policy, "--env", "CartPole-v1", "--episodes", "2",
                    "--out", tmp_path / "o")  # fmt: skip
    assert_refused(result, bundled, "factory", FACTORY)
    assert f"--config {bundled}" in result.stderr.splitlines()[0]
    assert not marker.exists() and PLANTED not in sys.modules
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("asked", [["--allow-code"], ["--config", "BUNDLED"]])
def test_a_factory_in_a_found_config_is_imported_when_the_command_line_asks(
    asked, marker, downloaded, tmp_path
):
    asked = [str(downloaded / CONFIG_NAME) if a == "BUNDLED" else a for a in asked]
    result = invoke("eval", downloaded, "--env", "CartPole-v1", "--episodes", "2", *asked,
                    "--out", tmp_path / "o", "--json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert marker.exists()
    assert json.loads(result.stdout)["policy"]["architecture"] == f"factory {FACTORY}"


def test_a_sweep_and_its_resumption_import_no_factory_a_found_config_names(
    marker, downloaded, tmp_path
):
    out = tmp_path / "sweep"
    sweep = ("sweep", downloaded, "--env", "CartPole-v1", "--episodes", "2", "--last", "1",
             "--confirm-episodes", "0", "--out", out, "--json")  # fmt: skip
    assert_refused(invoke(*sweep), downloaded / CONFIG_NAME, "factory", FACTORY)
    assert not marker.exists() and not out.exists()

    assert invoke(*sweep, "--allow-code").exit_code == 0
    assert marker.exists()
    written = (out / "sweep.json").read_bytes()
    sys.modules.pop(PLANTED)
    marker.unlink()

    # Resumed into the same OUT (its journal holds the result): still refused, OUT untouched.
    assert_refused(invoke(*sweep), downloaded / CONFIG_NAME, "factory", FACTORY)
    assert not marker.exists() and (out / "sweep.json").read_bytes() == written
    resumed = invoke(*sweep, "--allow-code")
    assert resumed.exit_code == 0, resumed.stderr
    assert [e["reused"] for e in json.loads(resumed.stdout)["checkpoints"]] == [True]


def test_compare_evaluates_no_policy_whose_found_config_names_a_factory(
    marker, downloaded, policy_dir, tmp_path
):
    """`compare --env` evaluates both policies as eval would: the same rule, the same opt-in."""
    compare = ("compare", downloaded, policy_dir, "--env", "CartPole-v1", "--episodes", "5",
               "--json")  # fmt: skip
    result = invoke(*compare, "--out", tmp_path / "refused")
    assert_refused(result, downloaded / CONFIG_NAME, "factory", FACTORY)
    assert not marker.exists() and PLANTED not in sys.modules
    allowed = invoke(*compare, "--out", tmp_path / "allowed", "--allow-code")
    assert allowed.exit_code == 0, allowed.stderr
    assert marker.exists()
    assert json.loads(allowed.stdout)["verdict"] == "no significant difference"


def test_replay_imports_no_factory_the_recorded_config_names(marker, factory_eval, tmp_path):
    stats = factory_eval / "stats.json"
    config = json.loads(stats.read_text())["policy"]["config"]
    assert_refused(invoke("replay", factory_eval), Path(config), "factory", FACTORY)
    assert not marker.exists()
    result = invoke("replay", factory_eval, "--allow-code", "--json")
    assert result.exit_code == 0, result.stderr
    assert marker.exists() and json.loads(result.stdout)["identical"] is True


# -------------------------------------------------------------------- a recorded module:ID env


def test_replay_imports_no_module_a_recorded_env_id_names(marker, planted_env_stats):
    stats = planted_env_stats[0]
    result = invoke("replay", stats, "--episode", "0")
    assert_refused(result, stats, "env.id", f"{PLANTED}:CartPole-v1")
    assert f"--env {PLANTED}:CartPole-v1" in result.stderr.splitlines()[0]
    assert not marker.exists() and PLANTED not in sys.modules

    other = invoke("replay", stats, "--episode", "0", "--env", "CartPole-v1")
    assert other.exit_code == 2 and "replay runs the env recorded" in other.stderr
    assert not marker.exists()


@pytest.mark.parametrize("asked", [["--allow-code"], ["--env", f"{PLANTED}:CartPole-v1"]])
def test_replay_imports_a_recorded_env_module_when_the_command_line_asks(
    asked, marker, planted_env_stats
):
    result = invoke("replay", planted_env_stats[0], "--episode", "0", *asked, "--json")
    assert result.exit_code == 0, result.stderr
    assert marker.exists() and json.loads(result.stdout)["identical"] is True


def test_compare_of_two_reports_imports_no_recorded_env_module(marker, planted_env_stats):
    """Comparing reports reads numbers and makes no env: nothing to import, and --allow-code,
    meaningless there, is refused (exit 2) like every option that means nothing."""
    for extra in ([], ["--allow-code"]):
        result = invoke("compare", *planted_env_stats, "--json", *extra)
        assert result.exit_code == (0 if not extra else 2), result.stderr
        assert not marker.exists() and PLANTED not in sys.modules


# ------------------------------------------------------------------------------- the rule


def test_one_rule_for_every_reference():
    """What issue 24's env spec files reuse: a reference from a file needs --allow-code."""
    spec = in_file("env.json", "entry_point")
    assert may_import("CartPole-v1", spec, allow_code=False)  # names no module
    assert not may_import("evil:Env", spec, allow_code=False)
    assert may_import("evil:Env", spec, allow_code=True)
    assert may_import("evil:Env", on_command_line("--env"), allow_code=False)
    with pytest.raises(UsageError, match=r"^env\.json: entry_point = 'evil:Env' would import"):
        check_import("evil:Env", spec, allow_code=False)
