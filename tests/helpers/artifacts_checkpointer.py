"""Checkpointer directories written exactly as TF-Agents' example scripts write them, each with
the returns of a reference loop run here with TF-Agents' eager API (`PyTFEagerPolicy`).

Called from tests/helpers/artifacts.py (one process, eager). Each `<name>/` holds the Checkpointer
directory and `<name>/reference.json`: {"seeds", "returns", "lengths"} for the newest checkpoint.
"""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import tensorflow as tf
from tf_agents.agents.dqn import dqn_agent
from tf_agents.networks import q_network
from tf_agents.policies import greedy_policy, py_tf_eager_policy, q_policy
from tf_agents.utils import common, numpy_storage

from tests.helpers import countdown_env
from tests.helpers.reference_loop import run_episodes

REFERENCE_SEEDS = list(range(20, 26))
NORMALIZED_ENV_KWARGS = {"obs_scale": 10.0, "obs_offset": [100.0, -50.0]}


def _specs(env_id: str, **kwargs):
    from tests.helpers.artifacts import env_tensor_specs

    return env_tensor_specs(gym.make(env_id, **kwargs))


def reference_returns(policy, env_id: str, seeds, max_episode_steps=None, **kwargs) -> dict:
    """The eager reference loop (`PyTFEagerPolicy`) on a Gymnasium env reset with each seed."""
    env = gym.make(env_id, max_episode_steps=max_episode_steps, **kwargs)
    outcomes = run_episodes(py_tf_eager_policy.PyTFEagerPolicy(policy), env, seeds)
    return {
        "seeds": list(seeds),
        "returns": [o.return_ for o in outcomes],
        "lengths": [o.length for o in outcomes],
    }


def _perturb(variables, seed: int) -> None:
    rng = np.random.default_rng(seed)
    for variable in variables:
        noise = rng.normal(0, 0.3, variable.shape).astype(variable.dtype.as_numpy_dtype)
        variable.assign_add(noise)


def _save_reference(out: Path, reference: dict) -> None:
    (out / "reference.json").write_text(json.dumps(reference))


def dqn_v2_train_eval(out: Path) -> None:
    """`agents/dqn/examples/v2/train_eval.py`: Sequential Dense(100)+logits, DqnAgent, and
    Checkpointer(ckpt_dir=train_dir/policy, policy=agent.policy, global_step=global_step);
    saved at steps 10 and 20 with different weights."""
    from tf_agents.agents.dqn.examples.v2 import train_eval as dqn_v2

    time_step_spec, action_spec = _specs("CartPole-v1")
    q_net = dqn_v2.create_feedforward_network((100,), 2)
    global_step = tf.Variable(0, dtype=tf.int64, name="global_step")
    agent = dqn_agent.DqnAgent(
        time_step_spec,
        action_spec,
        q_network=q_net,
        epsilon_greedy=0.1,
        optimizer=tf.compat.v1.train.AdamOptimizer(learning_rate=1e-3),
        td_errors_loss_fn=common.element_wise_squared_loss,
        train_step_counter=global_step,
    )
    agent.initialize()
    policy_dir = out / "train" / "policy"
    checkpointer = common.Checkpointer(
        ckpt_dir=str(policy_dir), policy=agent.policy, global_step=global_step
    )
    global_step.assign(10)
    checkpointer.save(global_step=global_step.numpy())
    (out / "reference_step10.json").write_text(
        json.dumps(reference_returns(agent.policy, "CartPole-v1", REFERENCE_SEEDS))
    )
    _perturb(q_net.variables, seed=1)
    global_step.assign(20)
    checkpointer.save(global_step=global_step.numpy())
    _save_reference(out, reference_returns(agent.policy, "CartPole-v1", REFERENCE_SEEDS))


