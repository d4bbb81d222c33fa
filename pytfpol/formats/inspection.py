"""Describe what is saved in a checkpoint, a SavedModel or an eval output, as plain data.

Why here and like this: `pytfpol inspect` is run often, so it never builds a policy and never
imports TensorFlow; everything comes from `checkpoint_reader`, which validates as it reads.
Reading has no side effects; the only thing written is an explicitly requested `--export` file,
which may not be inside the input.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import math
import os
import re
from pathlib import Path
from typing import Iterable, Optional

import numpy as np

from pytfpol.errors import InputError, OutputError, PytfpolError, UsageError
from pytfpol.formats import checkpoint_reader as cr
from pytfpol.formats import input_files
from pytfpol.formats import layout as lay

SCHEMA_VERSION = 1
KIND_CHECKPOINT = lay.KIND_CHECKPOINT
KIND_CHECKPOINTER = lay.KIND_CHECKPOINTER
KIND_SAVED_MODEL = lay.KIND_SAVED_MODEL
KIND_LEARNER = lay.KIND_LEARNER
KIND_POLICY_CHECKPOINT = lay.KIND_POLICY_CHECKPOINT
KIND_EVAL_OUTPUT = lay.KIND_EVAL_OUTPUT
KIND_SAVED_MODEL_SERIES = lay.KIND_SAVED_MODEL_SERIES
STEP_KEYS = ("train_step/.ATTRIBUTES/VARIABLE_VALUE", "global_step/.ATTRIBUTES/VARIABLE_VALUE")
EVALUATION_PREFIX = "evaluation/"
HISTORY_KEY = "evaluation/history/.ATTRIBUTES/py_state"
HISTORY_COLUMNS = lay.HISTORY_COLUMNS
CKPT_RE = re.compile(r"^(?:.*-)?(\d+)$")


# ----------------------------------------------------------------------------- entry points


def inspect_path(path: str | os.PathLike, step: Optional[int] = None) -> dict:
    """Everything `pytfpol inspect PATH` shows, as one JSON-ready dict (see docs/inspect.md)."""
    found = lay.detect(path)
    kind = found.kind
    report = {
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
        report["checkpoint"] = describe_checkpoint(found.given_checkpoint.prefix)
    elif kind == KIND_POLICY_CHECKPOINT:
        entry = found.given_checkpoint
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


def detect(path: str | os.PathLike) -> tuple[str, Path]:
    """(kind, the directory or prefix to read) for any PATH `inspect` accepts (see `layout`)."""
    found = lay.detect(path)
    if found.given_checkpoint is not None and found.kind == KIND_CHECKPOINT:
        return found.kind, Path(found.given_checkpoint.prefix)
    return found.kind, Path(found.directory)


# ----------------------------------------------------------------------------- one checkpoint


def describe_checkpoint(prefix: str | os.PathLike, step: Optional[int] = None) -> dict:
    """Variables (name, dtype, shape, bytes) and decoded NumpyState arrays of one bundle."""
    bundle = cr.open_bundle(prefix)
    arrays, refused, variables = [], [], []
    for key, entry in bundle.entries.items():
        if key == cr.OBJECT_GRAPH_KEY:
            continue
        if entry.is_py_state:
            try:
                arrays.append(array_summary(key, load_py_state(bundle, key)))
            except InputError as exc:
                if not exc.message.startswith(f"{key}: NumpyState entry refused"):
                    raise
                refused.append({"key": key, "reason": exc.message.split("refused: ", 1)[1]})
            continue
        variables.append(
            {
                "key": key,
                "name": cr.short_name(key),
                "dtype": entry.dtype,
                "shape": list(entry.shape),
                "bytes": entry.size,
            }
        )
    return {
        "prefix": os.fspath(prefix),
        "step": step if step is not None else _step_from_name(Path(prefix).name),
        "train_step": _train_step(bundle),
        "arrays": arrays,
        "refused": refused,
        "variables": variables,
        "total_bytes": sum(v["bytes"] for v in variables),
    }


def load_py_state(bundle: cr.Bundle, key: str) -> np.ndarray:
    return cr.decode_py_state(bundle.read_bytes(key), key)


def _train_step(bundle: cr.Bundle) -> Optional[int]:
    for key in STEP_KEYS:
        entry = bundle.entries.get(key)
        if entry is not None and entry.shape == () and entry.dtype in ("int32", "int64"):
            return int(bundle.read(key))
    return None


def _step_from_name(name: str) -> Optional[int]:
    match = lay.POLICY_CHECKPOINT_RE.match(name) or lay.CKPT_NAME_RE.match(name)
    return int(match.group(1)) if match else None


def _variables_prefix(directory: Path) -> Path:
    return directory / lay.VARIABLES_PREFIX


def array_summary(key: str, array: np.ndarray) -> dict:
    """dtype, shape, size and, for numeric arrays, min/max/mean of the finite values + NaN/inf."""
    summary = {
        "key": key,
        "name": cr.short_name(key),
        "dtype": dtype_name(array.dtype),
        "shape": list(array.shape),
        "size": int(array.size),
        "min": None,
        "max": None,
        "mean": None,
        "nan": None,
        "inf": None,
    }
    summary.update(numeric_stats(array))
    return summary


def numeric_stats(array: np.ndarray) -> dict:
    """Statistics of bool/int/float arrays (complex: NaN/inf counts only); {} for the rest."""
    kind = array.dtype.kind
    if kind not in "biufc" or array.dtype.fields is not None:
        return {}
    if kind == "c":
        return {
            "nan": int(np.isnan(array).sum()),
            "inf": int(np.isinf(array).sum()),
        }
    if kind in "biu":
        stats = {"nan": 0, "inf": 0}
        if array.size:
            stats.update(
                min=json_number(array.min()),
                max=json_number(array.max()),
                mean=json_number(_mean(array)),
            )
        return stats
    finite = array[np.isfinite(array)]
    stats = {"nan": int(np.isnan(array).sum()), "inf": int(np.isinf(array).sum())}
    if finite.size:
        stats.update(
            min=json_number(finite.min()),
            max=json_number(finite.max()),
            mean=json_number(_mean(finite)),
        )
    return stats


def _mean(array: np.ndarray) -> float:
    """The mean in float64; values near the float64 limit overflow to inf without a warning."""
    with np.errstate(over="ignore"):
        return array.astype(np.float64).mean()


def dtype_name(dtype: np.dtype) -> str:
    """`float32`, `<U4`, `[('a', '<i4'), ...]`: numpy's own names, stable across byte orders."""
    if dtype.kind == "O":  # only TF string tensors are decoded as object arrays (of bytes)
        return "string"
    if dtype.fields is not None:
        return str(dtype.descr)
    if dtype.kind in "biufc" and dtype.byteorder in ("<", "=", "|"):
        return dtype.name
    return dtype.str


