"""`pytfpol inspect PATH` as one JSON-ready report: what PATH is (`layout.detect`), then the
checkpoint, listing, SavedModel or eval output it holds; and the checkpoint a PATH [--step N]
names, for reading single arrays from it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import numpy as np

from pytfpol.errors import InputError, UsageError
from pytfpol.formats import checkpoint_reader as cr
from pytfpol.formats import layout as lay
from pytfpol.formats import report_documents
from pytfpol.formats.inspect_checkpoint import (
    EVALUATION_PREFIX,
    HISTORY_COLUMNS,
    HISTORY_KEY,
    KIND_CHECKPOINT,
    KIND_CHECKPOINTER,
    KIND_LEARNER,
    KIND_POLICY_CHECKPOINT,
    KIND_SAVED_MODEL,
    KIND_SAVED_MODEL_SERIES,
    SCHEMA_VERSION,
    _variables_prefix,
    describe_checkpoint,
    dtype_name,
    json_number,
    json_value,
    load_py_state,
    numeric_stats,
    read_value,
)
from pytfpol.formats.inspect_listing import (
    _describe_selected,
    _iso,
    checkpoint_listing,
)
from pytfpol.formats.inspect_saved_model import (
    describe_saved_model,
)

# ----------------------------------------------------------------------------- entry points


def inspect_path(path: str | os.PathLike, step: Optional[int] = None) -> dict:
    """Everything `pytfpol inspect PATH` shows, as one JSON-ready dict (see docs/inspect.md)."""
    found = lay.detect(path)
    kind = found.kind
    report: dict = {
        "schema_version": SCHEMA_VERSION,
        "path": os.fspath(path),
        "kind": kind,
        "checkpoint": None,
        "checkpoints": None,
        "saved_model": None,
        "saved_models": None,
        "evaluation": None,
        "warnings": [],
    }
    if step is not None and kind in (KIND_CHECKPOINT, KIND_POLICY_CHECKPOINT, KIND_SAVED_MODEL):
        raise UsageError(
            f"--step: {path} is a single checkpoint ({kind}), not a directory of checkpoints",
            "use --step with a Checkpointer directory, a Learner policies/ root, a "
            "policy_saved_model/ folder or an eval output",
        )
    directory = Path(found.directory)
    if kind == KIND_CHECKPOINT:
        report["checkpoint"] = describe_checkpoint(_given(found).prefix)
    elif kind == KIND_POLICY_CHECKPOINT:
        entry = _given(found)
        report["checkpoint"] = describe_checkpoint(entry.prefix, step=entry.step)
    elif kind == KIND_CHECKPOINTER:
        report["checkpoints"] = checkpoint_listing(found)
        report["checkpoint"] = _describe_selected(found, report, step)
    elif kind == KIND_SAVED_MODEL:
        report["saved_model"] = describe_saved_model(directory)
        report["checkpoint"] = describe_checkpoint(_variables_prefix(directory))
    elif kind == KIND_SAVED_MODEL_SERIES:
        _fill_series(report, found, step)
    elif kind == KIND_LEARNER:
        _fill_learner(report, found, step)
    else:
        _fill_eval_output(report, found, step)
    return report


def _given(found: lay.Layout) -> lay.Checkpoint:
    """The checkpoint PATH itself named (`detect` sets it for a single checkpoint)."""
    if found.given_checkpoint is None:
        raise InputError(f"{found.path}: names no checkpoint", "give a checkpoint", path=found.path)
    return found.given_checkpoint


def detect(path: str | os.PathLike) -> tuple[str, Path]:
    """(kind, the directory or prefix to read) for any PATH `inspect` accepts (see `layout`)."""
    found = lay.detect(path)
    if found.given_checkpoint is not None and found.kind == KIND_CHECKPOINT:
        return found.kind, Path(found.given_checkpoint.prefix)
    return found.kind, Path(found.directory)


# ----------------------------------------------------------------------------- Learner roots and eval outputs


def _fill_learner(report: dict, found: lay.Layout, step: Optional[int]) -> None:
    report["saved_models"] = {
        Path(directory).name: describe_saved_model(Path(directory))
        for directory in found.saved_models.values()
        if os.path.lexists(Path(directory) / lay.SAVED_MODEL_PB)
    }
    report["checkpoints"] = checkpoint_listing(found)
    if found.checkpoints or step is not None:
        report["checkpoint"] = _describe_selected(found, report, step)
    else:  # no checkpoints yet: the weights are the SavedModel's own
        first = next(iter(report["saved_models"]))
        report["checkpoint"] = describe_checkpoint(_variables_prefix(Path(found.directory) / first))


def _fill_series(report: dict, found: lay.Layout, step: Optional[int]) -> None:
    """PPO's policy_saved_model/: every policy_<step> SavedModel; the selected one described."""
    report["checkpoints"] = checkpoint_listing(found)
    report["checkpoint"] = _describe_selected(found, report, step)
    selected = report["checkpoints"]["selected"]
    chosen = next((c for c in found.checkpoints if c.name == selected), None)
    if chosen is not None and chosen.saved_model is not None:  # a series' always has one
        report["saved_model"] = describe_saved_model(Path(chosen.saved_model))


