"""A tensor bundle written by pytfpol: the `.index` table and one `.data-00000-of-00001` shard, in
the format `bundle`, `sstable` and `tensor_data` read (TensorFlow's checkpoint format), for the
checkpoints pytfpol writes into OUT.

Why not TensorFlow's saver: its `BundleWriter` zero-fills an 8 MiB write buffer for every
checkpoint it writes, and the save ops it needs grow the policy's graph and start a new executor
in its session; together they were the largest part of the memory `pytfpol eval` used beyond a
minimal TF-Agents script (bench/README.md). What to write (keys, dtypes, values, the object graph)
is still decided by TensorFlow (`policy.checkpoints`); this module only lays the bytes out.

Files are created new (`O_EXCL`, never through a symlink) in a directory pytfpol made: the
staging directory of an output set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, Iterator, Union

import numpy as np

from pytfpol.formats.bundle import DT_BFLOAT16, DT_STRING, DTYPES, data_path, index_path
from pytfpol.formats.sstable import TABLE_MAGIC, crc32c, mask_crc

PIECE_BYTES = 1 << 20  # a tensor is checksummed and written in pieces of at most this
BLOCK_BYTES = 4096  # a table block is closed once it holds this much, as LevelDB's default
BUNDLE_VERSION = 1  # BundleHeaderProto.version.producer, as TensorFlow 2.x writes it


@dataclass(frozen=True)
class Blocks:
    """A numeric tensor too large to hold at once: its shape and, read on demand, its
    consecutive blocks of rows (in C order), e.g. from a session one block at a time."""

    shape: tuple[int, ...]
    read: Callable[[], Iterator[np.ndarray]]


@dataclass(frozen=True)
class TensorToWrite:
    """One tensor of a bundle: its checkpoint key, TensorFlow dtype enum and value (numeric: an
    array of the dtype's little-endian numpy type; strings: an array of `bytes`)."""

    key: str
    dtype_enum: int
    value: Union[np.ndarray, Blocks]

    @property
    def shape(self) -> tuple[int, ...]:
        shape = self.value.shape if isinstance(self.value, Blocks) else np.shape(self.value)
        return tuple(int(d) for d in shape)


def write_bundle(prefix: Path, tensors: Iterable[TensorToWrite]) -> None:
    """`prefix`.index and `prefix`.data-00000-of-00001 holding `tensors`. Raises OSError."""
    entries: list[tuple[bytes, bytes]] = []
    with _create(data_path(prefix, 0, 1)) as data:
        offset = 0
        for tensor in sorted(tensors, key=lambda t: t.key):
            size, crc = _write_value(data, tensor)
            entries.append(
                (tensor.key.encode(), _entry(tensor.dtype_enum, tensor.shape, offset, size, crc))
            )
            offset += size
    # BundleHeaderProto: num_shards (1), endianness (little: the default, left out), version.
    header = _field_varint(1, 1) + _field_bytes(3, _field_varint(1, BUNDLE_VERSION))
    with _create(index_path(prefix)) as index:
        index.write(_table([(b"", header), *entries]))


def _create(path: Path) -> BinaryIO:
    """A new file at `path`, opened for writing: never an existing one, never via a symlink."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    return os.fdopen(os.open(path, flags, 0o666), "wb")


def _write_value(out: BinaryIO, tensor: TensorToWrite) -> tuple[int, int]:
    """Write the tensor's bytes; returns their size and unmasked CRC32C."""
    if tensor.dtype_enum == DT_STRING:
        encoded = encode_strings(np.asarray(tensor.value))
        out.write(encoded.data)
        return len(encoded.data), encoded.crc
    numpy_dtype = DTYPES[tensor.dtype_enum][1]
    if numpy_dtype is None:
        raise ValueError(f"{tensor.key}: {DTYPES[tensor.dtype_enum][0]} cannot be written")
    value = tensor.value
    blocks = value.read() if isinstance(value, Blocks) else [value]
    size = crc = 0
    for block in blocks:
        array = np.ascontiguousarray(block)
        if tensor.dtype_enum == DT_BFLOAT16:
            array = array.view(numpy_dtype)  # its raw 16-bit patterns: numpy has no bfloat16
        else:
            array = array.astype(numpy_dtype, copy=False)
        raw = array.reshape(-1).view(np.uint8)
        for start in range(0, len(raw), PIECE_BYTES):
            piece = raw[start : start + PIECE_BYTES].tobytes()
            crc = crc32c(piece, crc)
            out.write(piece)
        size += len(raw)
    return size, crc


@dataclass(frozen=True)
class EncodedStrings:
    data: bytes
    crc: int  # the tensor's CRC32C, unmasked, as TensorFlow computes it (not over the varints)


def encode_strings(value: np.ndarray) -> EncodedStrings:
    """TensorFlow's string tensor encoding: each length as a varint, the masked CRC32C of the
    lengths (each as 4 little-endian bytes, 8 when over 4 GiB), then the strings."""
    strings = [bytes(s) for s in np.asarray(value, dtype=object).reshape(-1)]
    varints = b"".join(_varint(len(s)) for s in strings)
    lengths = b"".join(len(s).to_bytes(4 if len(s) <= 0xFFFFFFFF else 8, "little") for s in strings)
    lengths_crc = crc32c(lengths)
    checksum = mask_crc(lengths_crc).to_bytes(4, "little")
    body = b"".join(strings)
    crc = crc32c(body, crc32c(checksum, lengths_crc))
    return EncodedStrings(varints + checksum + body, crc)


# ----------------------------------------------------------------------------- protobuf


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field_varint(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _field_bytes(number: int, data: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _entry(dtype_enum: int, shape: tuple[int, ...], offset: int, size: int, crc: int) -> bytes:
    """A BundleEntryProto: dtype, shape, shard 0, offset, size, masked crc32c (fixed32)."""
    dims = b"".join(_field_bytes(2, _field_varint(1, d) if d else b"") for d in shape)
    proto = _field_varint(1, dtype_enum) + _field_bytes(2, dims)
    if offset:
        proto += _field_varint(4, offset)
    if size:
        proto += _field_varint(5, size)
    return proto + _varint(6 << 3 | 5) + mask_crc(crc).to_bytes(4, "little")


# ----------------------------------------------------------------------------- the SSTable


def _table(items: list[tuple[bytes, bytes]]) -> bytes:
    """A LevelDB table of `items` (keys in increasing order): data blocks of about BLOCK_BYTES,
    an empty metaindex block, the index block (each data block's last key and handle), the
    footer. Keys are stored whole (each entry a restart point): a valid table, if not the
    smallest one."""
    out = bytearray()
    index: list[tuple[bytes, bytes]] = []
    block: list[tuple[bytes, bytes]] = []
    size = 0
    for key, value in items:
        block.append((key, value))
        size += len(key) + len(value) + 12
        if size >= BLOCK_BYTES:
            index.append((key, _add_block(out, block)))
            block, size = [], 0
    if block:
        index.append((block[-1][0], _add_block(out, block)))
    metaindex = _add_block(out, [])
    index_handle = _add_block(out, index)
    footer = (metaindex + index_handle).ljust(40, b"\0")
    out += footer + TABLE_MAGIC.to_bytes(8, "little")
    return bytes(out)


def _add_block(out: bytearray, entries: list[tuple[bytes, bytes]]) -> bytes:
    """Append one block (and its trailer: no compression, masked CRC32C) to `out`; returns its
    handle (offset and size as varints)."""
    contents = bytearray()
    restarts = []
    for key, value in entries:
        restarts.append(len(contents))
        contents += _varint(0) + _varint(len(key)) + _varint(len(value)) + key + value
    for restart in restarts or [0]:
        contents += restart.to_bytes(4, "little")
    contents += len(restarts or [0]).to_bytes(4, "little")
    handle = _varint(len(out)) + _varint(len(contents))
    out += contents
    trailer = b"\0"
    out += trailer + mask_crc(crc32c(bytes(contents) + trailer)).to_bytes(4, "little")
    return handle