def json_number(value) -> object:
    """A numpy scalar as a JSON value: ints exact, floats shortest, non-finite as strings."""
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    number = float(value)
    if math.isnan(number):
        return "nan"
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    if isinstance(value, (np.float16, np.float32)):
        return float(str(value))  # the shortest text that round-trips at that precision
    return number


# ----------------------------------------------------------------------------- checkpoint lists


def checkpoint_listing(found: lay.Layout) -> dict:
    """Every checkpoint of a layout for display: step, time, files missing, which is newest
    (the one `pytfpol eval` would take: `layout.select`), and the names a `checkpoint` state
    file lists that are not on disk."""
    state = found.state
    if found.kind == KIND_CHECKPOINTER and found.state_problem is not None:
        raise InputError(found.state_problem, cr.HINT_CORRUPT, path=Path(found.directory))
    listed = list(state.all_model_checkpoint_paths) if state else []
    stamps = list(state.all_model_checkpoint_timestamps) if state else []
    by_name = {c.name: c for c in found.checkpoints}
    names = dict.fromkeys(c.name for c in found.checkpoints)
    for name in listed + ([state.model_checkpoint_path] if state else []):
        if name:
            names.setdefault(name, None)
    entries = []
    for name in names:
        stamp = (
            stamps[listed.index(name)] if name in listed and len(stamps) == len(listed) else None
        )
        checkpoint = by_name.get(name)
        prefix = Path(checkpoint.prefix) if checkpoint else Path(found.directory) / name
        in_state = name in listed if found.kind == KIND_CHECKPOINTER else True
        entries.append(_listing_entry(name, prefix, checkpoint, in_state, stamp))
    entries.sort(key=lambda e: (e["step"] is None, e["step"] or 0, e["name"]))
    newest = _newest_name(found)
    for entry in entries:
        entry["newest"] = entry["name"] == newest
    return {
        "dir": found.directory,
        "state_file": state is not None,
        "newest": newest,
        "selected": None,
        "entries": entries,
    }


