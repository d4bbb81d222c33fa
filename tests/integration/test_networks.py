"""Issue 24, networks: Checkpointer directories of networks TF-Agents' own code writes (conv
Q-networks on images, DQN v2's recurrent network, action-masked DQN, PPO with tanh) are rebuilt
without code, and give exactly the returns of TF-Agents' eager API; what weights do not record
is read from a SavedModel of the same run, assumed only where TF-Agents' examples agree, or
refused (exit 2) with the config line for each candidate.

The artifacts are written once per session by tests/helpers/artifacts_networks.py; the envs are
tests/helpers/network_envs.py and tests/helpers/probe_env.py, whose returns pin down every action.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pytfpol.cli import main
from pytfpol.policy import evidence
from pytfpol.policy.completion import _stride_candidates
from pytfpol.policy.inference import (
    ASSUMED_ACTIVATION,
    ASSUMED_PPO_ACTIVATION,
    ASSUMED_STRIDES,
    read_activation,
)
from pytfpol.policy.policy_config import load_policy_config
from tests.helpers import network_envs
from tests.helpers.artifacts_networks import CONV_UINT8_STRIDES, LAYOUTS

CLI_ENV = {
    network_envs.PIXEL_ID: network_envs.CLI_IDS[network_envs.PIXEL_ID],
    network_envs.PIXEL_UINT8_ID: network_envs.CLI_IDS[network_envs.PIXEL_UINT8_ID],
    network_envs.MASKED_ID: network_envs.CLI_IDS[network_envs.MASKED_ID],
    "pytfpol_test/ProbeCartPole-v0": "tests.helpers.probe_env:pytfpol_test/ProbeCartPole-v0",
    "pytfpol_test/ProbePendulum-v0": "tests.helpers.probe_env:pytfpol_test/ProbePendulum-v0",
}


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def reference(networks: Path, name: str) -> dict:
    return json.loads((networks / name / "reference.json").read_text())


def evaluate(networks: Path, name: str, out: Path, *extra: str, directory=None, env=None):
    """`pytfpol eval` of the artifact's Checkpointer dir (or `directory`) on its reference
    seeds; returns the CLI result."""
    ref = reference(networks, name)
    target = directory or networks / name / LAYOUTS[name]
    args = ["eval", str(target), "--env", env or CLI_ENV[ref["env"]], "--episodes",
            str(len(ref["seeds"])), "--seed", str(ref["seeds"][0]), "--out", str(out), "--json",
            *extra]  # fmt: skip
    return invoke(*args)


def returns_of(result) -> list[float]:
    assert result.exit_code == 0, result.stderr
    return [e["return"] for e in json.loads(result.stdout)["episodes"]]


def without_siblings(networks: Path, name: str, tmp_path: Path) -> Path:
    """The Checkpointer dir copied where no SavedModel of the same run lies beside it."""
    target = tmp_path / "alone" / "train" / "policy"
    shutil.copytree(networks / name / LAYOUTS[name], target)
    return target


# ---------------------------------------------------------------------------------------------
# Rebuilt without code, equal to TF-Agents' eager evaluation


@pytest.mark.parametrize(
    "name, assumed",
    [
        ("conv_float", [ASSUMED_ACTIVATION, ASSUMED_STRIDES]),
        ("dqn_v2_rnn", [ASSUMED_ACTIVATION]),
        ("masked_dqn", [ASSUMED_ACTIVATION]),
        ("ppo_tanh", "read"),
        ("ppo_relu", "read"),
        ("conv_uint8", "read"),
        ("atari_sequential", "read"),  # mnih15's Sequential: x / 255, convs, Flatten, Dense
    ],
)
def test_inferred_network_gives_tf_agents_returns(networks, tmp_path, name, assumed):
    result = evaluate(networks, name, tmp_path / "o")
    ref = reference(networks, name)
    np.testing.assert_allclose(returns_of(result), ref["returns"], rtol=1e-6)
    policy = json.loads(result.stdout)["policy"]
    assert policy["inferred"] is True and policy["train_step"] == ref["train_step"]
    if assumed == "read":  # the activation came from the SavedModel beside it
        saved = networks / name / "policy_saved_model" / "policy_000000003"
        activation = "relu" if name != "ppo_tanh" else "tanh"
        assert policy["assumed"][0] == read_activation(activation, str(saved))
    else:
        assert policy["assumed"] == assumed
    saved = load_policy_config(tmp_path / "o" / "checkpoint" / "pytfpol-policy.toml")
    assert saved.describe() == policy["architecture"]  # the saved config rebuilds the same


def test_dqn_v2_rnn_shipped_config_and_inference_agree(networks, tmp_path):
    result = evaluate(networks, "dqn_v2_rnn", tmp_path / "o", "--config", "tf-agents-dqn-v2-rnn")
    assert returns_of(result) == reference(networks, "dqn_v2_rnn")["returns"]
    architecture = json.loads(result.stdout)["policy"]["architecture"]
    inferred = json.loads(evaluate(networks, "dqn_v2_rnn", tmp_path / "p").stdout)
    assert (
        inferred["policy"]["architecture"]
        == architecture
        == (
            "sequential_rnn(input_fc_layer_params=[50], lstm_size=[20], "
            "output_fc_layer_params=[20], activation=relu)"
        )
    )


def test_masked_dqn_never_chooses_a_masked_action(networks, tmp_path):
    """Every masked action costs -1e6 * 4**t: returns equal to TF-Agents' and never negative.
    A config naming the keys does the same."""
    returns = returns_of(evaluate(networks, "masked_dqn", tmp_path / "o"))
    assert returns == reference(networks, "masked_dqn")["returns"]
    assert min(returns) >= 0
    config = tmp_path / "masked.toml"
    config.write_text(
        "[network]\ntype = 'q_network'\nfc_layer_params = [8]\n"
        "[policy]\nobservation_key = 'observation'\nmask_key = 'mask'\n"
    )
    result = evaluate(networks, "masked_dqn", tmp_path / "p", "--config", str(config))
    assert returns_of(result) == returns
    assert "masked by observation['mask']" in json.loads(result.stdout)["policy"]["architecture"]


# ---------------------------------------------------------------------------------------------
# What weights do not record: evidence, the examples' agreement, or a refusal


def test_ppo_without_a_saved_model_assumes_the_examples_tanh(networks, tmp_path):
    """Both of TF-Agents' PPO examples train the feed-forward actor with tanh: assumed, and said."""
    alone = without_siblings(networks, "ppo_tanh", tmp_path)
    result = evaluate(networks, "ppo_tanh", tmp_path / "o", directory=alone)
    np.testing.assert_allclose(returns_of(result), reference(networks, "ppo_tanh")["returns"])
    assert json.loads(result.stdout)["policy"]["assumed"][0].startswith(ASSUMED_PPO_ACTIVATION)


