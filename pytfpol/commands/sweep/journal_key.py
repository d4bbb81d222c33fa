"""The journal key of a checkpoint's evaluation: everything its result depends on (the
checkpoint's bytes, the SavedModel's graph, the config, the env, the episodes, the seed,
sampling, what counts as success), and nothing else (how the episodes run, what is reported).
A re-run or a resumed sweep reuses an entry only under the same key (`results.journal`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

from pytfpol.formats import layout, validation
from pytfpol.results import journal as journal_module
from pytfpol.running.sweep_plan import SweepRun
from pytfpol.settings import EvalSettings, SweepSettings


def checkpoint_key(
    settings: SweepSettings,
    env_id: str,
    recorded_env: Any,
    graph_digests: dict[str, str],
    source: Any,
    checked: Any,
    run: SweepRun,
) -> str:
    """The key of `source` (validated as `checked`) of `run`, evaluated with `settings` on the
    env Gymnasium made as `env_id` (`recorded_env`: its whole EnvSpec JSON, wrappers and all)."""
    base = settings.eval
    return journal_module.checkpoint_key(
        [bundle.digest for bundle in checked.bundles.values()],
        {
            "saved_model_pb": saved_model_digest(graph_digests, source.saved_model_dir),
            "config": None if run.config is None else run.config.source_text or repr(run.config),
            "policy": source.policy_name,
            "env": env_id,
            "env_spec": recorded_env,  # wrappers and all: another env re-runs
            **result_settings(base),
        },
    )


def result_settings(base: EvalSettings) -> dict:
    """The settings given on the command line that a checkpoint's result depends on: part of
    its journal key, and of the sweep's identity (`sweep.identity`: another sweep into OUT)."""
    return {
        "kwargs": dict(base.env_kwargs),
        "max_episode_steps": base.max_episode_steps,
        "episodes": base.episodes,
        "seed": base.seed,
        "stochastic": base.stochastic,
        "allow_partial": base.allow_partial,
        "success_threshold": base.success_threshold,
        # only with --metric: the keys of sweeps without one stay what they were
        **(
            {"metrics": [f"{m.name}:{m.aggregation}" for m in base.metrics]} if base.metrics else {}
        ),
    }


def saved_model_digest(
    graph_digests: dict[str, str], saved_model_dir: Optional[str]
) -> Optional[str]:
    """The sha256 of the SavedModel's `saved_model.pb` (its content: an edit that keeps the
    size and the time stamp is still a new key), hashed once per SavedModel per sweep and
    kept in `graph_digests` (every checkpoint of a Learner run shares one)."""
    if saved_model_dir is None:
        return None
    directory = os.path.abspath(saved_model_dir)
    digest = graph_digests.get(directory)
    if digest is None:
        pb = Path(directory) / layout.SAVED_MODEL_PB
        digest = validation.sha256_of_regular_file(pb)
        graph_digests[directory] = digest
    return digest
