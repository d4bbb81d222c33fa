"""Write one more checkpoint into a DQN v2 `train_dir/policy` Checkpointer directory, as
TF-Agents' `common.Checkpointer` writes it: `python tests/helpers/checkpoint_writer.py DIR STEP...`.

Run as a separate process by tests/integration/test_sweep.py, to be a training job writing a checkpoint
while `pytfpol sweep --watch` watches the directory."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pytfpol.policy.quiet_tf import import_tf  # noqa: E402

tf = import_tf()

from tests.helpers.artifacts_checkpointer import dqn_v2_policy  # noqa: E402


def main(directory: str, steps: list[int]) -> None:
    from tf_agents.utils import common

    policy, variables = dqn_v2_policy()
    global_step = tf.Variable(0, dtype=tf.int64)
    # As training does: the Checkpointer restores the newest checkpoint, training goes on, save.
    checkpointer = common.Checkpointer(ckpt_dir=directory, policy=policy, global_step=global_step)
    for step in steps:
        for variable in variables:
            variable.assign(variable + 0.01 * step)
        global_step.assign(step)
        checkpointer.save(global_step=step)


if __name__ == "__main__":
    main(sys.argv[1], [int(step) for step in sys.argv[2:]])