def _listing_entry(
    name: str, prefix: Path, checkpoint: Optional[lay.Checkpoint], listed: bool, stamp
) -> dict:
    missing, problem = _missing_files(prefix)
    index = cr.index_path(prefix)
    match = CKPT_RE.match(Path(name).name)
    step = checkpoint.step if checkpoint is not None else (int(match.group(1)) if match else None)
    base = (
        Path(checkpoint.path)
        if checkpoint is not None and checkpoint.path != checkpoint.prefix
        else None
    )
    if base is not None:  # a directory checkpoint: name its files relative to it
        missing = [os.path.relpath(prefix.parent / m, base) for m in missing]
    return {
        "name": name,
        "prefix": str(prefix),
        "step": step,
        "time": _iso(stamp) if stamp is not None else None,
        "mtime": _iso(index.stat().st_mtime) if index.is_file() else None,
        "listed": listed,
        "newest": False,
        "missing": missing,
        "problem": problem,
    }


def _newest_name(found: lay.Layout) -> Optional[str]:
    try:
        chosen = lay.select(found).checkpoint
    except PytfpolError:
        return None
    return chosen.name if chosen is not None else None


def _missing_files(prefix: Path) -> tuple[list[str], Optional[str]]:
    """Files of the bundle that are not there, and any other problem with it."""
    index = cr.index_path(prefix)
    if not os.path.lexists(index):
        return [index.name], None
    try:
        cr.open_bundle(prefix)
    except InputError as exc:
        num_shards = _num_shards(prefix)
        if num_shards is not None:
            absent = [
                cr.data_path(prefix, i, num_shards).name
                for i in range(num_shards)
                if not cr.data_path(prefix, i, num_shards).exists()
            ]
            if absent:
                return absent, None
        return [], exc.message
    return [], None


def _num_shards(prefix: Path) -> Optional[int]:
    try:
        return cr.read_index(prefix).header.num_shards
    except InputError:
        return None


def _describe_selected(found: lay.Layout, report: dict, step: Optional[int]) -> Optional[dict]:
    """Describe the checkpoint `pytfpol eval` would use (the newest, or the one at --step), by
    the same rules (`layout.select`); record which in the listing, and why others were not."""
    listing = report["checkpoints"]
    if not found.checkpoints and step is None:
        return None
    selection = lay.select(found, step=step)
    chosen = selection.checkpoint
    if chosen is None:
        return None
    report["warnings"].extend(selection.warnings)
    listing["selected"] = chosen.name
    return describe_checkpoint(chosen.prefix, step=chosen.step)


