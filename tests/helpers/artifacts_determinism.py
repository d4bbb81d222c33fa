"""Continuous-control policies for the determinism tests, written by TF-Agents' own savers.

Run as a script (`python tests/helpers/artifacts_determinism.py OUT_DIR`), in its own process like
tests/helpers/artifacts.py. Random weights (untrained), seeded. Writes:

    OUT/cheetah_sac_sm     PolicySaver: GreedyPolicy(ActorPolicy(ActorDistributionNetwork(256, 256),
                           TanhNormalProjectionNetwork)) for HalfCheetah-v5 (SAC's eval policy)
    OUT/cheetah_sample_sm  PolicySaver: the same ActorPolicy, not greedy (its action() samples)
    OUT/cheetah_rnn_sm     PolicySaver: GreedyPolicy(ActorPolicy(ActorDistributionRnnNetwork))
    OUT/pixels_conv_sm     PolicySaver: GreedyPolicy(ActorPolicy(ActorDistributionNetwork with
                           conv layers)) on uint8 (32, 32, 3) images, 3 continuous actions
    OUT/cheetah_sac_ckpt   Checkpointer(policy=GreedyPolicy(ActorPolicy(...)), global_step) of
                           SAC's actor (configs/tf-agents-sac-v2-actor.toml rebuilds it)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pytfpol.policy.quiet_tf import import_tf  # noqa: E402

tf = import_tf()

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
from tf_agents.agents.sac import tanh_normal_projection_network  # noqa: E402
from tf_agents.networks import (  # noqa: E402
    actor_distribution_network,
    actor_distribution_rnn_network,
)
from tf_agents.policies import actor_policy, greedy_policy, policy_saver  # noqa: E402
from tf_agents.specs import tensor_spec  # noqa: E402
from tf_agents.trajectories import time_step as ts  # noqa: E402
from tf_agents.utils import common  # noqa: E402

from tests.helpers.artifacts import env_tensor_specs  # noqa: E402

CHEETAH = "HalfCheetah-v5"
PIXEL_SHAPE = (32, 32, 3)


def save(policy, path: Path, step: int) -> None:
    train_step = tf.Variable(step, dtype=tf.int64)
    policy_saver.PolicySaver(policy, batch_size=None, train_step=train_step).save(str(path))


def sac_actor(time_step_spec, action_spec) -> actor_policy.ActorPolicy:
    """The actor of TF-Agents' SAC v2 example (`sac/examples/v2/train_eval.py`)."""
    net = actor_distribution_network.ActorDistributionNetwork(
        time_step_spec.observation,
        action_spec,
        fc_layer_params=(256, 256),
        continuous_projection_net=tanh_normal_projection_network.TanhNormalProjectionNetwork,
    )
    net.create_variables()
    return actor_policy.ActorPolicy(time_step_spec, action_spec, net, training=False)


def cheetah_policies(out: Path) -> None:
    time_step_spec, action_spec = env_tensor_specs(gym.make(CHEETAH))
    actor = sac_actor(time_step_spec, action_spec)
    save(greedy_policy.GreedyPolicy(actor), out / "cheetah_sac_sm", 3)
    save(actor, out / "cheetah_sample_sm", 3)
    global_step = tf.Variable(12, dtype=tf.int64)
    checkpointer = common.Checkpointer(
        ckpt_dir=str(out / "cheetah_sac_ckpt"),
        policy=greedy_policy.GreedyPolicy(sac_actor(time_step_spec, action_spec)),
        global_step=global_step,
    )
    checkpointer.save(global_step=12)


def cheetah_rnn(out: Path) -> None:
    time_step_spec, action_spec = env_tensor_specs(gym.make(CHEETAH))
    net = actor_distribution_rnn_network.ActorDistributionRnnNetwork(
        time_step_spec.observation,
        action_spec,
        input_fc_layer_params=(64,),
        lstm_size=(32,),
        output_fc_layer_params=(64,),
    )
    net.create_variables()
    policy = actor_policy.ActorPolicy(time_step_spec, action_spec, net)
    save(greedy_policy.GreedyPolicy(policy), out, 5)


def pixels_conv(out: Path) -> None:
    observation = tensor_spec.BoundedTensorSpec(PIXEL_SHAPE, tf.uint8, 0, 255, name="observation")
    action = tensor_spec.BoundedTensorSpec((3,), tf.float32, -1.0, 1.0, name="action")
    time_step_spec = ts.time_step_spec(observation)
    net = actor_distribution_network.ActorDistributionNetwork(
        observation,
        action,
        preprocessing_layers=tf.keras.layers.Rescaling(1.0 / 255),
        conv_layer_params=[(16, 3, 2), (32, 3, 1)],
        fc_layer_params=(256,),  # 13 * 13 * 32 = 5408 inputs: long rows, as in Atari-sized nets
    )
    net.create_variables()
    policy = actor_policy.ActorPolicy(time_step_spec, action, net)
    save(greedy_policy.GreedyPolicy(policy), out, 6)


def main(out_dir: str) -> None:
    out = Path(out_dir)
    tf.keras.utils.set_random_seed(0)  # Keras draws unseeded initializers from Python random
    np.random.seed(0)
    cheetah_policies(out)
    cheetah_rnn(out / "cheetah_rnn_sm")
    pixels_conv(out / "pixels_conv_sm")


if __name__ == "__main__":
    main(sys.argv[1])