def dqn_v2_policy(seed: int = 0):
    """DQN v2 train_eval's agent.policy (Sequential Dense(100)+logits) for CartPole, and its
    network's variables: what `train_dir/policy` checkpoints hold."""
    from tf_agents.agents.dqn.examples.v2 import train_eval as dqn_v2

    tf.keras.utils.set_random_seed(seed)
    time_step_spec, action_spec = _specs("CartPole-v1")
    q_net = dqn_v2.create_feedforward_network((100,), 2)
    agent = dqn_agent.DqnAgent(
        time_step_spec,
        action_spec,
        q_network=q_net,
        optimizer=tf.compat.v1.train.AdamOptimizer(learning_rate=1e-3),
    )
    agent.initialize()
    return agent.policy, q_net.variables


def dqn_v2_run(out: Path) -> None:
    """A DQN v2 `train_dir/policy` with checkpoints at steps 10, 20 and 30, each with other
    weights (for sweeps)."""
    policy, variables = dqn_v2_policy()
    global_step = tf.Variable(0, dtype=tf.int64)
    checkpointer = common.Checkpointer(
        ckpt_dir=str(out / "train" / "policy"), policy=policy, global_step=global_step
    )
    for step in (10, 20, 30):
        _perturb(variables, seed=step)
        global_step.assign(step)
        checkpointer.save(global_step=step)


def _checkpoint(out: Path, policy, step: int, **side) -> None:
    global_step = tf.Variable(step, dtype=tf.int64)
    checkpointer = common.Checkpointer(
        ckpt_dir=str(out), policy=policy, global_step=global_step, **side
    )
    checkpointer.save(global_step=step)


def lstm_sequential(out: Path) -> None:
    """The Q network of examples/dqn/dqn_train_eval_rnn.py (Sequential Dense(50), LSTM(20),
    Dense(20), logits) in DqnAgent's GreedyPolicy(QPolicy): no standard TF-Agents network, so it
    needs a config (or a factory); the script itself saves SavedModels in policies/."""
    from tf_agents.networks import sequential

    time_step_spec, action_spec = _specs("CartPole-v1")
    lstm = tf.keras.layers.LSTM(20, return_state=True, return_sequences=True)
    net = sequential.Sequential(
        [
            tf.keras.layers.Dense(50, activation="relu"),
            lstm,
            tf.keras.layers.Dense(20, activation="relu"),
            tf.keras.layers.Dense(2),
        ]
    )
    agent = dqn_agent.DqnAgent(
        time_step_spec, action_spec, q_network=net, optimizer=tf.keras.optimizers.Adam(1e-3)
    )
    agent.initialize()
    _checkpoint(out, agent.policy, 6)


def q_network_with_side_data(out: Path) -> None:
    """A plain QPolicy(QNetwork) with NumpyState side data of several dtypes."""
    time_step_spec, action_spec = _specs("CartPole-v1")
    net = q_network.QNetwork(time_step_spec.observation, action_spec, fc_layer_params=(75, 40))
    policy = q_policy.QPolicy(time_step_spec, action_spec, net)
    net.create_variables(time_step_spec.observation)
    stats = numpy_storage.NumpyState()
    stats.mean = np.arange(4, dtype=np.float32)
    stats.counts = np.array([[1, 2], [3, 4]], dtype=np.int16)
    stats.flags = np.array([True, False])
    extra = tf.Variable(5, dtype=tf.int64)  # not part of the policy: needs --allow-partial
    _checkpoint(out, policy, 3, stats=stats, optimizer_iterations=extra)
    _save_reference(
        out, reference_returns(greedy_policy.GreedyPolicy(policy), "CartPole-v1", REFERENCE_SEEDS)
    )


def normalized_countdown(out: Path) -> None:
    """A policy that only works on normalised observations: Q = normalised observation.

    The env's raw observation is one_hot * 10 + [100, -50]; normalised with mean [105, -45] and
    std [5, 5] it becomes +-1 and argmax picks the rewarded action. Raw, argmax is always 0."""
    time_step_spec, action_spec = _specs(countdown_env.ENV_ID, **NORMALIZED_ENV_KWARGS)
    net = q_network.QNetwork(time_step_spec.observation, action_spec, fc_layer_params=None)
    net.create_variables(time_step_spec.observation)
    kernel, bias = net.layers[-1].get_weights()
    net.layers[-1].set_weights([np.eye(2, dtype=kernel.dtype), np.zeros_like(bias)])
    policy = greedy_policy.GreedyPolicy(q_policy.QPolicy(time_step_spec, action_spec, net))
    obs_norm = numpy_storage.NumpyState()
    obs_norm.mean = np.array([105.0, -45.0], dtype=np.float32)
    obs_norm.std = np.array([5.0, 5.0], dtype=np.float32)
    _checkpoint(out, policy, 4, obs_norm=obs_norm)


