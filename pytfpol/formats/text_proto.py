"""Text protos without protobuf: the `checkpoint` state file a CheckpointManager writes next to its
checkpoints and `policy_specs.pbtxt`, parsed strictly (bounded depth, escapes checked)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from pytfpol.errors import InputError
from pytfpol.formats import input_files
from pytfpol.formats.reading import (
    _read_file,
)

# ----------------------------------------------------------------------------- `checkpoint` state file


@dataclass(frozen=True)
class CheckpointState:
    """The `checkpoint` text proto a CheckpointManager keeps next to its checkpoints."""

    path: str
    model_checkpoint_path: Optional[str]
    all_model_checkpoint_paths: tuple[str, ...]
    all_model_checkpoint_timestamps: tuple[float, ...]
    last_preserved_timestamp: Optional[float]


_STATE_FIELD = re.compile(
    r'\s*([A-Za-z_]+)\s*:\s*("(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|[^\s"\']+)\s*'
)
_ESCAPES = {
    "n": 10,
    "t": 9,
    "r": 13,
    '"': 34,
    "'": 39,
    "\\": 92,
    "a": 7,
    "b": 8,
    "f": 12,
    "v": 11,
    "?": 63,
}


def _unescape(text: str) -> str:
    """A text-proto string literal's contents (C escapes) as UTF-8 text."""
    return _unescape_bytes(text).decode("utf-8")


def read_checkpoint_state(directory: str | os.PathLike) -> Optional[CheckpointState]:
    """Parse `<directory>/checkpoint` without TensorFlow; None when there is none.

    Paths in it are returned relative to `directory`; any that would leave it is refused.
    """
    path = Path(directory) / "checkpoint"
    if not path.exists() and not path.is_symlink():
        return None
    limit = input_files.LIMITS["checkpoint state file"]
    data = _read_file(path, limit=limit, what="a checkpoint state file")
    try:
        text = data.decode("utf-8")
        values = _parse_state_text(text)
        return CheckpointState(
            path=str(path),
            model_checkpoint_path=_inside(
                directory, values.get("model_checkpoint_path", [None])[-1]
            ),
            all_model_checkpoint_paths=tuple(
                _inside_path(directory, p) for p in values.get("all_model_checkpoint_paths", [])
            ),
            all_model_checkpoint_timestamps=tuple(
                float(t) for t in values.get("all_model_checkpoint_timestamps", [])
            ),
            last_preserved_timestamp=(
                float(values["last_preserved_timestamp"][-1])
                if "last_preserved_timestamp" in values
                else None
            ),
        )
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{path}: not a valid checkpoint state file ({exc})",
            "delete it or write it again with tf.train.CheckpointManager",
            path=path,
        ) from None


_STATE_NAMES = {
    "model_checkpoint_path": "s",
    "all_model_checkpoint_paths": "s",
    "all_model_checkpoint_timestamps": "f",
    "last_preserved_timestamp": "f",
}


def _parse_state_text(text: str) -> dict[str, list]:
    values: dict[str, list] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0] if '"' not in line else line
        pos = 0
        while pos < len(line) and line[pos:].strip():
            match = _STATE_FIELD.match(line, pos)
            if not match:
                raise ValueError(f"line {number}: cannot parse {line.strip()[:60]!r}")
            name, literal = match.groups()
            kind = _STATE_NAMES.get(name)
            if kind is None:
                raise ValueError(f"line {number}: unknown field {name!r}")
            if kind == "s":
                if literal[0] not in "\"'":
                    raise ValueError(f"line {number}: {name} must be a quoted string")
                value: object = _unescape(literal[1:-1])
            else:
                value = float(literal)
                if value != value or value in (float("inf"), float("-inf")):
                    raise ValueError(f"line {number}: {name} is not a finite number")
            values.setdefault(name, []).append(value)
            pos = match.end()
    return values


def _inside(directory: str | os.PathLike, listed: Optional[str]) -> Optional[str]:
    """`listed`, relative to `directory`; a path that leaves the directory is refused."""
    return None if listed is None else _inside_path(directory, listed)


def _inside_path(directory: str | os.PathLike, listed: str) -> str:
    """`listed`, relative to `directory`; a path that leaves the directory is refused."""
    if not listed or "\x00" in listed:
        raise ValueError("an empty or NUL-containing checkpoint path")
    base = os.path.realpath(directory)
    candidate = listed if os.path.isabs(listed) else os.path.join(base, listed)
    resolved = os.path.realpath(candidate)
    if os.path.commonpath([base, resolved]) != base or resolved == base:
        raise ValueError(f"checkpoint path {listed!r} points outside {directory}")
    return os.path.relpath(resolved, base)