def _iso(timestamp: float) -> Optional[str]:
    """UTC ISO 8601 seconds; None for a time no calendar can show (a damaged state file)."""
    try:
        moment = _dt.datetime.fromtimestamp(timestamp, _dt.timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
    return moment.isoformat(timespec="seconds")


# ----------------------------------------------------------------------------- SavedModels


def describe_saved_model(directory: Path) -> dict:
    """Specs from policy_specs.pbtxt, train step and metadata from variables/, signatures."""
    bundle = cr.open_bundle(_variables_prefix(directory))
    return {
        "dir": str(directory),
        "specs": read_policy_specs(directory / lay.POLICY_SPECS),
        "train_step": _train_step(bundle),
        "metadata": _metadata(bundle),
        "signatures": _public_signatures(directory / lay.SAVED_MODEL_PB),
    }


def _metadata(bundle: cr.Bundle) -> dict:
    values = {}
    for key in bundle.entries:
        if key.startswith("metadata/") and key.endswith(cr.VARIABLE_SUFFIX):
            values[cr.short_name(key)[len("metadata/") :]] = json_value(read_value(bundle, key))
    return values


def _public_signatures(path: Path) -> dict:
    return {k: v for k, v in cr.read_signatures(path).items() if not k.startswith("__")}


def read_policy_specs(path: Path) -> dict:
    """time_step/action/policy_state/info specs, from PolicySaver's StructuredValue text proto."""
    if not os.path.lexists(path):  # a FIFO or device: refused as it is read
        raise InputError(
            f"{path}: missing", "a PolicySaver SavedModel has policy_specs.pbtxt", path=path
        )
    message = cr.read_text_proto(path)
    try:
        specs = _structured(message, depth=0)
        data = specs["collect_data_spec"]
        return {
            "time_step_spec": {
                k: data[k] for k in ("step_type", "reward", "discount", "observation")
            },
            "action_spec": data["action"],
            "policy_state_spec": specs.get("policy_state_spec"),
            "info_spec": data["policy_info"],
        }
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise InputError(
            f"{path}: not PolicySaver policy specs ({type(exc).__name__}: {exc})",
            "write the SavedModel again with tf_agents.policies.PolicySaver",
            path=path,
        ) from None


def _one(message: list, name: str):
    for field, value in message:
        if field == name:
            return value
    raise KeyError(name)


def _all(message: list, name: str) -> list:
    return [value for field, value in message if field == name]


def _structured(value, depth: int):
    """A StructuredValue (the dict/tuple/spec kinds nested_structure_coder writes) as plain data."""
    if depth > 64:
        raise ValueError("specs nested too deeply")
    (kind, body), *_ = value if value else [("none_value", [])]
    if kind in ("dict_value",):
        return {
            _text(_one(f, "key")): _structured(_one(f, "value"), depth + 1)
            for f in _all(body, "fields")
        }
    if kind == "named_tuple_value":
        return {
            _text(_one(f, "key")): _structured(_one(f, "value"), depth + 1)
            for f in _all(body, "values")
        }
    if kind in ("tuple_value", "list_value"):
        return [_structured(v, depth + 1) for v in _all(body, "values")]
    if kind == "none_value":
        return None
    if kind in ("tensor_spec_value", "bounded_tensor_spec_value"):
        return _tensor_spec(body)
    if kind in ("string_value", "int64_value", "float64_value", "bool_value"):
        return body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return {"type": kind}


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _tensor_spec(body: list) -> dict:
    dtype = _dtype_from_enum_name(_one(body, "dtype"))
    spec = {
        "name": _text(dict(body).get("name", b"")) or None,
        "dtype": dtype,
        "shape": _text_shape(dict(body).get("shape", [])),
    }
    for bound in ("minimum", "maximum"):
        if bound in dict(body):
            spec[bound] = json_value(_tensor_proto(dict(body)[bound]))
    return spec


def _dtype_from_enum_name(name: str) -> str:
    names = {f"DT_{v[0].upper()}": v[0] for v in cr.DTYPES.values()}
    names.update(DT_FLOAT="float32", DT_DOUBLE="float64", DT_HALF="float16")
    return names.get(str(name), str(name))


def _text_shape(shape: list) -> Optional[list]:
    if any(field == "unknown_rank" and value == "true" for field, value in shape):
        return None
    dims = []
    for dim in _all(shape, "dim"):
        size = int(dict(dim).get("size", "0"))
        dims.append(None if size < 0 else size)
    return dims


_PROTO_VALUES = {
    "float_val": np.float32,
    "double_val": np.float64,
    "int_val": np.int32,
    "int64_val": np.int64,
    "uint32_val": np.uint32,
    "uint64_val": np.uint64,
    "bool_val": np.bool_,
    "half_val": np.uint16,
}


def _tensor_proto(body: list) -> np.ndarray:
    """A text TensorProto (spec bounds) as an array: tensor_content, or *_val filled TF's way."""
    dtype = _dtype_from_enum_name(_one(body, "dtype"))
    shape = [d or 0 for d in (_text_shape(dict(body).get("tensor_shape", [])) or [])]
    count = int(np.prod(shape)) if shape else 1
    if count > 1 << 24:
        raise ValueError("bound tensor too large")
    numpy_dtype = np.dtype({"bfloat16": "<u2"}.get(dtype, dtype))
    content = dict(body).get("tensor_content")
    if content is not None:
        return np.frombuffer(content, numpy_dtype).reshape(shape).copy()
    for field, kind in _PROTO_VALUES.items():
        values = _all(body, field)
        if values:
            parsed = np.array([_proto_number(v) for v in values], kind)
            if field == "half_val":
                parsed = parsed.view(np.float16)
            if parsed.size < count:  # TF repeats the last value
                parsed = np.concatenate([parsed, np.repeat(parsed[-1:], count - parsed.size)])
            return parsed[:count].astype(numpy_dtype).reshape(shape)
    return np.zeros(shape, numpy_dtype)


def _proto_number(token: str):
    text = str(token)
    if text in ("true", "false"):
        return text == "true"
    if text.lower().rstrip("f") in ("inf", "infinity", "-inf", "-infinity", "nan"):
        return float(text.lower().rstrip("f"))
    return float(text.rstrip("f")) if re.search(r"[.eE]|^-?[a-z]", text) else int(text, 0)


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
    if chosen is not None:
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
        row = dict(zip(HISTORY_COLUMNS, (json_number(v) for v in values)))
        for name in ("train_step", "episodes"):
            if isinstance(row[name], float) and row[name].is_integer():
                row[name] = int(row[name])
        stamp = values[-1]
        row["time"] = _iso(stamp) if np.isfinite(stamp) and 0 <= stamp < 1e11 else None
        rows.append(row)
    return rows


def _read_stats(path: Path) -> dict:
    """The parts of stats.json worth showing next to the history; InputError when unreadable."""
    try:
        text = input_files.read_text(path, input_files.LIMITS["stats.json"], "stats.json")
        report = json.loads(text)
        policy, env, summary = (
            report.get("policy") or {},
            report.get("env") or {},
            report["summary"],
        )
        return {
            "schema_version": report.get("schema_version"),
            "created": report.get("created"),
            "complete": report.get("complete"),
            "error": report.get("error"),
            "policy": policy.get("path"),
            "checkpoint": policy.get("checkpoint"),
            "train_step": policy.get("train_step"),
            "env": env.get("id"),
            "summary": summary,
        }
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{path}: not a pytfpol stats.json ({exc})",
            "it should be the report written by `pytfpol eval`",
            path=path,
        ) from None


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


