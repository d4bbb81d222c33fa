#!/usr/bin/env python
"""Train a small TF-Agents DQN policy on CartPole-v1 and save it with PolicySaver.

The saved artifact is the *greedy* policy (``agent.policy``), written with
TF-Agents' own ``PolicySaver`` so it can be loaded by ``pytfpol`` (or by
``SavedModelPyTFEagerPolicy``) without this script.

Training runs on gym 0.23's CartPole-v1 (same dynamics as Gymnasium's
CartPole-v1).  The schedule follows the well-known rl-baselines3-zoo DQN
recipe for CartPole: collect 256 env steps, then do 128 gradient steps, and
copy the online network into the target network after every such round.
Every ``--eval-interval`` gradient steps the greedy policy is evaluated; the
first time it reaches the maximum return (500) on every evaluation episode it
is saved and training stops.  If that never happens, the best policy seen is
saved instead.

With ``--run-dir DIR`` the run is also recorded as TF-Agents' Learner does it:
``PolicySavedModelTrigger`` writes ``DIR/policies/{policy,greedy_policy}`` SavedModels when
training starts and ``DIR/policies/checkpoints/policy_checkpoint_<step>`` with the weights at
step 0, every ``--checkpoint-interval`` gradient steps, and at the end: checkpoints from an
untrained to a solved policy, for ``pytfpol compare`` and learning curves.  ``DIR/train_log.csv``
records the script's own evaluation at each of those steps.

Usage (from the repository root, ~3-10 minutes on 2 CPU cores):
    python examples/train_cartpole_dqn.py --output examples/cartpole-dqn --seed 0
    python examples/train_cartpole_dqn.py --output /tmp/p --run-dir examples/cartpole-dqn-run
Then check it on Gymnasium:
    python examples/verify_cartpole.py examples/cartpole-dqn
"""

import argparse
import os
import random
import time

import gym
import numpy as np
import tensorflow as tf
from tf_agents.agents.dqn import dqn_agent
from tf_agents.drivers import dynamic_step_driver
from tf_agents.environments import suite_gym, tf_py_environment
from tf_agents.networks import q_network
from tf_agents.policies import policy_saver, py_tf_eager_policy, random_tf_policy
from tf_agents.replay_buffers import tf_uniform_replay_buffer
from tf_agents.train import triggers
from tf_agents.utils import common

MAX_STEPS = 500
MAX_RETURN = float(MAX_STEPS)

# ---- hyperparameters ---------------------------------------------------------
FC_LAYER_PARAMS = (64, 64)  # Q-network hidden layers (~4.5k weights)
LEARNING_RATE = 2.3e-3  # Adam
GAMMA = 0.99
BATCH_SIZE = 64
GRADIENT_CLIPPING = 10.0
REPLAY_CAPACITY = 100_000
INITIAL_COLLECT_STEPS = 1_000  # uniformly random actions before training
COLLECT_STEPS_PER_ROUND = 256  # env steps with the epsilon-greedy policy ...
TRAIN_STEPS_PER_ROUND = 128  # ... followed by this many gradient steps
TARGET_UPDATE_PERIOD = 128  # hard copy online -> target (in gradient steps)
EPSILON_START, EPSILON_END = 1.0, 0.04
EPSILON_DECAY_STEPS = 4_000  # linear decay, in gradient steps


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--output", default="examples/cartpole-dqn", help="directory to write the saved policy to"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--num-iterations",
        type=int,
        default=50_000,
        help="maximum number of training iterations (gradient steps)",
    )
    p.add_argument(
        "--eval-interval",
        type=int,
        default=1_024,
        help="evaluate the greedy policy every N gradient steps",
    )
    p.add_argument("--eval-episodes", type=int, default=10)
    p.add_argument(
        "--run-dir",
        help="also write a Learner policies/ root with periodic checkpoints here",
    )
    p.add_argument(
        "--checkpoint-interval",
        type=int,
        default=2_048,
        help="with --run-dir: a policy checkpoint every N gradient steps (multiple of the "
        "eval interval)",
    )
    return p.parse_args()


def make_env(seed):
    """CartPole-v1 as a TF-Agents PyEnvironment.

    gym's own TimeLimit wrapper reports the 500-step cut-off as a terminal
    state (discount 0), which teaches the Q-network that balancing states are
    worth nothing.  We therefore take the bare CartPoleEnv and let TF-Agents'
    TimeLimit end the episode at 500 steps, which keeps discount=1 there
    (a truncation, not a termination).
    """
    gym_env = gym.make("CartPole-v1").unwrapped
    py_env = suite_gym.wrap_env(gym_env, max_episode_steps=MAX_STEPS)
    py_env.seed(seed)
    return py_env


def evaluate(env, policy, num_episodes):
    """Return the list of undiscounted episode returns of a (py) policy."""
    returns = []
    for _ in range(num_episodes):
        time_step = env.reset()
        total = 0.0
        while not time_step.is_last():
            time_step = env.step(policy.action(time_step).action)
            total += float(time_step.reward)
        returns.append(total)
    return returns


