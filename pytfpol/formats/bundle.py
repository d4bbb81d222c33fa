"""The tensor bundle's index: its header (`BundleHeaderProto`) and entries (`BundleEntryProto`:
dtype, shape, shard, offset, size, checksum), parsed from the index SSTable and checked for sense
(sizes that fit the dtype and shape, bounded ranks and element counts); bundle file names."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from pytfpol.formats import input_files
from pytfpol.formats.sstable import (
    _Corrupt,
    _expect,
    _fields,
    _int64,
    _number,
    _span,
    _table_items,
)

MAX_INDEX_BYTES = input_files.LIMITS["checkpoint index"]
MAX_RANK = 64
MAX_ELEMENTS = 1 << 48
MAX_SHARDS = 100_000
PY_STATE_SUFFIX = "/.ATTRIBUTES/py_state"
VARIABLE_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"
OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
HELD = "a data shard: what its index says it holds"  # the size limit of a .data-* file

# TensorFlow DataType enum -> (name, numpy dtype or None). Little-endian, as bundles are.
DTYPES: dict[int, tuple[str, Optional[str]]] = {
    1: ("float32", "<f4"),
    2: ("float64", "<f8"),
    3: ("int32", "<i4"),
    4: ("uint8", "u1"),
    5: ("int16", "<i2"),
    6: ("int8", "i1"),
    7: ("string", None),
    8: ("complex64", "<c8"),
    9: ("int64", "<i8"),
    10: ("bool", "?"),
    11: ("qint8", "i1"),
    12: ("quint8", "u1"),
    13: ("qint32", "<i4"),
    14: ("bfloat16", "<u2"),  # no numpy bfloat16: kept as its raw 16-bit patterns
    15: ("qint16", "<i2"),
    16: ("quint16", "<u2"),
    17: ("uint16", "<u2"),
    18: ("complex128", "<c16"),
    19: ("float16", "<f2"),
    20: ("resource", None),
    21: ("variant", None),
    22: ("uint32", "<u4"),
    23: ("uint64", "<u8"),
}
DT_STRING = 7
DT_BOOL = 10
DT_BFLOAT16 = 14


# ----------------------------------------------------------------------------- bundle entries


@dataclass(frozen=True)
class Entry:
    """One tensor of a bundle, as described by its BundleEntryProto."""

    key: str
    dtype_enum: int
    shape: tuple[int, ...]
    shard_id: int = 0
    offset: int = 0
    size: int = 0
    crc32c: Optional[int] = None
    sliced: bool = False

    @property
    def dtype(self) -> str:
        return DTYPES.get(self.dtype_enum, (f"dtype_{self.dtype_enum}", None))[0]

    @property
    def num_elements(self) -> int:
        count = 1
        for dim in self.shape:
            count *= dim
        return count

    @property
    def is_py_state(self) -> bool:
        return self.key.endswith(PY_STATE_SUFFIX)


def _parse_shape(buf: bytes, span: tuple[int, int]) -> tuple[int, ...]:
    dims: list[int] = []
    for number, wire, value in _fields(buf, *span):
        if number == 2:
            _expect(wire, 2, "shape dim")
            size = 0
            for n2, w2, v2 in _fields(buf, *_span(value)):
                if n2 == 1:
                    _expect(w2, 0, "dim size")
                    size = _int64(_number(v2))
            if size < 0:
                raise _Corrupt(f"negative dimension {size}")
            dims.append(size)
            if len(dims) > MAX_RANK:
                raise _Corrupt(f"rank above {MAX_RANK}")
        elif number == 3 and value:
            raise _Corrupt("unknown rank in a saved tensor")
    count = 1
    for dim in dims:
        count *= dim
        if count > MAX_ELEMENTS:
            raise _Corrupt(f"shape {tuple(dims)} is absurdly large")
    return tuple(dims)


def _parse_entry(key: str, buf: bytes) -> Entry:
    values: dict[str, object] = {"dtype_enum": 0, "shape": (), "crc32c": None, "sliced": False}
    for number, wire, value in _fields(buf):
        if number == 1:
            _expect(wire, 0, "dtype")
            values["dtype_enum"] = _number(value)
        elif number == 2:
            _expect(wire, 2, "shape")
            values["shape"] = _parse_shape(buf, _span(value))
        elif number in (3, 4, 5):
            _expect(wire, 0, "shard_id/offset/size")
            values[{3: "shard_id", 4: "offset", 5: "size"}[number]] = _int64(_number(value))
        elif number == 6:
            _expect(wire, 5, "crc32c")
            values["crc32c"] = _number(value)
        elif number == 7:
            values["sliced"] = True
    entry = Entry(key=key, **values)  # type: ignore[arg-type]
    _check_entry(entry)
    return entry


def _check_entry(entry: Entry) -> None:
    if entry.dtype_enum not in DTYPES:
        raise _Corrupt(f"{entry.key!r}: unknown dtype enum {entry.dtype_enum}")
    if entry.shard_id < 0 or entry.offset < 0 or entry.size < 0:
        raise _Corrupt(f"{entry.key!r}: negative shard, offset or size")
    if entry.sliced:
        return
    numpy_dtype = DTYPES[entry.dtype_enum][1]
    if numpy_dtype is not None:
        expected = entry.num_elements * np.dtype(numpy_dtype).itemsize
        if entry.size != expected:
            raise _Corrupt(
                f"{entry.key!r}: {entry.size} bytes for {entry.dtype} {list(entry.shape)} "
                f"(expected {expected})"
            )
    elif entry.dtype_enum == DT_STRING:
        if entry.size < entry.num_elements + 4 and entry.num_elements:
            raise _Corrupt(
                f"{entry.key!r}: {entry.size} bytes cannot hold {entry.num_elements} strings"
            )
    elif entry.size:
        raise _Corrupt(f"{entry.key!r}: {entry.dtype} tensors cannot be read")


@dataclass(frozen=True)
class Header:
    num_shards: int
    endianness: int
    producer: int


def _parse_header(buf: bytes) -> Header:
    num_shards, endianness, producer = 0, 0, 0
    for number, wire, value in _fields(buf):
        if number == 1:
            _expect(wire, 0, "num_shards")
            num_shards = _int64(_number(value))
        elif number == 2:
            _expect(wire, 0, "endianness")
            endianness = _number(value)
        elif number == 3:
            _expect(wire, 2, "version")
            for n2, w2, v2 in _fields(buf, *_span(value)):
                if n2 == 1 and w2 == 0:
                    producer = _number(v2)
    if not 1 <= num_shards <= MAX_SHARDS:
        raise _Corrupt(f"header says {num_shards} data shards")
    if endianness != 0:
        raise _Corrupt("big-endian bundles are not supported")
    return Header(num_shards, endianness, producer)


def index_path(prefix: str | os.PathLike) -> Path:
    return Path(f"{os.fspath(prefix)}.index")


def data_path(prefix: str | os.PathLike, shard: int, num_shards: int) -> Path:
    return Path(f"{os.fspath(prefix)}.data-{shard:05d}-of-{num_shards:05d}")


def _parse_index(data: bytes) -> tuple[Header, dict[str, Entry]]:
    header: Optional[Header] = None
    entries: dict[str, Entry] = {}
    for raw_key, value in _table_items(data):
        if raw_key == b"":
            header = _parse_header(value)
            continue
        if raw_key[:1] == b"\x00":  # an encoded slice key of a partitioned variable
            continue
        try:
            key = raw_key.decode("utf-8")
        except UnicodeDecodeError:
            raise _Corrupt(f"tensor name {raw_key[:40]!r} is not UTF-8") from None
        entries[key] = _parse_entry(key, value)
    if header is None:
        raise _Corrupt("no bundle header")
    return header, entries


def prefix_of(path: str | os.PathLike) -> Optional[str]:
    """The bundle prefix named by a prefix, its `.index` or one of its `.data-*` files."""
    text = os.fspath(path)
    if text.endswith(".index"):
        return text[: -len(".index")]
    match = re.match(r"^(.*)\.data-\d{5}-of-\d{5}$", text)
    if match:
        return match.group(1)
    return text if os.path.lexists(index_path(text)) else None


def short_name(key: str) -> str:
    """`a/b/.ATTRIBUTES/VARIABLE_VALUE` -> `a/b`; other keys unchanged."""
    for suffix in (PY_STATE_SUFFIX, VARIABLE_SUFFIX):
        if key.endswith(suffix):
            return key[: -len(suffix)]
    return key
