"""Turn a `PolicySource` into a running `PyTFPolicy`: the only module that builds graphs and sessions.

A PolicySaver SavedModel is loaded inside an explicit `tf.Graph` with `tf.saved_model.load`, which
returns an object whose `action()` builds ops on placeholders. `SavedModelTFPolicy` presents it as a
`TFPolicy` (specs from `policy_specs.pbtxt`) so that TF-Agents' own `PyTFPolicy` drives it: numpy
in, numpy out, one `session.run` per batch. Learner checkpoints are applied on top of the SavedModel's
own weights exactly as `SavedModelPyTFEagerPolicy.update_from_checkpoint` does.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from pytfpol.errors import InputError, PytfpolError, UsageError
from pytfpol.policy_config import PolicyConfig
from pytfpol.quiet_tf import import_tf
from pytfpol.sources import BUNDLED_CONFIG, FORMAT_CHECKPOINTER, POLICY_SPECS, PolicySource

tf = import_tf()

from tf_agents.policies import policy_saver, py_tf_policy, tf_policy  # noqa: E402
from tf_agents.specs import tensor_spec  # noqa: E402

from pytfpol import checkpoint_reader, checkpoints, invariance, networks, sampling  # noqa: E402

TRAIN_STEP_KEY = "train_step/.ATTRIBUTES/VARIABLE_VALUE"


class SavedModelTFPolicy(tf_policy.TFPolicy):
    """A loaded PolicySaver SavedModel seen as a `TFPolicy`, built in the current graph."""

    def __init__(self, loaded: Any, specs: dict, path: str = "the SavedModel") -> None:
        self._loaded = loaded
        self._path = path
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
        """The saved `distribution()` (PolicySaver saves it when it can): for --stochastic."""
        if not hasattr(self._loaded, "distribution"):
            raise UsageError(
                f"--stochastic: {self._path} has no distribution() function to sample from",
                "evaluate it without --stochastic (its action() as saved)",
            )
        step = self._loaded.distribution(time_step, policy_state)
        sampling.check_distributions(step, self._path)  # PolicySaver saves a stub when it could not
        return step

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
    side_data: dict = field(default_factory=dict)  # NumpyState arrays restored, by name
    architecture: Optional[str] = None  # how a Checkpointer policy was rebuilt
    unmatched: list = field(default_factory=list)  # checkpoint keys left over (--allow-partial)
    # What a new checkpoint of this policy holds, and its name inside OUT/checkpoint/.
    checkpoint_objects: dict = field(default_factory=dict, repr=False)
    checkpoint_name: str = "variables/variables"
    extra_files: dict = field(default_factory=dict, repr=False)

    def write_checkpoint(self, target: Path, evaluation) -> str:
        """Policy variables, step, side data and `evaluation` to `target`, atomically."""
        side = {k: v for k, v in self.side_data.items() if not k.startswith("evaluation/")}
        objects = {
            **self.checkpoint_objects,
            **checkpoints.numpy_states(side),
            checkpoints.EVALUATION: evaluation,
        }
        return checkpoints.write_checkpoint(
            self.session, objects, target, self.checkpoint_name, self.extra_files
        )

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


@dataclass(frozen=True)
class LoadOptions:
    """How to rebuild and run a policy; only Checkpointer directories need all of it."""

    batch_size: int
    config: Optional[PolicyConfig] = None
    stochastic: bool = False
    seed: Optional[int] = None
    allow_partial: bool = False
    # Rows bit-identical for any batch size and position (pytfpol.invariance); off only to
    # measure what it costs.
    batch_invariant: bool = True


def load_policy(
    source: PolicySource, options: LoadOptions, env_specs: Optional[tuple] = None
) -> LoadedPolicy:
    """Load `source` into a fresh graph and session, for batches of `batch_size` time steps.

    `env_specs` (time_step_spec, action_spec as TensorSpecs) shape the network rebuilt for a
    Checkpointer directory; SavedModels carry their own specs.
    """
    if source.format == FORMAT_CHECKPOINTER:
        return _load_checkpointer(source, options, env_specs)
    return _load_saved_model_policy(source, options)


def _load_saved_model_policy(source: PolicySource, options: LoadOptions) -> LoadedPolicy:
    specs = read_policy_specs(source.saved_model_dir)
    # Validate the SavedModel's variables before TensorFlow reads them (it aborts on some
    # damaged files); the applied checkpoint is validated by _side_data below.
    checkpoint_reader.open_bundle(os.path.join(source.saved_model_dir, "variables", "variables"))
    side_data = _side_data(source.checkpoint_prefix) if source.checkpoint_prefix else {}
    with _new_session(options) as session, session.graph.as_default():
        loaded = _load_saved_model(source.saved_model_dir)
        py_policy = _py_policy(
            SavedModelTFPolicy(loaded, specs, source.saved_model_dir),
            options,
            session,
            source.saved_model_dir,
        )
        session.run(tf.compat.v1.global_variables_initializer())
        train_step = _run_scalar(session, loaded.get_train_step())
        if source.checkpoint_dir is not None:
            train_step = _apply_checkpoint(loaded, session, source)
        metadata = _read_metadata(loaded, session)
    return LoadedPolicy(
        py_policy,
        session.graph,
        session,
        options.batch_size,
        train_step,
        metadata,
        side_data=side_data,
        checkpoint_objects={"policy": loaded},
        checkpoint_name="variables/variables",
    )


def _load_checkpointer(source: PolicySource, options: LoadOptions, env_specs) -> LoadedPolicy:
    """Rebuild the policy from its config, check every variable, restore, wrap in PyTFPolicy."""
    config = options.config
    prefix = source.checkpoint_prefix
    found, py_state_keys = checkpoints.checkpoint_contents(prefix)
    side_data = checkpoints.read_side_data(prefix, py_state_keys)
    time_step_spec, action_spec = env_specs
    with _new_session(options) as session, session.graph.as_default():
        if options.seed is not None:  # only for factory policies that draw in distribution()
            tf.compat.v1.set_random_seed(options.seed)
        saved = networks.build_saved_policy(config, time_step_spec, action_spec)
        objects: dict[str, Any] = {config.policy_key: saved}
        step_key = config.step_key + checkpoints.VALUE_SUFFIX
        step_variable = None
        if step_key in found:
            step_variable = tf.Variable(0, dtype=found[step_key].dtype, name="train_step")
            objects[config.step_key] = step_variable
        expected = checkpoints.expected_variables(objects)
        unmatched = checkpoints.check_variables(expected, found, prefix, config.path)
        if unmatched and not options.allow_partial:
            raise InputError(
                f"{prefix}: {len(unmatched)} saved variable(s) are not part of the policy "
                f"built from {config.path}, e.g. {unmatched[0]}",
                "fix the config, or pass --allow-partial to restore only what matches",
                path=prefix,
            )
        states = checkpoints.numpy_states(side_data)
        policy = networks.evaluation_policy(saved, options.stochastic)
        policy = _normalized(policy, config, side_data, prefix)
        py_policy = _py_policy(policy, options, session, prefix)
        checkpoints.restore(session, {**objects, **states}, prefix, options.allow_partial)
        side_data.update(checkpoints.state_arrays(states))
        train_step = (
            int(session.run(step_variable)) if step_variable is not None else source.checkpoint_step
        )
    return LoadedPolicy(
        py_policy,
        session.graph,
        session,
        options.batch_size,
        train_step,
        side_data=side_data,
        architecture=config.describe(),
        unmatched=unmatched,
        checkpoint_objects=objects,
        checkpoint_name=f"ckpt-{train_step}",
        extra_files={BUNDLED_CONFIG: config.source_text.encode()} if config.source_text else {},
    )


def _py_policy(policy, options: LoadOptions, session, path: str):
    """`policy` as a built `PyTFPolicy` for batches of `options.batch_size`: batch-invariant
    (`invariance`), sampling per episode with --stochastic (`sampling`)."""
    if options.batch_invariant:
        policy = invariance.PaddedBatchPolicy(policy)
    if options.stochastic:
        policy = sampling.EpisodeSampledPolicy(policy, path)
    py_policy = py_tf_policy.PyTFPolicy(policy)
    py_policy.session = session
    _build(py_policy, options.batch_size, path)
    return sampling.EpisodeKeyedPyPolicy(py_policy) if options.stochastic else py_policy


@contextlib.contextmanager
def _new_session(options: LoadOptions):
    """A session on a fresh graph, closed if loading into it fails (kept open otherwise)."""
    config = invariance.session_config() if options.batch_invariant else None
    session = tf.compat.v1.Session(graph=tf.Graph(), config=config)
    try:
        yield session
    except BaseException:
        session.close()
        raise


def _normalized(policy, config: PolicyConfig, side_data: dict, prefix: str):
    """Wrap `policy` with the observation normalisation the config names, if any."""
    norm = config.normalization
    if norm is None:
        return policy
    names = [norm.mean, norm.std or norm.variance]
    for name in names:
        if name not in side_data:
            available = ", ".join(sorted(side_data)) or "none"
            raise InputError(
                f"{prefix}: has no NumpyState array {name!r} named in {config.path} [normalization]",
                f"NumpyState arrays in this checkpoint: {available}",
                path=prefix,
            )
    mean = np.asarray(side_data[norm.mean], dtype=np.float64)
    spread = np.asarray(side_data[names[1]], dtype=np.float64)
    variance = spread**2 if norm.std else spread
    shape = tuple(policy.time_step_spec.observation.shape)
    for name, array in ((norm.mean, mean), (names[1], variance)):
        try:
            np.broadcast_to(array, shape)
        except ValueError as exc:
            raise InputError(
                f"{prefix}: NumpyState {name} has shape {array.shape}, observations {shape}",
                "normalisation statistics must match the observation shape",
                path=prefix,
            ) from exc
    if np.any(variance < 0) or not (np.all(np.isfinite(mean)) and np.all(np.isfinite(variance))):
        raise InputError(
            f"{prefix}: NumpyState {names[1]} holds negative or non-finite values",
            "re-save the normalisation statistics",
            path=prefix,
        )
    return networks.ObservationNormalizingPolicy(policy, mean, variance, norm.epsilon, norm.clip)


def _side_data(prefix: str) -> dict:
    _, py_state_keys = checkpoints.checkpoint_contents(prefix)
    return checkpoints.read_side_data(prefix, py_state_keys)


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
    except PytfpolError:
        raise
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
