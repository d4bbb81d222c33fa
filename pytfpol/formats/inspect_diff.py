"""Comparing two checkpoints tensor by tensor (`inspect --diff`, large tensors streamed in pieces)
and exporting one as `.npz` (`inspect --export`, never inside the input)."""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import Iterable, Optional

import numpy as np

from pytfpol.errors import InputError, OutputError
from pytfpol.formats import checkpoint_reader as cr
from pytfpol.formats.inspect_checkpoint import (
    SCHEMA_VERSION,
    dtype_name,
    json_number,
    read_value,
)

# ----------------------------------------------------------------------------- diff
from pytfpol.formats.inspect_report import find_key, resolve_checkpoint


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
    result: dict[str, object] = {
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
    worst: int | float = 0  # max(..., default=0) of an empty tensor
    worst_rank = -1.0
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
) -> tuple[np.ndarray, np.ndarray, float]:
    """(|a - b|, its rank for the maximum, the maximal rank): integers exactly (as uint64: the
    difference of two 64-bit integers needs 65 bits signed, 64 unsigned), floats in float64
    (complex in complex128) with both-NaN as 0 and NaN ranked above infinity. `work`: a buffer
    for the float difference, reused from piece to piece (no fresh pages each time)."""
    if a.dtype.kind in "iu":
        wide_int = np.int64 if a.dtype.kind == "i" else np.uint64
        a64, b64 = a.astype(wide_int), b.astype(wide_int)
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
