"""TensorFlow's table format (LevelDB SSTable) and the protobuf wire format beneath it: varints,
fields, blocks with their masked CRC32C, the footer. Why a module: every binary TensorFlow file
(the checkpoint index, saved_model.pb) is read through these few strict functions, which raise
`_Corrupt` (turned into InputError by the caller, with the file name) on any malformed byte."""

from __future__ import annotations

from typing import Iterator, Optional, Union

import google_crc32c

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48  # two block handles padded to 40 bytes, then the 8-byte magic
BLOCK_TRAILER_SIZE = 5  # compression type byte + masked crc32c
HINT_CORRUPT = "the checkpoint is damaged or not a TensorFlow checkpoint; write it again"


# ----------------------------------------------------------------------------- CRC32C


def crc32c(data: bytes, crc: int = 0) -> int:
    """CRC32C (Castagnoli) of `data`, extending `crc`: Google's C implementation
    (`google-crc32c`, several GB/s), which takes `bytes` only."""
    return google_crc32c.extend(crc, data if isinstance(data, bytes) else bytes(data))


def masked_crc32c(data: bytes) -> int:
    """TensorFlow's masked CRC32C (as stored in tables and bundles)."""
    return mask_crc(crc32c(data))


def mask_crc(crc: int) -> int:
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


# ----------------------------------------------------------------------------- low-level decoding


class _Corrupt(Exception):
    """Internal: a structural problem; turned into InputError with the file name."""


def _varint(buf: bytes, pos: int, end: int, limit_bits: int = 64) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= end:
            raise _Corrupt("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            break
        shift += 7
        if shift >= limit_bits:
            raise _Corrupt("varint too long")
    if result >> limit_bits:
        raise _Corrupt("varint out of range")
    return result, pos


# A protobuf field's value: a number (varint, fixed64, fixed32) or the (start, end) span of a
# length-delimited field.
FieldValue = Union[int, tuple[int, int]]


def _fields(
    buf: bytes, start: int = 0, end: Optional[int] = None
) -> Iterator[tuple[int, int, FieldValue]]:
    """Protobuf wire format: yield (field number, wire type, int value or (start, end) span)."""
    end = len(buf) if end is None else end
    pos = start
    value: FieldValue
    while pos < end:
        tag, pos = _varint(buf, pos, end)
        number, wire = tag >> 3, tag & 7
        if number == 0:
            raise _Corrupt("protobuf field number 0")
        if wire == 0:
            value, pos = _varint(buf, pos, end)
        elif wire == 1:
            if pos + 8 > end:
                raise _Corrupt("truncated fixed64")
            value, pos = int.from_bytes(buf[pos : pos + 8], "little"), pos + 8
        elif wire == 5:
            if pos + 4 > end:
                raise _Corrupt("truncated fixed32")
            value, pos = int.from_bytes(buf[pos : pos + 4], "little"), pos + 4
        elif wire == 2:
            length, pos = _varint(buf, pos, end)
            if length > end - pos:
                raise _Corrupt("protobuf length past the end")
            value, pos = (pos, pos + length), pos + length
        else:
            raise _Corrupt(f"unsupported protobuf wire type {wire}")
        yield number, wire, value


def _span(value: FieldValue) -> tuple[int, int]:
    """A length-delimited field's (start, end); a number there is a malformed message."""
    if isinstance(value, int):
        raise _Corrupt("a number where a length-delimited field belongs")
    return value


def _number(value: FieldValue) -> int:
    """A number field's value; a length-delimited one there is a malformed message."""
    if not isinstance(value, int):
        raise _Corrupt("a length-delimited field where a number belongs")
    return value


def _int64(value: int) -> int:
    return value - (1 << 64) if value >> 63 else value


def _expect(wire: int, expected: int, what: str) -> None:
    if wire != expected:
        raise _Corrupt(f"{what} has wire type {wire}, expected {expected}")


# ----------------------------------------------------------------------------- the SSTable


def _block_handle(buf: bytes, pos: int, end: int) -> tuple[int, int, int]:
    offset, pos = _varint(buf, pos, end)
    size, pos = _varint(buf, pos, end)
    return offset, size, pos


def _read_block(data: bytes, offset: int, size: int, limit: int) -> bytes:
    """Block contents at `offset`, its trailer checked (uncompressed, crc matches)."""
    if offset + size + BLOCK_TRAILER_SIZE > limit:
        raise _Corrupt(f"block at {offset} (+{size}) past the end of the table")
    contents = data[offset : offset + size]
    kind = data[offset + size]
    stored = int.from_bytes(data[offset + size + 1 : offset + size + 5], "little")
    if mask_crc(crc32c(data[offset : offset + size + 1])) != stored:
        raise _Corrupt(f"block at {offset}: checksum mismatch")
    if kind != 0:
        raise _Corrupt(f"block at {offset}: compression type {kind} is not supported")
    return contents


def _block_entries(block: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Key/value pairs of one table block (prefix-compressed keys, restart array at the end)."""
    if len(block) < 4:
        raise _Corrupt("block too small")
    restarts = int.from_bytes(block[-4:], "little")
    if restarts == 0 or restarts * 4 + 4 > len(block):
        raise _Corrupt(f"block restart count {restarts} is impossible")
    end = len(block) - 4 - 4 * restarts
    pos, key = 0, b""
    while pos < end:
        shared, pos = _varint(block, pos, end, 32)
        unshared, pos = _varint(block, pos, end, 32)
        value_length, pos = _varint(block, pos, end, 32)
        if shared > len(key) or unshared + value_length > end - pos:
            raise _Corrupt("block entry out of range")
        key = key[:shared] + block[pos : pos + unshared]
        pos += unshared
        yield key, block[pos : pos + value_length]
        pos += value_length


def _table_items(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    if len(data) < FOOTER_SIZE:
        raise _Corrupt(f"{len(data)} bytes is too short for a table")
    footer = len(data) - FOOTER_SIZE
    if int.from_bytes(data[-8:], "little") != TABLE_MAGIC:
        raise _Corrupt("bad table magic number (not a TensorFlow checkpoint index)")
    meta_offset, meta_size, pos = _block_handle(data, footer, len(data) - 8)
    index_offset, index_size, _ = _block_handle(data, pos, len(data) - 8)
    index = _read_block(data, index_offset, index_size, footer)
    for _ in _block_entries(_read_block(data, meta_offset, meta_size, footer)):
        pass  # bundles keep no meta blocks; the metaindex is still checked
    previous = None
    for _, handle in _block_entries(index):
        offset, size, end = _block_handle(handle, 0, len(handle))
        if end != len(handle):
            raise _Corrupt("index entry has trailing bytes")
        for key, value in _block_entries(_read_block(data, offset, size, index_offset)):
            if previous is not None and key <= previous:
                raise _Corrupt("keys are not in increasing order")
            previous = key
            yield key, value
