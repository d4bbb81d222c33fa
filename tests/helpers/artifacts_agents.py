"""Every TF-Agents agent with a policy to evaluate, trained for a couple of steps and saved with
TF-Agents' own savers, each with the per-episode returns of an eager reference loop.

Run as a script (`python tests/helpers/artifacts_agents.py OUT_DIR`): eager TF-Agents never shares a
process with the graph-mode loading under test. Each agent is built with TF-Agents' own agent
class and, where an example script exists, that script's networks and defaults (only the amount
of training is cut: a few collect steps and two train steps move the weights off their
initialisation). Where a script saves checkpoints, its whole layout is written as it writes it:

    OUT/<name>/...             the layout (see LAYOUTS), the policy's Checkpointer dir among it
    OUT/<name>/reference.json  {"env", "train_step", "seeds", "returns", "lengths", "max_episode_steps",
                               "probe": {"env", "seeds", "returns"}}: PyTFEagerPolicy(greedy
                               policy) on Gymnasium, episode i reset with seeds[i]; "probe" on
                               tests/helpers/probe_env.py, whose returns pin down every action

The Checkpointer directory of each agent is `OUT/<name>/<LAYOUTS[name]>`.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pytfpol.policy.quiet_tf import import_tf  # noqa: E402

tf = import_tf()

import gymnasium as gym  # noqa: E402
from tf_agents.agents.behavioral_cloning import behavioral_cloning_agent  # noqa: E402
from tf_agents.agents.categorical_dqn import categorical_dqn_agent  # noqa: E402
from tf_agents.agents.cql import cql_sac_agent  # noqa: E402
from tf_agents.agents.ddpg import (  # noqa: E402
    actor_network,
    actor_rnn_network,
    critic_network,
    critic_rnn_network,
    ddpg_agent,
)
from tf_agents.agents.dqn import dqn_agent  # noqa: E402
from tf_agents.agents.ppo import ppo_clip_agent, ppo_kl_penalty_agent  # noqa: E402
from tf_agents.agents.reinforce import reinforce_agent  # noqa: E402
from tf_agents.agents.sac import sac_agent, tanh_normal_projection_network  # noqa: E402
from tf_agents.agents.td3 import td3_agent  # noqa: E402
from tf_agents.drivers import dynamic_step_driver  # noqa: E402
from tf_agents.environments import tf_py_environment  # noqa: E402
from tf_agents.eval import metric_utils  # noqa: E402
from tf_agents.metrics import tf_metrics  # noqa: E402
from tf_agents.networks import (  # noqa: E402
    actor_distribution_network,
    actor_distribution_rnn_network,
    categorical_q_network,
    q_network,
    q_rnn_network,
    value_network,
    value_rnn_network,
)
from tf_agents.policies import greedy_policy, policy_saver, py_tf_eager_policy  # noqa: E402
from tf_agents.replay_buffers import tf_uniform_replay_buffer  # noqa: E402
from tf_agents.utils import common  # noqa: E402

from pytfpol.running.envs import GymnasiumEnvironment  # noqa: E402
from tests.helpers import probe_env  # noqa: E402
from tests.helpers.artifacts import env_tensor_specs  # noqa: E402
from tests.helpers.reference_loop import run_episodes  # noqa: E402

CARTPOLE, PENDULUM = "CartPole-v1", "Pendulum-v1"
SEEDS = {CARTPOLE: [30, 31, 32, 33], PENDULUM: [40, 41]}
MAX_STEPS = {CARTPOLE: None, PENDULUM: 40}  # Pendulum references are cut to 40 steps
PROBE_SEEDS = [50, 51]  # tests/helpers/probe_env.py: returns that pin down every action

# name -> the Checkpointer directory inside OUT/<name>/
LAYOUTS = {
    "ddqn": "policy",
    "c51": "policy",
    "qrnn": "policy",
    "bc": "policy",
    "ddpg_v2": "train/policy",
    "ddpg_v2_rnn": "train/policy",
    "td3": "policy",
    "sac_v2": "train/policy",
    "sac_v2_rnn": "policy",
    "cql_sac": "policy",
    "ppo_v2": "train/policy",
    "ppo_v2_rnn": "train/policy",
    "ppo_default": "policy",
    "ppo_kl": "policy",
    "reinforce_v2": "train/policy",
}


def specs(env_id: str):
    return env_tensor_specs(gym.make(env_id))


def tf_env(env_id: str) -> tf_py_environment.TFPyEnvironment:
    env = gym.make(env_id, max_episode_steps=MAX_STEPS[env_id])
    return tf_py_environment.TFPyEnvironment(GymnasiumEnvironment(env, itertools.count(100)))


def collect(agent, env_id: str, steps: int) -> tf_uniform_replay_buffer.TFUniformReplayBuffer:
    """`steps` env steps of the agent's collect policy in a TF-Agents replay buffer."""
    env = tf_env(env_id)
    buffer = tf_uniform_replay_buffer.TFUniformReplayBuffer(
        agent.collect_data_spec, batch_size=env.batch_size, max_length=steps
    )
    driver = dynamic_step_driver.DynamicStepDriver(
        env, agent.collect_policy, observers=[buffer.add_batch], num_steps=steps
    )
    common.function(driver.run)()
    return buffer


