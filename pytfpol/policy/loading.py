"""Turn a `PolicySource` into a running `PyTFPolicy`: the one entry point to the loaders, which
alone build graphs and sessions (`saved_model`: a PolicySaver SavedModel, with a Learner
checkpoint over it; `rebuilt`: a Checkpointer directory, its policy rebuilt from a config)."""

from __future__ import annotations

from typing import Optional

from pytfpol.formats.sources import FORMAT_CHECKPOINTER, PolicySource
from pytfpol.formats.validation import CheckedInputs, validate
from pytfpol.policy.loaded import LoadedPolicy, LoadOptions
from pytfpol.policy.rebuilt import load_checkpointer, rebuild_hint
from pytfpol.policy.saved_model import (
    SavedModelTFPolicy,
    load_saved_model_policy,
    read_policy_specs,
)

__all__ = [
    "LoadOptions",
    "LoadedPolicy",
    "SavedModelTFPolicy",
    "load_policy",
    "read_policy_specs",
    "rebuild_hint",
]


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
        return load_checkpointer(source, options, env_specs, checked)
    return load_saved_model_policy(source, options, checked)
