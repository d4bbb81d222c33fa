"""Issue 27.10, what a user reads: a missing --env says what it is with an example; a --config
that does not fit names the config as given; stats.json keeps the policy path as given and
absolute (replay from another directory uses the absolute one); sweep's curve.png marks the
best checkpoint with its step."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from pytfpol.cli import main
from pytfpol.formats import layout
from pytfpol.results import plots
from tests.helpers.repo import REPO, run_cli

LEARNER_RUN = REPO / "examples" / "cartpole-dqn-run"
EXAMPLE_POLICY = REPO / "examples" / "cartpole-dqn"


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), prog_name="pytfpol", catch_exceptions=False)


@pytest.mark.fast
@pytest.mark.parametrize("command", ["eval", "sweep"])
def test_a_missing_env_says_what_it_is_with_an_example(command):
    result = invoke(command, str(EXAMPLE_POLICY))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: --env is required: the Gymnasium id to evaluate in, e.g. --env CartPole-v1",
        f"hint: see `pytfpol {command} --help`",
    ]


@pytest.mark.parametrize(
    "given, edit, problem",
    [
        # a shipped config of another network type: named as the user named it
        ("tf-agents-q-network", None, "the checkpoint has no policy/_wrapped_policy/_q_network/"),
        # the user's own copy with other layer sizes: named by the path given
        ("mine.toml", "fc_layer_params = [64]", "is float32 [4, 100] in the checkpoint but "),
    ],
)
def test_a_config_that_does_not_fit_is_named_as_given(artifacts, tmp_path, given, edit, problem):
    if edit is not None:
        text = (REPO / "configs" / "tf-agents-dqn-v2-cartpole.toml").read_text()
        (tmp_path / given).write_text(text.replace("fc_layer_params = [100]", edit))
    run = artifacts / "checkpointer" / "dqn_v2" / "train" / "policy"
    result = run_cli("eval", str(run), "--env", "CartPole-v1", "--config", given,
                     "--out", str(tmp_path / "o"), cwd=tmp_path)  # fmt: skip
    assert result.returncode == 3, result.stderr
    error, hint = result.stderr.splitlines()[-2:]
    assert error.startswith(f"error: --config {given} does not fit {run}/ckpt-"), error
    assert problem in error
    assert "pytfpol/configs" not in error  # a shipped config by its name, not where it lives
    assert "leave --config out" in hint and "`pytfpol configs` lists them" in hint


@pytest.mark.parametrize("given", ["tf-agents-ddpg-v2-actor", "ddpg.toml"])
def test_a_network_type_the_env_rules_out_names_the_config_as_given(artifacts, tmp_path, given):
    """DDPG v2's actor on CartPole's discrete action: exit 2 naming the --config as given (a
    shipped one by its name, the user's by the path given), then what the network needs."""
    shutil.copyfile(REPO / "configs" / "tf-agents-ddpg-v2-actor.toml", tmp_path / "ddpg.toml")
    run = artifacts / "checkpointer" / "dqn_v2" / "train" / "policy"
    result = run_cli("eval", str(run), "--env", "CartPole-v1", "--config", given,
                     "--out", str(tmp_path / "o"), cwd=tmp_path)  # fmt: skip
    assert result.returncode == 2, result.stderr
    error, hint = result.stderr.splitlines()[-2:]
    assert error == (
        f"error: --config {given}: network.type sequential_actor (DDPG v2) needs a single "
        "continuous action"
    )
    assert hint.startswith("hint: use a Q network type for a discrete action; or leave --config")
    assert "`pytfpol configs` lists them" in hint  # the way out, as for a config's other misfits
    assert not (tmp_path / "o").exists()


def test_stats_json_keeps_the_policy_path_as_given_and_absolute(artifacts, tmp_path):
    """Evaluated from one directory by a relative path, replayed from another: replay uses the
    absolute path stats.json recorded."""
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    shutil.copytree(artifacts / "checkpointer" / "dqn_v2" / "train", work / "train")
    elsewhere.mkdir()
    result = run_cli("eval", "train/policy", "--env", "CartPole-v1", "--config",
                     "tf-agents-dqn-v2-cartpole", "--episodes", "2", "--out", "out", cwd=work)  # fmt: skip
    assert result.returncode == 0, result.stderr
    policy = json.loads((work / "out" / "stats.json").read_text())["policy"]
    assert policy["path"] == "train/policy"
    assert policy["resolved_path"] == str(work / "train" / "policy")
    replayed = run_cli("replay", str(work / "out"), "--episode", "1", "--json", cwd=elsewhere)
    assert replayed.returncode == 0, replayed.stderr
    assert json.loads(replayed.stdout)["policy"] == str(work / "train" / "policy")


def test_the_curve_marks_the_best_checkpoint_with_its_step(tmp_path):
    out = tmp_path / "o"
    result = invoke("sweep", str(LEARNER_RUN), "--env", "CartPole-v1", "--last", "3",
                    "--episodes", "2", "--confirm-episodes", "1", "--out", str(out))  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert (out / layout.CURVE_PNG).stat().st_size > 0
    sweep = json.loads((out / layout.SWEEP_JSON).read_text())
    best = sweep["runs"][0]["best"]
    figure = plots.curve_figure(sweep)
    (axis,) = figure.axes
    stars = [
        line
        for line in axis.get_lines()
        if line.get_marker() == "*"
        and list(line.get_xdata()) == [best["step"]]
        and list(line.get_ydata()) == [best["value"]]
    ]
    assert len(stars) == 1
    notes = [(t.get_text(), t.xy) for t in axis.texts]
    assert notes == [(f"best: step {best['step']}", (best["step"], best["value"]))]