# ----------------------------------------------------------------------------- values


def read_value(bundle: cr.Bundle, key: str) -> np.ndarray:
    """A tensor as numpy: bfloat16 widened to float32 (exact), NumpyState payloads decoded."""
    if bundle.entries[key].is_py_state:
        return load_py_state(bundle, key)
    value = bundle.read(key)
    if bundle.entries[key].dtype == "bfloat16":
        value = (value.astype(np.uint32) << 16).view(np.float32)
    return value


def json_value(array: np.ndarray):
    """Any decoded array as JSON data: numbers exact, bytes/str/dates as text."""
    array = np.asarray(array)
    if array.dtype.fields is not None or array.dtype.kind == "V":
        return _nested(array, lambda x: repr(x) if not isinstance(x, bytes) else x.hex())
    if array.dtype.kind == "c":
        return _nested(array, lambda x: [json_number(x.real), json_number(x.imag)])
    if array.dtype.kind in "biuf":
        return _nested(array, json_number)
    if array.dtype.kind in "Mm":
        return _nested(array, str)
    if array.dtype.kind == "S" or array.dtype == object:
        return _nested(array, _bytes_text)
    return _nested(array, str)


def _nested(array, convert):
    if not isinstance(array, np.ndarray):  # an element of an object array
        return convert(array)
    if array.ndim == 0:
        return convert(array[()])
    return [_nested(array[i], convert) for i in range(len(array))]


