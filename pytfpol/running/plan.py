"""Everything an evaluation decides before TensorFlow is imported, and nothing it writes.

`plan_evaluation(settings)`: which files (`sources`), whether every option means something for
them, the environment (made once: a wrong id or keyword argument is reported in a fraction of a
second, not after TensorFlow's 5 s), every file validated and read once (`validation`), and the
policy config that rebuilds a Checkpointer policy. The result is a `Plan` that the run executes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from pytfpol.code_from_data import NamedBy, check_import, in_file, on_command_line
from pytfpol.errors import InputError, UsageError
from pytfpol.formats import validation
from pytfpol.formats.sources import (
    FORMAT_CHECKPOINTER,
    FORMAT_LEARNER,
    PolicySource,
    inapplicable,
    resolve_policy_source,
)
from pytfpol.policy.inference import infer_policy_config
from pytfpol.policy.policy_config import (
    PolicyConfig,
    load_policy_config,
    resolve_config_path,
    shipped_hint,
)
from pytfpol.running.env_spec import EnvSpec, preflight, resolve_env
from pytfpol.running.units import RunOptions, Unit
from pytfpol.settings import EvalSettings


class HoldsFirstEnv:
    """A plan's `first_env`: the env its preflight made, handed over once to whoever runs the
    episodes (the worker reuses it), else closed with the plan."""

    first_env: Any

    def take_first_env(self) -> Any:
        env, self.first_env = self.first_env, None
        return env

    def close(self) -> None:
        env = self.take_first_env()
        if env is not None:
            try:
                env.close()
            except Exception:  # noqa: BLE001 - closing must not hide the run's own outcome
                pass


@dataclass
class Plan(HoldsFirstEnv):
    """What a run will evaluate, checked; `first_env` was made by the preflight (reused)."""

    settings: EvalSettings
    source: PolicySource
    checked: validation.CheckedInputs
    policy_config: Optional[PolicyConfig]
    env: EnvSpec  # with the id Gymnasium really made (CartPole -> CartPole-v1)
    first_env: Any
    notes: tuple[str, ...]  # warnings for stderr and the report
    max_episode_steps: Optional[int] = None  # the env's step limit, if it has one
    recorded_env: Optional[dict] = None  # the env as Gymnasium records it (EnvSpec JSON)

    @property
    def identity(self) -> dict:
        """What makes two reports results of the same evaluation target (see storage)."""
        return {
            "policy": str(Path(self.source.path).resolve()),
            "policy_name": self.source.policy_name,
            "env": self.env.env_id,
        }

    def input_paths(self) -> list[str]:
        """Every directory the run reads; the output may be neither inside nor above them."""
        source = self.source
        paths = [self.settings.policy_path, source.saved_model_dir, source.checkpoint_dir]
        if source.format == FORMAT_LEARNER and source.saved_model_dir is not None:
            paths.append(str(Path(source.saved_model_dir).parent))
        return [p for p in paths if p is not None]

    def unit(self) -> Unit:
        """The evaluation as one unit of work: all its episodes, on this plan's checkpoint."""
        settings = self.settings
        return Unit(
            self.source,
            self.env,
            0,
            settings.episodes,
            settings.seed,
            run_options(settings),
            self.policy_config,
        )

    def units(self, size: Optional[int]) -> list[Unit]:
        """The evaluation as units of `size` episodes (one unit when None). Each runs as many
        envs side by side as it has episodes, up to --num-envs: results do not depend on it."""
        return self.unit().pieces(size)


def run_options(settings: EvalSettings) -> RunOptions:
    """How every unit of a run with `settings` runs its episodes."""
    return RunOptions(
        num_envs=settings.num_envs_used,
        vector=settings.vector,
        stochastic=settings.stochastic,
        allow_partial=settings.allow_partial,
        groups=settings.groups_used,
        metrics=settings.metrics,
    )


def plan_evaluation(settings: EvalSettings) -> Plan:
    """Resolve, check options, make the env, validate every file, choose the config."""
    source = resolve_policy_source(
        settings.policy_path, settings.policy, settings.checkpoint, settings.step
    )
    check_options(settings, source)
    check_env_import(settings)
    spec = env_spec_for(settings)
    made = preflight(spec)
    try:
        checked = validation.validate(
            source, settings.trusted_sha256, keep_bytes=settings.ships_files
        )
        policy_config = policy_config_for(settings, source, checked)
    except BaseException:
        made.env.close()
        raise
    env = dataclasses.replace(spec, env_id=made.made_id)
    notes = (*source.warnings, *made.notes)
    limit = step_limit(settings, made.env)
    return Plan(
        settings, source, checked, policy_config, env, made.env, notes, limit, made.recorded
    )