def train_on_samples(agent, env_id: str, num_steps=2, steps: int = 48) -> None:
    """Two train steps on sampled sub-trajectories of `num_steps` (None: single steps)."""
    buffer = collect(agent, env_id, steps)
    dataset = iter(buffer.as_dataset(sample_batch_size=8, num_steps=num_steps))
    for _ in range(2):
        experience, _ = next(dataset)
        agent.train(experience)


def train_on_all(agent, env_id: str, steps: int = 48) -> None:
    """Two train steps on everything collected (PPO, REINFORCE)."""
    buffer = collect(agent, env_id, steps)
    for _ in range(2):
        agent.train(buffer.gather_all())


def reference(out: Path, policy, env_id: str, step) -> None:
    """The eager reference loop with the greedy form of `policy`, as pytfpol evaluates it."""
    if not isinstance(policy, greedy_policy.GreedyPolicy):
        policy = greedy_policy.GreedyPolicy(policy)
    eager = py_tf_eager_policy.PyTFEagerPolicy(policy, use_tf_function=True)
    outcomes = run_episodes(
        eager, gym.make(env_id, max_episode_steps=MAX_STEPS[env_id]), SEEDS[env_id]
    )
    probes = run_episodes(eager, gym.make(probe_env.PROBES[env_id]), PROBE_SEEDS)
    data = {
        "env": env_id,
        "train_step": int(step.numpy()),
        "max_episode_steps": MAX_STEPS[env_id],
        "seeds": SEEDS[env_id],
        "returns": [o.return_ for o in outcomes],
        "lengths": [o.length for o in outcomes],
        "probe": {
            "env": probe_env.CLI_IDS[env_id],
            "seeds": PROBE_SEEDS,
            "returns": [o.return_ for o in probes],
        },
    }
    (out / "reference.json").write_text(json.dumps(data))


def save_policy(out: Path, name: str, policy, step) -> None:
    """`common.Checkpointer(ckpt_dir, policy=..., global_step=...)`, as the scripts save it."""
    common.Checkpointer(ckpt_dir=str(out / LAYOUTS[name]), policy=policy, global_step=step).save(
        global_step=step.numpy()
    )


def save_script_layout(out: Path, train_dir: Path, agent, step, replay_buffer=None) -> None:
    """What the v2 example scripts write besides the policy: the train checkpointer (agent,
    global_step, train metrics) in train_dir, and the replay buffer in train_dir/replay_buffer."""
    metrics = [tf_metrics.NumberOfEpisodes(), tf_metrics.EnvironmentSteps()]
    common.Checkpointer(
        ckpt_dir=str(train_dir),
        agent=agent,
        global_step=step,
        metrics=metric_utils.MetricsGroup(metrics, "train_metrics"),
    ).save(global_step=step.numpy())
    if replay_buffer is not None:
        common.Checkpointer(
            ckpt_dir=str(train_dir / "replay_buffer"), max_to_keep=1, replay_buffer=replay_buffer
        ).save(global_step=step.numpy())


def seeded(function):
    @functools.wraps(function)
    def wrapper(out: Path):
        tf.keras.utils.set_random_seed(0)
        out.mkdir(parents=True, exist_ok=True)
        function(out)

    return wrapper


def adam():
    return tf.keras.optimizers.Adam(1e-3)


