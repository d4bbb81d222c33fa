"""Turn a `PolicySource` into a running `PyTFPolicy`: the only module that builds graphs and sessions.

A PolicySaver SavedModel is loaded inside an explicit `tf.Graph` with `tf.saved_model.load`, which
returns an object whose `action()` builds ops on placeholders. `SavedModelTFPolicy` presents it as a
`TFPolicy` (specs from `policy_specs.pbtxt`) so that TF-Agents' own `PyTFPolicy` drives it: numpy
in, numpy out, one `session.run` per batch. Learner checkpoints are applied on top of the SavedModel's
own weights exactly as `SavedModelPyTFEagerPolicy.update_from_checkpoint` does.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from pytfpol.errors import InputError, PytfpolError, UsageError, first_line
from pytfpol.formats import layout
from pytfpol.formats.sources import FORMAT_CHECKPOINTER, PolicySource
from pytfpol.formats.validation import CheckedInputs, validate
from pytfpol.policy.policy_config import PolicyConfig
from pytfpol.policy.quiet_tf import import_tf

tf = import_tf()

import tensorflow_probability as tfp  # noqa: E402
from tf_agents.policies import policy_saver, py_tf_policy, tf_policy  # noqa: E402
from tf_agents.specs import tensor_spec  # noqa: E402

from pytfpol.policy import (  # noqa: E402
    batch_call,
    checkpoints,
    inference,
    invariance,
    networks,
    sampling,
)
from pytfpol.policy.partial_restore import describe_unmatched  # noqa: E402

TRAIN_STEP_KEY = "train_step/.ATTRIBUTES/VARIABLE_VALUE"
RANDOM_OPS = ("Random", "Multinomial", "Stateless", "TruncatedNormal")


class SavedModelTFPolicy(tf_policy.TFPolicy):
    """A loaded PolicySaver SavedModel seen as a `TFPolicy`, built in the current graph.

    It acts through its own `action()`. When it samples (a Learner's `policy` or
    `collect_policy`), pytfpol samples it instead from its saved `distribution()`, per episode
    (`sampling.EpisodeSampledPolicy`): the random ops inside its `action()` had their seeds fixed
    when it was saved."""

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
    stochastic: bool = False  # True when the actions are sampled (seeded by --seed)
    architecture: Optional[str] = None  # how a Checkpointer policy was rebuilt
    config_path: Optional[str] = None  # the config file it was rebuilt from (not inferred)
    inferred: bool = False  # its architecture was read off the checkpoint's variables
    assumed: list = field(default_factory=list)  # what an inferred architecture assumed
    unmatched: list = field(default_factory=list)  # checkpoint keys left over (--allow-partial)
    lost: list = field(default_factory=list)  # what those keys were, in words
    # What a new checkpoint of this policy holds, and its name inside OUT/checkpoint/.
    checkpoint_objects: dict = field(default_factory=dict, repr=False)
    checkpoint_name: str = "variables/variables"
    extra_files: dict = field(default_factory=dict, repr=False)
    # What identifies its graph: units with the same key restore into it (see `restore`).
    graph_key: tuple = ()
    restorer: Optional[Callable[[PolicySource, CheckedInputs], dict]] = field(
        default=None, repr=False
    )

    def restore(self, source: PolicySource, checked: CheckedInputs) -> None:
        """Give this graph the weights of `source`'s checkpoint (validated in `checked`) exactly
        as a fresh load of `source` would have them, side data and normalisation statistics
        included: a sweep builds the graph once and restores each checkpoint into it. The first
        checkpoint of every load goes through here too, so the two cannot differ."""
        for name, value in self.restorer(source, checked).items():
            setattr(self, name, value)

    def write_checkpoint(self, target: Path, evaluation) -> str:
        """The policy checkpoint to `target` (as TF-Agents restores it: the policy and its step,
        nothing else), and beside it, in `target/evaluation/`, the NumpyState side data and
        `evaluation`. Returns the policy checkpoint's prefix."""
        prefix = checkpoints.write_checkpoint(
            self.session, self.checkpoint_objects, target, self.checkpoint_name, self.extra_files
        )
        self.write_evaluation(target, evaluation)
        return prefix

    def write_evaluation(self, target: Path, evaluation) -> str:
        """`target/evaluation/`: the NumpyState side data and `evaluation` (TF-Agents' restore
        of the policy checkpoint beside it never sees them)."""
        side = {k: v for k, v in self.side_data.items() if not k.startswith("evaluation/")}
        return checkpoints.write_checkpoint(
            self.session,
            {**checkpoints.numpy_states(side), checkpoints.EVALUATION: evaluation},
            target,
            layout.EVALUATION_PREFIX,
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
    path = os.path.join(saved_model_dir, layout.POLICY_SPECS)
    try:
        return policy_saver.specs_from_collect_data_spec(tensor_spec.from_pbtxt_file(path))
    except Exception as exc:  # noqa: BLE001 - protobuf raises many types for a bad file
        raise InputError(
            f"{path}: unreadable policy specs ({first_line(exc)})",
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
    # Rows bit-identical for any batch size and position (pytfpol.policy.invariance); off only to
    # measure what it costs.
    batch_invariant: bool = True


def load_policy(
    source: PolicySource,
    options: LoadOptions,
    env_specs: Optional[tuple] = None,
    checked: Optional[CheckedInputs] = None,
) -> LoadedPolicy:
    """Load `source` into a fresh graph and session, for batches of `batch_size` time steps.

    `env_specs` (time_step_spec, action_spec as TensorSpecs) shape the network rebuilt for a
    Checkpointer directory; SavedModels carry their own specs. `checked` holds every bundle of
    `source`, validated (`validation.validate`, run here when not given): nothing else is read
    here before TensorFlow's restore.
    """
    checked = checked if checked is not None else validate(source)
    if source.format == FORMAT_CHECKPOINTER:
        return _load_checkpointer(source, options, env_specs, checked)
    return _load_saved_model_policy(source, options, checked)


def _load_saved_model_policy(
    source: PolicySource, options: LoadOptions, checked: CheckedInputs
) -> LoadedPolicy:
    """The SavedModel's graph, loaded without its variables (TensorFlow never opens them); the
    SavedModel's own variables, then the Learner checkpoint if any, are assigned from what
    validation read (`_restore_saved_model`)."""
    specs = read_policy_specs(source.saved_model_dir)
    with _new_session(options) as session, session.graph.as_default():
        loaded = _load_saved_model(source.saved_model_dir)
        sample = _saved_model_samples(loaded, specs, source, options)
        py_policy = _py_policy(
            SavedModelTFPolicy(loaded, specs, source.saved_model_dir),
            dataclasses.replace(options, stochastic=sample),
            session,
            source.saved_model_dir,
        )
        session.run(  # pytfpol's own variables, if any (the SavedModel's have no initializer)
            tf.compat.v1.variables_initializer(
                [v for v in tf.compat.v1.global_variables() if v.initializer is not None]
            )
        )
        own = checkpoints.variables_by_key(loaded._trackable_children())
        # A Learner checkpoint (PolicySaver.save_checkpoint) lists model_variables and train_step
        # at its root "so the checkpoint can be combined with a saved graph": keyed alike here.
        learner_objects = {
            name: getattr(loaded, name)
            for name in ("model_variables", "train_step")
            if hasattr(loaded, name)
        }
        learner = checkpoints.variables_by_key(learner_objects)
        policy = LoadedPolicy(
            py_policy,
            session.graph,
            session,
            options.batch_size,
            None,
            stochastic=sample,
            # As PolicySaver.save_checkpoint writes a Learner policy checkpoint.
            checkpoint_objects={"policy": loaded, **learner_objects},
            checkpoint_name=layout.VARIABLES_PREFIX,
            graph_key=("saved_model", os.path.abspath(source.saved_model_dir)),
        )
        policy.restorer = functools.partial(
            _restore_saved_model,
            session=session,
            own=checkpoints.Assigner(session, own),
            learner=checkpoints.Assigner(session, learner),
            graph_key=policy.graph_key,
        )
        policy.restore(source, checked)
        _require_initialized(session, source.saved_model_dir)
        policy.metadata = _read_metadata(loaded, session)
    return policy


def _restore_saved_model(
    source: PolicySource, checked: CheckedInputs, *, session, own, learner, graph_key
) -> dict:
    """The SavedModel's own weights, then a Learner `policy_checkpoint_*` over them (as
    `SavedModelPyTFEagerPolicy.update_from_checkpoint` applies one), from validated values."""
    if ("saved_model", os.path.abspath(source.saved_model_dir)) != graph_key:
        raise InputError(
            f"{source.saved_model_dir}: is not the SavedModel this graph was loaded from",
            "restore only checkpoints of the same SavedModel into it",
            path=source.saved_model_dir,
        )
    saved = checked.get(os.path.join(source.saved_model_dir, layout.VARIABLES_PREFIX))
    own.assign(saved.values, saved.prefix)
    train_step = saved.step(TRAIN_STEP_KEY)
    prefix = source.checkpoint_prefix
    if prefix is not None:
        bundle = checked.get(prefix)
        learner.assign(_learner_values(bundle.values), prefix)
        step = bundle.step(TRAIN_STEP_KEY)
        train_step = step if step is not None else source.checkpoint_step
    return {"train_step": train_step, "side_data": _side_data(source, checked)}


def _learner_values(values: dict) -> dict:
    """A policy checkpoint's values by the keys PolicySaver gives them (`model_variables/<i>`,
    `train_step` at the root); outputs of pytfpol 0.1 have them under `policy/` only."""
    nested = {k[len("policy/") :]: v for k, v in values.items() if k.startswith("policy/")}
    return {**nested, **values}


def _require_initialized(session, where: str) -> None:
    """Every variable of the graph has its value (a SavedModel whose variables are not all
    reachable by name would otherwise run on uninitialised ones)."""
    uninitialized = session.run(tf.compat.v1.report_uninitialized_variables())
    if len(uninitialized):
        raise InputError(
            f"{where}: {len(uninitialized)} variable(s) of the policy have no value in its "
            f"checkpoint, e.g. {uninitialized[0].decode(errors='replace')}",
            "the checkpoint was saved from another policy structure",
            path=where,
        )


def _saved_model_samples(loaded, specs: dict, source: PolicySource, options: LoadOptions) -> bool:
    """Whether this SavedModel's actions are sampled, and so must be sampled (seeded) by pytfpol
    from its saved distribution; refuses what cannot be honoured."""
    where = source.saved_model_dir
    distribution = _saved_distribution(loaded, specs)
    if distribution is None:
        if not _has_random_ops(tf.compat.v1.get_default_graph()):
            if options.stochastic:
                raise _nothing_to_sample(where)
            return False
        raise UsageError(
            f"{where}: samples its actions with random ops whose seeds were fixed when it was "
            "saved, and saved no distribution pytfpol could sample with --seed: its returns "
            "would change from run to run",
            "evaluate the greedy policy (--policy greedy, or the greedy_policy directory)",
        )
    if _deterministic(distribution):
        if options.stochastic:
            raise _nothing_to_sample(where)
        return False
    return True


def _nothing_to_sample(where: str) -> UsageError:
    return UsageError(
        f"--stochastic: {where} is deterministic (its distribution is the greedy action), so "
        "there is nothing to sample",
        "drop --stochastic, or evaluate a sampling policy (of a Learner root: --policy policy "
        "or --policy collect)",
    )


def _saved_distribution(loaded, specs: dict):
    """The action distribution(s) the SavedModel's `distribution()` returns, or None."""
    if not hasattr(loaded, "distribution"):
        return None
    try:
        time_step = tensor_spec.to_nest_placeholder(
            tensor_spec.from_spec(specs["time_step_spec"]), outer_dims=[1]
        )
        step = loaded.distribution(time_step, loaded.get_initial_state(1))
    except Exception:  # noqa: BLE001 - an old or odd SavedModel: treat as having none
        return None
    action = getattr(step, "action", None)
    if action is None or not all(
        isinstance(d, tfp.distributions.Distribution) for d in tf.nest.flatten(action)
    ):
        return None
    return action


def _deterministic(distribution) -> bool:
    return all(
        isinstance(d, tfp.distributions.Deterministic) for d in tf.nest.flatten(distribution)
    )


def _has_random_ops(graph) -> bool:
    """Random ops anywhere in the graph's functions (a SavedModel's action function)."""
    library = graph.as_graph_def().library
    return any(
        node.op.startswith(RANDOM_OPS) or "Random" in node.op
        for function in library.function
        for node in function.node_def
    )


def _load_checkpointer(
    source: PolicySource, options: LoadOptions, env_specs, checked: CheckedInputs
) -> LoadedPolicy:
    """Rebuild the policy from its config, wrap it in PyTFPolicy, then restore the checkpoint
    (`_restore_checkpointer`: every variable checked first, shape and dtype)."""
    prefix = source.checkpoint_prefix
    found = checkpoints.checkpoint_contents(checked.get(prefix).bundle)
    time_step_spec, action_spec = env_specs
    shapes = {key: info.shape for key, info in found.items()}
    config = inference.complete_config(
        options.config, shapes, _discrete_actions(action_spec), time_step_spec.observation
    )
    with _new_session(options) as session, session.graph.as_default():
        if options.seed is not None:  # only for factory policies that draw in distribution()
            tf.compat.v1.set_random_seed(options.seed)
        with _rebuilding(config, prefix, "build"):
            saved = networks.build_saved_policy(config, time_step_spec, action_spec)
        objects: dict[str, Any] = {config.policy_key: saved}
        step_key = config.step_key + checkpoints.VALUE_SUFFIX
        step_variable = None
        if step_key in found:
            step_variable = tf.Variable(0, dtype=found[step_key].dtype, name="train_step")
            objects[config.step_key] = step_variable
        expected = checkpoints.expected_variables(objects)
        policy = networks.evaluation_policy(saved, options.stochastic)
        normalizer = None
        if config.normalization is not None:
            policy = normalizer = networks.ObservationNormalizingPolicy(
                policy, config.normalization.clip
            )
            session.run(tf.compat.v1.variables_initializer(normalizer.variables_to_set))
        with _rebuilding(config, prefix, "act"):
            py_policy = _py_policy(policy, options, session, prefix, saved_model=False)
        loaded = LoadedPolicy(
            py_policy,
            session.graph,
            session,
            options.batch_size,
            None,
            stochastic=options.stochastic,
            architecture=config.describe(),
            config_path=None if config.inferred else config.path,
            inferred=config.inferred,
            assumed=list(config.assumed),
            checkpoint_objects=objects,
            extra_files=(
                {layout.BUNDLED_CONFIG: config.source_text.encode()} if config.source_text else {}
            ),
            graph_key=("checkpointer", config),
        )
        loaded.restorer = functools.partial(
            _restore_checkpointer,
            session=session,
            assigner=checkpoints.Assigner(session, checkpoints.variables_by_key(objects)),
            expected=expected,
            config=config,
            step_variable=step_variable,
            normalizer=normalizer,
            allow_partial=options.allow_partial,
        )
        loaded.restore(source, checked)
        _require_initialized(session, prefix)
    return loaded


@contextlib.contextmanager
def _rebuilding(config: PolicyConfig, prefix: str, stage: str):
    """Whatever TF-Agents raises while a Checkpointer policy is rebuilt is an input error (exit
    3) naming the architecture that did not fit the env's specs, never an internal error."""
    try:
        yield
    except PytfpolError:
        raise
    except Exception as exc:  # noqa: BLE001 - TF-Agents and Keras raise many types
        what = "build" if stage == "build" else "run the action function of"
        raise InputError(
            f"{prefix}: TF-Agents could not {what} {config.describe()} for this environment's "
            f"observation and action specs ({type(exc).__name__}: {first_line(exc)})",
            rebuild_hint(config),
            path=prefix,
        ) from exc


def rebuild_hint(config: PolicyConfig) -> str:
    """What to do when a rebuilt policy does not fit: truthful about where its config came from."""
    if config.factory:
        return f"check that the factory {config.factory} builds the policy for this --env"
    if config.inferred:
        return (
            "the architecture was read off the checkpoint's variables (no --config given); the "
            "env's observation and action specs shape the first and last layers: check --env, "
            "or describe the network in a --config (docs/networks.md)"
        )
    return (
        f"check {config.path} against how the policy was trained (layer sizes, network type), "
        "and --env: its observation and action specs shape the first and last layers"
    )


def _restore_checkpointer(
    source: PolicySource,
    checked: CheckedInputs,
    *,
    session,
    assigner,
    expected,
    config: PolicyConfig,
    step_variable,
    normalizer,
    allow_partial: bool,
) -> dict:
    """Check every variable of `source`'s ckpt-<step> against the rebuilt objects (TensorFlow
    itself "restores" a transposed kernel), assign their values as validation read them, set the
    normalisation statistics from its NumpyState side data (decoded without pickle)."""
    prefix = source.checkpoint_prefix
    found = checkpoints.checkpoint_contents(checked.get(prefix).bundle)
    unmatched = checkpoints.check_variables(
        expected, found, prefix, config.path, rebuild_hint(config) if config.inferred else None
    )
    lost = describe_unmatched(unmatched, config.policy_key)
    if unmatched and not allow_partial:
        raise InputError(
            f"{prefix}: {len(unmatched)} saved variable(s) are not part of the policy "
            f"built from {config.path}, e.g. {unmatched[0]}",
            ("describe the network in a --config" if config.inferred else "fix the config")
            + ", or pass --allow-partial to restore only what matches; it would leave out: "
            + "; ".join(lost),
            path=prefix,
        )
    assigner.assign(checked.get(prefix).values, prefix)
    side_data = _side_data(source, checked)
    if normalizer is not None:
        shape = tuple(normalizer.time_step_spec.observation.shape)
        normalizer.set_statistics(session, *_normalization(config, side_data, prefix, shape))
    train_step = (
        int(session.run(step_variable)) if step_variable is not None else source.checkpoint_step
    )
    return {
        "train_step": train_step,
        "side_data": side_data,
        "unmatched": unmatched,
        "lost": lost,
        "checkpoint_name": f"ckpt-{train_step}",
    }


def _discrete_actions(action_spec) -> Optional[int]:
    """The number of actions of a single scalar discrete action spec, else None."""
    leaves = tf.nest.flatten(action_spec)
    if len(leaves) != 1 or not leaves[0].dtype.is_integer or leaves[0].shape.rank != 0:
        return None
    return int(np.asarray(leaves[0].maximum)) - int(np.asarray(leaves[0].minimum)) + 1


def _py_policy(policy, options: LoadOptions, session, path: str, saved_model: bool = True):
    """`policy` as a built `PyTFPolicy` for batches of `options.batch_size`: batch-invariant
    (`invariance`), sampling per episode with --stochastic (`sampling`). A rebuilt policy's
    errors are left to the caller (`_rebuilding`): they are not a SavedModel's."""
    if options.batch_invariant:
        policy = invariance.PaddedBatchPolicy(policy)
    if options.stochastic:
        policy = sampling.EpisodeSampledPolicy(policy, path)
    py_policy = py_tf_policy.PyTFPolicy(policy)
    py_policy.session = session
    if saved_model:
        _build(py_policy, options.batch_size, path)
    else:
        py_policy.initialize(options.batch_size)
    return sampling.EpisodeKeyedPyPolicy(py_policy) if options.stochastic else py_policy


@contextlib.contextmanager
def _new_session(options: LoadOptions):
    """A session on a fresh graph, closed if loading into it fails (kept open otherwise)."""
    config = invariance.session_config() if options.batch_invariant else None
    config = batch_call.session_config(config)  # ops run in the calling thread
    session = tf.compat.v1.Session(graph=tf.Graph(), config=config)
    try:
        yield session
    except BaseException:
        session.close()
        raise


def _normalization(config: PolicyConfig, side_data: dict, prefix: str, shape: tuple):
    """(mean, scale) for the config's [normalization], from the checkpoint's NumpyState arrays:
    observations become clip((obs - mean) * scale), scale = 1 / sqrt(variance + epsilon)."""
    norm = config.normalization
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
    return mean, 1.0 / (variance + norm.epsilon) ** 0.5


def _side_data(source: PolicySource, checked: CheckedInputs) -> dict:
    """NumpyState arrays of the checkpoint, and of an eval output's evaluation/ beside it (an
    earlier pytfpol eval's history and the side data it carried), already decoded."""
    side: dict = {}
    for prefix in (source.evaluation_prefix, source.checkpoint_prefix):
        bundle = checked.get(prefix)
        if bundle is not None:
            side.update(bundle.side_data)
    return side


def _load_saved_model(saved_model_dir: str):
    """The SavedModel's graph and functions; its variables are left to pytfpol to assign
    (`experimental_skip_checkpoint`): TensorFlow reads no checkpoint file pytfpol has not read."""
    try:
        return tf.saved_model.load(
            saved_model_dir,
            options=tf.saved_model.LoadOptions(experimental_skip_checkpoint=True),
        )
    except Exception as exc:  # noqa: BLE001 - TF raises many types for damaged SavedModels
        raise InputError(
            f"{saved_model_dir}: could not load the SavedModel ({first_line(exc)})",
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
            f"time steps ({first_line(exc)})",
            "re-export the policy with PolicySaver(policy, batch_size=None)",
            path=saved_model_dir,
        ) from exc


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
