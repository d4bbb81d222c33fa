"""Every TF-Agents agent's Checkpointer policy evaluates with no code of the user's.

tests/helpers/artifacts_agents.py trains each agent with TF-Agents' own agent class (the example scripts'
networks where a script exists), saves it with `common.Checkpointer` as the scripts do, and records
the returns of TF-Agents' eager API on the real env and on tests/helpers/probe_env.py (where a return pins
down every action). pytfpol evaluates each through the CLI, once with the shipped config and once
inferred from the variables (or twice inferred when no config is shipped for that agent).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pytfpol.cli import main
from pytfpol.policy.inference import (
    ASSUMED_ACTIVATION,
    ASSUMED_DDPG_OUTPUT,
    ASSUMED_SUPPORT,
    read_activation,
)
from tests.helpers.artifacts_agents import LAYOUTS

# agent -> (shipped config or None, what is evaluated without one: "inferred" or the config again)
AGENTS = {
    "ddqn": "tf-agents-q-network",
    "c51": "tf-agents-categorical-q-network",
    "qrnn": "tf-agents-q-rnn-network",
    "bc": None,
    "ddpg_v2": "tf-agents-ddpg-v2-actor",
    "ddpg_v2_rnn": "tf-agents-ddpg-v2-rnn-actor",
    "td3": None,
    "sac_v2": "tf-agents-sac-v2-actor",
    "sac_v2_rnn": "tf-agents-sac-v2-rnn-actor",
    "cql_sac": "tf-agents-sac-v2-actor",
    "ppo_v2": "tf-agents-ppo-v2-clip",
    "ppo_v2_rnn": "tf-agents-actor-distribution-rnn",
    "ppo_default": "tf-agents-ppo-network-defaults",
    "ppo_kl": "tf-agents-ppo-network-defaults",
    "reinforce_v2": "tf-agents-reinforce-v2",
}
# What an inferred config says it assumed, besides the activation of hidden Dense layers.
ASSUMED = {
    "c51": [ASSUMED_SUPPORT],
    "ddpg_v2": [ASSUMED_ACTIVATION, ASSUMED_DDPG_OUTPUT],
    "td3": [],
}
# PPO over TF-Agents' network defaults uses relu where PPO's examples use tanh, which no
# checkpoint records: inference assumes the examples' tanh (and names the shipped config with
# relu), so these are evaluated with that config both times. The PPO v2 example's own runs
# have a SavedModel beside them, whose graph gives the activation.
NOT_INFERABLE = {"ppo_default", "ppo_kl"}
READ_FROM_SAVED_MODEL = {"ppo_v2": "tanh", "ppo_v2_rnn": "relu"}


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def policy_dir(agents: Path, name: str) -> Path:
    return agents / name / LAYOUTS[name]


def reference(agents: Path, name: str) -> dict:
    return json.loads((agents / name / "reference.json").read_text())


def evaluate(agents: Path, name: str, probe: bool, config, out: Path) -> dict:
    ref = reference(agents, name)
    if probe:
        env, seeds, extra = ref["probe"]["env"], ref["probe"]["seeds"], []
    else:
        env, seeds = ref["env"], ref["seeds"]
        extra = (
            ["--max-episode-steps", str(ref["max_episode_steps"])]
            if ref["max_episode_steps"]
            else []
        )
    args = ["eval", str(policy_dir(agents, name)), "--env", env, "--episodes", str(len(seeds)),
            "--seed", str(seeds[0]), "--out", str(out), "--json", *extra]  # fmt: skip
    if config:
        args += ["--config", config]
    result = invoke(*args)
    assert result.exit_code == 0, result.stderr
    assert list(range(seeds[0], seeds[0] + len(seeds))) == seeds
    return json.loads(result.stdout)


def assert_same_returns(report: dict, expected: dict, continuous: bool) -> None:
    returns = [e["return"] for e in report["episodes"]]
    if continuous:
        np.testing.assert_allclose(returns, expected["returns"], rtol=1e-6)
    else:
        assert returns == expected["returns"]  # exact: every action the same
    if "lengths" in expected:
        assert [e["length"] for e in report["episodes"]] == expected["lengths"]


@pytest.mark.parametrize("probe", [False, True], ids=["env", "probe"])
@pytest.mark.parametrize("name", list(AGENTS))
def test_checkpointer_policy_of_every_agent_equals_eager_reference(agents, tmp_path, name, probe):
    """The real env with the shipped config, the probe env inferred (when both exist)."""
    shipped = AGENTS[name]
    config = shipped if (not probe or name in NOT_INFERABLE) else None
    report = evaluate(agents, name, probe, config, tmp_path / "o")
    ref = reference(agents, name)
    continuous = ref["env"] == "Pendulum-v1"
    assert_same_returns(report, ref["probe"] if probe else ref, continuous)
    policy = report["policy"]
    assert policy["format"] == "checkpointer" and policy["train_step"] == ref["train_step"]
    assert policy["lost"] == [] and policy["unmatched"] == []
    if config:
        assert policy["inferred"] is False
        assert Path(policy["config"]).name == config + ".toml"
    else:
        assert policy["inferred"] is True and policy["config"] is None
        if name in READ_FROM_SAVED_MODEL:
            saved = sorted((agents / name / "policy_saved_model").iterdir())[-1]
            expected = [read_activation(READ_FROM_SAVED_MODEL[name], str(saved))]
        else:
            expected = ASSUMED.get(name, [ASSUMED_ACTIVATION])
        assert policy["assumed"] == expected
        saved = (tmp_path / "o" / "checkpoint" / "pytfpol-policy.toml").read_text()
        for assumption in policy["assumed"]:
            assert f"#   - {assumption}\n" in saved


@pytest.fixture(scope="module")
def normalizer_config(tmp_path_factory) -> Path:
    """PPO's network defaults, told that the policy has no observation normalizer."""
    path = tmp_path_factory.mktemp("cfg") / "no-normalizer.toml"
    path.write_text(
        "[network]\ntype = 'actor_distribution_network'\nfc_layer_params = [200, 100]\n"
        "[value_network]\ntype = 'value_network'\nfc_layer_params = [75, 40]\n"
        "[policy]\nobservation_normalizer = false\n"
    )
    return path