# ---------------------------------------------------------------------------------------------
# Q agents (CartPole)


@seeded
def ddqn(out: Path) -> None:
    time_step_spec, action_spec = specs(CARTPOLE)
    step = tf.Variable(0, dtype=tf.int64)
    net = q_network.QNetwork(time_step_spec.observation, action_spec)
    agent = dqn_agent.DdqnAgent(
        time_step_spec, action_spec, q_network=net, optimizer=adam(), train_step_counter=step
    )
    agent.initialize()
    train_on_samples(agent, CARTPOLE)
    save_policy(out, "ddqn", agent.policy, step)
    reference(out, agent.policy, CARTPOLE, step)


@seeded
def c51(out: Path) -> None:
    time_step_spec, action_spec = specs(CARTPOLE)
    step = tf.Variable(0, dtype=tf.int64)
    net = categorical_q_network.CategoricalQNetwork(time_step_spec.observation, action_spec)
    agent = categorical_dqn_agent.CategoricalDqnAgent(
        time_step_spec,
        action_spec,
        categorical_q_network=net,
        optimizer=adam(),
        train_step_counter=step,
    )
    agent.initialize()
    train_on_samples(agent, CARTPOLE)
    save_policy(out, "c51", agent.policy, step)
    reference(out, agent.policy, CARTPOLE, step)


@seeded
def qrnn(out: Path) -> None:
    time_step_spec, action_spec = specs(CARTPOLE)
    step = tf.Variable(0, dtype=tf.int64)
    net = q_rnn_network.QRnnNetwork(time_step_spec.observation, action_spec, lstm_size=(40,))
    agent = dqn_agent.DqnAgent(
        time_step_spec, action_spec, q_network=net, optimizer=adam(), train_step_counter=step
    )
    agent.initialize()
    train_on_samples(agent, CARTPOLE, num_steps=6)
    save_policy(out, "qrnn", agent.policy, step)
    reference(out, agent.policy, CARTPOLE, step)


@seeded
def bc(out: Path) -> None:
    time_step_spec, action_spec = specs(CARTPOLE)
    step = tf.Variable(0, dtype=tf.int64)
    net = q_network.QNetwork(time_step_spec.observation, action_spec)
    agent = behavioral_cloning_agent.BehavioralCloningAgent(
        time_step_spec, action_spec, cloning_network=net, optimizer=adam(), train_step_counter=step
    )
    agent.initialize()
    train_on_samples(agent, CARTPOLE, num_steps=None)
    save_policy(out, "bc", agent.policy, step)
    reference(out, agent.policy, CARTPOLE, step)


# ---------------------------------------------------------------------------------------------
# Deterministic actors (Pendulum)


@seeded
def ddpg_v2(out: Path) -> None:
    """agents/ddpg/examples/v2/train_eval.py's networks and agent; the script saves no policy:
    the three lines the README shows add train_dir/policy."""
    from tf_agents.agents.ddpg.examples.v2 import train_eval as script

    time_step_spec, action_spec = specs(PENDULUM)
    step = tf.Variable(0, dtype=tf.int64)
    agent = ddpg_agent.DdpgAgent(
        time_step_spec,
        action_spec,
        actor_network=script.create_actor_network((400, 300), action_spec),
        critic_network=script.create_critic_network((400,), None, (300,)),
        actor_optimizer=tf.compat.v1.train.AdamOptimizer(learning_rate=1e-4),
        critic_optimizer=tf.compat.v1.train.AdamOptimizer(learning_rate=1e-3),
        ou_stddev=0.2,
        ou_damping=0.15,
        target_update_tau=0.05,
        target_update_period=5,
        td_errors_loss_fn=tf.compat.v1.losses.huber_loss,
        gamma=0.995,
        train_step_counter=step,
    )
    agent.initialize()
    train_on_samples(agent, PENDULUM)
    save_policy(out, "ddpg_v2", agent.policy, step)
    reference(out, agent.policy, PENDULUM, step)


