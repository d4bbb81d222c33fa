"""A sweep's output documents: sweep.json's document (`sweep_document`, built as a dict; the
schema is `results.sweep_report.SWEEP_SCHEMA_VERSION`), and the files staged from it
(`write_documents`: curve.csv, episodes.csv, curve.png, TensorBoard events, sweep.json), and
the error a document with failed checkpoints makes (`failures`)."""

from __future__ import annotations

import datetime as _dt
import time
from pathlib import Path
from typing import Any, Optional

from pytfpol import gates
from pytfpol.commands.sweep import reuse
from pytfpol.commands.sweep.identity import sweep_identity
from pytfpol.commands.sweep.state import SweepState
from pytfpol.errors import InputError, PytfpolError, RunError
from pytfpol.formats import layout
from pytfpol.results import files, plots, report, sweep_report
from pytfpol.results.documents import SweepReport, write_sweep_report
from pytfpol.running.units import LOCAL_BACKEND, unit_size
from pytfpol.settings import SweepSettings


def identity(settings: SweepSettings, plan: Any) -> dict:
    """What OUT's claim names the sweep by (a re-run into OUT must be the same sweep)."""
    return {
        "policy": "|".join(str(Path(p).resolve()) for p in settings.paths),
        "policy_name": settings.eval.policy,
        "env": plan.env.env_id,
    }


def sweep_document(
    state: SweepState, best: Optional[dict], stopped: Optional[PytfpolError]
) -> dict:
    """sweep.json's document: the runs, every checkpoint's entry, the best and its
    confirmation, the gates (judging the confirmation, else the best's summary)."""
    settings, base = state.settings, state.settings.eval
    runs = _runs(state)
    overall = _overall(best, runs, settings.select)
    judged = (overall or {}).get("confirmation") or ((overall or {}).get("summary") or {})
    gate_results = gates.evaluate(base.all_gates, judged, stopped is None and bool(overall))
    entries = sorted(state.entries, key=lambda e: (e["run"], e["step"] is None, e["step"] or 0))
    return {
        "schema_version": sweep_report.SWEEP_SCHEMA_VERSION,
        "kind": "sweep",
        "complete": stopped is None,
        "error": None
        if stopped is None
        else {"message": stopped.message, "exit_code": stopped.exit_code},
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "policy": {
            "path": " ".join(settings.paths),
            "resolved_path": identity(settings, state.plan)["policy"],
            "policy": base.policy,
            "stochastic": base.stochastic,
        },
        "env": report.env_block(base, state.plan.env.env_id, state.plan.recorded_env),
        "settings": _settings(settings),
        "runs": runs,
        "checkpoints": entries,
        "backend": _backend(state),
        "best": overall,
        "aggregate": sweep_report.aggregate(entries, list(settings.paths), settings.select),
        "gates": gate_results,
        "passed": stopped is None
        and bool(gate_results or overall)
        and all(g["passed"] for g in gate_results),
        "warnings": state.notes,
        "timing": {
            "seconds": round(time.perf_counter() - state.started, 3),
            "wall_seconds": round(report.process_seconds(), 3),
        },
        "versions": report.versions(),
        "output": _outputs(state, overall),
    }


def _runs(state: SweepState) -> list[dict]:
    select = state.settings.select
    runs = []
    for number, run in enumerate(state.plan.runs):
        chosen = getattr(run, "best", None)
        runs.append(
            {
                "path": run.path,
                "directory": run.found.directory,
                "kind": run.found.kind,
                "checkpoints": sum(1 for e in state.entries if e["run"] == number),
                "best": None if chosen is None else _best_summary(chosen, select),
            }
        )
    return runs


def _overall(best: Optional[dict], runs: list[dict], select: str) -> Optional[dict]:
    """The best of all, with its confirmation and video (also put on its run's best)."""
    if best is None:
        return None
    overall = _best_summary(best["entry"], select)
    confirmation = best["confirmation"]
    overall["confirmation"] = None if confirmation is None else confirmation["summary"]
    overall["output"] = None if confirmation is None else confirmation["output"]["dir"]
    overall["video"] = best["video"]
    run_best = runs[best["entry"]["run"]]["best"]
    run_best["video"] = best["video"]
    run_best["confirmation"] = overall["confirmation"]
    return overall