def _bytes_text(value) -> str:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value.decode("latin-1").encode("unicode_escape").decode("ascii")
    return str(value)


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


def format_array(array: np.ndarray, full: bool = False) -> str:
    """numpy's own text for the array; `full` prints every element."""
    threshold = max(array.size, 1) + 1 if full else 1000
    with np.printoptions(threshold=threshold):
        return np.array2string(array, separator=", ") if array.dtype.fields is None else repr(array)


# ----------------------------------------------------------------------------- diff


def diff(a: str | os.PathLike, b: str | os.PathLike, step: Optional[int] = None) -> dict:
    """Compare two checkpoints: keys only in one, dtype/shape changes, max |a-b| for the rest."""
    prefix_a, prefix_b = resolve_checkpoint(a, step), resolve_checkpoint(b)
    bundle_a, bundle_b = cr.open_bundle(prefix_a), cr.open_bundle(prefix_b)
    keys_a = {k for k in bundle_a.entries if k != cr.OBJECT_GRAPH_KEY}
    keys_b = {k for k in bundle_b.entries if k != cr.OBJECT_GRAPH_KEY}
    changed, compared = [], []
    for key in sorted(keys_a & keys_b):
        if _streamable(bundle_a, bundle_b, key):
            compared.append(_compare_streamed(bundle_a, bundle_b, key))
            continue
        value_a, value_b = _diff_value(bundle_a, key), _diff_value(bundle_b, key)
        if isinstance(value_a, str) or isinstance(value_b, str):
            compared.append(
                {
                    "key": key,
                    "dtype": None,
                    "shape": None,
                    "equal": None,
                    "max_abs_diff": None,
                    "refused": value_a if isinstance(value_a, str) else value_b,
                }
            )
            continue
        if value_a.dtype != value_b.dtype or value_a.shape != value_b.shape:
            changed.append(
                {
                    "key": key,
                    "a": {"dtype": dtype_name(value_a.dtype), "shape": list(value_a.shape)},
                    "b": {"dtype": dtype_name(value_b.dtype), "shape": list(value_b.shape)},
                }
            )
            continue
        compared.append(_compare(key, value_a, value_b))
    different = sum(1 for c in compared if c["equal"] is False)
    return {
        "schema_version": SCHEMA_VERSION,
        "a": prefix_a,
        "b": prefix_b,
        "only_in_a": sorted(keys_a - keys_b),
        "only_in_b": sorted(keys_b - keys_a),
        "changed": changed,
        "compared": compared,
        "summary": {
            "only_in_a": len(keys_a - keys_b),
            "only_in_b": len(keys_b - keys_a),
            "changed": len(changed),
            "equal": sum(1 for c in compared if c["equal"] is True),
            "different": different,
        },
    }


def _diff_value(bundle: cr.Bundle, key: str):
    try:
        return read_value(bundle, key)
    except InputError as exc:
        if "NumpyState entry refused" in exc.message:
            return exc.message
        raise