@seeded
def ddpg_v2_rnn(out: Path) -> None:
    """agents/ddpg/examples/v2/train_eval_rnn.py's networks (it saves no policy either)."""
    time_step_spec, action_spec = specs(PENDULUM)
    step = tf.Variable(0, dtype=tf.int64)
    actor = actor_rnn_network.ActorRnnNetwork(
        time_step_spec.observation,
        action_spec,
        input_fc_layer_params=(400, 300),
        lstm_size=(40,),
        output_fc_layer_params=(100,),
    )
    critic = critic_rnn_network.CriticRnnNetwork(
        (time_step_spec.observation, action_spec),
        observation_fc_layer_params=(400,),
        action_fc_layer_params=None,
        joint_fc_layer_params=(300,),
        lstm_size=(40,),
        output_fc_layer_params=(100,),
    )
    agent = ddpg_agent.DdpgAgent(
        time_step_spec,
        action_spec,
        actor_network=actor,
        critic_network=critic,
        actor_optimizer=adam(),
        critic_optimizer=adam(),
        train_step_counter=step,
    )
    agent.initialize()
    train_on_samples(agent, PENDULUM, num_steps=6)
    save_policy(out, "ddpg_v2_rnn", agent.policy, step)
    reference(out, agent.policy, PENDULUM, step)


@seeded
def td3(out: Path) -> None:
    time_step_spec, action_spec = specs(PENDULUM)
    step = tf.Variable(0, dtype=tf.int64)
    agent = td3_agent.Td3Agent(
        time_step_spec,
        action_spec,
        actor_network=actor_network.ActorNetwork(time_step_spec.observation, action_spec),
        critic_network=critic_network.CriticNetwork((time_step_spec.observation, action_spec)),
        actor_optimizer=adam(),
        critic_optimizer=adam(),
        train_step_counter=step,
    )
    agent.initialize()
    train_on_samples(agent, PENDULUM)
    save_policy(out, "td3", agent.policy, step)
    reference(out, agent.policy, PENDULUM, step)


# ---------------------------------------------------------------------------------------------
# SAC and CQL-SAC (Pendulum)


def _sac_agent(time_step_spec, action_spec, actor, critic, step, cls=sac_agent.SacAgent, **kw):
    agent = cls(
        time_step_spec,
        action_spec,
        actor_network=actor,
        critic_network=critic,
        actor_optimizer=adam(),
        critic_optimizer=adam(),
        alpha_optimizer=adam(),
        train_step_counter=step,
        **kw,
    )
    agent.initialize()
    return agent


@seeded
def sac_v2(out: Path) -> None:
    """agents/sac/examples/v2/train_eval.py: its networks, eval_policy = GreedyPolicy(agent.policy)
    in train/policy, the agent in train/, the replay buffer in train/replay_buffer."""
    time_step_spec, action_spec = specs(PENDULUM)
    step = tf.Variable(0, dtype=tf.int64)
    actor = actor_distribution_network.ActorDistributionNetwork(
        time_step_spec.observation,
        action_spec,
        fc_layer_params=(256, 256),
        continuous_projection_net=tanh_normal_projection_network.TanhNormalProjectionNetwork,
    )
    critic = critic_network.CriticNetwork(
        (time_step_spec.observation, action_spec),
        joint_fc_layer_params=(256, 256),
        kernel_initializer="glorot_uniform",
        last_kernel_initializer="glorot_uniform",
    )
    agent = _sac_agent(time_step_spec, action_spec, actor, critic, step)
    buffer = collect(agent, PENDULUM, 48)
    dataset = iter(buffer.as_dataset(sample_batch_size=8, num_steps=2))
    for _ in range(2):
        agent.train(next(dataset)[0])
    eval_policy = greedy_policy.GreedyPolicy(agent.policy)
    save_policy(out, "sac_v2", eval_policy, step)
    save_script_layout(out, out / "train", agent, step, buffer)
    reference(out, eval_policy, PENDULUM, step)


