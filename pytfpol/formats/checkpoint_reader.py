"""Read TensorFlow checkpoints (V2 tensor bundles) with numpy and google-crc32c, without TensorFlow.

Why: `pytfpol inspect` should answer faster than `import tensorflow`, and TensorFlow aborts,
segfaults or hangs on some crafted checkpoint files, so every checkpoint is validated here before
TensorFlow reads it. The reader is strict: any byte string either parses completely or raises
`InputError` naming the file and the problem; no other exception escapes.

A bundle `<prefix>` is `<prefix>.index`, an SSTable (LevelDB table format) mapping tensor names to
`BundleEntryProto`s (the header `BundleHeaderProto` is under the key ""), and
`<prefix>.data-<shard>-of-<num_shards>` files holding the tensor bytes. Checksums are TF's masked
CRC32C (computed by `google-crc32c`, Google's C library); index blocks are verified when opened,
tensor data when read.
"""

from __future__ import annotations

import hashlib
import io
import os
import queue
import re
import struct
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional

import google_crc32c
import numpy as np

from pytfpol.errors import InputError
from pytfpol.formats import input_files

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48  # two block handles padded to 40 bytes, then the 8-byte magic
BLOCK_TRAILER_SIZE = 5  # compression type byte + masked crc32c
MAX_INDEX_BYTES = input_files.LIMITS["checkpoint index"]
MAX_RANK = 64
MAX_ELEMENTS = 1 << 48
MAX_SHARDS = 100_000
PY_STATE_SUFFIX = "/.ATTRIBUTES/py_state"
VARIABLE_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"
OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
HINT_CORRUPT = "the checkpoint is damaged or not a TensorFlow checkpoint; write it again"
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
# Large tensors are read, checksummed and tested in pieces of this size, each while it is still
# in the CPU's cache (`Bundle.read_all`); a multiple of every element size.
PIECE_BYTES = 1 << 20
READ_AHEAD_PIECES = 8  # from this many pieces in a tensor, a thread reads ahead


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


def _fields(
    buf: bytes, start: int = 0, end: Optional[int] = None
) -> Iterator[tuple[int, int, object]]:
    """Protobuf wire format: yield (field number, wire type, int value or (start, end) span)."""
    end = len(buf) if end is None else end
    pos = start
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


def _int64(value: int) -> int:
    return value - (1 << 64) if value >> 63 else value


def _expect(wire: int, expected: int, what: str) -> None:
    if wire != expected:
        raise _Corrupt(f"{what} has wire type {wire}, expected {expected}")


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
            for n2, w2, v2 in _fields(buf, *value):
                if n2 == 1:
                    _expect(w2, 0, "dim size")
                    size = _int64(v2)
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
            values["dtype_enum"] = value
        elif number == 2:
            _expect(wire, 2, "shape")
            values["shape"] = _parse_shape(buf, value)
        elif number in (3, 4, 5):
            _expect(wire, 0, "shard_id/offset/size")
            values[{3: "shard_id", 4: "offset", 5: "size"}[number]] = _int64(value)
        elif number == 6:
            _expect(wire, 5, "crc32c")
            values["crc32c"] = value
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
            num_shards = _int64(value)
        elif number == 2:
            _expect(wire, 0, "endianness")
            endianness = value
        elif number == 3:
            _expect(wire, 2, "version")
            for n2, w2, v2 in _fields(buf, *value):
                if n2 == 1 and w2 == 0:
                    producer = v2
    if not 1 <= num_shards <= MAX_SHARDS:
        raise _Corrupt(f"header says {num_shards} data shards")
    if endianness != 0:
        raise _Corrupt("big-endian bundles are not supported")
    return Header(num_shards, endianness, producer)


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


# ----------------------------------------------------------------------------- files


def _regular_file_size(path: Path, limit: Optional[int] = None, what: str = "") -> int:
    """Size of `path`, by path (never opened), refusing anything but a regular file within
    `limit` (see `input_files`)."""
    return input_files.check_path(path, limit, what, HINT_CORRUPT)