def env_spec_for(settings: EvalSettings) -> EnvSpec:
    """The env of --env, --env-kwargs, --max-episode-steps and --wrapper (or a recorded spec)."""
    return resolve_env(
        settings.env_id,
        dict(settings.env_kwargs),
        settings.max_episode_steps,
        settings.wrappers,
        settings.env_spec,
        allow_code=settings.allow_code,
    )


def step_limit(settings: EvalSettings, env: Any) -> Optional[int]:
    """The episodes' step limit, when known (for the progress bar)."""
    if settings.max_episode_steps:
        return settings.max_episode_steps
    limit = getattr(getattr(env, "spec", None), "max_episode_steps", None)
    while limit is None and env is not None:  # a RecordedTimeLimit among the wrappers
        limit = getattr(env, "_max_episode_steps", None)
        env = getattr(env, "env", None)
    return limit


def check_options(settings: EvalSettings, source: PolicySource) -> None:
    """Refuse options that mean nothing for this kind of input (exit 2), never ignore them."""
    if source.format != FORMAT_CHECKPOINTER:
        why = "its graph and weights are saved with it; no network is rebuilt"
        if settings.config is not None:
            raise inapplicable("--config", source, why)
        if settings.allow_partial:
            raise inapplicable("--allow-partial", source, why)


def policy_config_for(
    settings: EvalSettings, source: PolicySource, checked: validation.CheckedInputs
) -> Optional[PolicyConfig]:
    """The config that rebuilds a Checkpointer policy: --config, else the one saved with it,
    else inferred from the variables of TF-Agents' own networks (docs/networks.md), with
    what the variables do not record read from a SavedModel of the same run beside it."""
    if source.format != FORMAT_CHECKPOINTER:
        return None
    given = given_config(settings, source)
    if given is not None:
        return given
    prefix = source.checkpoint_prefix
    validated = checked.get(prefix)
    if prefix is None or validated is None:  # pragma: no cover - validate() read every bundle
        raise AssertionError(f"{source.checkpoint_dir}: its checkpoint was not validated")
    bundle = validated.bundle
    shapes = {key: entry.shape for key, entry in bundle.entries.items()}
    if not any(key.startswith("policy/") for key in shapes):
        raise InputError(
            f"{source.checkpoint_prefix}: holds no policy (no variable under policy/): "
            "not a checkpoint of a TF-Agents policy",
            "point at the directory the policy was checkpointed into (e.g. train_dir/policy), "
            "or pass --config naming where the policy is saved ([checkpoint] policy)",
            path=source.checkpoint_prefix,
        )
    inferred = infer_policy_config(shapes, prefix)
    if inferred is not None:
        return inferred
    raise UsageError(
        f"{source.checkpoint_dir}: is a common.Checkpointer directory, which holds weights but "
        "no network, and its variables are not those of a TF-Agents policy over one of "
        "TF-Agents' own networks (docs/networks.md lists them): pytfpol needs --config to "
        "rebuild it",
        shipped_hint(),
        path=source.checkpoint_dir,
    )


def given_config(settings: EvalSettings, source: PolicySource) -> Optional[PolicyConfig]:
    """--config, else the config saved with the checkpoint (None: neither), its factory
    allowed to be imported or refused (exit 2): a config found on disk never runs code."""
    if settings.config is not None:
        path = resolve_config_path(settings.config)
        if settings.config_named_in is None:
            return load_config(path, on_command_line("--config"), settings.allow_code)
        return load_config(path, in_file(path, "factory"), settings.allow_code)
    if source.bundled_config is not None:
        bundled = source.bundled_config
        named_by = in_file(bundled, "factory", f"give it as --config {bundled}")
        return load_config(bundled, named_by, settings.allow_code)
    return None


def load_config(path: str | Path, named_by: NamedBy, allow_code: bool) -> PolicyConfig:
    """A policy config whose factory, if it has one, may be imported (else exit 2, before
    anything is imported): a config found on disk is data, not a request to run code."""
    config = load_policy_config(path)
    if config.factory is not None:
        check_import(config.factory, named_by, allow_code)
    return config


def check_env_import(settings: EvalSettings) -> None:
    """The `module:` of a `module:ID` env id is imported by Gymnasium: only when the command
    line named the id, or --allow-code (exit 2 before Gymnasium sees the id)."""
    if settings.env_named_in is None:
        named_by = on_command_line("--env")
    else:
        named_by = in_file(
            settings.env_named_in, "env.id", f"give the env again with --env {settings.env_id}"
        )
    check_import(settings.env_id, named_by, settings.allow_code)