@seeded
def sac_v2_rnn(out: Path) -> None:
    """agents/sac/examples/v2/train_eval_rnn.py: GreedyPolicy(agent.policy) in ROOT/policy."""
    time_step_spec, action_spec = specs(PENDULUM)
    step = tf.Variable(0, dtype=tf.int64)
    actor = actor_distribution_rnn_network.ActorDistributionRnnNetwork(
        time_step_spec.observation,
        action_spec,
        input_fc_layer_params=(400, 300),
        lstm_size=(40,),
        output_fc_layer_params=(100,),
        continuous_projection_net=tanh_normal_projection_network.TanhNormalProjectionNetwork,
    )
    critic = critic_rnn_network.CriticRnnNetwork(
        (time_step_spec.observation, action_spec),
        observation_fc_layer_params=None,
        action_fc_layer_params=None,
        joint_fc_layer_params=(300,),
        lstm_size=(40,),
        output_fc_layer_params=(100,),
        kernel_initializer="glorot_uniform",
        last_kernel_initializer="glorot_uniform",
    )
    agent = _sac_agent(time_step_spec, action_spec, actor, critic, step)
    train_on_samples(agent, PENDULUM, num_steps=6)
    eval_policy = greedy_policy.GreedyPolicy(agent.policy)
    save_policy(out, "sac_v2_rnn", eval_policy, step)
    save_script_layout(out, out / "train", agent, step)
    reference(out, eval_policy, PENDULUM, step)


@seeded
def cql_sac(out: Path) -> None:
    """CqlSacAgent with the networks of examples/cql_sac/kumar20; agent.policy saved as is."""
    time_step_spec, action_spec = specs(PENDULUM)
    step = tf.Variable(0, dtype=tf.int64)
    actor = actor_distribution_network.ActorDistributionNetwork(
        time_step_spec.observation,
        action_spec,
        fc_layer_params=(256, 256),
        continuous_projection_net=tanh_normal_projection_network.TanhNormalProjectionNetwork,
    )
    critic = critic_network.CriticNetwork(
        (time_step_spec.observation, action_spec),
        joint_fc_layer_params=(256, 256, 256),
        kernel_initializer="glorot_uniform",
        last_kernel_initializer="glorot_uniform",
    )
    agent = _sac_agent(
        time_step_spec,
        action_spec,
        actor,
        critic,
        step,
        cls=cql_sac_agent.CqlSacAgent,
        cql_alpha=5.0,
        num_cql_samples=1,
        include_critic_entropy_term=False,
        use_lagrange_cql_alpha=False,
    )
    train_on_samples(agent, PENDULUM)
    save_policy(out, "cql_sac", agent.policy, step)
    reference(out, agent.policy, PENDULUM, step)


# ---------------------------------------------------------------------------------------------
# PPO and REINFORCE


def _ppo_v2(out: Path, name: str, use_rnns: bool) -> None:
    """agents/ppo/examples/v2/train_eval_clip_agent.py (num_epochs cut to 2): train/policy,
    the agent in train/, and PolicySaver SavedModels in policy_saved_model/policy_<step>."""
    time_step_spec, action_spec = specs(PENDULUM)
    step = tf.Variable(0, dtype=tf.int64)
    if use_rnns:
        actor = actor_distribution_rnn_network.ActorDistributionRnnNetwork(
            time_step_spec.observation,
            action_spec,
            input_fc_layer_params=(200, 100),
            output_fc_layer_params=None,
            lstm_size=(20,),
        )
        value = value_rnn_network.ValueRnnNetwork(
            time_step_spec.observation,
            input_fc_layer_params=(200, 100),
            output_fc_layer_params=None,
        )
    else:
        actor = actor_distribution_network.ActorDistributionNetwork(
            time_step_spec.observation,
            action_spec,
            fc_layer_params=(200, 100),
            activation_fn=tf.keras.activations.tanh,
        )
        value = value_network.ValueNetwork(
            time_step_spec.observation,
            fc_layer_params=(200, 100),
            activation_fn=tf.keras.activations.tanh,
        )
    agent = ppo_clip_agent.PPOClipAgent(
        time_step_spec,
        action_spec,
        tf.compat.v1.train.AdamOptimizer(learning_rate=1e-3),
        actor_net=actor,
        value_net=value,
        entropy_regularization=0.0,
        importance_ratio_clipping=0.2,
        normalize_observations=False,
        normalize_rewards=False,
        use_gae=True,
        num_epochs=2,
        train_step_counter=step,
    )
    agent.initialize()
    train_on_all(agent, PENDULUM)
    save_policy(out, name, agent.policy, step)
    save_script_layout(out, out / "train", agent, step)
    saver = policy_saver.PolicySaver(agent.policy, train_step=step)
    saver.save(str(out / "policy_saved_model" / ("policy_" + str(int(step.numpy())).zfill(9))))
    reference(out, agent.policy, PENDULUM, step)