def _fill_eval_output(report: dict, found: lay.Layout, step: Optional[int]) -> None:
    """stats.json (complete or not), the policy checkpoint if the run wrote one, and the
    history of evaluations kept in checkpoint/evaluation/ (or, from pytfpol 0.1, inside it)."""
    directory = Path(found.directory)
    stats = _read_stats(directory / lay.STATS_JSON)
    checkpoint_dir = directory / lay.OUTPUT_CHECKPOINT_DIR
    prefixes = [str(checkpoint_dir / lay.EVALUATION_PREFIX)]
    if found.checkpoints:
        ckpt_names = all(lay.CKPT_NAME_RE.match(c.name) for c in found.checkpoints)
        listing_layout = lay.Layout(
            KIND_CHECKPOINTER if ckpt_names else KIND_POLICY_CHECKPOINT,
            found.path,
            str(checkpoint_dir),
            checkpoints=found.checkpoints,
        )
        report["checkpoints"] = checkpoint_listing(listing_layout)
        report["checkpoint"] = _describe_selected(listing_layout, report, step)
        if report["checkpoint"]:
            prefixes.append(report["checkpoint"]["prefix"])
    elif step is not None:
        raise UsageError(f"--step {step}: {directory} holds no policy checkpoint", "drop --step")
    history = next(
        (
            rows
            for prefix in prefixes
            if os.path.lexists(f"{prefix}.index") and (rows := _history_array(prefix))
        ),
        None,
    )
    if history is None and report["checkpoints"]:
        history = evaluation_history(report["checkpoints"])
    report["evaluation"] = {"stats": stats, "history": history}


def _history_array(prefix: str) -> Optional[list]:
    """Rows of the `evaluation/history` array `pytfpol eval` carries forward, if there is one."""
    bundle = cr.open_bundle(prefix)
    if HISTORY_KEY not in bundle.entries:
        return None
    try:
        table = load_py_state(bundle, HISTORY_KEY)
    except InputError:
        return None  # refused: listed under "refused" with the reason already
    if table.ndim != 2 or table.shape[1] != len(HISTORY_COLUMNS) or table.dtype.kind not in "iuf":
        return None
    rows = []
    for values in table.astype(np.float64):
        row: dict[str, object] = dict(zip(HISTORY_COLUMNS, (json_number(v) for v in values)))
        for name in ("train_step", "episodes"):
            number = row[name]
            if isinstance(number, float) and number.is_integer():
                row[name] = int(number)
        stamp = values[-1]
        row["time"] = _iso(stamp) if np.isfinite(stamp) and 0 <= stamp < 1e11 else None
        rows.append(row)
    return rows


def _read_stats(path: Path) -> dict:
    """The parts of stats.json worth showing next to the history (read and validated by the
    one reader of stats.json, `report_documents`: InputError, exit 3, when invalid)."""
    report = report_documents.read_eval_report(path)
    policy = report.policy
    return {
        "schema_version": report.schema_version,
        "created": report.created,
        "complete": report.complete,
        "error": report.error,
        "policy": policy.get("path"),
        "checkpoint": policy.get("checkpoint"),
        "train_step": policy.get("train_step"),
        "env": report.env.get("id"),
        "summary": report.summary,
    }


def evaluation_history(listing: dict) -> Optional[list]:
    """One row per checkpoint holding a NumpyState `evaluation` object; None when none does."""
    rows = []
    for entry in listing["entries"]:
        if entry["missing"] or entry["problem"]:
            continue
        bundle = cr.open_bundle(entry["prefix"])
        values = {}
        for key in bundle.entries:
            if key.startswith(EVALUATION_PREFIX) and key.endswith(cr.PY_STATE_SUFFIX):
                name = cr.short_name(key)[len(EVALUATION_PREFIX) :]
                try:
                    values[name] = _history_value(load_py_state(bundle, key))
                except InputError as exc:
                    values[name] = {"refused": exc.message}
        if values:
            rows.append(
                {
                    "name": entry["name"],
                    "step": entry["step"],
                    "time": entry["time"],
                    "values": values,
                }
            )
    return rows or None


def _history_value(array: np.ndarray):
    if array.shape == () or array.size == 1 and array.ndim <= 1:
        return json_value(array.reshape(()))
    summary = {"dtype": dtype_name(array.dtype), "shape": list(array.shape)}
    summary.update({k: v for k, v in numeric_stats(array).items() if k in ("min", "max", "mean")})
    return summary


def resolve_checkpoint(path: str | os.PathLike, step: Optional[int] = None) -> str:
    """The one checkpoint prefix `inspect PATH [--step N]` reads arrays/variables from."""
    kind, target = detect(path)
    if kind in (KIND_CHECKPOINT, KIND_POLICY_CHECKPOINT, KIND_SAVED_MODEL):
        if step is not None:
            raise UsageError(f"--step: {path} is a single checkpoint ({kind})", "drop --step")
        return os.fspath(target if kind == KIND_CHECKPOINT else _variables_prefix(target))
    report = inspect_path(path, step)
    if report["checkpoint"] is None:
        raise InputError(f"{path}: holds no checkpoint", "give a checkpoint prefix", path=path)
    return report["checkpoint"]["prefix"]


def find_key(bundle: cr.Bundle, name: str) -> str:
    """The key `name` means: a full key, or a name without its /.ATTRIBUTES/... suffix."""
    if name in bundle.entries:
        return name
    matches = [k for k in bundle.entries if cr.short_name(k) == name.rstrip("/")]
    if len(matches) == 1:
        return matches[0]
    close = [cr.short_name(k) for k in bundle.entries if name.lower() in k.lower()][:5]
    raise UsageError(
        f"--array {name}: no such array or variable in {bundle.prefix}"
        + (" (ambiguous)" if matches else ""),
        ("did you mean: " + ", ".join(close)) if close else "list the names with `pytfpol inspect`",
    )


def read_array(
    path: str | os.PathLike, name: str, step: Optional[int] = None
) -> tuple[str, np.ndarray]:
    """(full key, value) of one NumpyState array or variable."""
    bundle = cr.open_bundle(resolve_checkpoint(path, step))
    key = find_key(bundle, name)
    return key, read_value(bundle, key)
