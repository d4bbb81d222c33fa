"""A policy once loaded, whatever it was loaded from: `LoadOptions`, `LoadedPolicy`, and the
session and `PyTFPolicy` every loader (`saved_model`, `rebuilt`) builds the same way."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, TypeVar

from pytfpol.errors import InputError, PytfpolError, first_line
from pytfpol.formats import layout
from pytfpol.formats.sources import PolicySource
from pytfpol.formats.validation import CheckedBundle, CheckedInputs
from pytfpol.policy.policy_config import PolicyConfig
from pytfpol.policy.quiet_tf import import_tf

tf = import_tf()

from tf_agents.policies import py_tf_policy  # noqa: E402

from pytfpol.policy import batch_call, checkpoints, invariance, sampling  # noqa: E402

T = TypeVar("T")


def required(value: Optional[T], what: str) -> T:
    """`value`, which the source's format guarantees (`resolve_policy_source` and `validate` set
    it for every source they return): None here is pytfpol's own bug, not the user's input."""
    if value is None:  # pragma: no cover - an internal error, with its traceback
        raise AssertionError(f"{what} is missing")
    return value


def bundle_at(checked: CheckedInputs, prefix: Optional[str]) -> CheckedBundle:
    """The validated checkpoint at `prefix` (validation reads every checkpoint of a source)."""
    return required(checked.get(prefix), f"the validated checkpoint {prefix}")


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
        restorer = required(self.restorer, "the restorer of a loaded policy")
        for name, value in restorer(source, checked).items():
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


def require_initialized(session, where: str) -> None:
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


def as_py_policy(policy, options: LoadOptions, session, path: str, saved_model: bool = True):
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
def new_session(options: LoadOptions) -> Iterator[Any]:
    """A session on a fresh graph, closed if loading into it fails (kept open otherwise)."""
    config = invariance.session_config() if options.batch_invariant else None
    config = batch_call.session_config(config)  # ops run in the calling thread
    session = tf.compat.v1.Session(graph=tf.Graph(), config=config)
    try:
        yield session
    except BaseException:
        session.close()
        raise


def side_data_of(source: PolicySource, checked: CheckedInputs) -> dict:
    """NumpyState arrays of the checkpoint, and of an eval output's evaluation/ beside it (an
    earlier pytfpol eval's history and the side data it carried), already decoded."""
    side: dict = {}
    for prefix in (source.evaluation_prefix, source.checkpoint_prefix):
        bundle = checked.get(prefix)
        if bundle is not None:
            side.update(bundle.side_data)
    return side


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