def normalized_countdown_two_steps(out: Path) -> None:
    """normalized_countdown's policy at step 4, then at step 8 with other saved statistics:
    mean [95, -35] makes the normalised observation one_hot * 2 + [1, -3], so step 8 picks the
    rewarded action only when it is action 0. Restoring step 8 into a graph built for step 4
    must take its statistics along (issue 16)."""
    time_step_spec, action_spec = _specs(countdown_env.ENV_ID, **NORMALIZED_ENV_KWARGS)
    net = q_network.QNetwork(time_step_spec.observation, action_spec, fc_layer_params=None)
    net.create_variables(time_step_spec.observation)
    kernel, bias = net.layers[-1].get_weights()
    net.layers[-1].set_weights([np.eye(2, dtype=kernel.dtype), np.zeros_like(bias)])
    policy = greedy_policy.GreedyPolicy(q_policy.QPolicy(time_step_spec, action_spec, net))
    obs_norm = numpy_storage.NumpyState()
    obs_norm.mean = np.array([105.0, -45.0], dtype=np.float32)
    obs_norm.std = np.array([5.0, 5.0], dtype=np.float32)
    global_step = tf.Variable(4, dtype=tf.int64)
    checkpointer = common.Checkpointer(
        ckpt_dir=str(out), policy=policy, global_step=global_step, obs_norm=obs_norm
    )
    checkpointer.save(global_step=4)
    obs_norm.mean = np.array([95.0, -35.0], dtype=np.float32)
    global_step.assign(8)
    checkpointer.save(global_step=8)


def step_counter(out: Path) -> None:
    """StepCounterPolicy (tests/helpers/factories.py) on Countdown, limit 4, saved by a Checkpointer:
    a recurrent policy that does not reset its own state (issue 17.5)."""
    from tests.helpers.factories import _policy_classes

    time_step_spec, action_spec = _specs(countdown_env.ENV_ID)
    policy = _policy_classes()[1](time_step_spec, action_spec, limit=4.0)
    _checkpoint(out, policy, 1)


def bad_actions(out: Path) -> None:
    """PolicySaver SavedModels for Pendulum-v1 that act 5.0 (outside [-2, 2]) and NaN, with no
    clipping of their own (issue 17.4)."""
    from tf_agents.policies import policy_saver

    from tests.helpers.factories import _policy_classes

    time_step_spec, action_spec = _specs("Pendulum-v1")
    for name, kwargs in (("out_of_range", {"value": 5.0}), ("nan", {"value": 1.0, "nan": True})):
        policy = _policy_classes()[0](time_step_spec, action_spec, **kwargs)
        policy_saver.PolicySaver(policy, batch_size=None).save(str(out / name))


def no_train_step(out: Path) -> None:
    """A PolicySaver SavedModel for Pendulum-v1 acting 1.0, saved without a `train_step` (it
    records TF-Agents' -1 then): a plain SavedModel that no training step names."""
    from tf_agents.policies import policy_saver

    from tests.helpers.factories import _policy_classes

    time_step_spec, action_spec = _specs("Pendulum-v1")
    policy = _policy_classes()[0](time_step_spec, action_spec, value=1.0)
    policy_saver.PolicySaver(policy, batch_size=None).save(str(out))


def write_all(out: Path) -> None:
    dqn_v2_train_eval(out / "dqn_v2")
    lstm_sequential(out / "lstm_sequential")
    q_network_with_side_data(out / "q_network_side")
    normalized_countdown(out / "normalized_countdown")
    normalized_countdown_two_steps(out / "normalized_countdown_two_steps")
    dqn_v2_run(out / "dqn_v2_run")
    step_counter(out / "step_counter")
    bad_actions(out / "bad_actions")
    no_train_step(out / "no_train_step")
