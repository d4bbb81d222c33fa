"""A PolicySaver SavedModel as a running policy.

It is loaded inside an explicit `tf.Graph` with `tf.saved_model.load`, which returns an object
whose `action()` builds ops on placeholders. `SavedModelTFPolicy` presents it as a `TFPolicy`
(specs from `policy_specs.pbtxt`) so that TF-Agents' own `PyTFPolicy` drives it: numpy in, numpy
out, one `session.run` per batch. Learner checkpoints are applied on top of the SavedModel's own
weights exactly as `SavedModelPyTFEagerPolicy.update_from_checkpoint` does.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Any, Optional

from pytfpol.errors import InputError, UsageError, first_line
from pytfpol.formats import layout
from pytfpol.formats.sources import PolicySource
from pytfpol.formats.validation import CheckedInputs
from pytfpol.policy.quiet_tf import import_tf

tf = import_tf()

import tensorflow_probability as tfp  # noqa: E402
from tf_agents.policies import policy_saver, tf_policy  # noqa: E402
from tf_agents.specs import tensor_spec  # noqa: E402

from pytfpol.policy import checkpoints, sampling  # noqa: E402
from pytfpol.policy.loaded import (  # noqa: E402
    LoadedPolicy,
    LoadOptions,
    as_py_policy,
    bundle_at,
    new_session,
    require_initialized,
    required,
    side_data_of,
)

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


def load_saved_model_policy(
    source: PolicySource, options: LoadOptions, checked: CheckedInputs
) -> LoadedPolicy:
    """The SavedModel's graph, loaded without its variables (TensorFlow never opens them); the
    SavedModel's own variables, then the Learner checkpoint if any, are assigned from what
    validation read (`_restore_saved_model`)."""
    directory = required(source.saved_model_dir, "a SavedModel source's directory")
    specs = read_policy_specs(directory)
    with new_session(options) as session, session.graph.as_default():
        loaded = _load_saved_model(directory)
        sample = _saved_model_samples(loaded, specs, source, options)
        py_policy = as_py_policy(
            SavedModelTFPolicy(loaded, specs, directory),
            dataclasses.replace(options, stochastic=sample),
            session,
            directory,
        )
        # pytfpol's own variables, if any (the SavedModel's have no initializer). None: no run
        # (a session's first run costs memory, ~5 MiB, for nothing).
        own_variables = [v for v in tf.compat.v1.global_variables() if v.initializer is not None]
        if own_variables:
            session.run(tf.compat.v1.variables_initializer(own_variables))
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
            graph_key=("saved_model", os.path.abspath(directory)),
        )
        policy.restorer = functools.partial(
            _restore_saved_model,
            own=checkpoints.Assigner(session, own),
            learner=checkpoints.Assigner(session, learner),
            graph_key=policy.graph_key,
        )
        policy.restore(source, checked)
        require_initialized(session, directory)
        policy.metadata = _read_metadata(loaded, session)
    return policy


def _restore_saved_model(
    source: PolicySource, checked: CheckedInputs, *, own, learner, graph_key
) -> dict:
    """The SavedModel's own weights, then a Learner `policy_checkpoint_*` over them (as
    `SavedModelPyTFEagerPolicy.update_from_checkpoint` applies one), from validated values."""
    directory = source.saved_model_dir
    if directory is None or ("saved_model", os.path.abspath(directory)) != graph_key:
        raise InputError(
            f"{directory}: is not the SavedModel this graph was loaded from",
            "restore only checkpoints of the same SavedModel into it",
            path=directory,
        )
    saved = bundle_at(checked, os.path.join(directory, layout.VARIABLES_PREFIX))
    own.assign(saved.values, saved.prefix)
    train_step = recorded_step(saved.step(TRAIN_STEP_KEY))
    prefix = source.checkpoint_prefix
    if prefix is not None:
        bundle = bundle_at(checked, prefix)
        learner.assign(bundle.values, prefix)
        step = bundle.step(TRAIN_STEP_KEY)
        train_step = step if step is not None else source.checkpoint_step
    return {"train_step": train_step, "side_data": side_data_of(source, checked)}


def recorded_step(step: Optional[int]) -> Optional[int]:
    """The train step a SavedModel records: None for PolicySaver's -1, what it saves when it
    was given no `train_step` (a step no training reached: reports say none, TensorBoard 0)."""
    return None if step is None or step < 0 else step


def _saved_model_samples(loaded, specs: dict, source: PolicySource, options: LoadOptions) -> bool:
    """Whether this SavedModel's actions are sampled, and so must be sampled (seeded) by pytfpol
    from its saved distribution; refuses what cannot be honoured."""
    where = required(source.saved_model_dir, "a SavedModel source's directory")
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


def _read_metadata(loaded, session) -> dict:
    try:
        values = session.run(loaded.get_metadata())
    except Exception:  # noqa: BLE001 - older SavedModels have no metadata function
        return {}
    return {str(k): _to_plain(v) for k, v in values.items()}


def _to_plain(value: Any) -> Any:
    try:
        return value.item()
    except (AttributeError, ValueError):
        return value.tolist() if hasattr(value, "tolist") else str(value)
