#!/usr/bin/env python
"""Train a small TF-Agents DQN policy on CartPole-v1 and save it with PolicySaver.

The saved artifact is the *greedy* policy (``agent.policy``), written with
TF-Agents' own ``PolicySaver`` so it can be loaded by ``pytfpol`` (or by
``SavedModelPyTFEagerPolicy``) without this script.

Training uses ``suite_gym.load('CartPole-v1')`` (gym 0.23, same dynamics as
Gymnasium's CartPole-v1).  Every ``--eval-interval`` iterations the greedy
policy is evaluated; the first time it reaches the maximum return (500) on
every evaluation episode it is saved and training stops.  If that never
happens, the best policy seen is saved at the end.

Usage:
    python examples/train_cartpole_dqn.py --output examples/cartpole-dqn --seed 0
"""

import argparse
import os
import random
import time

import numpy as np
import tensorflow as tf
from tf_agents.agents.dqn import dqn_agent
from tf_agents.drivers import dynamic_step_driver
from tf_agents.environments import suite_gym, tf_py_environment
from tf_agents.networks import q_network
from tf_agents.policies import policy_saver, random_tf_policy
from tf_agents.replay_buffers import tf_uniform_replay_buffer
from tf_agents.utils import common

MAX_RETURN = 500.0


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--output", default="examples/cartpole-dqn",
                   help="directory to write the saved policy to")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--num-iterations", type=int, default=50_000,
                   help="maximum number of training iterations "
                        "(1 env step + 1 gradient step each)")
    p.add_argument("--eval-interval", type=int, default=1_000)
    p.add_argument("--eval-episodes", type=int, default=10)
    return p.parse_args()


def make_env(seed):
    py_env = suite_gym.load("CartPole-v1")
    py_env.seed(seed)
    return tf_py_environment.TFPyEnvironment(py_env)


def evaluate(env, action_fn, num_episodes):
    """Return the list of undiscounted episode returns of a (greedy) policy."""
    returns = []
    for _ in range(num_episodes):
        time_step = env.reset()
        total = 0.0
        while not time_step.is_last():
            time_step = env.step(action_fn(time_step).action)
            total += float(time_step.reward.numpy()[0])
        returns.append(total)
    return returns


def main():
    args = parse_args()

    # ---- seeding -----------------------------------------------------------
    random.seed(args.seed)
    np.random.seed(args.seed)
    tf.random.set_seed(args.seed)

    train_env = make_env(args.seed)
    eval_env = make_env(args.seed + 10_000)

    # ---- hyperparameters ---------------------------------------------------
    fc_layer_params = (64, 64)
    learning_rate = 1e-3
    gamma = 0.99
    batch_size = 64
    replay_capacity = 50_000
    initial_collect_steps = 1_000
    target_update_period = 100      # hard copy of online -> target network
    epsilon_start, epsilon_end, epsilon_decay_steps = 1.0, 0.01, 10_000

    # ---- agent ---------------------------------------------------------------
    q_net = q_network.QNetwork(
        train_env.observation_spec(),
        train_env.action_spec(),
        fc_layer_params=fc_layer_params)

    train_step = tf.Variable(0, dtype=tf.int64, name="train_step")
    epsilon = tf.compat.v1.train.polynomial_decay(
        epsilon_start, train_step, epsilon_decay_steps,
        end_learning_rate=epsilon_end)

    agent = dqn_agent.DqnAgent(
        train_env.time_step_spec(),
        train_env.action_spec(),
        q_network=q_net,
        optimizer=tf.keras.optimizers.Adam(learning_rate=learning_rate),
        epsilon_greedy=epsilon,
        target_update_period=target_update_period,
        td_errors_loss_fn=common.element_wise_huber_loss,
        gamma=gamma,
        train_step_counter=train_step)
    agent.initialize()

    # ---- replay buffer + collection -----------------------------------------
    replay_buffer = tf_uniform_replay_buffer.TFUniformReplayBuffer(
        data_spec=agent.collect_data_spec,
        batch_size=train_env.batch_size,
        max_length=replay_capacity)

    random_policy = random_tf_policy.RandomTFPolicy(
        train_env.time_step_spec(), train_env.action_spec())
    dynamic_step_driver.DynamicStepDriver(
        train_env, random_policy,
        observers=[replay_buffer.add_batch],
        num_steps=initial_collect_steps).run()

    collect_driver = dynamic_step_driver.DynamicStepDriver(
        train_env, agent.collect_policy,
        observers=[replay_buffer.add_batch],
        num_steps=1)
    collect_driver.run = common.function(collect_driver.run)
    agent.train = common.function(agent.train)
    greedy_action = common.function(agent.policy.action)

    dataset = replay_buffer.as_dataset(
        num_parallel_calls=2, sample_batch_size=batch_size,
        num_steps=2).prefetch(3)
    iterator = iter(dataset)

    # ---- training loop -------------------------------------------------------
    saver = policy_saver.PolicySaver(
        agent.policy, batch_size=None, train_step=agent.train_step_counter)
    best_mean = -np.inf
    best_weights = None
    solved = False
    start = time.time()
    time_step = train_env.reset()
    policy_state = agent.collect_policy.get_initial_state(train_env.batch_size)
    for _ in range(args.num_iterations):
        time_step, policy_state = collect_driver.run(
            time_step=time_step, policy_state=policy_state)
        experience, _ = next(iterator)
        loss = agent.train(experience).loss
        step = int(agent.train_step_counter.numpy())

        if step % args.eval_interval == 0:
            returns = evaluate(eval_env, greedy_action, args.eval_episodes)
            mean = float(np.mean(returns))
            q0 = q_net(time_step.observation)[0].numpy()
            tq0 = agent._target_q_network(time_step.observation)[0].numpy()
            print("DEBUG q", q0, "target q", tq0)
            print(f"step {step:6d}  loss {float(loss):8.4f}  "
                  f"epsilon {float(epsilon()):.3f}  "
                  f"eval mean {mean:6.1f}  min {min(returns):5.0f}  "
                  f"[{time.time() - start:6.1f}s]", flush=True)
            if mean > best_mean:
                best_mean = mean
                best_weights = [v.numpy() for v in q_net.variables]
            if min(returns) >= MAX_RETURN:
                solved = True
                break

    if not solved and best_weights is not None:
        print(f"never reached {MAX_RETURN:.0f} on all eval episodes; "
              f"saving best policy (eval mean {best_mean:.1f})")
        for v, w in zip(q_net.variables, best_weights):
            v.assign(w)

    os.makedirs(args.output, exist_ok=True)
    saver.save(args.output)
    print(f"saved greedy policy to {args.output} at train step "
          f"{int(agent.train_step_counter.numpy())} "
          f"(solved={solved}, {time.time() - start:.1f}s)")


if __name__ == "__main__":
    main()