def test_ppo_observation_normalizer_left_out_is_named_in_words(agents, tmp_path, normalizer_config):
    ref = reference(agents, "ppo_default")["probe"]
    args = ["eval", str(policy_dir(agents, "ppo_default")), "--env", ref["env"], "--episodes",
            str(len(ref["seeds"])), "--seed", str(ref["seeds"][0]), "--config",
            str(normalizer_config)]  # fmt: skip
    strict = invoke(*args, "--out", str(tmp_path / "a"))
    assert strict.exit_code == 3
    assert "observation normalizer not restored: actions will differ from training" in (
        strict.stderr
    )
    partial = invoke(*args, "--out", str(tmp_path / "b"), "--allow-partial", "--json")
    assert partial.exit_code == 0, partial.stderr
    warning = [line for line in partial.stderr.splitlines() if line.startswith("warning:")]
    assert warning == [
        "warning: --allow-partial: observation normalizer not restored: actions will differ "
        "from training (the policy sees raw observations) (4 variables: "
        "policy/_wrapped_policy/_observation_normalizer/_avg/0, "
        "policy/_wrapped_policy/_observation_normalizer/_count/0, "
        "policy/_wrapped_policy/_observation_normalizer/_m2/0, ... 1 more)"
    ]
    report = json.loads(partial.stdout)
    assert report["policy"]["lost"] == [warning[0].removeprefix("warning: --allow-partial: ")]
    # and it matters: without the normalizer the actions are not the trained ones
    assert [e["return"] for e in report["episodes"]] != pytest.approx(ref["returns"])


# ---------------------------------------------------------------------------------------------
# The directories TF-Agents' example scripts leave: a train dir, a root, policy_saved_model/


@pytest.mark.parametrize(
    "name, given, config",
    [
        ("sac_v2", "train", None),  # train/ holds the agent's ckpt-N and policy/: policy/ is used
        ("ppo_v2", "train", "tf-agents-ppo-v2-clip"),
        ("ppo_v2", "", None),  # the root: its policy_saved_model/ SavedModels
        ("ppo_v2", "policy_saved_model", None),
    ],
)
def test_example_script_directories_resolve_to_what_is_in_them(
    agents, tmp_path, name, given, config
):
    """Issue 10: `root/train` and `root/policy_saved_model` (or the root itself) evaluate the
    policy in them, newest first, and give the eager reference's returns."""
    ref = reference(agents, name)
    target = agents / name / given
    args = ["eval", str(target), "--env", ref["env"], "--episodes", str(len(ref["seeds"])),
            "--seed", str(ref["seeds"][0]), "--out", str(tmp_path / "o"), "--json"]  # fmt: skip
    if ref["max_episode_steps"]:
        args += ["--max-episode-steps", str(ref["max_episode_steps"])]
    if config:
        args += ["--config", config]
    result = invoke(*args)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert_same_returns(report, ref, continuous=ref["env"] == "Pendulum-v1")
    policy = report["policy"]
    assert policy["train_step"] == ref["train_step"]
    if given == "train":
        assert policy["format"] == "checkpointer"
        assert policy["checkpoint"].startswith(str(agents / name / "train" / "policy" / "ckpt-"))
    else:
        assert policy["format"] == "saved_model"
        assert policy["saved_model"] == str(
            agents / name / "policy_saved_model" / f"policy_{ref['train_step']:09d}"
        )
        again = [a if a != str(tmp_path / "o") else str(tmp_path / "p") for a in args]
        step = invoke(*again, "--step", str(ref["train_step"]))
        assert step.exit_code == 0, step.stderr
        assert json.loads(step.stdout)["episodes"] == report["episodes"]
