"""A Checkpointer directory as a running policy: the TF-Agents policy rebuilt from its config
(given, or inferred from the checkpoint's variables), every variable checked against it before
its value is assigned, and the observation normalisation its NumpyState side data holds."""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path
from typing import Any, Optional

import numpy as np

from pytfpol.errors import InputError, PytfpolError, UsageError, first_line
from pytfpol.formats import layout
from pytfpol.formats.sources import PolicySource
from pytfpol.formats.validation import CheckedInputs
from pytfpol.policy.policy_config import SHIPPED_CONFIGS_DIR, NormalizationConfig, PolicyConfig
from pytfpol.policy.quiet_tf import import_tf

tf = import_tf()

from pytfpol.policy import checkpoints, completion, networks  # noqa: E402
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
from pytfpol.policy.partial_restore import describe_unmatched  # noqa: E402


def load_checkpointer(
    source: PolicySource, options: LoadOptions, env_specs, checked: CheckedInputs
) -> LoadedPolicy:
    """Rebuild the policy from its config, wrap it in PyTFPolicy, then restore the checkpoint
    (`_restore_checkpointer`: every variable checked first, shape and dtype)."""
    prefix = required(source.checkpoint_prefix, "a Checkpointer source's checkpoint")
    found = checkpoints.checkpoint_contents(bundle_at(checked, prefix).bundle)
    time_step_spec, action_spec = env_specs
    shapes = {key: info.shape for key, info in found.items()}
    config = completion.complete_config(
        required(options.config, "a Checkpointer source's config"),
        shapes,
        _discrete_actions(action_spec),
        time_step_spec.observation,
    )
    with new_session(options) as session, session.graph.as_default():
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
            py_policy = as_py_policy(policy, options, session, prefix, saved_model=False)
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
        require_initialized(session, prefix)
    return loaded


@contextlib.contextmanager
def _rebuilding(config: PolicyConfig, prefix: str, stage: str):
    """Whatever TF-Agents raises while a Checkpointer policy is rebuilt is an input error (exit
    3) naming the architecture that did not fit the env's specs, never an internal error; a
    network type the env's specs rule out stays a usage error (exit 2), naming the config."""
    try:
        yield
    except UsageError as exc:  # a network type the env's specs do not allow: name the config
        raise UsageError(
            f"{config_named(config)}: {exc.message}", _usage_hint(config, exc)
        ) from exc
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


def _usage_hint(config: PolicyConfig, error: UsageError) -> str:
    """The error's own hint; for a --config given as a file or a name, the way out of it too."""
    if config.inferred or config.factory or not error.hint:
        return error.hint
    return f"{error.hint}; or {checkpoints.OTHER_CONFIG}"


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
        f"check {config_named(config)} against how the policy was trained (layer sizes, "
        "network type), "
        "and --env: its observation and action specs shape the first and last layers"
    )


def config_named(config: PolicyConfig) -> str:
    """How a message names the config: `--config NAME` as the user gave it (a shipped config
    by its name, any other by its path), or where an inferred one was read off."""
    if config.inferred:
        return config.path
    path = Path(config.path)
    return "--config " + (path.stem if path.parent == SHIPPED_CONFIGS_DIR else config.path)


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
    prefix = required(source.checkpoint_prefix, "a Checkpointer source's checkpoint")
    bundle = bundle_at(checked, prefix)
    found = checkpoints.checkpoint_contents(bundle.bundle)
    unmatched = checkpoints.check_variables(
        expected,
        found,
        prefix,
        config_named(config),
        rebuild_hint(config) if config.inferred else None,
    )
    lost = describe_unmatched(unmatched, config.policy_key)
    if unmatched and not allow_partial:
        raise InputError(
            f"{prefix}: {len(unmatched)} saved variable(s) are not part of the policy "
            f"built from {config_named(config)}, e.g. {unmatched[0]}",
            ("describe the network in a --config" if config.inferred else "fix the config")
            + ", or pass --allow-partial to restore only what matches; it would leave out: "
            + "; ".join(lost),
            path=prefix,
        )
    assigner.assign(bundle.values, prefix)
    side_data = side_data_of(source, checked)
    if normalizer is not None:
        shape = tuple(normalizer.time_step_spec.observation.shape)
        statistics = required(config.normalization, "the [normalization] of a normalized policy")
        normalizer.set_statistics(
            session, *_normalization(statistics, config.path, side_data, prefix, shape)
        )
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


def _normalization(
    norm: NormalizationConfig, config_path: str, side_data: dict, prefix: str, shape: tuple
):
    """(mean, scale) for a config's [normalization], from the checkpoint's NumpyState arrays:
    observations become clip((obs - mean) * scale), scale = 1 / sqrt(variance + epsilon)."""
    names = [norm.mean, norm.std or norm.variance]
    for name in names:
        if name not in side_data:
            available = ", ".join(sorted(side_data)) or "none"
            raise InputError(
                f"{prefix}: has no NumpyState array {name!r} named in {config_path} [normalization]",
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
