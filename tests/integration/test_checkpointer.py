"""Checkpointer directories rebuilt from configs/, NumpyState side data, and new checkpoints.

Artifacts are written by TF-Agents' own `common.Checkpointer` in tests/helpers/artifacts_checkpointer.py,
with the per-episode returns of an eager TF-Agents reference loop on the same seeds.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pytfpol.cli import main
from pytfpol.policy.policy_config import SHIPPED_CONFIGS_DIR
from tests.helpers import countdown_env
from tests.helpers.artifacts_checkpointer import NORMALIZED_ENV_KWARGS
from tests.helpers.repo import REPO

CONFIGS = REPO / "configs"


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def run_json(*args: str) -> dict:
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def reference(path: Path, name: str = "reference.json") -> dict:
    return json.loads((path / name).read_text())


@pytest.fixture(scope="module")
def ckpts(artifacts) -> Path:
    return artifacts / "checkpointer"


def test_dqn_v2_train_eval_layout_equals_eager_reference(ckpts, tmp_path):
    policy_dir = ckpts / "dqn_v2" / "train" / "policy"
    expected = reference(ckpts / "dqn_v2")
    report = run_json(
        "eval", str(policy_dir), "--env", "CartPole-v1", "--config",
        str(CONFIGS / "tf-agents-dqn-v2-cartpole.toml"), "--episodes", "6", "--seed", "20",
        "--out", str(tmp_path / "o"),
    )  # fmt: skip
    assert [e["return"] for e in report["episodes"]] == expected["returns"]
    assert [e["length"] for e in report["episodes"]] == expected["lengths"]
    assert report["policy"]["format"] == "checkpointer"
    assert report["policy"]["train_step"] == 20
    assert report["policy"]["checkpoint"] == str(policy_dir / "ckpt-20")
    assert report["policy"]["architecture"] == "sequential(fc_layer_params=[100], activation=relu)"

    older = run_json(
        "eval", str(policy_dir), "--env", "CartPole-v1", "--config",
        str(CONFIGS / "tf-agents-dqn-v2-cartpole.toml"), "--episodes", "6", "--seed", "20",
        "--step", "10", "--out", str(tmp_path / "o10"),
    )  # fmt: skip
    assert older["policy"]["train_step"] == 10
    step10 = reference(ckpts / "dqn_v2", "reference_step10.json")
    assert [e["return"] for e in older["episodes"]] == step10["returns"]


def test_shipped_config_by_name_equals_eager_reference(ckpts, tmp_path):
    """The agents' own Checkpointer dirs are in tests/integration/test_agents.py; this one also carries
    NumpyState side data and an extra variable."""
    expected = reference(ckpts / "q_network_side")
    for i, name in enumerate(("tf-agents-q-network", "tf-agents-q-network.toml")):
        report = run_json("eval", str(ckpts / "q_network_side"), "--env", "CartPole-v1",
                          "--config", name, "--episodes", "6", "--seed", "20", "--num-envs", "2",
                          "--allow-partial", "--out", str(tmp_path / f"o{i}"))  # fmt: skip
        assert [e["return"] for e in report["episodes"]] == expected["returns"]
        assert report["policy"]["config"] == str(SHIPPED_CONFIGS_DIR / "tf-agents-q-network.toml")


def test_missing_config_for_a_non_standard_network_lists_the_shipped_ones(ckpts, tmp_path):
    result = invoke("eval", str(ckpts / "lstm_sequential"), "--env", "CartPole-v1",
                    "--out", str(tmp_path / "o"))  # fmt: skip
    assert result.exit_code == 2
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: ") and "needs --config" in first
    hint = result.stderr.splitlines()[1]
    for path in sorted(CONFIGS.glob("*.toml")):
        assert path.stem in hint
    assert 'factory = "module:function"' in hint and "pytfpol configs" in hint
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("value", ["tf-agents-no-such", "configs/tf-agents-q-network"])
def test_unknown_config_name_lists_the_shipped_ones(ckpts, tmp_path, value):
    result = invoke("eval", str(ckpts / "q_network_side"), "--env", "CartPole-v1",
                    "--config", value, "--out", str(tmp_path / "o"))  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        f"error: --config {value}: no such file, and not the name of a shipped config"
    )
    assert "tf-agents-dqn-v2-cartpole" in result.stderr
    assert 'factory = "module:function"' in result.stderr


def test_a_file_wins_over_a_shipped_name(ckpts, tmp_path, monkeypatch):
    """`--config NAME` is a path first: a local file of that name is what the user means."""
    monkeypatch.chdir(tmp_path)
    Path("tf-agents-q-network").write_text("[network]\ntype = 'q_network'\nfc_layer_params = [9]\n")
    result = invoke("eval", str(ckpts / "q_network_side"), "--env", "CartPole-v1",
                    "--config", "tf-agents-q-network", "--out", str(tmp_path / "o"))  # fmt: skip
    assert result.exit_code == 3
    assert result.stderr.splitlines()[0].startswith(
        "error: --config tf-agents-q-network does not fit "
    )


@pytest.mark.parametrize(
    "name, env_id, episodes, architecture",
    [
        ("dqn_v2/train/policy", "CartPole-v1", 6, "sequential(fc_layer_params=[100], activation=relu)"),
        ("q_network_side", "CartPole-v1", 6, "q_network(fc_layer_params=[75, 40], activation=relu)"),
    ],
)  # fmt: skip
def test_standard_networks_need_no_config(ckpts, tmp_path, name, env_id, episodes, architecture):
    """The architecture is read off the variable names and shapes, and the user is told."""
    reference_dir = ckpts / name.split("/")[0]
    expected = reference(reference_dir)
    args = ["eval", str(ckpts / name), "--env", env_id, "--episodes", str(episodes), "--seed",
            str(expected["seeds"][0]), "--out", str(tmp_path / "o")]  # fmt: skip
    if name == "q_network_side":
        args.append("--allow-partial")
    result = invoke(*args)
    assert result.exit_code == 0, result.stderr
    assert f"note: no --config: inferred {architecture}" in result.stderr
    assert (
        "note: assumed activation relu: TF-Agents' default; an activation is not stored in a "
        "checkpoint"
    ) in result.stderr.splitlines()
    report = run_json(*args)
    assert report["policy"]["inferred"] is True
    assert [e["return"] for e in report["episodes"]] == expected["returns"][:episodes]
    saved = (tmp_path / "o" / "checkpoint" / "pytfpol-policy.toml").read_text()
    assert "Inferred by pytfpol" in saved


@pytest.mark.parametrize(
    "edit, env_id, fragment",
    [
        # other layer sizes
        ("fc_layer_params = [64]", "CartPole-v1",
         "policy/_wrapped_policy/_q_network/_sequential_layers/0/kernel"),
        # another number of layers
        ("fc_layer_params = [100, 50]", "CartPole-v1", "_sequential_layers/1/kernel"),
        # another observation size: Acrobot has 6 observations, the checkpoint was saved for 4
        ("fc_layer_params = [100]", "Acrobot-v1", "_sequential_layers/0/kernel"),
    ],
)  # fmt: skip
def test_wrong_config_is_refused_before_any_episode(ckpts, tmp_path, edit, env_id, fragment):
    config = tmp_path / "wrong.toml"
    text = (CONFIGS / "tf-agents-dqn-v2-cartpole.toml").read_text()
    config.write_text(text.replace("fc_layer_params = [100]", edit))
    out = tmp_path / "o"
    result = invoke("eval", str(ckpts / "dqn_v2" / "train" / "policy"), "--env", env_id,
                    "--config", str(config), "--out", str(out))  # fmt: skip
    assert result.exit_code == 3, result.stderr
    first = result.stderr.splitlines()[0]
    assert fragment in first, first
    assert "Traceback" not in result.stderr
    assert not (out / "stats.json").exists()


def test_wrong_wrapper_names_the_missing_variable(ckpts, tmp_path):
    config = tmp_path / "plain.toml"
    text = (CONFIGS / "tf-agents-dqn-v2-cartpole.toml").read_text()
    config.write_text(text.replace("[checkpoint]", '[policy]\nsaved_as = "plain"\n\n[checkpoint]'))
    result = invoke("eval", str(ckpts / "dqn_v2" / "train" / "policy"), "--env", "CartPole-v1",
                    "--config", str(config), "--out", str(tmp_path / "o"))  # fmt: skip
    assert result.exit_code == 3
    assert "has no policy/_q_network/_sequential_layers/0/kernel" in result.stderr


@pytest.mark.parametrize(
    "text, fragment",
    [
        (
            "[network]\ntype = 'sequential'\nfc_layer_params = [100]\nwidth = 3\n",
            ":4: network.width",
        ),
        (
            "[network]\ntype = 'sequential'\nfc_layer_params = '100'\n",
            ":3: network.fc_layer_params",
        ),
        ("[network]\ntype = 'mlp'\n", ":2: network.type"),
        ("[netwerk]\ntype = 'sequential'\n", ":1: unknown table [netwerk]"),
        ("[network]\ntype = 'sequential'\n[policy]\nsaved_as = 'greedyy'\n", ":4: policy.saved_as"),
        ("[network]\ntype = 'sequential'\n[normalization]\nmean = 'a'\n", "normalization.mean"),
        ("[network\n", "not valid TOML"),
        ("factory = 'not a reference'\n", ":1: factory"),
    ],
)
def test_config_errors_name_the_key_and_line(ckpts, tmp_path, text, fragment):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    result = invoke("eval", str(ckpts / "dqn_v2" / "train" / "policy"), "--env", "CartPole-v1",
                    "--config", str(config), "--out", str(tmp_path / "o"))  # fmt: skip
    assert result.exit_code == 2, result.stderr
    first = result.stderr.splitlines()[0]
    assert str(config) in first and fragment in first, first


def test_allow_partial_restores_what_matches_and_lists_the_rest(ckpts, tmp_path):
    args = ["eval", str(ckpts / "q_network_side"), "--env", "CartPole-v1", "--config",
            str(CONFIGS / "tf-agents-q-network.toml"), "--episodes", "2"]  # fmt: skip
    strict = invoke(*args, "--out", str(tmp_path / "a"))
    assert strict.exit_code == 3
    assert "optimizer_iterations/.ATTRIBUTES/VARIABLE_VALUE" in strict.stderr.splitlines()[0]
    assert "variables outside the policy not restored: not needed to choose actions" in (
        strict.stderr
    )
    partial = invoke(*args, "--out", str(tmp_path / "b"), "--allow-partial")
    assert partial.exit_code == 0, partial.stderr
    assert (
        "warning: --allow-partial: variables outside the policy not restored: not needed to "
        "choose actions (1 variable: optimizer_iterations)"
    ) in partial.stderr.splitlines()


def test_side_data_is_recorded_in_the_report(ckpts, tmp_path):
    report = run_json("eval", str(ckpts / "q_network_side"), "--env", "CartPole-v1", "--config",
                      str(CONFIGS / "tf-agents-q-network.toml"), "--episodes", "1",
                      "--allow-partial", "--out", str(tmp_path / "o"))  # fmt: skip
    assert report["policy"]["side_data"] == [
        {"name": "stats/counts", "dtype": "int16", "shape": [2, 2]},
        {"name": "stats/flags", "dtype": "bool", "shape": [2]},
        {"name": "stats/mean", "dtype": "float32", "shape": [4]},
    ]


def _normalization_config(tmp_path: Path, with_statistics: bool) -> Path:
    text = "[network]\ntype = 'q_network'\nfc_layer_params = []\n[policy]\nsaved_as = 'greedy'\n"
    if with_statistics:
        text += "[normalization]\nmean = 'obs_norm/mean'\nstd = 'obs_norm/std'\nclip = 5.0\n"
    path = tmp_path / ("norm.toml" if with_statistics else "raw.toml")
    path.write_text(text)
    return path


def test_saved_normalisation_statistics_make_the_policy_work(ckpts, tmp_path):
    """The policy was trained on normalised observations: it scores perfectly only when the
    NumpyState statistics saved with it are applied."""
    common = ["eval", str(ckpts / "normalized_countdown"), "--env", countdown_env.ENV_ID,
              "--env-kwargs", json.dumps(NORMALIZED_ENV_KWARGS), "--episodes", "20"]  # fmt: skip
    normalised = run_json(*common, "--config", str(_normalization_config(tmp_path, True)),
                          "--out", str(tmp_path / "n"))  # fmt: skip
    raw = run_json(*common, "--config", str(_normalization_config(tmp_path, False)),
                   "--out", str(tmp_path / "r"))  # fmt: skip
    lengths = [countdown_env.episode_length(i) for i in range(20)]
    assert [e["return"] for e in normalised["episodes"]] == [float(n) for n in lengths]
    assert raw["summary"]["mean_return"] < 0.5 * normalised["summary"]["mean_return"]


def test_missing_normalisation_array_is_an_input_error(ckpts, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(
        "[network]\ntype = 'q_network'\nfc_layer_params = []\n"
        "[normalization]\nmean = 'obs_norm/mean'\nvariance = 'obs_norm/var'\n"
    )
    result = invoke("eval", str(ckpts / "normalized_countdown"), "--env", countdown_env.ENV_ID,
                    "--env-kwargs", json.dumps(NORMALIZED_ENV_KWARGS), "--config", str(config),
                    "--out", str(tmp_path / "o"))  # fmt: skip
    assert result.exit_code == 3
    assert "obs_norm/var" in result.stderr.splitlines()[0]
    assert "obs_norm/mean, obs_norm/std" in result.stderr


def _read_py_state(prefix: str, name: str) -> np.ndarray:
    from pytfpol.policy.quiet_tf import import_tf

    tf = import_tf()
    raw = tf.train.load_checkpoint(prefix).get_tensor(f"{name}/.ATTRIBUTES/py_state")
    return np.load(io.BytesIO(raw), allow_pickle=False)


def test_round_trip_new_checkpoint_and_history(ckpts, tmp_path):
    """eval -> OUT/checkpoint -> eval OUT: identical returns, two history rows, side data kept
    bit for bit, and no --config needed the second time (it is saved with the checkpoint)."""
    first_out, second_out = tmp_path / "first", tmp_path / "second"
    first = run_json("eval", str(ckpts / "q_network_side"), "--env", "CartPole-v1", "--config",
                     str(CONFIGS / "tf-agents-q-network.toml"), "--episodes", "5", "--seed", "7",
                     "--allow-partial", "--out", str(first_out))  # fmt: skip
    prefix = first["output"]["checkpoint"]
    assert prefix == str(first_out / "checkpoint" / "ckpt-3")
    second = run_json("eval", str(first_out), "--env", "CartPole-v1", "--episodes", "5",
                      "--seed", "7", "--out", str(second_out))  # fmt: skip
    assert second["episodes"] == first["episodes"]
    assert second["policy"]["train_step"] == 3
    assert second["policy"]["config"] == str(first_out / "checkpoint" / "pytfpol-policy.toml")

    # Beside the policy checkpoint (which holds the policy and its step only), evaluation/
    # holds the history, this run's episodes and the side data carried from the input.
    evaluation = str(second_out / "checkpoint" / "evaluation" / "evaluation")
    history = _read_py_state(evaluation, "evaluation/history")
    assert history.shape == (2, 5)
    np.testing.assert_array_equal(history[:, :2], [[3, 5], [3, 5]])
    np.testing.assert_allclose(history[:, 2], first["summary"]["mean_return"])
    returns = _read_py_state(evaluation, "evaluation/returns")
    np.testing.assert_array_equal(returns, [e["return"] for e in second["episodes"]])
    seeds = _read_py_state(evaluation, "evaluation/seeds")
    np.testing.assert_array_equal(seeds, [7, 8, 9, 10, 11])
    for name in ("stats/mean", "stats/counts", "stats/flags"):
        original = _read_py_state(str(ckpts / "q_network_side" / "ckpt-3"), name)
        carried = _read_py_state(evaluation, name)
        assert carried.dtype == original.dtype and carried.tobytes() == original.tobytes()


def test_output_checkpoint_loads_with_pytfpolicy_restore(ckpts, tmp_path):
    """TF-Agents' own PyTFPolicy.restore(dir), called as TF-Agents calls it (defaults, so
    assert_consumed=True), loads what pytfpol writes: the policy and its step, nothing else."""
    out = tmp_path / "o"
    run_json("eval", str(ckpts / "dqn_v2" / "train" / "policy"), "--env", "CartPole-v1",
             "--config", str(CONFIGS / "tf-agents-dqn-v2-cartpole.toml"), "--episodes", "1",
             "--out", str(out))  # fmt: skip
    import gymnasium as gym

    from pytfpol.policy import networks
    from pytfpol.policy.policy_config import load_policy_config
    from pytfpol.policy.quiet_tf import import_tf
    from pytfpol.running import envs

    tf = import_tf()
    from tf_agents.policies import py_tf_policy

    env = gym.make("CartPole-v1")
    specs = envs.tensor_specs(
        {
            "observation": envs.space_to_spec(env.observation_space, "observation"),
            "action": envs.space_to_spec(env.action_space, "action"),
        }
    )
    # The shipped config leaves saved_as to the checkpoint; DQN v2 saved GreedyPolicy(QPolicy).
    config = load_policy_config(CONFIGS / "tf-agents-dqn-v2-cartpole.toml")
    config = config.with_updates(saved_as="greedy")
    graph = tf.Graph()
    with graph.as_default():
        policy = networks.build_saved_policy(config, *specs)
        py_policy = py_tf_policy.PyTFPolicy(policy)
        session = tf.compat.v1.Session(graph=graph)
        py_policy.session = session
        py_policy.initialize(None)
        step = py_policy.restore(str(out / "checkpoint"))
        kernel = session.run(policy.variables()[0])
    assert step == 20
    reader = tf.train.load_checkpoint(str(ckpts / "dqn_v2" / "train" / "policy" / "ckpt-20"))
    key = "policy/_wrapped_policy/_q_network/_sequential_layers/0/kernel/.ATTRIBUTES/VARIABLE_VALUE"
    np.testing.assert_array_equal(kernel, reader.get_tensor(key))


def test_stochastic_is_seeded(ckpts, tmp_path):
    """--stochastic samples (the run differs from the greedy one on the same seeds), the same
    seed gives the same run, another seed another run (issue 17.6)."""
    args = ["eval", str(ckpts / "q_network_side"), "--env", "CartPole-v1", "--config",
            str(CONFIGS / "tf-agents-q-network.toml"), "--allow-partial", "--episodes", "8"]  # fmt: skip
    a = run_json(*args, "--stochastic", "--seed", "3", "--out", str(tmp_path / "a"))
    b = run_json(*args, "--stochastic", "--seed", "3", "--out", str(tmp_path / "b"))
    greedy = run_json(*args, "--seed", "3", "--out", str(tmp_path / "g"))
    other = run_json(*args, "--stochastic", "--seed", "4", "--out", str(tmp_path / "c"))
    assert a["episodes"] == b["episodes"]
    assert a["policy"]["stochastic"] is True and greedy["policy"]["stochastic"] is False
    assert [e["length"] for e in a["episodes"]] != [e["length"] for e in greedy["episodes"]]
    assert [e["length"] for e in a["episodes"]] != [e["length"] for e in other["episodes"]]


NUMERIC_DTYPES = [
    np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
    np.float16, np.float32, np.float64, np.complex64, np.complex128,
]  # fmt: skip


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.data(),
    dtype=st.sampled_from(NUMERIC_DTYPES),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
)
def test_numpy_state_arrays_survive_bit_for_bit(tmp_path_factory, data, dtype, shape):
    """Every numeric dtype np.save writes without pickling: NumpyState -> our checkpoint writer
    -> our reader gives the same bytes, dtype and shape."""
    from pytfpol.formats import validation
    from pytfpol.policy import checkpoints
    from pytfpol.policy.quiet_tf import import_tf

    tf = import_tf()
    array = data.draw(hnp.arrays(dtype, shape))
    target = tmp_path_factory.mktemp("np") / "checkpoint"
    graph = tf.Graph()
    with graph.as_default():
        session = tf.compat.v1.Session(graph=graph)
        states = checkpoints.numpy_states({"side/value": array})
        prefix = checkpoints.write_checkpoint(session, states, target, "ckpt-1")
        session.close()
    restored = validation.check_bundle(prefix).side_data["side/value"]
    assert restored.dtype == array.dtype and restored.shape == array.shape
    assert restored.tobytes() == array.tobytes()


def test_factory_escape_hatch_builds_the_policy(ckpts, tmp_path):
    config = tmp_path / "factory.toml"
    config.write_text('factory = "tests.helpers.factories:dqn_v2_policy"\n')
    expected = reference(ckpts / "dqn_v2")
    report = run_json("eval", str(ckpts / "dqn_v2" / "train" / "policy"), "--env", "CartPole-v1",
                      "--config", str(config), "--episodes", "6", "--seed", "20",
                      "--out", str(tmp_path / "o"))  # fmt: skip
    assert [e["return"] for e in report["episodes"]] == expected["returns"]
    assert report["policy"]["architecture"] == "factory tests.helpers.factories:dqn_v2_policy"


@pytest.mark.parametrize(
    "factory, code, fragment",
    [
        ("tests.helpers.factories:not_a_policy", 3, "returned str, not a TF-Agents TFPolicy"),
        ("tests.no_such_module:f", 2, "cannot import it"),
    ],
)
def test_factory_errors(ckpts, tmp_path, factory, code, fragment):
    config = tmp_path / "factory.toml"
    config.write_text(f'factory = "{factory}"\n')
    result = invoke("eval", str(ckpts / "dqn_v2" / "train" / "policy"), "--env", "CartPole-v1",
                    "--config", str(config), "--out", str(tmp_path / "o"))  # fmt: skip
    assert result.exit_code == code
    assert fragment in result.stderr.splitlines()[0]
    assert "Traceback" not in result.stderr


def test_a_checkpoint_without_a_policy_is_an_input_error(tmp_path):
    """E.g. a replay-buffer or metrics Checkpointer directory: exit 3, not "needs --config"."""
    from pytfpol.policy.quiet_tf import import_tf

    tf = import_tf()
    from tf_agents.utils import common, numpy_storage

    stats = numpy_storage.NumpyState()
    stats.mean = np.zeros(3)
    directory = tmp_path / "train" / "metrics"
    counter = tf.Variable(4, dtype=tf.int64)
    common.Checkpointer(ckpt_dir=str(directory), stats=stats, global_step=counter).save(4)
    result = invoke("eval", str(directory), "--env", "CartPole-v1", "--out", str(tmp_path / "o"))
    assert result.exit_code == 3
    first = result.stderr.splitlines()[0]
    assert str(directory / "ckpt-4") in first and "holds no policy" in first