class RunRecorder:
    """With --run-dir: the Learner `policies/` layout of this run, as TF-Agents' own
    `PolicySavedModelTrigger` writes it, plus `train_log.csv` (step, eval mean/min/max)."""

    def __init__(self, run_dir, agent, eval_env, greedy_policy, eval_episodes):
        # eval_env: an env of its own, so recording does not change the training run's evals
        self._trigger = None
        if run_dir is None:
            return
        os.makedirs(run_dir, exist_ok=True)
        self._trigger = triggers.PolicySavedModelTrigger(
            os.path.join(run_dir, "policies"),
            agent,
            agent.train_step_counter,
            interval=1,
            start=-1,  # so that step 0 (the untrained policy) is saved too
            save_collect_policy=False,  # greedy_policy + policy: what evaluation needs
        )
        self._log = os.path.join(run_dir, "train_log.csv")
        self._eval = lambda: evaluate(eval_env, greedy_policy, eval_episodes)
        self._saved = set()
        with open(self._log, "w") as handle:
            handle.write("train_step,eval_mean,eval_min,eval_max\n")
        self.save(0)

    def save(self, step):
        if self._trigger is None or step in self._saved:
            return
        returns = self._eval()
        self._trigger(step, force_trigger=True)
        self._saved.add(step)
        with open(self._log, "a") as handle:
            handle.write(f"{step},{np.mean(returns):.1f},{min(returns):.0f},{max(returns):.0f}\n")


def main():
    args = parse_args()

    # ---- seeding -----------------------------------------------------------
    random.seed(args.seed)
    np.random.seed(args.seed)
    tf.random.set_seed(args.seed)
    tf.config.experimental.enable_op_determinism()

    train_env = tf_py_environment.TFPyEnvironment(make_env(args.seed))
    eval_env = make_env(args.seed + 10_000)

    # ---- agent ---------------------------------------------------------------
    q_net = q_network.QNetwork(
        train_env.observation_spec(), train_env.action_spec(), fc_layer_params=FC_LAYER_PARAMS
    )

    train_step = tf.Variable(0, dtype=tf.int64, name="train_step")
    epsilon = tf.compat.v1.train.polynomial_decay(
        EPSILON_START, train_step, EPSILON_DECAY_STEPS, end_learning_rate=EPSILON_END
    )

    agent = dqn_agent.DqnAgent(
        train_env.time_step_spec(),
        train_env.action_spec(),
        q_network=q_net,
        optimizer=tf.keras.optimizers.Adam(learning_rate=LEARNING_RATE),
        epsilon_greedy=epsilon,
        target_update_period=TARGET_UPDATE_PERIOD,
        td_errors_loss_fn=common.element_wise_huber_loss,
        gamma=GAMMA,
        gradient_clipping=GRADIENT_CLIPPING,
        train_step_counter=train_step,
    )
    agent.initialize()

    # ---- replay buffer + collection -----------------------------------------
    replay_buffer = tf_uniform_replay_buffer.TFUniformReplayBuffer(
        data_spec=agent.collect_data_spec,
        batch_size=train_env.batch_size,
        max_length=REPLAY_CAPACITY,
    )

    random_policy = random_tf_policy.RandomTFPolicy(
        train_env.time_step_spec(), train_env.action_spec()
    )
    dynamic_step_driver.DynamicStepDriver(
        train_env,
        random_policy,
        observers=[replay_buffer.add_batch],
        num_steps=INITIAL_COLLECT_STEPS,
    ).run()

    collect_driver = dynamic_step_driver.DynamicStepDriver(
        train_env,
        agent.collect_policy,
        observers=[replay_buffer.add_batch],
        num_steps=COLLECT_STEPS_PER_ROUND,
    )
    collect_driver.run = common.function(collect_driver.run)
    agent.train = common.function(agent.train)
    greedy_policy = py_tf_eager_policy.PyTFEagerPolicy(agent.policy, use_tf_function=True)

    # Pairs of consecutive steps = (s, a, r, s') transitions.
    dataset = replay_buffer.as_dataset(sample_batch_size=BATCH_SIZE, num_steps=2).prefetch(3)
    iterator = iter(dataset)

    # ---- training loop -------------------------------------------------------
    saver = policy_saver.PolicySaver(
        agent.policy, batch_size=None, train_step=agent.train_step_counter
    )
    recorder = RunRecorder(
        args.run_dir, agent, make_env(args.seed + 20_000), greedy_policy, args.eval_episodes
    )
    best_mean, best_weights, solved = -np.inf, None, False
    start = time.time()
    time_step = train_env.reset()
    policy_state = agent.collect_policy.get_initial_state(train_env.batch_size)
    step = 0
    while step < args.num_iterations:
        time_step, policy_state = collect_driver.run(time_step=time_step, policy_state=policy_state)
        for _ in range(TRAIN_STEPS_PER_ROUND):
            experience, _ = next(iterator)
            loss = agent.train(experience).loss
        prev_step, step = step, int(agent.train_step_counter.numpy())

        if step // args.eval_interval == prev_step // args.eval_interval:
            continue
        returns = evaluate(eval_env, greedy_policy, args.eval_episodes)
        mean = float(np.mean(returns))
        print(
            f"step {step:6d}  loss {float(loss):7.4f}  "
            f"epsilon {float(epsilon()):.3f}  "
            f"eval mean {mean:6.1f}  min {min(returns):4.0f}  "
            f"[{time.time() - start:5.0f}s]",
            flush=True,
        )
        if step // args.checkpoint_interval != prev_step // args.checkpoint_interval:
            recorder.save(step)
        if mean > best_mean:
            best_mean = mean
            best_weights = [v.numpy() for v in q_net.variables]
        if min(returns) >= MAX_RETURN:
            solved = True
            break

    if not solved and best_weights is not None:
        print(
            f"never reached {MAX_RETURN:.0f} on all eval episodes; "
            f"saving the best policy seen (eval mean {best_mean:.1f})"
        )
        for v, w in zip(q_net.variables, best_weights):
            v.assign(w)

    recorder.save(step)
    os.makedirs(args.output, exist_ok=True)
    saver.save(args.output)
    print(
        f"saved greedy policy to {args.output} "
        f"(train step {step}, solved={solved}, {time.time() - start:.0f}s)"
    )


if __name__ == "__main__":
    main()
