"""A tiny Atari policy written by TF-Agents' own saver, for tests/test_environments.py.

Run as a script (`python tests/artifacts_atari.py OUT_DIR`), in its own process like
tests/artifacts.py. Random weights (untrained), seeded. Writes:

    OUT/breakout_dqn_sm  PolicySaver: GreedyPolicy(QPolicy(QNetwork)) as TF-Agents' Atari DQN
                         example builds it (uint8 frames scaled by a preprocessing layer, a conv
                         layer, a dense layer), for (84, 84, 4) uint8 observations and
                         Breakout's 4 actions: what suite_atari with FrameStack4 gives
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pytfpol.policy.quiet_tf import import_tf  # noqa: E402

tf = import_tf()

from tf_agents.networks import q_network  # noqa: E402
from tf_agents.policies import greedy_policy, policy_saver, q_policy  # noqa: E402
from tf_agents.specs import tensor_spec  # noqa: E402
from tf_agents.trajectories import time_step as ts  # noqa: E402

FRAMES = (84, 84, 4)
BREAKOUT_ACTIONS = 4


def breakout_dqn(out: Path) -> None:
    tf.random.set_seed(24)
    observation = tensor_spec.BoundedTensorSpec(FRAMES, tf.uint8, 0, 255, name="observation")
    action = tensor_spec.BoundedTensorSpec((), tf.int64, 0, BREAKOUT_ACTIONS - 1, name="action")
    time_step_spec = ts.time_step_spec(observation)
    net = q_network.QNetwork(
        observation,
        action,
        preprocessing_layers=tf.keras.layers.Lambda(lambda x: tf.cast(x, tf.float32) / 255.0),
        conv_layer_params=((8, (8, 8), 4),),
        fc_layer_params=(16,),
    )
    policy = greedy_policy.GreedyPolicy(q_policy.QPolicy(time_step_spec, action, net))
    train_step = tf.Variable(3, dtype=tf.int64)
    policy_saver.PolicySaver(policy, batch_size=None, train_step=train_step).save(str(out))


def main(out_dir: str) -> None:
    out = Path(out_dir)
    breakout_dqn(out / "breakout_dqn_sm")


if __name__ == "__main__":
    main(sys.argv[1])
