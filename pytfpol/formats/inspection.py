"""Describe what is saved in a checkpoint, a SavedModel or an eval output, as plain data.

Why here and like this: `pytfpol inspect` is run often, so it never builds a policy and never
imports TensorFlow; everything comes from `checkpoint_reader`, which validates as it reads.
Reading has no side effects; the only thing written is an explicitly requested `--export` file,
which may not be inside the input.

What callers use, from the modules that own it: the report (`inspect_report`), one checkpoint
and its values (`inspect_checkpoint`), listings (`inspect_listing`), SavedModels
(`inspect_saved_model`), diff and export (`inspect_diff`).
"""

from __future__ import annotations

from pytfpol.formats.inspect_checkpoint import (
    HISTORY_COLUMNS,
    SCHEMA_VERSION,
    array_summary,
    dtype_name,
    format_array,
    json_value,
    read_value,
)
from pytfpol.formats.inspect_diff import DIFF_PIECE_BYTES, _compare, diff, export_npz
from pytfpol.formats.inspect_report import (
    detect,
    evaluation_history,
    find_key,
    inspect_path,
    read_array,
    resolve_checkpoint,
)

__all__ = [
    "DIFF_PIECE_BYTES",
    "HISTORY_COLUMNS",
    "SCHEMA_VERSION",
    "_compare",
    "array_summary",
    "detect",
    "diff",
    "dtype_name",
    "evaluation_history",
    "export_npz",
    "find_key",
    "format_array",
    "inspect_path",
    "json_value",
    "read_array",
    "read_value",
    "resolve_checkpoint",
]
