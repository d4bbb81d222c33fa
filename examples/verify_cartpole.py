#!/usr/bin/env python
"""Evaluate a saved CartPole policy on Gymnasium's CartPole-v1 (seeds 0..N-1).

Usage:
    python examples/verify_cartpole.py [POLICY_DIR] [--episodes 100]
"""

import argparse

import gymnasium as gym
import numpy as np
import tensorflow_probability  # noqa: F401  (registers distributions used by the SavedModel)
from tf_agents.policies import py_tf_eager_policy
from tf_agents.trajectories import time_step as ts


def run_episode(policy, env, seed):
    obs, _ = env.reset(seed=seed)
    step_type, reward, total, done = ts.StepType.FIRST, 0.0, 0.0, False
    while not done:
        time_step = ts.TimeStep(
            step_type=np.array([step_type], dtype=np.int32),
            reward=np.array([reward], dtype=np.float32),
            discount=np.array([1.0], dtype=np.float32),
            observation=np.asarray(obs, dtype=np.float32)[None],
        )
        action = int(np.asarray(policy.action(time_step).action)[0])
        obs, reward, terminated, truncated, _ = env.step(action)
        total += reward
        done = terminated or truncated
        step_type = ts.StepType.MID
    return total


def main():
    p = argparse.ArgumentParser()
    p.add_argument("policy_dir", nargs="?", default="examples/cartpole-dqn")
    p.add_argument("--episodes", type=int, default=100)
    args = p.parse_args()

    policy = py_tf_eager_policy.SavedModelPyTFEagerPolicy(
        args.policy_dir, load_specs_from_pbtxt=True, batch_time_steps=False
    )  # our TimeSteps already carry a batch dim of 1
    env = gym.make("CartPole-v1")
    returns = np.array([run_episode(policy, env, s) for s in range(args.episodes)])
    for n in sorted({min(20, args.episodes), args.episodes}):
        print(
            f"seeds 0..{n - 1}: mean {returns[:n].mean():.1f}  "
            f"min {returns[:n].min():.0f}  max {returns[:n].max():.0f}"
        )
    print("returns:", returns.astype(int).tolist())


if __name__ == "__main__":
    main()
