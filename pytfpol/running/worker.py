"""A worker: one policy graph and one set of environments, reused for every unit it can run.

The graph is built once (the slow part: about 3 s of AutoGraph); each unit's checkpoint is
restored into it (`LoadedPolicy.restore`: the same path the first checkpoint took), then the
unit's episodes run with the batched loop. A worker knows no files but the ones its units name and
no UI: progress goes through callbacks, failures into the `UnitResult`. The in-process runner
holds one; worker processes and Ray actors will hold one each, built from the same units.
"""

from __future__ import annotations

import socket
import time
from typing import Any, Callable, Optional

from pytfpol.errors import PytfpolError
from pytfpol.formats.validation import CheckedInputs
from pytfpol.policy import loading
from pytfpol.running import envs, evaluation, vector
from pytfpol.running.units import Unit, UnitResult


class PolicyWorker:
    """Runs units whose policy shares one graph: built from the first unit, restored for the
    others (`accepts` says which). `first_env`, an env already made for the unit's spec, is
    reused (the driver's preflight env) or closed."""

    def __init__(self, unit: Unit, checked: CheckedInputs, first_env: Any = None) -> None:
        first = first_env if first_env is not None else unit.env.make()
        stepper = None
        loaded: Optional[loading.LoadedPolicy] = None
        try:
            env_specs = {
                "observation": envs.space_to_spec(first.observation_space, "observation"),
                "action": envs.space_to_spec(first.action_space, "action"),
            }
            options = loading.LoadOptions(
                batch_size=unit.options.policy_batch_size,
                config=unit.config,
                stochastic=unit.options.stochastic,
                seed=unit.seed,
                allow_partial=unit.options.allow_partial,
            )
            loaded = loading.load_policy(
                unit.source, options, envs.tensor_specs(env_specs), checked
            )
            envs.check_specs(
                unit.env.env_id,
                str(unit.source.saved_model_dir or unit.source.checkpoint_prefix),
                env_specs,
                {"observation": loaded.observation_spec, "action": loaded.action_spec},
            )
            stepper = vector.make_stepper(
                unit.options.vector,
                unit.env,
                unit.options.num_envs,
                first,
                metrics=unit.options.metrics,
            )
            first = None
        except BaseException:
            for resource in (first, stepper, loaded):
                _close_quietly(resource)
            raise
        self.loaded = loaded
        self.stepper = stepper
        self.unit = unit
        self.current = unit.source

    def accepts(self, unit: Unit) -> bool:
        """Whether `unit` can run here: the same environments and run options, and a policy of
        the same graph (a checkpoint of the same SavedModel, or of the same config)."""
        same_run = unit.env == self.unit.env and unit.options == self.unit.options
        return same_run and _graph_key(unit) == _graph_key(self.unit)

    def run(
        self,
        unit: Unit,
        checked: CheckedInputs,
        on_episode: Optional[Callable] = None,
        on_step: Optional[Callable[[int], None]] = None,
        deadline: Optional[float] = None,
        timeout: Optional[float] = None,
        observer: Optional[evaluation.EpisodeObserver] = None,
    ) -> UnitResult:
        """Restore `unit`'s checkpoint if it is not the one loaded, run its episodes. A failure
        while restoring is raised (nothing ran); one while running is the result's `error`, with
        the episodes completed before it."""
        started = time.perf_counter()
        if unit.source != self.current:
            self.loaded.restore(unit.source, checked)
            self.current = unit.source
        result = UnitResult(unit, train_step=self.loaded.train_step, worker=socket.gethostname())
        result.restore_seconds = time.perf_counter() - started
        try:
            with self.loaded.session.as_default():
                episodes = evaluation.run_episodes(
                    self.loaded.py_policy,
                    self.stepper,
                    unit.count,
                    unit.seed,
                    on_episode=on_episode,
                    deadline=deadline,
                    timeout=timeout,
                    on_step=on_step,
                    first=unit.first,
                    observer=observer,
                    groups=unit.options.groups,
                )
        except PytfpolError as exc:
            if exc.completed is None:
                raise
            episodes, result.error = exc.completed, exc
        result.records = episodes
        result.seconds = time.perf_counter() - started
        return result

    def close(self) -> None:
        _close_quietly(self.stepper)
        _close_quietly(self.loaded)


def _graph_key(unit: Unit) -> tuple:
    source = unit.source
    if source.saved_model_dir is not None:
        return ("saved_model", source.saved_model_dir)
    return ("checkpointer", unit.config)


def _close_quietly(resource) -> None:
    if resource is None:
        return
    try:
        resource.close()
    except Exception:  # noqa: BLE001 - closing must not hide the run's own outcome
        pass
