"""Turn a `PolicySource` into a running `PyTFPolicy`: the only module that builds graphs and sessions.

A PolicySaver SavedModel is loaded inside an explicit `tf.Graph` with `tf.saved_model.load`, which
returns an object whose `action()` builds ops on placeholders. `SavedModelTFPolicy` presents it as a
`TFPolicy` (specs from `policy_specs.pbtxt`) so that TF-Agents' own `PyTFPolicy` drives it: numpy
in, numpy out, one `session.run` per batch. Learner checkpoints are applied on top of the SavedModel's
own weights exactly as `SavedModelPyTFEagerPolicy.update_from_checkpoint` does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Optional

from pytfpol.errors import InputError
from pytfpol.quiet_tf import import_tf
from pytfpol.sources import POLICY_SPECS, PolicySource

tf = import_tf()

from tf_agents.policies import policy_saver, py_tf_policy, tf_policy  # noqa: E402
from tf_agents.specs import tensor_spec  # noqa: E402

TRAIN_STEP_KEY = "train_step/.ATTRIBUTES/VARIABLE_VALUE"


class SavedModelTFPolicy(tf_policy.TFPolicy):
    """A loaded PolicySaver SavedModel seen as a `TFPolicy`, built in the current graph."""

    def __init__(self, loaded: Any, specs: dict) -> None:
        self._loaded = loaded
        super().__init__(
            tensor_spec.from_spec(specs["time_step_spec"]),
            tensor_spec.from_spec(specs["action_spec"]),
            policy_state_spec=tensor_spec.from_spec(specs["policy_state_spec"]),
            info_spec=tensor_spec.from_spec(specs["info_spec"]),
            clip=False,  # the SavedModel already applied the policy's own clipping
            validate_args=False,
        )

    def _variables(self):
        return list(self._loaded.model_variables)

    def _action(self, time_step, policy_state, seed):
        return self._loaded.action(time_step, policy_state)

    def _distribution(self, time_step, policy_state):
        raise NotImplementedError("pytfpol drives SavedModels through action() only")

    def _get_initial_state(self, batch_size):
        return self._loaded.get_initial_state(batch_size)


@dataclass
class LoadedPolicy:
    """A policy ready to act: its `PyTFPolicy`, graph, session and what was read on the way."""

    py_policy: py_tf_policy.PyTFPolicy
    graph: Any
    session: Any
    batch_size: int
    train_step: Optional[int]
    metadata: dict = field(default_factory=dict)

    @property
    def time_step_spec(self):
        return self.py_policy.time_step_spec

    @property
    def action_spec(self):
        return self.py_policy.action_spec

    @property
    def observation_spec(self):
        return self.py_policy.time_step_spec.observation

    def close(self) -> None:
        self.session.close()


def read_policy_specs(saved_model_dir: str) -> dict:
    """Specs saved by PolicySaver (`policy_specs.pbtxt`) as nests of ArraySpecs."""
    path = os.path.join(saved_model_dir, POLICY_SPECS)
    try:
        return policy_saver.specs_from_collect_data_spec(tensor_spec.from_pbtxt_file(path))
    except Exception as exc:  # noqa: BLE001 - protobuf raises many types for a bad file
        raise InputError(
            f"{path}: unreadable policy specs ({_first_line(exc)})",
            "re-export the policy with TF-Agents' PolicySaver",
            path=path,
        ) from exc


def load_policy(source: PolicySource, batch_size: int) -> LoadedPolicy:
    """Load `source` into a fresh graph and session, for batches of `batch_size` time steps."""
    specs = read_policy_specs(source.saved_model_dir)
    graph = tf.Graph()
    session = tf.compat.v1.Session(graph=graph)
    try:
        with graph.as_default():
            loaded = _load_saved_model(source.saved_model_dir)
            py_policy = py_tf_policy.PyTFPolicy(SavedModelTFPolicy(loaded, specs))
            py_policy.session = session
            _build(py_policy, batch_size, source.saved_model_dir)
            session.run(tf.compat.v1.global_variables_initializer())
            train_step = _run_scalar(session, loaded.get_train_step())
            if source.checkpoint_dir is not None:
                train_step = _apply_checkpoint(loaded, session, source)
            metadata = _read_metadata(loaded, session)
    except BaseException:
        session.close()
        raise
    return LoadedPolicy(py_policy, graph, session, batch_size, train_step, metadata)


def _load_saved_model(saved_model_dir: str):
    try:
        return tf.saved_model.load(saved_model_dir)
    except Exception as exc:  # noqa: BLE001 - TF raises many types for damaged SavedModels
        raise InputError(
            f"{saved_model_dir}: could not load the SavedModel ({_first_line(exc)})",
            "check that the directory was written completely by TF-Agents' PolicySaver",
            path=saved_model_dir,
        ) from exc


def _build(py_policy, batch_size: int, saved_model_dir: str) -> None:
    try:
        py_policy.initialize(batch_size)
    except Exception as exc:  # noqa: BLE001
        raise InputError(
            f"{saved_model_dir}: the SavedModel's action function does not accept a batch of "
            f"time steps ({_first_line(exc)})",
            "re-export the policy with PolicySaver(policy, batch_size=None)",
            path=saved_model_dir,
        ) from exc


def _apply_checkpoint(loaded, session, source: PolicySource) -> Optional[int]:
    """Restore a `policy_checkpoint_*` into the loaded SavedModel; return its train step."""
    prefix = source.checkpoint_prefix
    try:
        status = tf.train.Checkpoint(policy=loaded).read(prefix)
        status.assert_existing_objects_matched().expect_partial()
        status.run_restore_ops(session)
    except Exception as exc:  # noqa: BLE001 - damaged checkpoints raise many types
        raise InputError(
            f"{source.checkpoint_dir}: could not apply the checkpoint to "
            f"{source.saved_model_dir} ({_first_line(exc)})",
            "check that the checkpoint was saved from the same policy (PolicySavedModelTrigger)",
            path=source.checkpoint_dir,
        ) from exc
    return _checkpoint_train_step(prefix, source.checkpoint_step)


def _checkpoint_train_step(prefix: str, from_name: Optional[int]) -> Optional[int]:
    try:
        reader = tf.train.load_checkpoint(prefix)
        if reader.has_tensor(TRAIN_STEP_KEY):
            return int(reader.get_tensor(TRAIN_STEP_KEY))
    except Exception:  # noqa: BLE001 - the step is informative; fall back to the name
        pass
    return from_name


def _read_metadata(loaded, session) -> dict:
    try:
        values = session.run(loaded.get_metadata())
    except Exception:  # noqa: BLE001 - older SavedModels have no metadata function
        return {}
    return {str(k): _to_plain(v) for k, v in values.items()}


def _run_scalar(session, tensor) -> Optional[int]:
    try:
        return int(session.run(tensor))
    except Exception:  # noqa: BLE001
        return None


def _to_plain(value: Any) -> Any:
    try:
        return value.item()
    except (AttributeError, ValueError):
        return value.tolist() if hasattr(value, "tolist") else str(value)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
