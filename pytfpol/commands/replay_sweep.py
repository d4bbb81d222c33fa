"""`pytfpol replay OUT --step N --episode K` on a sweep's OUT: episode K of checkpoint N, as the
sweep evaluated it (`pytfpol eval RUN --step N` with the sweep's settings, episode K alone).

What the sweep ran is read from OUT/sweep.json as data: its identity (`settings.identity`: the
runs and every setting a result depends on), its env (the EnvSpec Gymnasium recorded) and the
checkpoint's entry (its episodes, and its journal key). Before anything runs, the checkpoint is
resolved from the recorded run directory as the sweep resolved it, validated, and its journal
key computed again: the key holds the digests of the checkpoint's files, of the SavedModel's
graph and of the config, so a key that differs from the recorded one means a file changed since
the sweep (exit 3). A config or env id recorded in sweep.json imports nothing by itself
(`--allow-code`, or `--env` given again, as for an eval's replay).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

from pytfpol.commands.sweep.journal_key import checkpoint_key
from pytfpol.errors import InputError, UsageError
from pytfpol.formats import layout, validation
from pytfpol.formats.sources import source_from_layout
from pytfpol.results import documents
from pytfpol.running.plan import policy_config_for
from pytfpol.running.sweep_plan import SweepRun
from pytfpol.settings import EvalSettings, SweepSettings


def sweep_json(out: str | Path) -> Optional[Path]:
    """OUT's sweep.json when OUT is a sweep's output (and not an eval's), else None."""
    out = Path(out)
    if not out.is_dir() or os.path.lexists(out / layout.STATS_JSON):
        return None
    path = out / layout.SWEEP_JSON
    return path if os.path.lexists(path) else None


def step_report(path: Path, step: Optional[int], run: Optional[int]) -> tuple[dict, dict, dict]:
    """(the eval-like report of step `step`'s episodes, its entry, the sweep's identity): what
    replay needs of sweep.json. Without `step`: exit 2 listing the steps that can be replayed."""
    document = documents.read_sweep_report(path).to_dict()
    identity = _identity(document, path)
    entries = [e for e in document["checkpoints"] if _replayable(e)]
    if step is None:
        raise UsageError(
            f"{path.parent}: is a sweep; give --step N, one of the steps it evaluated: "
            f"{_listing(entries, identity)}",
            f"e.g. pytfpol replay {path.parent} --step {_example(entries)} --episode worst; "
            f"{path.parent / layout.BEST_DIR} holds the best checkpoint's fresh-seed episodes",
        )
    entry = _entry(entries, identity, path, step, run)
    report = {
        "policy": {
            "resolved_path": identity["runs"][entry["run"]],
            "checkpoint": entry["checkpoint"],
            "policy": identity.get("policy"),
        },
        "env": document["env"],
        "settings": {
            "stochastic": identity.get("stochastic"),
            "allow_partial": identity.get("allow_partial"),
        },
        "episodes": entry["episodes"],
        "versions": document.get("versions"),
        "output": {"stats": f"{path} (step {step})", "dir": str(path.parent)},
    }
    return report, entry, identity


def _identity(document: dict, path: Path) -> dict:
    """sweep.json's `settings.identity`, with the keys replay relies on, of their types."""
    identity = (document.get("settings") or {}).get("identity")
    if not isinstance(identity, dict) or not _well_typed(identity):
        raise InputError(
            f"{path}: records no usable settings.identity (written by an older pytfpol?): replay "
            "cannot tell which settings the sweep's checkpoints ran with",
            "run the same sweep into it again with this pytfpol (its journal is reused: nothing "
            "is evaluated twice), then replay",
            path=path,
        )
    return identity


def _well_typed(identity: dict) -> bool:
    runs = identity.get("runs")
    return (
        isinstance(runs, list)
        and all(isinstance(r, str) and r for r in runs)
        and isinstance(identity.get("env"), str)
        and all(type(identity.get(k)) is int for k in ("episodes", "seed"))
    )


def _replayable(entry: Any) -> bool:
    """An entry with episodes to replay, under a journal key to check the checkpoint with."""
    return (
        isinstance(entry, dict)
        and entry.get("error") is None
        and isinstance(entry.get("run"), int)
        and isinstance(entry.get("step"), int)
        and isinstance(entry.get("key"), str)
        and isinstance(entry.get("episodes"), list)
        and bool(entry["episodes"])
    )


def _listing(entries: list, identity: dict) -> str:
    if not entries:
        return "none (no checkpoint has a result)"
    runs = sorted({e["run"] for e in entries})
    steps = [", ".join(str(e["step"]) for e in entries if e["run"] == r) for r in runs]
    if len(runs) == 1:
        return steps[0]
    return "; ".join(f"--run {r} ({identity['runs'][r]}): {s}" for r, s in zip(runs, steps))


def _example(entries: list) -> str:
    return str(entries[-1]["step"]) if entries else "N"


def _entry(entries: list, identity: dict, path: Path, step: int, run: Optional[int]) -> dict:
    """The one entry of `step` (of run `run`); exit 2 when there is none, or several."""
    found = [e for e in entries if e["step"] == step and run in (None, e["run"])]
    found = [e for e in found if 0 <= e["run"] < len(identity["runs"])]
    if not found:
        raise UsageError(
            f"--step {step}{'' if run is None else f' --run {run}'}: {path} has no result for "
            f"it; the steps it evaluated: {_listing(entries, identity)}",
            "give one of those steps",
        )
    if len(found) > 1:
        raise UsageError(
            f"--step {step}: {path} has it in {len(found)} runs",
            "choose one with --run "
            + ", ".join(f"{e['run']} ({identity['runs'][e['run']]})" for e in found),
        )
    return found[0]


def check_unchanged(path: Path, entry: dict, identity: dict, env: dict, allow_code: bool) -> dict:
    """Refuse (exit 3) when step `entry`'s checkpoint, or the SavedModel or config that runs
    it, is not what the sweep evaluated: its journal key, computed again from the files as the
    recorded run directory holds them now, must be the recorded one. Returns the settings of
    the policy to load (`replay.settings_for`'s `policy`)."""
    directory = identity["runs"][entry["run"]]
    base = EvalSettings(
        policy_path=directory,
        env_id=identity["env"],
        episodes=identity["episodes"],
        seed=identity["seed"],
        env_kwargs=identity.get("kwargs") or {},
        max_episode_steps=identity.get("max_episode_steps"),
        wrappers=tuple(identity.get("wrappers") or ()),
        policy=identity.get("policy"),
        config=identity.get("config"),
        stochastic=bool(identity.get("stochastic")),
        allow_partial=bool(identity.get("allow_partial")),
        success_threshold=identity.get("success_threshold"),
        allow_code=allow_code,
        config_named_in=str(path),
        env_named_in=str(path),
    )
    run = SweepRun(directory, layout.detect(directory).in_context())
    source = source_from_layout(run.found, base.policy, step=entry["step"])
    checked = validation.validate(source)
    if source.rebuilt:
        run.config = policy_config_for(base, source, checked)
    settings = SweepSettings(paths=tuple(identity["runs"]), eval=base)
    key = checkpoint_key(settings, env["id"], env.get("spec"), {}, source, checked, run)
    if key != entry["key"]:
        raise InputError(
            f"step {entry['step']} of the sweep in {path.parent}: {entry['checkpoint']} (or the "
            "SavedModel or config that runs it) changed since the sweep evaluated it",
            "sweep the run again to evaluate it as it is now, then replay",
            path=entry["checkpoint"],
        )
    return {
        "policy_path": directory,
        "step": entry["step"],
        "policy": base.policy,
        "checkpoint": None,
        "config": base.config,
    }