def _compare(key: str, a: np.ndarray, b: np.ndarray) -> dict:
    result = {
        "key": key,
        "dtype": dtype_name(a.dtype),
        "shape": list(a.shape),
        "equal": None,
        "max_abs_diff": None,
    }
    if a.dtype.kind in "biufc" and a.dtype.fields is None:
        both_nan = np.isnan(a) & np.isnan(b) if a.dtype.kind in "fc" else np.zeros(a.shape, bool)
        if a.dtype.kind in "iu":
            delta = np.abs(a.astype(object) - b.astype(object)) if a.size else np.zeros(0)
            delta = np.asarray(delta, dtype=object)
        else:
            with np.errstate(invalid="ignore", over="ignore"):
                delta = np.abs(a.astype(np.complex128 if a.dtype.kind == "c" else np.float64) - b)
        delta = np.where(both_nan, 0, delta)
        worst = max(np.ravel(delta).tolist(), default=0, key=_nan_last)
        result["max_abs_diff"] = json_number(worst) if not isinstance(worst, int) else worst
        result["equal"] = bool(worst == 0)
    else:
        result["equal"] = (
            bool(a.tobytes() == b.tobytes()) if a.dtype != object else a.tolist() == b.tolist()
        )
    return result


# Pieces in which `--diff` reads a pair of large tensors: memory stays bounded (a few times this)
# whatever their size.
DIFF_PIECE_BYTES = 8 << 20


def _streamable(bundle_a: cr.Bundle, bundle_b: cr.Bundle, key: str) -> bool:
    """A numeric (integer, float, complex, bfloat16) tensor of the same dtype and shape in
    both: compared piece by piece, never read whole. Anything else takes `_compare`."""
    a, b = bundle_a.entries[key], bundle_b.entries[key]
    numpy_dtype = cr.DTYPES.get(a.dtype_enum, (None, None))[1]
    return (
        a.dtype_enum == b.dtype_enum
        and a.shape == b.shape
        and not (a.sliced or b.sliced or a.is_py_state)
        and numpy_dtype is not None
        and (a.dtype == "bfloat16" or np.dtype(numpy_dtype).kind in "iufc")
    )


def _compare_streamed(bundle_a: cr.Bundle, bundle_b: cr.Bundle, key: str) -> dict:
    """`_compare` of two large tensors in DIFF_PIECE_BYTES pieces: the same result (the
    maximal |a - b|, exact for integers, both-NaN counting as equal, the first in flat order
    among equally large ones with NaN above everything), in bounded memory."""
    entry = bundle_a.entries[key]
    widen = _widen_bfloat16 if entry.dtype == "bfloat16" else None
    pieces_a = bundle_a.read_pieces(key, DIFF_PIECE_BYTES)
    pieces_b = bundle_b.read_pieces(key, DIFF_PIECE_BYTES)
    worst, worst_rank = 0, -1.0  # max(..., default=0) of an empty tensor
    work = None
    for a, b in zip(pieces_a, pieces_b):
        if widen is not None:
            a, b = widen(a), widen(b)
        if work is None and a.dtype.kind in "fc":
            work = np.empty(a.size, np.complex128 if a.dtype.kind == "c" else np.float64)
        delta, rank, top = _abs_diff(a, b, work)
        if top > worst_rank:  # only then where (the first of the largest, as max() takes)
            at = int(np.argmax(rank))
            worst_rank = rank[at]
            worst = int(delta[at]) if a.dtype.kind in "iu" else float(delta[at])
    for rest in (pieces_a, pieces_b):  # the checksums, verified after the last piece
        for _ in rest:
            pass
    dtype = np.dtype(cr.DTYPES[entry.dtype_enum][1]) if widen is None else np.dtype(np.float32)
    return {
        "key": key,
        "dtype": dtype_name(dtype),
        "shape": list(entry.shape),
        "equal": bool(worst == 0),
        "max_abs_diff": worst if isinstance(worst, int) else json_number(worst),
    }


