"""Write real TF-Agents policy artifacts with TF-Agents' own savers, for the tests.

Run as a script (`python tests/helpers/artifacts.py OUT_DIR`) so that the eager Keras networks built here
never share a process with the graph-mode loading under test. Writes:

    OUT/cartpole_sm    PolicySaver SavedModel: GreedyPolicy(QPolicy(QNetwork)) for CartPole-v1, step 7
    OUT/pendulum_sm    PolicySaver SavedModel: GreedyPolicy(ActorPolicy(ActorDistributionNetwork))
    OUT/countdown_sm   PolicySaver SavedModel: Q = observation (identity kernel), Countdown env
    OUT/learner/policies  PolicySavedModelTrigger layout of a DqnAgent, checkpoints at steps 5 and 9
    OUT/cartpole_qrnn_sm      GreedyPolicy(QPolicy(QRnnNetwork)) for CartPole-v1 (recurrent)
    OUT/cartpole_actor_rnn_sm GreedyPolicy(ActorPolicy(ActorDistributionRnnNetwork)), CartPole-v1
    OUT/pendulum_actor_rnn_sm GreedyPolicy(ActorPolicy(ActorDistributionRnnNetwork)), Pendulum-v1
    OUT/pendulum_ppo_collect_sm  PPOPolicy(collect=True) for Pendulum-v1: it samples, and its
                              PolicyStep.info holds the distribution's parameters (dist_params)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pytfpol.policy.quiet_tf import import_tf  # noqa: E402

tf = import_tf()

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
from tf_agents.agents.dqn import dqn_agent  # noqa: E402
from tf_agents.networks import actor_distribution_network, q_network  # noqa: E402
from tf_agents.policies import actor_policy, greedy_policy, policy_saver, q_policy  # noqa: E402
from tf_agents.specs import tensor_spec  # noqa: E402
from tf_agents.train import triggers  # noqa: E402
from tf_agents.trajectories import time_step as ts  # noqa: E402

from pytfpol.running.envs import space_to_spec  # noqa: E402
from tests.helpers import artifacts_checkpointer  # noqa: E402
from tests.helpers.countdown_env import CountdownEnv  # noqa: E402


def env_tensor_specs(env: gym.Env):
    observation = tensor_spec.from_spec(space_to_spec(env.observation_space, "observation"))
    action = tensor_spec.from_spec(space_to_spec(env.action_space, "action"))
    return ts.time_step_spec(observation), action


def save(policy, path: Path, step: int) -> None:
    train_step = tf.Variable(step, dtype=tf.int64)
    policy_saver.PolicySaver(policy, batch_size=None, train_step=train_step).save(str(path))


def cartpole_q_policy(out: Path) -> None:
    time_step_spec, action_spec = env_tensor_specs(gym.make("CartPole-v1"))
    net = q_network.QNetwork(time_step_spec.observation, action_spec, fc_layer_params=(16,))
    save(greedy_policy.GreedyPolicy(q_policy.QPolicy(time_step_spec, action_spec, net)), out, 7)


def pendulum_actor_policy(out: Path) -> None:
    time_step_spec, action_spec = env_tensor_specs(gym.make("Pendulum-v1"))
    net = actor_distribution_network.ActorDistributionNetwork(
        time_step_spec.observation, action_spec, fc_layer_params=(16,)
    )
    policy = actor_policy.ActorPolicy(time_step_spec, action_spec, net)
    save(greedy_policy.GreedyPolicy(policy), out, 3)


def countdown_policy(out: Path) -> None:
    time_step_spec, action_spec = env_tensor_specs(CountdownEnv())
    net = q_network.QNetwork(time_step_spec.observation, action_spec, fc_layer_params=None)
    net.create_variables()
    kernel, bias = net.layers[-1].get_weights()
    net.layers[-1].set_weights([np.eye(2, dtype=kernel.dtype), np.zeros_like(bias)])
    save(greedy_policy.GreedyPolicy(q_policy.QPolicy(time_step_spec, action_spec, net)), out, 1)


def learner_policies(out: Path) -> None:
    """What `PolicySavedModelTrigger` writes during Learner training: SavedModels at the start,
    then `checkpoints/policy_checkpoint_<step>` with the weights at each trigger."""
    time_step_spec, action_spec = env_tensor_specs(gym.make("CartPole-v1"))
    net = q_network.QNetwork(time_step_spec.observation, action_spec, fc_layer_params=(8,))
    train_step = tf.Variable(0, dtype=tf.int64)
    agent = dqn_agent.DqnAgent(
        time_step_spec,
        action_spec,
        q_network=net,
        optimizer=tf.keras.optimizers.Adam(1e-3),
        train_step_counter=train_step,
    )
    agent.initialize()
    trigger = triggers.PolicySavedModelTrigger(str(out), agent, train_step, interval=1)
    rng = np.random.default_rng(0)
    for step in (5, 9):
        for variable in net.variables:
            variable.assign(rng.normal(0, 1, variable.shape).astype(variable.dtype.as_numpy_dtype))
        train_step.assign(step)
        trigger(step, force_trigger=True)


def recurrent_q_policy(out: Path, env_id: str) -> None:
    """A recurrent Q policy whose LSTM state changes its actions (checked by test_parallel)."""
    from tf_agents.networks import q_rnn_network

    tf.keras.utils.set_random_seed(0)  # Keras draws unseeded initializers from Python random
    time_step_spec, action_spec = env_tensor_specs(gym.make(env_id))
    net = q_rnn_network.QRnnNetwork(
        time_step_spec.observation,
        action_spec,
        input_fc_layer_params=(16,),
        lstm_size=(8,),
        output_fc_layer_params=(16,),
    )
    policy = greedy_policy.GreedyPolicy(q_policy.QPolicy(time_step_spec, action_spec, net))
    net.create_variables()
    save(policy, out, 2)


def recurrent_actor_policy(out: Path, env_id: str) -> None:
    from tf_agents.networks import actor_distribution_rnn_network

    tf.keras.utils.set_random_seed(0)  # Keras draws unseeded initializers from Python random
    time_step_spec, action_spec = env_tensor_specs(gym.make(env_id))
    net = actor_distribution_rnn_network.ActorDistributionRnnNetwork(
        time_step_spec.observation,
        action_spec,
        input_fc_layer_params=(16,),
        lstm_size=(8,),
        output_fc_layer_params=(16,),
    )
    policy = actor_policy.ActorPolicy(time_step_spec, action_spec, net)
    _scale_weights(net, 3.0)
    save(greedy_policy.GreedyPolicy(policy), out, 4)


def ppo_collect_policy(out: Path) -> None:
    """A PPO collect policy as PolicySaver saves a PPO agent's `collect_policy`: its action()
    samples, and its info carries the normal distribution's parameters (loc, scale)."""
    from tf_agents.agents.ppo import ppo_policy
    from tf_agents.networks import value_network

    tf.keras.utils.set_random_seed(0)
    time_step_spec, action_spec = env_tensor_specs(gym.make("Pendulum-v1"))
    actor = actor_distribution_network.ActorDistributionNetwork(
        time_step_spec.observation, action_spec, fc_layer_params=(16,)
    )
    value = value_network.ValueNetwork(time_step_spec.observation, fc_layer_params=(16,))
    policy = ppo_policy.PPOPolicy(
        time_step_spec, action_spec, actor_network=actor, value_network=value, collect=True
    )
    save(policy, out, 6)


def _scale_weights(net, factor: float) -> None:
    """Build `net` and scale its kernels, so the recurrent state visibly changes the actions."""
    net.create_variables()
    for variable in net.trainable_variables:
        variable.assign(variable * factor)


def main(out_dir: str) -> None:
    out = Path(out_dir)
    tf.random.set_seed(0)
    cartpole_q_policy(out / "cartpole_sm")
    pendulum_actor_policy(out / "pendulum_sm")
    countdown_policy(out / "countdown_sm")
    learner_policies(out / "learner" / "policies")
    artifacts_checkpointer.write_all(out / "checkpointer")
    recurrent_q_policy(out / "cartpole_qrnn_sm", "CartPole-v1")
    recurrent_actor_policy(out / "cartpole_actor_rnn_sm", "CartPole-v1")
    recurrent_actor_policy(out / "pendulum_actor_rnn_sm", "Pendulum-v1")
    ppo_collect_policy(out / "pendulum_ppo_collect_sm")


if __name__ == "__main__":
    main(sys.argv[1])
