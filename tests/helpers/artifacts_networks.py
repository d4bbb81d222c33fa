"""Checkpointer directories of the networks of issue 24, written by TF-Agents' own code, each
with the returns of TF-Agents' eager API (`PyTFEagerPolicy`) on a probe env whose return pins
down every action (tests/helpers/network_envs.py, tests/helpers/probe_env.py).

Run as a script (`python tests/helpers/artifacts_networks.py OUT_DIR`, the `networks` fixture). Networks
are small and untrained (their weights moved off initialisation); each `OUT/<name>/` holds the
Checkpointer directory `OUT/<name>/<LAYOUTS[name]>`, sometimes a PolicySaver SavedModel of the
same policy beside it as TF-Agents' scripts leave one, and `reference.json`:
{"env", "seeds", "returns", "lengths", "train_step"}.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pytfpol.policy.quiet_tf import import_tf  # noqa: E402

tf = import_tf()

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
from tf_agents.agents.dqn import dqn_agent  # noqa: E402
from tf_agents.agents.ppo import ppo_clip_agent  # noqa: E402
from tf_agents.networks import actor_distribution_network, q_network, value_network  # noqa: E402
from tf_agents.policies import greedy_policy, policy_saver, py_tf_eager_policy  # noqa: E402
from tf_agents.utils import common  # noqa: E402

from tests.helpers import network_envs, probe_env  # noqa: E402
from tests.helpers.artifacts import env_tensor_specs  # noqa: E402
from tests.helpers.reference_loop import run_episodes  # noqa: E402

SEEDS = [60, 61, 62]
STEP = 3
LAYOUTS = {
    "conv_float": "policy",
    "conv_uint8": "train/policy",
    "atari_sequential": "train/policy",
    "dqn_v2_rnn": "train/policy",
    "masked_dqn": "policy",
    "ppo_tanh": "train/policy",
    "ppo_relu": "train/policy",
}
# The strides of conv_uint8 are not unique given its kernels and the image: (1, 3) fits too.
CONV_UINT8_STRIDES = (2, 1)


def _specs(env_id: str):
    return env_tensor_specs(gym.make(env_id))


def _perturb(variables, seed: int, scale: float = 0.5) -> None:
    rng = np.random.default_rng(seed)
    for variable in variables:
        noise = rng.normal(0, scale, variable.shape).astype(variable.dtype.as_numpy_dtype)
        variable.assign_add(noise)


def _as_spec(spec):
    """An env observation as the policy's observation (its dtypes, nest and all)."""
    return lambda observation: tf.nest.map_structure(
        lambda s, o: np.asarray(o, s.dtype.as_numpy_dtype), spec, observation
    )


def _save(out: Path, name: str, policy, env_id: str, saved_model: str = "") -> None:
    """Checkpointer(policy=..., global_step=...) as the scripts save it, a PolicySaver
    SavedModel at `saved_model` (relative to out) if given, and the eager reference."""
    step = tf.Variable(STEP, dtype=tf.int64)
    common.Checkpointer(ckpt_dir=str(out / LAYOUTS[name]), policy=policy, global_step=step).save(
        global_step=STEP
    )
    if saved_model:
        saver = policy_saver.PolicySaver(policy, batch_size=None, train_step=step)
        saver.save(str(out / saved_model))
    greedy = policy if isinstance(policy, greedy_policy.GreedyPolicy) else None
    greedy = greedy or greedy_policy.GreedyPolicy(policy)
    eager = py_tf_eager_policy.PyTFEagerPolicy(greedy, use_tf_function=True)
    convert = _as_spec(policy.time_step_spec.observation)
    outcomes = run_episodes(eager, gym.make(env_id), SEEDS, convert=convert)
    reference = {
        "env": env_id,
        "seeds": SEEDS,
        "returns": [o.return_ for o in outcomes],
        "lengths": [o.length for o in outcomes],
        "train_step": STEP,
    }
    (out / "reference.json").write_text(json.dumps(reference))


def _dqn(time_step_spec, action_spec, q_net, scale: float = 0.5, **kwargs):
    agent = dqn_agent.DqnAgent(
        time_step_spec,
        action_spec,
        q_network=q_net,
        optimizer=tf.keras.optimizers.Adam(1e-3),
        **kwargs,
    )
    agent.initialize()
    _perturb(q_net.variables, seed=1, scale=scale)
    return agent


def conv_float(out: Path) -> None:
    """DqnAgent over a conv `QNetwork` on a float image: strides unique given the kernels."""
    time_step_spec, action_spec = _specs(network_envs.PIXEL_ID)
    net = q_network.QNetwork(
        time_step_spec.observation,
        action_spec,
        conv_layer_params=((4, 3, 2), (6, 2, 1)),
        fc_layer_params=(8,),
    )
    agent = _dqn(time_step_spec, action_spec, net)
    _save(out, "conv_float", agent.policy, network_envs.PIXEL_ID)