def _abs_diff(
    a: np.ndarray, b: np.ndarray, work: Optional[np.ndarray] = None
) -> tuple[np.ndarray, np.ndarray, object]:
    """(|a - b|, its rank for the maximum, the maximal rank): integers exactly (as uint64: the
    difference of two 64-bit integers needs 65 bits signed, 64 unsigned), floats in float64
    (complex in complex128) with both-NaN as 0 and NaN ranked above infinity. `work`: a buffer
    for the float difference, reused from piece to piece (no fresh pages each time)."""
    if a.dtype.kind in "iu":
        wide = np.int64 if a.dtype.kind == "i" else np.uint64
        a64, b64 = a.astype(wide), b.astype(wide)
        ua, ub = a64.view(np.uint64), b64.view(np.uint64)
        delta = np.where(a64 >= b64, ua - ub, ub - ua)
        return delta, delta, delta.max()
    wide = np.complex128 if a.dtype.kind == "c" else np.float64
    if work is None or work.dtype != wide or work.size < a.size:
        work = np.empty(a.size, wide)
    with np.errstate(invalid="ignore", over="ignore"):
        difference = np.subtract(a, b, out=work[: a.size], dtype=wide)
        delta = np.abs(difference, out=difference) if wide is np.float64 else np.abs(difference)
    top = delta.max()
    if not np.isnan(top):  # max is NaN when any is
        return delta, delta, top
    delta = np.where(np.isnan(a) & np.isnan(b), 0.0, delta)
    rank = np.where(np.isnan(delta), np.inf, delta)
    return delta, rank, rank.max()


def _widen_bfloat16(raw: np.ndarray) -> np.ndarray:
    """bfloat16 bit patterns as float32 (exact), as `read_value` widens them."""
    return (raw.astype(np.uint32) << 16).view(np.float32)


def _nan_last(value) -> float:
    number = float(value)
    return math.inf if math.isnan(number) else number


# ----------------------------------------------------------------------------- export


def export_npz(
    path: str | os.PathLike,
    out: str | os.PathLike,
    names: Iterable[str] = (),
    step: Optional[int] = None,
) -> dict:
    """NumpyState arrays and variables (all, or `names`) as .npz bytes (`data`, written by the
    caller to `out`), loadable without pickle.

    Keys are the checkpoint keys. String tensors become fixed-width bytes (`S`) when that is
    lossless; others that cannot be stored without pickle are skipped and listed.
    """
    prefix = resolve_checkpoint(path, step)
    bundle = cr.open_bundle(prefix)
    _refuse_output_inside_input(Path(out), [Path(path), Path(prefix).parent])
    keys = [find_key(bundle, n) for n in names] or [
        k for k in bundle.entries if k != cr.OBJECT_GRAPH_KEY
    ]
    arrays, skipped = {}, []
    for key in keys:
        try:
            value = read_value(bundle, key)
        except InputError as exc:
            if "NumpyState entry refused" not in exc.message:
                raise
            skipped.append({"key": key, "reason": exc.message})
            continue
        storable = _storable(value)
        if storable is None:
            skipped.append(
                {"key": key, "reason": "strings with trailing NUL bytes need pickle in .npz"}
            )
            continue
        arrays[key] = storable
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return {
        "data": buffer.getvalue(),
        "file": os.fspath(out),
        "checkpoint": prefix,
        "arrays": sorted(arrays),
        "skipped": skipped,
    }


def _storable(value: np.ndarray) -> Optional[np.ndarray]:
    if value.dtype != object:
        return value
    items = value.ravel().tolist()
    if any(item.endswith(b"\x00") for item in items):
        return None
    return (
        np.array(items, dtype=bytes).reshape(value.shape) if items else np.zeros(value.shape, "S1")
    )


def _refuse_output_inside_input(out: Path, inputs: list[Path]) -> None:
    target = out.resolve()
    for source in inputs:
        directory = source.resolve() if source.is_dir() else source.resolve().parent
        if target == directory or directory in target.parents:
            raise OutputError(
                f"--export {out}: is inside the input {directory}; pytfpol never writes next to its input",
                "write the .npz somewhere else",
                path=out,
            )
    if out.is_dir():
        raise OutputError(
            f"--export {out}: is a directory", "give a file name ending in .npz", path=out
        )