@seeded
def ppo_v2(out: Path) -> None:
    _ppo_v2(out, "ppo_v2", use_rnns=False)


@seeded
def ppo_v2_rnn(out: Path) -> None:
    _ppo_v2(out, "ppo_v2_rnn", use_rnns=True)


@seeded
def ppo_default(out: Path) -> None:
    """PPOClipAgent with TF-Agents' network and agent defaults: its observation normalizer (a
    StreamingTensorNormalizer, updated in train) is part of the saved policy."""
    time_step_spec, action_spec = specs(PENDULUM)
    step = tf.Variable(0, dtype=tf.int64)
    agent = ppo_clip_agent.PPOClipAgent(
        time_step_spec,
        action_spec,
        adam(),
        actor_net=actor_distribution_network.ActorDistributionNetwork(
            time_step_spec.observation, action_spec
        ),
        value_net=value_network.ValueNetwork(time_step_spec.observation),
        num_epochs=2,
        train_step_counter=step,
    )
    agent.initialize()
    train_on_all(agent, PENDULUM)
    save_policy(out, "ppo_default", agent.policy, step)
    reference(out, agent.policy, PENDULUM, step)


@seeded
def ppo_kl(out: Path) -> None:
    """PPOKLPenaltyAgent with TF-Agents' network defaults on CartPole (a categorical head)."""
    time_step_spec, action_spec = specs(CARTPOLE)
    step = tf.Variable(0, dtype=tf.int64)
    agent = ppo_kl_penalty_agent.PPOKLPenaltyAgent(
        time_step_spec,
        action_spec,
        actor_net=actor_distribution_network.ActorDistributionNetwork(
            time_step_spec.observation, action_spec
        ),
        value_net=value_network.ValueNetwork(time_step_spec.observation),
        optimizer=adam(),
        initial_adaptive_kl_beta=1.0,  # PPOAgent's defaults (required here)
        adaptive_kl_target=0.01,
        adaptive_kl_tolerance=0.3,
        kl_cutoff_factor=2.0,
        kl_cutoff_coef=1000.0,
        num_epochs=2,
        train_step_counter=step,
    )
    agent.initialize()
    train_on_all(agent, CARTPOLE)
    save_policy(out, "ppo_kl", agent.policy, step)
    reference(out, agent.policy, CARTPOLE, step)


@seeded
def reinforce_v2(out: Path) -> None:
    """agents/reinforce/examples/v2/train_eval.py's network and agent (on CartPole-v1; it saves
    no policy: the README's three lines add train_dir/policy)."""
    time_step_spec, action_spec = specs(CARTPOLE)
    step = tf.Variable(0, dtype=tf.int64)
    actor = actor_distribution_network.ActorDistributionNetwork(
        time_step_spec.observation, action_spec, fc_layer_params=(100,)
    )
    agent = reinforce_agent.ReinforceAgent(
        time_step_spec,
        action_spec,
        actor_network=actor,
        optimizer=tf.compat.v1.train.AdamOptimizer(learning_rate=1e-3),
        normalize_returns=True,
        train_step_counter=step,
    )
    agent.initialize()
    train_on_all(agent, CARTPOLE)
    save_policy(out, "reinforce_v2", agent.policy, step)
    reference(out, agent.policy, CARTPOLE, step)


WRITERS = {
    "ddqn": ddqn,
    "c51": c51,
    "qrnn": qrnn,
    "bc": bc,
    "ddpg_v2": ddpg_v2,
    "ddpg_v2_rnn": ddpg_v2_rnn,
    "td3": td3,
    "sac_v2": sac_v2,
    "sac_v2_rnn": sac_v2_rnn,
    "cql_sac": cql_sac,
    "ppo_v2": ppo_v2,
    "ppo_v2_rnn": ppo_v2_rnn,
    "ppo_default": ppo_default,
    "ppo_kl": ppo_kl,
    "reinforce_v2": reinforce_v2,
}


def main(out_dir: str, names: list[str]) -> None:
    out = Path(out_dir)
    for name in names or WRITERS:
        started = time.perf_counter()
        WRITERS[name](out / name)
        print(f"{name}: {time.perf_counter() - started:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    main(sys.argv[1], sys.argv[2:])
