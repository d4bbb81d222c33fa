"""Reading architectures off checkpoints, completing configs, configs themselves: no TensorFlow.

The checkpoints are the agents' own (tests/helpers/artifacts_agents.py), read with pytfpol's pure-Python
checkpoint reader; what pytfpol then builds from these configs is checked against TF-Agents in
tests/integration/test_agents.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from pytfpol.cli import main
from pytfpol.errors import UsageError
from pytfpol.formats import checkpoint_reader
from pytfpol.policy.completion import complete_config
from pytfpol.policy.inference import (
    ASSUMED_PPO_ACTIVATION,
    infer_policy_config,
    read_activation,
)
from pytfpol.policy.partial_restore import describe_unmatched
from pytfpol.policy.policy_config import SHIPPED_CONFIGS_DIR, load_policy_config, shipped_names
from tests.helpers.artifacts_agents import LAYOUTS
from tests.helpers.repo import REPO

EXPECTED = {
    "ddqn": ("greedy", "q_network(fc_layer_params=[75, 40], activation=relu)"),
    "c51": ("greedy", "categorical_q_network(fc_layer_params=[], num_atoms=51, activation=relu)"),
    "qrnn": ("greedy", "q_rnn_network(input_fc_layer_params=[75, 40], lstm_size=[40], output_fc_layer_params=[75, 40], activation=relu)"),
    "bc": ("greedy", "q_network(fc_layer_params=[75, 40], activation=relu)"),
    "ddpg_v2": ("plain", "sequential_actor(fc_layer_params=[400, 300], activation=relu)"),
    "ddpg_v2_rnn": ("plain", "actor_rnn_network(input_fc_layer_params=[400, 300], lstm_size=[40], output_fc_layer_params=[100], activation=relu)"),
    "td3": ("plain", "actor_network(fc_layer_params=[], activation=relu)"),
    "sac_v2": ("greedy", "actor_distribution_network(fc_layer_params=[256, 256], activation=relu, projection=tanh_normal)"),
    "sac_v2_rnn": ("greedy", "actor_distribution_rnn_network(input_fc_layer_params=[400, 300], lstm_size=[40], output_fc_layer_params=[100], activation=relu, projection=tanh_normal)"),
    "cql_sac": ("plain", "actor_distribution_network(fc_layer_params=[256, 256], activation=relu, projection=tanh_normal)"),
    "ppo_v2": ("greedy", "ppo_policy(actor=actor_distribution_network(fc_layer_params=[200, 100], activation=tanh), value=value_network(fc_layer_params=[200, 100], activation=tanh))"),
    "ppo_v2_rnn": ("greedy", "ppo_policy(actor=actor_distribution_rnn_network(input_fc_layer_params=[200, 100], lstm_size=[20], output_fc_layer_params=[], activation=relu), value=value_rnn_network(input_fc_layer_params=[200, 100], lstm_size=[40], output_fc_layer_params=[], activation=relu))"),
    "ppo_default": ("greedy", "ppo_policy(actor=actor_distribution_network(fc_layer_params=[200, 100], activation=tanh), value=value_network(fc_layer_params=[75, 40], activation=tanh), observation_normalizer)"),
    "ppo_kl": ("greedy", "ppo_policy(actor=actor_distribution_network(fc_layer_params=[200, 100], activation=tanh), value=value_network(fc_layer_params=[75, 40], activation=tanh))"),
    "reinforce_v2": ("greedy", "actor_distribution_network(fc_layer_params=[100], activation=relu)"),
}  # fmt: skip


def shapes_of(directory: Path) -> tuple[str, dict]:
    prefix = str(sorted(directory.glob("ckpt-*.index"))[-1])[: -len(".index")]
    entries = checkpoint_reader.read_index(prefix).entries
    return prefix, {key: entry.shape for key, entry in entries.items()}


def inferred(agents: Path, name: str):
    prefix, shapes = shapes_of(agents / name / LAYOUTS[name])
    config = infer_policy_config(shapes, prefix)
    discrete = json.loads((agents / name / "reference.json").read_text())["env"] == "CartPole-v1"
    return complete_config(config, shapes, 2 if discrete else None), shapes


@pytest.mark.parametrize("name", list(EXPECTED))
def test_every_agent_layout_is_read_and_the_config_round_trips(agents, tmp_path, name):
    config, _ = inferred(agents, name)
    assert (config.saved_as, config.describe()) == EXPECTED[name]
    path = tmp_path / "inferred.toml"
    path.write_text(config.source_text)
    loaded = load_policy_config(path)  # the saved config is a valid config for the same policy
    assert loaded.describe() == config.describe() and loaded.saved_as == config.saved_as
    assert loaded.observation_normalizer == config.observation_normalizer


def test_inference_does_not_claim_a_tanh_normal_head_for_a_discrete_action(agents):
    """REINFORCE on CartPole and SAC on Pendulum both save one `_projection_layer`: categorical
    for the discrete action, tanh-normal for the continuous one; the env says which."""
    reinforce, _ = inferred(agents, "reinforce_v2")
    assert reinforce.network.continuous_projection == "normal"
    assert "tanh_normal" not in reinforce.source_text
    assert "The action head is one _projection_layer: categorical, as the action is discrete." in (
        reinforce.source_text
    )
    sac, _ = inferred(agents, "sac_v2")
    assert 'continuous_projection = "tanh_normal"' in sac.source_text


def test_inferred_ppo_assumes_tanh_and_points_at_the_shipped_config_with_relu(agents):
    """PPO's examples train with tanh (assumed with no evidence); TF-Agents' network defaults
    are relu: the shipped config with that layout is named."""
    config, _ = inferred(agents, "ppo_default")
    assert config.assumed == (
        ASSUMED_PPO_ACTIVATION + " (the shipped config tf-agents-ppo-network-defaults has this "
        "layout with activation relu: if that is how it was trained, pass --config "
        "tf-agents-ppo-network-defaults)",
    )


def test_inferred_ppo_v2_reads_its_activation_from_the_saved_model_beside_it(agents):
    config, _ = inferred(agents, "ppo_v2")
    saved = sorted((agents / "ppo_v2" / "policy_saved_model").iterdir())[-1]
    assert config.assumed == (read_activation("tanh", str(saved)),)


def test_unknown_parts_are_not_inferred(ckpts_dir):
    """A Sequential with an LSTM inside (examples/dqn/dqn_train_eval_rnn.py) is not a network
    inference knows: nothing is inferred rather than something wrong."""
    prefix, shapes = shapes_of(ckpts_dir / "lstm_sequential")
    assert infer_policy_config(shapes, prefix) is None


@pytest.fixture(scope="module")
def ckpts_dir(artifacts) -> Path:
    return artifacts / "checkpointer"


def test_saved_as_and_normalizer_are_read_from_the_checkpoint(agents):
    shipped = load_policy_config(SHIPPED_CONFIGS_DIR / "tf-agents-ppo-v2-clip.toml")
    assert shipped.saved_as is None and shipped.observation_normalizer is None
    _, shapes = shapes_of(agents / "ppo_default" / LAYOUTS["ppo_default"])
    completed = complete_config(shipped, shapes, None)
    assert completed.saved_as == "greedy" and completed.observation_normalizer is True
    _, shapes = shapes_of(agents / "ppo_v2" / LAYOUTS["ppo_v2"])
    assert complete_config(shipped, shapes, None).observation_normalizer is False
    plain = load_policy_config(SHIPPED_CONFIGS_DIR / "tf-agents-sac-v2-actor.toml")
    _, shapes = shapes_of(agents / "cql_sac" / LAYOUTS["cql_sac"])
    assert complete_config(plain, shapes, None).saved_as == "plain"


def test_lost_variables_are_named_in_words():
    keys = [
        "policy/_wrapped_policy/_observation_normalizer/_avg/0/.ATTRIBUTES/VARIABLE_VALUE",
        "policy/_wrapped_policy/_value_network/_postprocessing_layers/kernel/.ATTRIBUTES/VARIABLE_VALUE",
        "policy/_wrapped_policy/_actor_network/_extra/kernel/.ATTRIBUTES/VARIABLE_VALUE",
        "agent/_optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE",
    ]
    assert describe_unmatched(keys) == [
        "observation normalizer not restored: actions will differ from training (the policy "
        "sees raw observations) (1 variable: policy/_wrapped_policy/_observation_normalizer/_avg/0)",
        "value network not restored: no effect on actions (PPO's value network does not choose "
        "them) (1 variable: policy/_wrapped_policy/_value_network/_postprocessing_layers/kernel)",
        "part of the policy not restored: actions will differ from training (the rebuilt policy "
        "has no such variables) (1 variable: policy/_wrapped_policy/_actor_network/_extra/kernel)",
        "variables outside the policy not restored: not needed to choose actions (1 variable: "
        "agent/_optimizer/iter)",
    ]


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("[network]\ntype = 'q_network'\nlstm_size = [4]\n",
         ":3: network.lstm_size: not used by q_network (it takes fc_layer_params, conv_layer_params, pixel_scaling)"),
        ("[network]\ntype = 'q_network'\n[value_network]\ntype = 'value_network'\n",
         ":3: [value_network]: a PPOPolicy (a [value_network]) needs an actor_distribution"),
        ("[network]\ntype = 'actor_distribution_network'\n[policy]\nobservation_normalizer = true\n",
         ":4: policy.observation_normalizer: only a PPOPolicy has its own observation normalizer"),
        ("[network]\ntype = 'actor_distribution_network'\n[value_network]\ntype = 'q_network'\n",
         ":4: value_network.type: must be one of value_network, value_rnn_network"),
        ("[network]\ntype = 'categorical_q_network'\nmin_q_value = 1\nmax_q_value = 1\n",
         ":4: network.max_q_value: must be greater than min_q_value"),
        ("[network]\ntype = 'actor_rnn_network'\n", ":2: network.type: actor_rnn_network needs lstm_size"),
    ],
)  # fmt: skip
def test_config_errors_name_the_key_and_line(tmp_path, text, fragment):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(UsageError) as error:
        load_policy_config(path)
    assert fragment in error.value.message


def test_shipped_configs_are_valid_and_one_per_example_script():
    names = shipped_names()
    for name in names:
        config = load_policy_config(SHIPPED_CONFIGS_DIR / f"{name}.toml")
        assert config.description, name
    scripts = {
        "agents/dqn/examples/v2/train_eval.py": "tf-agents-dqn-v2-cartpole",
        "agents/ddpg/examples/v2/train_eval.py": "tf-agents-ddpg-v2-actor",
        "agents/ddpg/examples/v2/train_eval_rnn.py": "tf-agents-ddpg-v2-rnn-actor",
        "agents/ppo/examples/v2/train_eval_clip_agent.py": "tf-agents-ppo-v2-clip",
        "agents/reinforce/examples/v2/train_eval.py": "tf-agents-reinforce-v2",
        "agents/sac/examples/v2/train_eval.py": "tf-agents-sac-v2-actor",
        "agents/sac/examples/v2/train_eval_rnn.py": "tf-agents-sac-v2-rnn-actor",
    }
    import tf_agents

    root = Path(tf_agents.__file__).parent
    installed = {str(p.relative_to(root)) for p in root.glob("agents/*/examples/v2/train_eval*.py")}
    assert installed - {"agents/dqn/examples/v2/train_eval_test.py"} == set(scripts)
    assert set(scripts.values()) <= set(names)
    documented = (REPO / "docs" / "configs.md").read_text() + (
        REPO / "docs" / "networks.md"
    ).read_text()
    for name in names:
        assert f"`{name}`" in documented, (
            f"neither docs/configs.md nor docs/networks.md names {name}"
        )


def test_configs_command_lists_every_shipped_config():
    result = CliRunner().invoke(main, ["configs", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    listing = json.loads(result.stdout)
    assert listing["dir"] == str(SHIPPED_CONFIGS_DIR)
    assert [c["name"] for c in listing["configs"]] == shipped_names()
    ppo = next(c for c in listing["configs"] if c["name"] == "tf-agents-ppo-v2-clip")
    assert ppo["description"].startswith("PPO v2 train_eval_clip_agent")
    assert ppo["architecture"] == (
        "ppo_policy(actor=actor_distribution_network(fc_layer_params=[200, 100], activation=tanh), "
        "value=value_network(fc_layer_params=[200, 100], activation=tanh))"
    )
    table = CliRunner().invoke(main, ["configs"], catch_exceptions=False)
    assert table.exit_code == 0
    for name in shipped_names():
        assert re.search(rf"^\s*{re.escape(name)}\s", table.stdout, re.MULTILINE), name


def test_api_configs_is_the_typed_listing():
    """`api.configs()` returns commands.configs' ConfigsResult: exactly its keys, and each
    config exactly ShippedConfig's."""
    from pytfpol import api
    from pytfpol.commands.configs import ConfigsResult, ShippedConfig

    listing = api.configs()
    assert set(listing) == ConfigsResult.__required_keys__
    assert [c["name"] for c in listing["configs"]] == shipped_names()
    for config in listing["configs"]:
        assert set(config) == ShippedConfig.__required_keys__, config["name"]
        assert all(isinstance(value, str) for value in config.values()), config
