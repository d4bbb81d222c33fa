"""What makes a sweep into OUT the same sweep: its runs and every command-line setting a
checkpoint's result depends on (the journal key's, `journal_key.result_settings`, with the
policy, config, env and wrappers as given). Recorded in sweep.json (`settings.identity`).

Running the same sweep into OUT again resumes it (the journal); another sweep is refused
(exit 5) unless --overwrite, naming what differs. Which checkpoints (--steps, --every, --last,
--watch), how the best is picked and confirmed (--select, --confirm-episodes), and how the
episodes run (--num-envs, --vector, --backend) are not part of it: changing them is the same
sweep, extended or resumed. A sweep.json read back is data: only its values are compared.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

from pytfpol.commands.sweep.journal_key import result_settings
from pytfpol.errors import OutputError
from pytfpol.formats import layout
from pytfpol.results import files
from pytfpol.settings import SweepSettings

# Each identity key as the option that sets it, for the messages.
OPTIONS = {
    "runs": "RUN",
    "policy": "--policy",
    "config": "--config",
    "env": "--env",
    "kwargs": "--env-kwargs",
    "max_episode_steps": "--max-episode-steps",
    "wrappers": "--wrapper",
    "episodes": "--episodes",
    "seed": "--seed",
    "stochastic": "--stochastic",
    "allow_partial": "--allow-partial",
    "success_threshold": "--success-threshold",
    "metrics": "--metric",
}

# Keys a recorded identity may lack, and what their absence means: a sweep.json written
# without --metric records no "metrics" (its journal keys have none), so it measured none.
ABSENT_MEANS: dict[str, Any] = {"metrics": []}


def sweep_identity(settings: SweepSettings) -> dict:
    """The sweep's identity, as sweep.json holds it (JSON values)."""
    base = settings.eval
    identity = {
        "runs": [str(Path(p).resolve()) for p in settings.paths],
        "policy": base.policy,
        "config": _config_name(base.config),
        "env": base.env_id,
        "wrappers": [str(w) for w in base.wrappers],
        **result_settings(base),
    }
    return json.loads(json.dumps(identity))


def _config_name(config: Optional[str]) -> Optional[str]:
    """--config: the file it names (resolved), or a shipped config's name as given."""
    if config is None:
        return None
    path = Path(config)
    return str(path.resolve()) if path.exists() else str(config)


def recorded_identity(out: Path) -> Optional[dict]:
    """The identity of the sweep in OUT: the one its sweep.json records; for a sweep.json of
    an earlier pytfpol, what it recorded of it. None when OUT holds no sweep.json of a sweep
    (read as data: never through a symlink, never a FIFO)."""
    document = files.read_json_file(Path(out) / layout.SWEEP_JSON)
    if not isinstance(document, dict) or document.get("kind") != "sweep":
        return None
    settings, policy, env = (_mapping(document.get(k)) for k in ("settings", "policy", "env"))
    recorded = settings.get("identity")
    if isinstance(recorded, dict):
        return recorded
    older = {
        "runs": str(policy.get("resolved_path") or "").split("|"),
        "policy": policy.get("policy"),
        "env": env.get("requested_id", env.get("id")),
        "kwargs": env.get("kwargs"),
        "max_episode_steps": env.get("max_episode_steps"),
        "episodes": settings.get("episodes"),
        "seed": settings.get("seed"),
        "stochastic": policy.get("stochastic"),
    }
    return older


def differences(identity: dict, recorded: dict) -> list[str]:
    """What differs, each as "--seed 3 vs 5 recorded" (only keys the record holds, or whose
    absence means a value: `ABSENT_MEANS`)."""
    given, held = {**ABSENT_MEANS, **identity}, {**ABSENT_MEANS, **recorded}
    return [
        f"{OPTIONS.get(key, key)} {_shown(value)} vs {_shown(held[key])} recorded"
        for key, value in given.items()
        if key in held and held[key] != value
    ]


def check_same_sweep(out: Path, settings: SweepSettings) -> None:
    """Refuse (exit 5) a sweep into an OUT that holds another sweep's results, unless
    --overwrite; before OUT is claimed, locked or written."""
    if settings.eval.overwrite or not Path(out).is_dir():
        return
    recorded = recorded_identity(out)
    if recorded is None:
        return
    found = differences(sweep_identity(settings), recorded)
    if found:
        raise OutputError(
            f"--out {out}: holds another sweep ({'; '.join(found)}); a sweep into an OUT "
            "resumes only the same runs with the same settings",
            "pass --overwrite to replace that sweep's results, or choose another --out",
            path=out,
        )


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return " ".join(str(v) for v in value) or "none"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True) if value else "{}"
    return str(value)


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}