def test_ppo_with_relu_is_read_from_the_saved_model_not_assumed(networks, tmp_path):
    """ppo_relu was trained with relu: only its SavedModel says so. Without it pytfpol assumes
    the examples' tanh (and says so), and the returns differ: the evidence is what made them
    right. A config saying relu gives them too."""
    ref = reference(networks, "ppo_relu")["returns"]
    alone = without_siblings(networks, "ppo_relu", tmp_path)
    assumed = returns_of(evaluate(networks, "ppo_relu", tmp_path / "o", directory=alone))
    assert not np.allclose(assumed, ref)
    config = tmp_path / "relu.toml"
    config.write_text(
        "[network]\ntype = 'actor_distribution_network'\nfc_layer_params = [16, 8]\n"
        "activation = 'relu'\n[value_network]\ntype = 'value_network'\n"
        "fc_layer_params = [16, 8]\n"
    )
    result = evaluate(
        networks, "ppo_relu", tmp_path / "p", "--config", str(config), directory=alone
    )
    np.testing.assert_allclose(returns_of(result), ref, rtol=1e-6)


def test_uint8_conv_without_evidence_is_refused_naming_each_config_line(networks, tmp_path):
    """Cast only, or cast and /255, and strides (1, 3) or (2, 1): not stored in a checkpoint.
    Without the SavedModel beside it, pytfpol refuses (exit 2) with the config lines; with
    them, the returns are TF-Agents'; with the wrong scaling they are not."""
    alone = without_siblings(networks, "conv_uint8", tmp_path)
    refused = evaluate(networks, "conv_uint8", tmp_path / "o", directory=alone)
    assert refused.exit_code == 2, refused.stderr
    assert '[network] pixel_scaling = "cast" | [network] pixel_scaling = "divide_by_255"' in (
        refused.stderr
    )
    float_env = CLI_ENV[network_envs.PIXEL_ID]  # same image as floats: only strides undecided
    strides = evaluate(networks, "conv_uint8", tmp_path / "p", directory=alone, env=float_env)
    assert strides.exit_code == 2, strides.stderr
    assert "2 choices fit conv layers of 4 filters 3x3, 6 filters 3x3" in strides.stderr
    assert (
        "[network] conv_layer_params = [[4, 3, 1], [6, 3, 3]] | "
        "[network] conv_layer_params = [[4, 3, 2], [6, 3, 1]]" in strides.stderr
    )
    ref = reference(networks, "conv_uint8")["returns"]
    scaled = {}
    for scaling in ("divide_by_255", "cast"):
        config = tmp_path / f"{scaling}.toml"
        s1, s2 = CONV_UINT8_STRIDES
        config.write_text(
            "[network]\ntype = 'q_network'\nfc_layer_params = [8]\n"
            f"conv_layer_params = [[4, 3, {s1}], [6, 3, {s2}]]\npixel_scaling = '{scaling}'\n"
        )
        result = evaluate(networks, "conv_uint8", tmp_path / scaling, "--config", str(config),
                          directory=alone)  # fmt: skip
        scaled[scaling] = returns_of(result)
    assert scaled["divide_by_255"] == ref and scaled["cast"] != ref
    unsaid = tmp_path / "unsaid.toml"  # a config that leaves it out is refused too, truthfully
    unsaid.write_text(config.read_text().replace("pixel_scaling = 'cast'\n", ""))
    result = evaluate(networks, "conv_uint8", tmp_path / "u", "--config", str(unsaid))
    assert result.exit_code == 2, result.stderr
    assert f"{unsaid} does not say ([network] pixel_scaling)" in result.stderr