def _best_summary(entry: dict, statistic: str) -> dict:
    return {
        "run": entry["run"],
        "step": entry["step"],
        "checkpoint": entry["checkpoint"],
        "statistic": statistic,
        "value": entry["summary"][statistic],
        "summary": entry["summary"],
        "confirmation": None,
        "video": None,
    }


def _settings(settings: SweepSettings) -> dict:
    base = settings.eval
    return {
        "episodes": base.episodes,
        "seed": base.seed,
        "num_envs": base.num_envs_used,
        "vector": base.vector,
        "select": settings.select,
        "confirm_episodes": settings.confirm,
        "steps": None if settings.steps is None else list(settings.steps),
        "every": settings.every,
        "last": settings.last,
        "watch": settings.watch,
        "identity": sweep_identity(settings),  # what another sweep into OUT is told apart by
    }


def _outputs(state: SweepState, overall: Optional[dict]) -> dict:
    out = state.out
    return {
        "dir": str(out),
        "sweep": str(out / layout.SWEEP_JSON),
        "curve": str(out / layout.CURVE_CSV),
        "episodes": str(out / layout.EPISODES_CSV),
        "plot": str(out / layout.CURVE_PNG),
        "tensorboard": str(_tensorboard_dir(state.settings, out)),
        "best": str(out / layout.BEST_DIR) if overall and overall["output"] else None,
    }


def _backend(state: SweepState) -> dict:
    """Who ran the units (backend, address without credentials, actors) and where each
    unit ran (host, process, attempts)."""
    base = state.settings.eval
    remote = state.remote
    size = unit_size(base.episodes, base.unit_episodes, state.workers(), state.checkpoint_count())
    units = sorted(
        state.units,
        key=lambda u: (u["run"] is None, u["run"] or 0, u["step"] or 0, u["first"]),
    )
    described = LOCAL_BACKEND if remote is None else remote.describe()
    return {**described, "unit_episodes": size or base.episodes, "units": units}


def _tensorboard_dir(settings: SweepSettings, out: Path) -> Path:
    """--tensorboard DIR, else OUT's own (staged with the rest)."""
    if settings.tensorboard:
        return Path(settings.tensorboard)
    return out / layout.TENSORBOARD_DIR


def write_documents(
    settings: SweepSettings,
    stage: Path,
    document: SweepReport,
    journal: Any = None,
    plotter: Any = None,
) -> None:
    """The sweep's files from its document, into the staging directory (sweep.json last, by
    its one writer); with the sweep's `journal`, OUT's curve.png is kept when it shows the
    same (`reuse`); else drawn by the sweep's `plotter` (`results.plot_process`) if it
    started one."""
    entries = document.checkpoints
    files.write_atomic(stage / layout.CURVE_CSV, sweep_report.curve_csv(entries).encode())
    files.write_atomic(stage / layout.EPISODES_CSV, sweep_report.episodes_csv(entries).encode())
    if any(e["error"] is None for e in entries):
        _write_curve_plot(document.as_document(), stage, journal, plotter)
    board = _tensorboard_dir(settings, stage)
    sweep_report.write_tensorboard(board, document, list(settings.paths))
    write_sweep_report(stage, document)


def _write_curve_plot(document: dict, stage: Path, journal: Any, plotter: Any) -> None:
    """curve.png: importing matplotlib is most of what a re-run with nothing new costs, so
    OUT's own is kept when the journal says it was drawn from the same document; else the
    plot child draws it (matplotlib imported there meanwhile), or this process."""
    name = layout.CURVE_PNG
    draw = plots.write_curve_plot if plotter is None else plotter.write_curve_plot
    if journal is None:
        draw(document, stage / name)
        return
    key, out = reuse.curve_key(document), Path(document["output"]["dir"])
    if not reuse.carry_over(journal, key, out, stage, name):
        draw(document, stage / name)
        reuse.remember(journal, key, stage, name)


def failures(document: SweepReport) -> Optional[PytfpolError]:
    """The error of a sweep some of whose checkpoints could not be evaluated (exit 3 when
    the first was an input's fault, else 4), None when every one was."""
    failed = [e for e in document.checkpoints if e["error"] is not None]
    if not failed:
        return None
    first = failed[0]
    error = (InputError if first["error"]["exit_code"] == 3 else RunError)(
        f"{len(failed)} of {len(document.checkpoints)} checkpoints could not be "
        f"evaluated, e.g. step {first['step']}: {first['error']['message']}",
        f"the others are in {document.output['sweep']}",
    )
    error.exit_code = first["error"]["exit_code"]
    return error