def _read_file(
    path: Path,
    offset: int = 0,
    size: Optional[int] = None,
    limit: Optional[int] = None,
    what: str = "",
) -> bytes:
    """Read bytes of a regular file within `limit` (to its end when `size` is None); see
    `_opened`."""
    with _opened(path, limit, what) as (fd, file_size):
        return _pread(fd, path, offset, file_size - offset if size is None else size)


def _opened(path: Path, limit: Optional[int] = None, what: str = ""):
    """A regular file's descriptor and size, within `limit`: pytfpol's one way to open an
    input file (`input_files.opened`: non-blocking, re-checked with fstat)."""
    return input_files.opened(path, limit, what, HINT_CORRUPT)


def _pread(fd: int, path: Path, offset: int, size: int) -> bytes:
    """Exactly `size` bytes at `offset` of an open file (InputError when it ends first)."""
    chunks, done = [], 0
    try:
        while done < size:
            chunk = os.pread(fd, min(size - done, 1 << 30), offset + done)
            if not chunk:
                raise InputError(
                    f"{path}: truncated (wanted {size} bytes at {offset}, got {done})",
                    HINT_CORRUPT,
                    path=path,
                )
            chunks.append(chunk)
            done += len(chunk)
    except OSError as exc:
        raise InputError(
            f"{path}: cannot read ({exc.strerror or exc})", HINT_CORRUPT, path=path
        ) from None
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class _Window:
    """Sequential reads of a data file in pieces of at least PIECE_BYTES: tensors read in offset
    order cost one `pread` per piece, not one per tensor."""

    def __init__(self, fd: int, path: Path, size: int) -> None:
        self._fd, self._path, self._size = fd, path, size
        self._start, self._data = 0, b""

    def bytes(self, offset: int, size: int) -> bytes:
        start = offset - self._start
        if start < 0 or start + size > len(self._data):
            self._start = offset
            self._data = _pread(
                self._fd, self._path, offset, max(size, min(PIECE_BYTES, self._size - offset))
            )
            start = 0
        if start == 0 and size == len(self._data):
            return self._data
        return self._data[start : start + size]


def index_path(prefix: str | os.PathLike) -> Path:
    return Path(f"{os.fspath(prefix)}.index")


def data_path(prefix: str | os.PathLike, shard: int, num_shards: int) -> Path:
    return Path(f"{os.fspath(prefix)}.data-{shard:05d}-of-{num_shards:05d}")


