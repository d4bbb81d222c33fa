"""One checkpoint as plain data for `pytfpol inspect`: its entries with shapes, dtypes and value
summaries, its training step, and single values (read, found by name, made JSON-ready)."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Optional

import numpy as np

from pytfpol.errors import InputError
from pytfpol.formats import checkpoint_reader as cr
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
        stats: dict[str, object] = {"nan": 0, "inf": 0}
        if array.size:
            stats.update(
                min=json_number(array.min()),
                max=json_number(array.max()),
                mean=json_number(_mean(array)),
            )
        return stats
    finite = array[np.isfinite(array)]
    stats = {
        "nan": int(np.isnan(array).sum()),
        "inf": int(np.isinf(array).sum()),
    }
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


def json_number(value) -> bool | int | float | str:
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


def format_array(array: np.ndarray, full: bool = False) -> str:
    """numpy's own text for the array; `full` prints every element."""
    threshold = max(array.size, 1) + 1 if full else 1000
    with np.printoptions(threshold=threshold):
        return np.array2string(array, separator=", ") if array.dtype.fields is None else repr(array)
