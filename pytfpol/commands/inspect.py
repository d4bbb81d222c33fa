"""`pytfpol inspect PATH`: what a checkpoint, SavedModel, training directory or eval output
holds, as plain data. Never builds the policy and never imports TensorFlow: `formats.inspection`
reads the files itself. NumpyState entries that would need pickle are listed, never loaded.

The documents are dicts typed here (docs/inspect.md describes each field); the nested parts
are the dicts `formats.inspection` builds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, TypedDict, Union, cast

import numpy as np

from pytfpol.formats import inspection
from pytfpol.results import files


class InspectDocument(TypedDict):
    """`pytfpol inspect PATH --json`: what PATH is (`kind`) and what it holds; the parts that do
    not apply to its kind are None."""

    schema_version: int
    path: str
    kind: str
    checkpoint: Optional[dict]  # the checkpoint described (the selected one of a directory)
    checkpoints: Optional[dict]  # a directory's listing of checkpoints
    saved_model: Optional[dict]
    saved_models: Optional[dict]  # a Learner root's SavedModels, by directory name
    evaluation: Optional[dict]  # an eval output's stats.json and evaluation history
    warnings: list[str]


class DiffDocument(TypedDict):
    """`pytfpol inspect A --diff B --json`: keys only in one, dtype/shape changes, and for the
    rest whether they are equal and the largest |a-b|."""

    schema_version: int
    a: str
    b: str
    only_in_a: list[str]
    only_in_b: list[str]
    changed: list[dict]
    compared: list[dict]
    summary: dict[str, int]


class ArrayValue(TypedDict):
    """`pytfpol inspect PATH --array NAME`: one checkpoint entry's value."""

    key: str
    dtype: str
    shape: list[int]
    value: np.ndarray


class ExportResult(TypedDict):
    """What `--export FILE.npz` wrote: the file, the checkpoint read, the arrays stored and the
    entries skipped (with the reason)."""

    file: str
    checkpoint: str
    arrays: list[str]
    skipped: list[dict]


def describe(path: str, step: Optional[int] = None) -> InspectDocument:
    """PATH described (docs/inspect.md); `step` selects a checkpoint of a directory."""
    return cast(InspectDocument, inspection.inspect_path(path, step))


def diff(path: str, other: str, step: Optional[int] = None) -> DiffDocument:
    """PATH's checkpoint (at `step`) compared with OTHER's."""
    return cast(DiffDocument, inspection.diff(path, other, step))


def read_array(path: str, name: str, step: Optional[int] = None) -> ArrayValue:
    """The value of the entry NAME (a key, or a unique name within one) of PATH's checkpoint."""
    key, value = inspection.read_array(path, name, step)
    return ArrayValue(
        key=key, dtype=inspection.dtype_name(value.dtype), shape=list(value.shape), value=value
    )


def inspect(
    path: str,
    step: Optional[int] = None,
    *,
    diff: Optional[str] = None,
    array: Optional[str] = None,
) -> Union[InspectDocument, DiffDocument, ArrayValue]:
    """What `pytfpol inspect` shows: `inspect(PATH)` describes PATH; `diff=B` compares PATH's
    checkpoint with B's; `array=NAME` returns `{"key", "dtype", "shape", "value"}` (a numpy
    array)."""
    if diff is not None:
        return _diff(path, diff, step)
    if array is not None:
        return read_array(path, array, step)
    return describe(path, step)


_diff = diff  # `inspect`'s keyword argument hides the function


def export_npz(path: str, out: str, names: tuple = (), step: Optional[int] = None) -> ExportResult:
    """Write PATH's NumpyState arrays and variables (all, or `names`) to `out` (.npz, no pickle)."""
    result = inspection.export_npz(path, out, names, step)
    files.write_atomic(Path(out), result.pop("data"))
    return cast(ExportResult, result)
