"""The only module that touches NumpyState and `tf.train.Checkpoint`.

- compares every checkpoint variable's shape and dtype with the rebuilt policy's before restoring
  (TensorFlow happily "restores" a transposed kernel and fails only at the first action);
- restores policy, step and NumpyState side data in the graph (what `PyTFPolicy.restore` does, with
  the checkpoint chosen explicitly and nothing created on disk);
- writes new checkpoints atomically: a temporary directory renamed into place.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np
import tensorflow as tf
from tf_agents.utils import numpy_storage

from pytfpol.errors import InputError, OutputError, write_failure_cause
from pytfpol.formats import bundle_writer, checkpoint_reader, layout
from pytfpol.policy import checkpoint_tensors

VALUE_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"
PY_STATE_SUFFIX = "/.ATTRIBUTES/py_state"
BOOKKEEPING_KEYS = ("_CHECKPOINTABLE_OBJECT_GRAPH", "save_counter" + VALUE_SUFFIX)
EVALUATION = "evaluation"
HISTORY_COLUMNS = layout.HISTORY_COLUMNS


# ---------------------------------------------------------------------------------------------
# What a checkpoint holds, and what the rebuilt objects expect


@dataclass(frozen=True)
class TensorInfo:
    shape: tuple[int, ...]
    dtype: str


# The way out of a --config that does not fit, after the fix of the config itself.
OTHER_CONFIG = (
    "leave --config out (a standard network is read off the checkpoint), or pick a shipped "
    "config that matches (`pytfpol configs` lists them)"
)


def checkpoint_contents(bundle: checkpoint_reader.Bundle) -> dict[str, TensorInfo]:
    """Variables (key -> shape, dtype) of a validated bundle (no NumpyState, no bookkeeping)."""
    return {
        key: TensorInfo(tuple(entry.shape), entry.dtype)
        for key, entry in sorted(bundle.entries.items())
        if not key.endswith(PY_STATE_SUFFIX) and key not in BOOKKEEPING_KEYS
    }


def expected_variables(objects: dict[str, Any]) -> dict[str, TensorInfo]:
    """Checkpoint keys of every variable reachable from `objects`, named as tf.train.Checkpoint
    names them (breadth-first, first path wins), with the variables' shapes and dtypes."""
    return {
        key: TensorInfo(tuple(variable.shape.as_list()), variable.dtype.name)
        for key, variable in variables_by_key(objects).items()
    }


def variables_by_key(objects: dict[str, Any]) -> dict[str, Any]:
    """Every variable reachable from `objects` by the checkpoint key tf.train.Checkpoint would
    give it: breadth-first over `_trackable_children()`, the first (shortest) path wins."""
    found: dict[str, Any] = {}
    seen: set[int] = set()
    queue = collections.deque((name, obj) for name, obj in objects.items())
    while queue:
        path, obj = queue.popleft()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, tf.Variable):
            found[path + VALUE_SUFFIX] = obj
            continue
        children = getattr(obj, "_trackable_children", None)
        if children is None:
            continue
        for name, child in children().items():
            queue.append((f"{path}/{_escape(name)}", child))
    return found


def _escape(name: str) -> str:
    return name.replace(".", "..").replace("/", ".S")


def check_variables(
    expected: dict[str, TensorInfo],
    found: dict[str, TensorInfo],
    prefix: str,
    config_path: str,
    hint: Optional[str] = None,
) -> list[str]:
    """Refuse shape/dtype mismatches and missing variables; return checkpoint keys left over.
    `hint` replaces the hints that speak of a config file (for a config nobody wrote); without
    it, `config_path` names the --config the user gave, and the message is about it."""
    builds = "the policy it builds" if hint is None else f"the policy from {config_path}"
    for key, want in expected.items():
        have = found.get(key)
        if have is not None and have.shape == want.shape and have.dtype == want.dtype:
            continue
        if have is None:
            problem = f"the checkpoint has no {key}, which {builds} needs"
            fix = (
                "it rebuilds another structure than was saved: check its network type, "
                "[policy] saved_as and [checkpoint] policy"
            )
        else:
            problem = (
                f"{key} is {have.dtype} {list(have.shape)} in the checkpoint but "
                f"{want.dtype} {list(want.shape)} in {builds}"
            )
            fix = (
                "fix its layer sizes (or the env: its observation and action sizes shape the "
                "first and last layers)"
            )
        if hint is not None:  # a config read off the checkpoint: no --config to blame
            raise InputError(f"{prefix}: {problem}", hint, path=prefix)
        raise InputError(
            f"{config_path} does not fit {prefix}: {problem}",
            f"{fix}; or {OTHER_CONFIG}",
            path=prefix,
        )
    return sorted(set(found) - set(expected))


# ---------------------------------------------------------------------------------------------
# NumpyState side data


def numpy_states(arrays: dict[str, np.ndarray]) -> dict[str, numpy_storage.NumpyState]:
    """NumpyState objects (object/attribute) holding `arrays`, ready to restore or save."""
    states: dict[str, numpy_storage.NumpyState] = {}
    for name, array in arrays.items():
        owner, _, attribute = name.rpartition("/")
        if not owner or "/" in owner:
            continue  # only top-level NumpyState objects can be rebuilt by name
        state = states.setdefault(owner, numpy_storage.NumpyState())
        setattr(state, attribute, np.array(array))
    return states


