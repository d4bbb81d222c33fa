"""OUT/checkpoint: the new checkpoint of an evaluation, and the history of evaluations beside it.

The policy checkpoint is the input's policy and step, as TF-Agents restores them (written by
`LoadedPolicy.write_checkpoint`); `evaluation/` beside it holds this run's per-episode arrays and
`history`, one row per evaluation (`layout.HISTORY_COLUMNS`), carried from OUT's own earlier run of
the same policy and env, else from the input when it is itself an eval output.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from pytfpol.errors import PytfpolError
from pytfpol.formats import layout, validation
from pytfpol.results import output_set

HISTORY = "evaluation/history"  # the NumpyState array of earlier evaluations


def previous_history(claim: output_set.OutputClaim) -> Optional[np.ndarray]:
    """The evaluation history in OUT from an earlier run of the same policy and env, so that a
    re-run appends to it (None when there is none, or it cannot be read: then it starts anew)."""
    if claim.previous_report is None:
        return None
    directory = claim.out / layout.OUTPUT_CHECKPOINT_DIR
    candidates = [directory / layout.EVALUATION_PREFIX]
    candidates += [Path(c.prefix) for c in reversed(layout.list_checkpointer_dir(directory))]
    candidates.append(directory / layout.VARIABLES_PREFIX)
    for prefix in candidates:
        if not os.path.lexists(f"{prefix}.index"):
            continue
        try:
            history = validation.check_bundle(str(prefix), digests=False).side_data.get(HISTORY)
        except PytfpolError:
            return None
        if history is not None:
            return history
    return None


def write(loaded, directory: Path, records: Sequence, history: Optional[np.ndarray]) -> str:
    """`directory`/checkpoint: the policy and its step, and beside it this evaluation appended to
    the history (`history`, else the one the input carried, if any). Returns the policy
    checkpoint's prefix."""
    from pytfpol.policy import checkpoints  # TensorFlow

    returns = np.asarray([r.return_ for r in records], dtype=np.float64)
    evaluation = checkpoints.evaluation_state(
        returns=returns,
        lengths=np.asarray([r.length for r in records], dtype=np.int64),
        seeds=np.asarray([r.seed for r in records], dtype=np.int64),
        previous_history=history if history is not None else loaded.side_data.get(HISTORY),
        history_row=(
            float(loaded.train_step if loaded.train_step is not None else -1),
            float(len(records)),
            float(returns.mean()),
            float(returns.std()),
            time.time(),
        ),
    )
    return loaded.write_checkpoint(Path(directory) / layout.OUTPUT_CHECKPOINT_DIR, evaluation)


def write_history_only(loaded, directory: Path, history: Optional[np.ndarray]) -> None:
    """For a run that stopped early: `directory`/checkpoint/evaluation/ with the history so far
    (unchanged: an incomplete run adds no row), so that the next run of the same policy into
    OUT continues it. Nothing when there is no history yet."""
    from pytfpol.policy import checkpoints  # TensorFlow

    history = history if history is not None else loaded.side_data.get(HISTORY)
    if history is None:
        return
    evaluation = checkpoints.evaluation_state(
        returns=np.zeros(0, np.float64),
        lengths=np.zeros(0, np.int64),
        seeds=np.zeros(0, np.int64),
        previous_history=history,
        history_row=None,
    )
    loaded.write_evaluation(Path(directory) / layout.OUTPUT_CHECKPOINT_DIR, evaluation)
