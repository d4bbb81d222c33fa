"""The JSON text of reports (stats.json, sweep.json, `--json`): indented like
`json.dumps(value, indent=2)`, except that an object of scalars inside an array is written on one
line. Both are linear in the report's size, but the indenting encoder is Python code (the C
encoder does not indent): for a report of 50,000 episodes it took 0.85 s, this takes ~0.2 s, and
each episode is one line of the file."""

from __future__ import annotations

import json
from typing import Any

INDENT = "  "
_SCALARS = frozenset((str, int, float, bool, type(None)))  # exact types: a subclass recurses


def dumps(value: Any, *, allow_nan: bool = True) -> str:
    """`value` as JSON text (see the module docstring); ValueError for NaN or infinities
    unless `allow_nan`, as `json.dumps`."""
    compact = json.JSONEncoder(allow_nan=allow_nan).encode
    parts: list[str] = []
    _write(value, 0, compact, parts)
    return "".join(parts)


def _write(value: Any, level: int, compact, parts: list) -> None:
    inner = INDENT * (level + 1)
    if isinstance(value, dict) and value:
        parts.append("{")
        for i, (key, item) in enumerate(value.items()):
            parts.append(("\n" if i == 0 else ",\n") + inner + compact(_key(key)) + ": ")
            _write(item, level + 1, compact, parts)
        parts.append("\n" + INDENT * level + "}")
    elif isinstance(value, (list, tuple)) and value:
        parts.append("[")
        separator = "\n" + inner
        for item in value:
            if _flat_object(item):
                parts.append(separator + compact(item))
            else:
                parts.append(separator)
                _write(item, level + 1, compact, parts)
            separator = ",\n" + inner
        parts.append("\n" + INDENT * level + "]")
    else:
        parts.append(compact(value))


def _flat_object(value: Any) -> bool:
    return type(value) is dict and all(type(v) in _SCALARS for v in value.values())


def _key(key: Any) -> str:
    """A key as json.dumps writes it (numbers, booleans and None become strings)."""
    if isinstance(key, str):
        return key
    if key is True or key is False or key is None or isinstance(key, float):
        return json.dumps(key)
    if isinstance(key, int):
        return str(int(key))
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")