# ---------------------------------------------------------------------------------------------
# Restoring and writing


class Assigner:
    """Gives a fixed set of variables their values from a checkpoint as pytfpol's reader read
    and validated it: one placeholder and assign op per variable, built once and reused for
    every checkpoint, so TensorFlow never opens a checkpoint file and each restore is one
    `session.run` that adds nothing to the graph."""

    def __init__(self, session, variables: dict[str, Any]) -> None:
        self._session = session
        self._keys = list(variables)
        self._dtypes = {k: v.dtype.base_dtype.as_numpy_dtype for k, v in variables.items()}
        with session.graph.as_default(), tf.name_scope("pytfpol_assign"):
            self._placeholders = {
                key: tf.compat.v1.placeholder(v.dtype.base_dtype, v.shape)
                for key, v in variables.items()
            }
            self._op = tf.group(
                *(
                    v.assign(self._placeholders[key], read_value=False)
                    for key, v in variables.items()
                )
            )

    @property
    def keys(self) -> list[str]:
        return list(self._keys)

    def assign(self, values: dict[str, np.ndarray], prefix: str) -> None:
        """Assign `values` (key -> array) to the variables; every variable needs its value."""
        missing = [key for key in self._keys if key not in values]
        if missing:
            raise InputError(
                f"{prefix}: has no {missing[0]}, which the policy needs"
                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
                "the checkpoint was saved from another policy structure",
                path=prefix,
            )
        feed = {
            self._placeholders[key]: _as_dtype(values[key], self._dtypes[key]) for key in self._keys
        }
        self._session.run(self._op, feed)


def _as_dtype(value: np.ndarray, dtype) -> np.ndarray:
    """The reader's array as the variable's numpy dtype (bfloat16 is read as its raw bits)."""
    value = np.asarray(value)
    if value.dtype == dtype:
        return value
    if value.dtype.itemsize == np.dtype(dtype).itemsize and value.dtype.kind == "u":
        return value.view(dtype)
    return value.astype(dtype)


def write_checkpoint(
    session,
    objects: dict[str, Any],
    target: Path,
    prefix_name: str,
    extra_files: Optional[dict[str, bytes]] = None,
) -> str:
    """Write `objects` as `target/<prefix_name>`, `target` being a new directory (in a run's
    staging directory: `output_set.commit_outputs` puts it in place with the rest of the outputs).

    Also writes a `checkpoint` state file, so that `common.Checkpointer` /
    `PyTFPolicy.restore(target)` find it.
    """
    target = Path(target)
    try:
        (target / prefix_name).parent.mkdir(parents=True, exist_ok=True)
        with session.graph.as_default(), session.as_default():
            checkpoint = tf.train.Checkpoint(**objects)
            try:
                tensors = checkpoint_tensors.checkpoint_tensors(session, checkpoint)
            except checkpoint_tensors.NeedsSaver:
                _write_with_saver(session, checkpoint, target / prefix_name)
            else:
                bundle_writer.write_bundle(target / prefix_name, tensors)
        for name, data in (extra_files or {}).items():
            (target / name).write_bytes(data)
        if "/" not in prefix_name:
            state = f'model_checkpoint_path: "{prefix_name}"\nall_model_checkpoint_paths: "{prefix_name}"\n'
            (target / "checkpoint").write_text(state)
    except (OSError, tf.errors.OpError) as exc:  # TensorFlow's saver: OutOfRange for EFBIG
        raise OutputError(
            f"{target}: could not write the checkpoint ({write_failure_cause(exc)})",
            "check free space and permissions of the output directory",
            path=target,
        ) from exc
    return str(target / prefix_name)


def _write_with_saver(session, checkpoint: tf.train.Checkpoint, prefix: Path) -> None:
    """TensorFlow's own saver, for what `checkpoint_tensors` cannot gather (sliced variables)."""
    # Checkpointer-saved files carry a save_counter, and restoring them with assert_consumed
    # (PyTFPolicy.restore) expects one: write it too.
    session.run(checkpoint.save_counter.initializer)
    checkpoint.write(str(prefix))


def evaluation_state(
    returns: np.ndarray,
    lengths: np.ndarray,
    seeds: np.ndarray,
    previous_history: Optional[np.ndarray],
    history_row: Optional[tuple[float, ...]],
) -> numpy_storage.NumpyState:
    """This run's per-episode arrays and the history of evaluations, one row per evaluation
    (`history_row` appended to `previous_history`; None appends nothing)."""
    history = np.zeros((0, len(HISTORY_COLUMNS)), dtype=np.float64)
    if (
        previous_history is not None
        and previous_history.ndim == 2
        and previous_history.shape[1] == len(HISTORY_COLUMNS)
    ):
        history = previous_history.astype(np.float64)
    if history_row is not None:
        history = np.concatenate([history, np.asarray([history_row], dtype=np.float64)])
    state = numpy_storage.NumpyState()
    state.returns = np.asarray(returns, dtype=np.float64)
    state.lengths = np.asarray(lengths, dtype=np.int64)
    state.seeds = np.asarray(seeds, dtype=np.int64)
    state.history = history
    return state