def conv_uint8(out: Path) -> None:
    """A conv `QNetwork` on a uint8 image with the /255 preprocessing layer (as mnih15's Atari
    example scales pixels), and a PolicySaver SavedModel of it in policy_saved_model/."""
    time_step_spec, action_spec = _specs(network_envs.PIXEL_UINT8_ID)
    scale = tf.keras.layers.Lambda(lambda x: tf.cast(x, tf.float32) / 255.0)
    strides = CONV_UINT8_STRIDES
    net = q_network.QNetwork(
        time_step_spec.observation,
        action_spec,
        preprocessing_layers=scale,
        conv_layer_params=((4, 3, strides[0]), (6, 3, strides[1])),
        fc_layer_params=(8,),
    )
    agent = _dqn(time_step_spec, action_spec, net, scale=3.0)
    _save(
        out,
        "conv_uint8",
        agent.policy,
        network_envs.PIXEL_UINT8_ID,
        saved_model=f"policy_saved_model/policy_{STEP:09d}",
    )


def atari_sequential(out: Path) -> None:
    """examples/dqn/mnih15's `create_q_network` (its layers, smaller): Sequential([Lambda(x / 255),
    Conv2D, Conv2D, Flatten, Dense, logits]) on a uint8 image, with a SavedModel beside it.
    (The script itself needs reverb, which is not installed: its layers are copied here.)"""
    from tf_agents.networks import sequential

    time_step_spec, action_spec = _specs(network_envs.PIXEL_UINT8_ID)
    relu = tf.keras.activations.relu
    strides = CONV_UINT8_STRIDES
    net = sequential.Sequential(
        [
            tf.keras.layers.Lambda(lambda x: x / 255),
            tf.keras.layers.Conv2D(4, (3, 3), strides[0], activation=relu),
            tf.keras.layers.Conv2D(6, (3, 3), strides[1], activation=relu),
            tf.keras.layers.Flatten(),
            tf.keras.layers.Dense(8, activation=relu),
            tf.keras.layers.Dense(3, activation=None),
        ]
    )
    agent = _dqn(time_step_spec, action_spec, net, scale=3.0)
    _save(
        out,
        "atari_sequential",
        agent.policy,
        network_envs.PIXEL_UINT8_ID,
        saved_model=f"policy_saved_model/policy_{STEP:09d}",
    )


def dqn_v2_rnn(out: Path) -> None:
    """agents/dqn/examples/v2/train_eval.py with train_sequence_length > 1: its own
    `create_recurrent_network` with the script's defaults (input (50,), lstm (20,), output (20,))."""
    from tf_agents.agents.dqn.examples.v2 import train_eval as script

    env_id = probe_env.PROBES["CartPole-v1"]
    time_step_spec, action_spec = _specs(env_id)
    net = script.create_recurrent_network((50,), (20,), (20,), 2)
    agent = _dqn(time_step_spec, action_spec, net)
    _save(out, "dqn_v2_rnn", agent.policy, env_id)


def masked_dqn(out: Path) -> None:
    """DqnAgent on a Dict observation with TF-Agents' action-mask convention."""
    time_step_spec, action_spec = _specs(network_envs.MASKED_ID)

    def splitter(observation):
        return observation["observation"], observation["mask"]

    net = q_network.QNetwork(
        time_step_spec.observation["observation"], action_spec, fc_layer_params=(8,)
    )
    agent = _dqn(
        time_step_spec, action_spec, net, observation_and_action_constraint_splitter=splitter
    )
    _save(out, "masked_dqn", agent.policy, network_envs.MASKED_ID)


def _ppo(out: Path, name: str, activation) -> None:
    """agents/ppo/examples/v2/train_eval_clip_agent.py's networks (smaller) with `activation`:
    train/policy, and PolicySaver SavedModels in policy_saved_model/policy_<step>."""
    env_id = probe_env.PROBES["Pendulum-v1"]
    time_step_spec, action_spec = _specs(env_id)
    actor = actor_distribution_network.ActorDistributionNetwork(
        time_step_spec.observation, action_spec, fc_layer_params=(16, 8), activation_fn=activation
    )
    value = value_network.ValueNetwork(
        time_step_spec.observation, fc_layer_params=(16, 8), activation_fn=activation
    )
    agent = ppo_clip_agent.PPOClipAgent(
        time_step_spec,
        action_spec,
        tf.compat.v1.train.AdamOptimizer(learning_rate=1e-3),
        actor_net=actor,
        value_net=value,
        normalize_observations=False,
        normalize_rewards=False,
        num_epochs=1,
    )
    agent.initialize()
    _perturb(actor.variables, seed=2)
    _save(out, name, agent.policy, env_id, saved_model=f"policy_saved_model/policy_{STEP:09d}")


def ppo_tanh(out: Path) -> None:
    _ppo(out, "ppo_tanh", tf.keras.activations.tanh)


def ppo_relu(out: Path) -> None:
    """TF-Agents' default activation (relu), not the example's: only the SavedModel says so."""
    _ppo(out, "ppo_relu", tf.keras.activations.relu)


WRITERS = {
    "conv_float": conv_float,
    "conv_uint8": conv_uint8,
    "atari_sequential": atari_sequential,
    "dqn_v2_rnn": dqn_v2_rnn,
    "masked_dqn": masked_dqn,
    "ppo_tanh": ppo_tanh,
    "ppo_relu": ppo_relu,
}


def main(out_dir: str, names: list[str]) -> None:
    for name in names or WRITERS:
        tf.keras.utils.set_random_seed(0)
        WRITERS[name](Path(out_dir) / name)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