# ----------------------------------------------------------------------------- text protos


_TEXT_TOKEN = re.compile(
    r'\s*(?:#[^\n]*\n\s*)*(?:([{}:<>\[\],;])|("(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\')|([^\s{}:<>\[\],;"\']+))'
)
MAX_TEXT_DEPTH = 100


def parse_text_proto(text: str) -> list[tuple[str, object]]:
    """A text-format protobuf message as `[(field, value)]`; value is a str token, a decoded
    string literal (bytes) or a nested list. Enough for `policy_specs.pbtxt`, no schema needed."""
    tokens = _text_tokens(text)
    message, pos = _text_message(tokens, 0, 0)
    if pos != len(tokens):
        raise ValueError(f"unexpected {tokens[pos][1]!r}")
    return message


def _text_tokens(text: str) -> list[tuple[str, object]]:
    tokens, pos = [], 0
    while pos < len(text):
        if not text[pos:].strip():
            break
        match = _TEXT_TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ValueError(f"cannot parse text at offset {pos}")
        punct, literal, word = match.groups()
        if punct:
            tokens.append(("p", punct))
        elif literal:
            tokens.append(("s", _unescape_bytes(literal[1:-1])))
        elif word is not None:
            tokens.append(("w", word))
        pos = match.end()
    return tokens


def _text_message(tokens, pos: int, depth: int) -> tuple[list, int]:
    if depth > MAX_TEXT_DEPTH:
        raise ValueError("messages nested too deeply")
    fields: list[tuple[str, object]] = []
    while pos < len(tokens) and tokens[pos] not in (("p", "}"), ("p", ">")):
        kind, name = tokens[pos]
        if kind != "w":
            raise ValueError(f"expected a field name, found {name!r}")
        pos += 1
        if pos < len(tokens) and tokens[pos] == ("p", ":"):
            pos += 1
        if pos >= len(tokens):
            raise ValueError(f"field {name} has no value")
        if tokens[pos] in (("p", "{"), ("p", "<")):
            close = "}" if tokens[pos][1] == "{" else ">"
            value, pos = _text_message(tokens, pos + 1, depth + 1)
            if pos >= len(tokens) or tokens[pos] != ("p", close):
                raise ValueError(f"field {name}: missing {close!r}")
            pos += 1
        else:
            kind, value = tokens[pos]
            if kind == "p":
                raise ValueError(f"field {name}: unexpected {value!r}")
            pos += 1
            while kind == "s" and pos < len(tokens) and tokens[pos][0] == "s":  # "a" "b" concat
                value += tokens[pos][1]
                pos += 1
        fields.append((str(name), value))
        if pos < len(tokens) and tokens[pos] in (("p", ","), ("p", ";")):
            pos += 1
    return fields, pos


def _leading(pattern: bytes, data: bytes) -> bytes:
    """What `pattern` matches at the start of `data` (b"" when nothing)."""
    match = re.match(pattern, data)
    return match.group(0) if match else b""


def _unescape_bytes(text: str) -> bytes:
    """A text-proto string literal's contents (C escapes) as bytes."""
    out, i = bytearray(), 0
    raw = text.encode("utf-8")
    while i < len(raw):
        char = raw[i]
        if char != 92:
            out.append(char)
            i += 1
            continue
        nxt = chr(raw[i + 1]) if i + 1 < len(raw) else ""
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt == "x" and (digits := _leading(rb"[0-9A-Fa-f]{1,2}", raw[i + 2 : i + 4])):
            out.append(int(digits, 16))
            i += 2 + len(digits)
        elif nxt and nxt in "01234567":
            digits = _leading(rb"[0-7]{1,3}", raw[i + 1 : i + 4])
            if int(digits, 8) > 255:
                raise ValueError("octal escape above 255")
            out.append(int(digits, 8))
            i += 1 + len(digits)
        else:
            raise ValueError(f"bad escape \\{nxt}")
    return bytes(out)


def read_text_proto(
    path: str | os.PathLike, kind: str = "policy_specs.pbtxt"
) -> list[tuple[str, object]]:
    """Parse a (regular, not too large for `kind`) text-proto file; InputError naming it
    otherwise."""
    path = Path(path)
    data = _read_file(path, limit=input_files.LIMITS[kind], what=kind)
    try:
        return parse_text_proto(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InputError(
            f"{path}: not a valid text proto ({exc})", "write it again with PolicySaver", path=path
        ) from None