@dataclass
class Bundle:
    """A validated checkpoint: its entries (metadata only); values are read on demand."""

    prefix: str
    header: Header
    entries: dict[str, Entry]
    shard_sizes: list[int] = field(default_factory=list)
    index_sha256: str = ""  # of the .index file's bytes
    index_bytes: int = 0
    index_data: Optional[bytes] = None  # the .index file's bytes, when asked to keep them
    _held: Optional[dict[int, int]] = field(default=None, repr=False, compare=False)

    @property
    def index_file(self) -> Path:
        return index_path(self.prefix)

    def data_file(self, shard: int) -> Path:
        return data_path(self.prefix, shard, self.header.num_shards)

    def keys(self) -> list[str]:
        return list(self.entries)

    def held(self, shard: int) -> int:
        """What the index says data shard `shard` holds: the end of its last tensor (TF's
        BundleWriter writes nothing after it), the size limit of that file."""
        if self._held is None:
            self._held = {}
            for e in self.entries.values():
                self._held[e.shard_id] = max(self._held.get(e.shard_id, 0), e.offset + e.size)
        return self._held.get(shard, 0)

    def read(self, key: str) -> np.ndarray:
        """The tensor's value (strings as an object array of bytes), its checksum verified."""
        entry = self.entries.get(key)
        if entry is None:
            raise InputError(
                f"{self.index_file}: no tensor named {key!r}",
                "list the keys with `pytfpol inspect`",
                path=self.index_file,
            )
        if entry.sliced:
            raise InputError(
                f"{self.index_file}: {key!r} is a partitioned (sliced) variable; reading it is not supported",
                "read it with tf.train.load_checkpoint",
                path=self.index_file,
            )
        path = self.data_file(entry.shard_id)
        raw = b""
        if entry.size:
            raw = _read_file(path, entry.offset, entry.size, self.held(entry.shard_id), HELD)
        try:
            return _decode(entry, raw)
        except _Corrupt as exc:
            raise InputError(f"{path}: {exc}", HINT_CORRUPT, path=path) from None

    def read_all(
        self,
        visit: Callable[..., None],
        accept: Optional[Callable[[Entry, np.ndarray], bool]] = None,
        digests: Optional[dict] = None,
        contents: Optional[dict] = None,
    ) -> None:
        """Read and verify every readable tensor, each data shard opened once and read in
        offset order, and call `visit(entry, value, data_file)` with each (a read-only array;
        nothing is kept here, so a large checkpoint is held only by what `visit` keeps).

        Numeric tensors larger than PIECE_BYTES are read straight into their array piece by
        piece (a thread reading ahead), each piece checksummed and, with `accept(entry, piece)`,
        tested while it is in the CPU's cache; with `accept`, `visit` is called as
        `visit(entry, value, data_file, tested)`, `tested` True when every piece of a large
        tensor was accepted (so `visit` need not look again). A checksum mismatch is always
        reported first. `digests`, when given, receives each data shard's path ->
        (sha256, bytes), hashed by a thread from the same open file while it is read; and
        `contents` (with `digests`) each shard's path -> the bytes that thread read and hashed,
        for a caller that must hand the files on (e.g. ship them to other machines) without
        reading them again.
        """
        by_shard: dict[int, list[Entry]] = {}
        for entry in self.entries.values():
            if entry.sliced or (
                entry.dtype_enum != DT_STRING and DTYPES[entry.dtype_enum][1] is None
            ):
                continue
            by_shard.setdefault(entry.shard_id, []).append(entry)
        for shard in range(self.header.num_shards):
            entries = sorted(by_shard.get(shard, []), key=lambda e: e.offset)
            path = self.data_file(shard)
            with _opened(path, self.held(shard), HELD) as (fd, size):
                hasher = None
                if digests is not None:
                    hasher = _Hasher(fd, path, size, keep=contents is not None)
                try:
                    _read_shard(fd, path, size, entries, visit, accept)
                except BaseException:
                    if hasher is not None:
                        hasher.abandon()  # the reader's error is the one to report
                    raise
                if hasher is not None:
                    digests[str(path)] = (hasher.finish(), size)
                    if contents is not None:
                        contents[str(path)] = hasher.data

    def read_pieces(self, key: str, piece_bytes: int = PIECE_BYTES) -> Iterator[np.ndarray]:
        """A numeric tensor's flat values in pieces of about `piece_bytes` (in order, each a
        view of one reused buffer: use it before asking for the next), so that a tensor of any
        size is read in bounded memory; its checksum is verified after the last piece
        (InputError, as `read`). Strings and sliced tensors: use `read`."""
        entry = self.entries[key]
        numpy_dtype = DTYPES[entry.dtype_enum][1]
        if entry.sliced or entry.dtype_enum == DT_STRING or numpy_dtype is None:
            raise ValueError(f"{key!r}: not a numeric tensor read in pieces")
        dtype = np.dtype(numpy_dtype)
        step = max(piece_bytes // dtype.itemsize, 1) * dtype.itemsize
        path = self.data_file(entry.shard_id)
        with _opened(path) as (fd, size):
            if entry.offset + entry.size > size:
                raise InputError(
                    f"{path}: {entry.key!r} at {entry.offset}+{entry.size} is past the end of the file",
                    HINT_CORRUPT,
                    path=path,
                )
            buffer = np.empty(min(step, entry.size), np.uint8)
            crc = 0
            for start in range(0, entry.size, step):
                piece = buffer[: min(step, entry.size - start)]
                _pread_into(fd, path, piece, entry.offset + start)
                crc = google_crc32c.extend(crc, piece)
                yield piece.view(dtype)
        if entry.crc32c is not None and mask_crc(crc) != entry.crc32c:
            raise InputError(
                f"{path}: {entry.key!r}: data checksum mismatch", HINT_CORRUPT, path=path
            )

    def read_bytes(self, key: str) -> bytes:
        """A scalar string tensor's bytes (e.g. a NumpyState payload)."""
        value = self.read(key)
        if value.dtype != object or value.shape != ():
            raise InputError(
                f"{self.index_file}: {key!r} is not a scalar string",
                HINT_CORRUPT,
                path=self.index_file,
            )
        return value.item()


def _read_shard(fd: int, path: Path, size: int, entries: list, visit, accept) -> None:
    window = _Window(fd, path, size)
    for entry in entries:
        if entry.offset + entry.size > size:
            raise InputError(
                f"{path}: {entry.key!r} at {entry.offset}+{entry.size} is past the end of the file",
                HINT_CORRUPT,
                path=path,
            )
        tested = False
        if entry.size > PIECE_BYTES and entry.dtype_enum not in (DT_STRING, DT_BOOL):
            value, tested = _read_numeric(fd, path, entry, accept)
        else:
            raw = window.bytes(entry.offset, entry.size)
            try:
                value = _decode(entry, raw, copy=False)
            except _Corrupt as exc:
                raise InputError(f"{path}: {exc}", HINT_CORRUPT, path=path) from None
        if accept is None:
            visit(entry, value, path)
        else:
            visit(entry, value, path, tested)


class _Hasher:
    """The sha256 of an open file, computed by a thread that reads it in PIECE_BYTES pieces
    (`os.preadv` and hashlib release the GIL), so that hashing overlaps validation. `keep`: the
    pieces are read into one buffer of the file's size, kept as `data`."""

    def __init__(self, fd: int, path: Path, size: int, keep: bool = False) -> None:
        self._fd, self._path, self._size = fd, path, size
        self.data: Optional[bytearray] = bytearray(size) if keep else None
        self._digest = hashlib.sha256()
        self._error: Optional[BaseException] = None
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="pytfpol-sha256", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        buffer = np.empty(min(PIECE_BYTES, max(self._size, 1)), np.uint8)
        kept = None if self.data is None else np.frombuffer(self.data, np.uint8)
        try:
            for start in range(0, self._size, buffer.size):
                if self._stopped:
                    return
                end = min(start + buffer.size, self._size)
                piece = buffer[: end - start] if kept is None else kept[start:end]
                _pread_into(self._fd, self._path, piece, start)
                self._digest.update(piece)
        except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread
            self._error = exc

    def abandon(self) -> None:
        """Stop hashing (the shard failed validation) and wait for the thread, before the file
        is closed."""
        self._stopped = True
        self._thread.join()

    def finish(self) -> str:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._digest.hexdigest()


def _read_numeric(fd: int, path: Path, entry: Entry, accept) -> tuple[np.ndarray, bool]:
    """A large numeric tensor read straight into its array piece by piece, each piece
    checksummed and tested with `accept` while in cache (no `bytes` copy of the whole). From
    READ_AHEAD_PIECES pieces a thread reads each piece and tests it (`os.preadv` and numpy's
    loops release the GIL) while this thread checksums the pieces already read (google-crc32c
    holds the GIL for arrays), so the two run on two cores. Returns (array, every piece
    accepted); a checksum mismatch is raised before anything `accept` found."""
    raw = np.empty(entry.size, np.uint8)
    starts = range(0, entry.size, PIECE_BYTES)
    dtype = np.dtype(DTYPES[entry.dtype_enum][1])

    def read_and_test(start: int) -> bool:
        piece = raw[start : start + PIECE_BYTES]
        _pread_into(fd, path, piece, entry.offset + start)
        return accept is None or bool(accept(entry, piece.view(dtype)))

    ready: queue.SimpleQueue = queue.SimpleQueue()
    reader = None
    if len(starts) >= READ_AHEAD_PIECES:

        def read_ahead() -> None:
            try:
                for start in starts:
                    ready.put(read_and_test(start))
            except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread
                ready.put(exc)

        reader = threading.Thread(target=read_ahead, name="pytfpol-read", daemon=True)
        reader.start()
    crc, accepted = 0, accept is not None
    try:
        for start in starts:
            if reader is None:
                tested = read_and_test(start)
            else:
                tested = ready.get()
                if isinstance(tested, BaseException):
                    raise tested
            crc = google_crc32c.extend(crc, raw[start : start + PIECE_BYTES])
            accepted = accepted and tested
    finally:
        if reader is not None:
            reader.join()
    if entry.crc32c is not None and mask_crc(crc) != entry.crc32c:
        raise InputError(f"{path}: {entry.key!r}: data checksum mismatch", HINT_CORRUPT, path=path)
    value = raw.view(dtype).reshape(entry.shape)
    value.flags.writeable = False
    return value, accepted


def _pread_into(fd: int, path: Path, target: np.ndarray, offset: int) -> None:
    """Fill `target` (bytes) from `offset` of an open file (InputError when it ends first)."""
    done, size = 0, target.size
    try:
        while done < size:
            count = os.preadv(fd, [target[done:]], offset + done)
            if not count:
                raise InputError(
                    f"{path}: truncated (wanted {size} bytes at {offset}, got {done})",
                    HINT_CORRUPT,
                    path=path,
                )
            done += count
    except OSError as exc:
        raise InputError(
            f"{path}: cannot read ({exc.strerror or exc})", HINT_CORRUPT, path=path
        ) from None


def _decode(entry: Entry, raw: bytes, copy: bool = True) -> np.ndarray:
    """The tensor in `raw`, its checksum verified; a read-only view of `raw` unless `copy`."""
    if entry.dtype_enum == DT_STRING:
        return _decode_strings(entry, raw)
    if entry.crc32c is not None and masked_crc32c(raw) != entry.crc32c:
        raise _Corrupt(f"{entry.key!r}: data checksum mismatch")
    numpy_dtype = DTYPES[entry.dtype_enum][1]
    if numpy_dtype is None:
        raise _Corrupt(f"{entry.key!r}: {entry.dtype} tensors cannot be read")
    array = np.frombuffer(raw, np.dtype(numpy_dtype)).reshape(entry.shape)
    if copy:
        array = array.copy()
    if (
        entry.dtype_enum == DT_BOOL
        and array.size
        and not np.isin(array.view(np.uint8), (0, 1)).all()
    ):
        raise _Corrupt(f"{entry.key!r}: bool tensor holds bytes other than 0 and 1")
    return array


def _decode_strings(entry: Entry, raw: bytes) -> np.ndarray:
    """TF's string encoding: varint64 lengths, masked crc32c of the lengths, then the bytes."""
    count, pos, lengths = entry.num_elements, 0, []
    length_bytes = bytearray()
    for _ in range(count):
        length, pos = _varint(raw, pos, len(raw))
        lengths.append(length)
        length_bytes += (
            struct.pack("<I", length) if length <= 0xFFFFFFFF else struct.pack("<Q", length)
        )
    if pos + 4 > len(raw):
        raise _Corrupt(f"{entry.key!r}: string lengths run past the tensor")
    lengths_crc = crc32c(bytes(length_bytes))
    stored = raw[pos : pos + 4]
    if int.from_bytes(stored, "little") != mask_crc(lengths_crc):
        raise _Corrupt(f"{entry.key!r}: string length checksum mismatch")
    pos += 4
    if pos + sum(lengths) != len(raw):
        raise _Corrupt(f"{entry.key!r}: string lengths do not add up to the tensor size")
    crc = crc32c(stored, lengths_crc)
    strings = np.empty(count, dtype=object)
    for i, length in enumerate(lengths):
        strings[i] = raw[pos : pos + length]
        pos += length
    crc = crc32c(raw[pos - sum(lengths) : pos], crc)
    if entry.crc32c is not None and mask_crc(crc) != entry.crc32c:
        raise _Corrupt(f"{entry.key!r}: data checksum mismatch")
    return strings.reshape(entry.shape)


def read_index(prefix: str | os.PathLike, keep: bool = False) -> Bundle:
    """Parse and validate `<prefix>.index` only (its data files are not looked at); `keep`: the
    bundle keeps the index's bytes (`index_data`)."""
    path = index_path(prefix)
    data = _read_file(path, limit=MAX_INDEX_BYTES, what="a checkpoint index")
    index_sha256 = hashlib.sha256(data).hexdigest()
    try:
        header, entries = _parse_index(data)
    except (_Corrupt, ValueError, IndexError, OverflowError, struct.error) as exc:
        raise InputError(
            f"{path}: corrupt checkpoint index ({exc})", HINT_CORRUPT, path=path
        ) from None
    return Bundle(
        os.fspath(prefix),
        header,
        entries,
        index_sha256=index_sha256,
        index_bytes=len(data),
        index_data=data if keep else None,
    )


def open_bundle(prefix: str | os.PathLike, keep: bool = False) -> Bundle:
    """Parse and validate `<prefix>.index`, and check every entry lies inside its data file
    (`keep`: see `read_index`)."""
    bundle = read_index(prefix, keep)
    header, entries, path = bundle.header, bundle.entries, bundle.index_file
    bundle.shard_sizes = [
        _regular_file_size(bundle.data_file(i), bundle.held(i), HELD)
        for i in range(header.num_shards)
    ]
    for entry in entries.values():
        if entry.sliced:
            continue
        if entry.shard_id >= header.num_shards:
            raise InputError(
                f"{path}: {entry.key!r} is in shard {entry.shard_id} of {header.num_shards}",
                HINT_CORRUPT,
                path=path,
            )
        if entry.offset + entry.size > bundle.shard_sizes[entry.shard_id]:
            data_file = bundle.data_file(entry.shard_id)
            raise InputError(
                f"{data_file}: {entry.key!r} at {entry.offset}+{entry.size} is past the end of the file",
                HINT_CORRUPT,
                path=data_file,
            )
    return bundle


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


# ----------------------------------------------------------------------------- NumpyState


def decode_py_state(payload: bytes, key: str, *, numeric_only: bool = False) -> np.ndarray:
    """The array in a NumpyState `.npy` payload; never unpickles.

    Refuses pickles, `.npz` archives, object arrays, trailing bytes and (with `numeric_only`)
    anything but bool/int/uint/float/complex; the InputError names `key` and says why.
    """

    def refuse(why: str) -> InputError:
        return InputError(
            f"{key}: NumpyState entry refused: {why}",
            "it was not written by NumpyState from a plain numeric/text array",
        )

    if not isinstance(payload, (bytes, bytearray, memoryview)):
        raise refuse("the payload is not bytes")
    payload = bytes(payload)
    if payload.startswith(b"PK\x03\x04"):
        raise refuse("it is an .npz archive, not an .npy array")
    if not payload.startswith(b"\x93NUMPY"):
        raise refuse("not .npy data" + (" (a pickle)" if payload[:1] == b"\x80" else ""))
    stream = io.BytesIO(payload)
    try:
        array = np.load(stream, allow_pickle=False)
    except ValueError as exc:
        reason = (
            "object arrays need pickle" if "allow_pickle" in str(exc) else f"malformed .npy ({exc})"
        )
        raise refuse(reason) from None
    except Exception as exc:  # noqa: BLE001 - np.load raises many kinds on crafted headers
        raise refuse(f"malformed .npy ({type(exc).__name__}: {exc})") from None
    if not isinstance(array, np.ndarray):
        raise refuse("not a single array")
    if array.dtype.hasobject:
        raise refuse("object dtype")
    if stream.tell() != len(payload):
        raise refuse(f"{len(payload) - stream.tell()} bytes after the array")
    if numeric_only and array.dtype.kind not in "biufc":
        raise refuse(f"dtype {array.dtype} is not numeric")
    return array


def short_name(key: str) -> str:
    """`a/b/.ATTRIBUTES/VARIABLE_VALUE` -> `a/b`; other keys unchanged."""
    for suffix in (PY_STATE_SUFFIX, VARIABLE_SUFFIX):
        if key.endswith(suffix):
            return key[: -len(suffix)]
    return key


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
                _inside(directory, p) for p in values.get("all_model_checkpoint_paths", [])
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
    if listed is None:
        return None
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
        elif nxt == "x" and re.match(rb"[0-9A-Fa-f]", raw[i + 2 : i + 3]):
            digits = re.match(rb"[0-9A-Fa-f]{1,2}", raw[i + 2 : i + 4]).group(0)
            out.append(int(digits, 16))
            i += 2 + len(digits)
        elif nxt and nxt in "01234567":
            digits = re.match(rb"[0-7]{1,3}", raw[i + 1 : i + 4]).group(0)
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


# ----------------------------------------------------------------------------- saved_model.pb


def read_signatures(path: str | os.PathLike) -> dict[str, dict]:
    """The signature defs of a `saved_model.pb` (name -> inputs/outputs as 'dtype [shape]')."""
    path = Path(path)
    data = _read_file(path, limit=input_files.LIMITS["saved_model.pb"], what="a saved_model.pb")
    try:
        signatures: dict[str, dict] = {}
        for number, wire, value in _fields(data):
            if number == 2 and wire == 2:  # MetaGraphDef
                for n2, w2, v2 in _fields(data, *value):
                    if n2 == 5 and w2 == 2:  # map<string, SignatureDef> entry
                        name, signature = _map_entry(data, v2, _signature)
                        signatures[name] = signature
        return dict(sorted(signatures.items()))
    except (_Corrupt, ValueError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{path}: corrupt SavedModel ({exc})", "write it again with PolicySaver", path=path
        ) from None


def _map_entry(data: bytes, span: tuple[int, int], decode_value) -> tuple[str, object]:
    key, value = "", None
    for number, wire, item in _fields(data, *span):
        if number == 1 and wire == 2:
            key = data[item[0] : item[1]].decode("utf-8")
        elif number == 2 and wire == 2:
            value = decode_value(data, item)
    return key, value


def _signature(data: bytes, span: tuple[int, int]) -> dict:
    result: dict = {"inputs": {}, "outputs": {}, "method": ""}
    for number, wire, value in _fields(data, *span):
        if number in (1, 2) and wire == 2:
            name, info = _map_entry(data, value, _tensor_info)
            result["inputs" if number == 1 else "outputs"][name] = info
        elif number == 3 and wire == 2:
            result["method"] = data[value[0] : value[1]].decode("utf-8")
    result["inputs"] = dict(sorted(result["inputs"].items()))
    result["outputs"] = dict(sorted(result["outputs"].items()))
    return result


def _tensor_info(data: bytes, span: tuple[int, int]) -> str:
    dtype, shape = "?", "<unknown rank>"
    for number, wire, value in _fields(data, *span):
        if number == 2 and wire == 0:
            dtype = DTYPES.get(value, (f"dtype_{value}", None))[0]
        elif number == 3 and wire == 2:
            dims, unknown = [], False
            for n2, w2, v2 in _fields(data, *value):
                if n2 == 2 and w2 == 2:
                    size = -1
                    for n3, w3, v3 in _fields(data, *v2):
                        if n3 == 1 and w3 == 0:
                            size = _int64(v3)
                    dims.append("?" if size < 0 else str(size))
                elif n2 == 3 and w2 == 0 and v2:
                    unknown = True
            shape = "<unknown rank>" if unknown else "[" + ", ".join(dims) + "]"
        elif number == 5 and wire == 2:
            dtype = "composite"
    return f"{dtype} {shape}"