def test_evidence_is_read_statically_from_the_sibling_saved_model(networks):
    found = evidence.read_evidence(
        networks / "conv_uint8" / "policy_saved_model" / "policy_000000003"
    )
    assert (found.activations, found.conv_strides, found.pixel_scaling) == (
        ("relu",),
        CONV_UINT8_STRIDES,
        "divide_by_255",
    )
    ppo = networks / "ppo_tanh" / "policy_saved_model" / "policy_000000003"
    assert evidence.read_evidence(ppo).activations == ("tanh",)  # not the tanh-squashed mean
    assert evidence.sibling_saved_models(networks / "ppo_tanh" / "train" / "policy") == [ppo]


def test_a_saved_model_of_another_network_is_no_evidence(networks):
    """The ppo_relu SavedModel beside a conv checkpoint: other shapes, so it says nothing."""
    shapes = {"policy/x/kernel": (3, 3, 2, 4)}
    assert evidence.find_evidence(networks / "ppo_relu" / "train" / "policy", shapes) is None


def test_stride_candidates():
    convs = ((4, 3, 0), (6, 3, 0))
    assert _stride_candidates((12, 9, 2), convs, 36) == [(1, 3), (2, 1)]
    assert _stride_candidates((12, 9, 2), ((4, 3, 0), (6, 2, 0)), 72) == [(2, 1)]
    atari = ((32, 8, 0), (64, 4, 0), (64, 3, 0))  # mnih15: three strides fit, (4, 2, 1) among them
    assert (4, 2, 1) in _stride_candidates((84, 84, 4), atari, 3136)
    assert len(_stride_candidates((84, 84, 4), atari, 3136)) > 1


# ---------------------------------------------------------------------------------------------
# Errors: exit 3 naming what did not fit, hints that tell the truth


def test_tf_agents_errors_while_rebuilding_are_input_errors(networks, tmp_path):
    """A conv network on CartPole's vector: Keras refuses to build it. Exit 3, naming the
    architecture and the env, not exit 4 "internal error"."""
    config = tmp_path / "conv.toml"
    config.write_text(
        "[network]\ntype = 'q_network'\nfc_layer_params = [8]\n"
        "conv_layer_params = [[4, 3, 2], [6, 2, 1]]\n"
    )
    result = evaluate(networks, "conv_float", tmp_path / "o", "--config", str(config),
                      env="CartPole-v1")  # fmt: skip
    assert result.exit_code == 3, result.stderr
    assert "TF-Agents could not build q_network(conv_layer_params=[[4, 3, 2], [6, 2, 1]]" in (
        result.stderr
    )
    assert f"check --config {config} against how the policy was trained" in result.stderr


def test_hint_for_an_inferred_network_does_not_mention_a_config_never_given(networks, tmp_path):
    result = evaluate(
        networks, "masked_dqn", tmp_path / "o", env=CLI_ENV["pytfpol_test/ProbeCartPole-v0"]
    )
    assert result.exit_code == 3, result.stderr
    assert "in the config" not in result.stderr
    assert "read off the checkpoint's variables (no --config given)" in result.stderr


def test_errors_building_the_action_function_name_the_rebuilt_network(networks, tmp_path):
    """Keys swapped: the network builds over the mask, and TF-Agents fails while building the
    action function. Exit 3, naming the rebuilt network and the config, not a SavedModel."""
    config = tmp_path / "swapped.toml"
    config.write_text(
        "[network]\ntype = 'q_network'\nfc_layer_params = [8]\n"
        "[policy]\nobservation_key = 'mask'\nmask_key = 'observation'\n"
    )
    result = evaluate(networks, "masked_dqn", tmp_path / "o", "--config", str(config))
    assert result.exit_code == 3, result.stderr
    assert "TF-Agents could not run the action function of q_network(" in result.stderr
    assert "SavedModel" not in result.stderr
    assert f"check --config {config} against how the policy was trained" in result.stderr
