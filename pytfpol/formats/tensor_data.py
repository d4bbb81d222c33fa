"""The tensor bytes in a bundle's data shards: decoded by dtype, checked against their CRC32C,
large tensors read in pieces (a thread reading ahead), a shard's sha256 hashed from the same
bytes, bools
and strings checked. Why separate from the index: this is the hot path of validation."""

from __future__ import annotations

import hashlib
import os
import queue
import struct
import threading
from pathlib import Path
from typing import Optional

import google_crc32c
import numpy as np

from pytfpol.errors import InputError
from pytfpol.formats.bundle import (
    DT_BOOL,
    DT_STRING,
    DTYPES,
    Entry,
)
from pytfpol.formats.reading import (
    _pread,
)
from pytfpol.formats.sstable import (
    HINT_CORRUPT,
    _Corrupt,
    _varint,
    crc32c,
    mask_crc,
    masked_crc32c,
)

# Large tensors are read, checksummed and tested in pieces of this size, each while it is still
# in the CPU's cache (`Bundle.read_all`); a multiple of every element size.
PIECE_BYTES = 1 << 20
READ_AHEAD_PIECES = 8  # from this many pieces in a tensor, a thread reads ahead


class _Window:
    """Sequential reads of a data file in pieces of at least PIECE_BYTES: tensors read in offset
    order cost one `pread` per piece, not one per tensor."""

    def __init__(self, fd: int, path: Path, size: int, digest: Optional[_ShardDigest]) -> None:
        self._fd, self._path, self._size, self._digest = fd, path, size, digest
        self._start, self._data = 0, b""

    def bytes(self, offset: int, size: int) -> bytes:
        start = offset - self._start
        if start < 0 or start + size > len(self._data):
            self._start = offset
            self._data = _pread(
                self._fd, self._path, offset, max(size, min(PIECE_BYTES, self._size - offset))
            )
            start = 0
            if self._digest is not None:
                self._digest.add(offset, self._data)
        if start == 0 and size == len(self._data):
            return self._data
        return self._data[start : start + size]


def _read_shard(
    fd: int,
    path: Path,
    size: int,
    entries: list,
    visit,
    accept,
    digest: Optional[_ShardDigest] = None,
) -> None:
    """Read `entries` (in offset order) of one data file; `digest` is fed every byte read, in
    file order (see _ShardDigest)."""
    window = _Window(fd, path, size, digest)
    for entry in entries:
        if entry.offset + entry.size > size:
            raise InputError(
                f"{path}: {entry.key!r} at {entry.offset}+{entry.size} is past the end of the file",
                HINT_CORRUPT,
                path=path,
            )
        tested = False
        if entry.size > PIECE_BYTES and entry.dtype_enum not in (DT_STRING, DT_BOOL):
            value, tested = _read_numeric(fd, path, entry, accept, digest)
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
                self._digest.update(piece.data)
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


class _ShardDigest:
    """The sha256 of a data file computed from the bytes validation reads anyway (one read of
    the file, not two): every piece read is handed over in file order (`add`), the bytes no
    tensor covers are read here (`finish`), and a thread hashes the pieces (hashlib releases
    the GIL) while validation goes on, on the other core."""

    def __init__(self, fd: int, path: Path, size: int) -> None:
        self._fd, self._path, self._size = fd, path, size
        self._covered = 0  # the file's first bytes handed to the thread
        self._pieces: queue.SimpleQueue = queue.SimpleQueue()
        self._digest = hashlib.sha256()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="pytfpol-sha256", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (piece := self._pieces.get()) is not None:
            if not self._stopped:
                self._digest.update(piece)

    def add(self, offset: int, data) -> None:
        """`data` holds the file's bytes from `offset` (and is not changed afterwards): hash
        what of it was not hashed yet, after the bytes before it."""
        end = min(offset + len(data), self._size)
        if end <= self._covered:
            return
        self._read_gap(offset)
        self._pieces.put(memoryview(data)[self._covered - offset : end - offset])
        self._covered = end

    def _read_gap(self, offset: int) -> None:
        """Hand over the bytes before `offset` that no piece covered (read here)."""
        while self._covered < offset:
            size = min(offset - self._covered, PIECE_BYTES)
            self._pieces.put(_pread(self._fd, self._path, self._covered, size))
            self._covered += size

    def abandon(self) -> None:
        """Stop hashing (the shard failed validation)."""
        self._stopped = True
        self._pieces.put(None)
        self._thread.join()

    def finish(self) -> str:
        """The file's sha256 (its bytes after the last piece read here)."""
        try:
            self._read_gap(self._size)
        except BaseException:
            self.abandon()
            raise
        self._pieces.put(None)
        self._thread.join()
        return self._digest.hexdigest()


def _read_numeric(
    fd: int, path: Path, entry: Entry, accept, digest: Optional[_ShardDigest] = None
) -> tuple[np.ndarray, bool]:
    """A large numeric tensor read straight into its array piece by piece, each piece
    checksummed and tested with `accept` while in cache (no `bytes` copy of the whole). From
    READ_AHEAD_PIECES pieces a thread reads each piece and tests it (`os.preadv` and numpy's
    loops release the GIL) while this thread checksums the pieces already read (google-crc32c
    holds the GIL for arrays), so the two run on two cores. Returns (array, every piece
    accepted); a checksum mismatch is raised before anything `accept` found."""
    raw = aligned_empty(entry.size)
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
            piece = raw[start : start + PIECE_BYTES]
            crc = google_crc32c.extend(crc, piece)
            if digest is not None:
                digest.add(entry.offset + start, piece)
            accepted = accepted and tested
    finally:
        if reader is not None:
            reader.join()
    if entry.crc32c is not None and mask_crc(crc) != entry.crc32c:
        raise InputError(f"{path}: {entry.key!r}: data checksum mismatch", HINT_CORRUPT, path=path)
    value = raw.view(dtype).reshape(entry.shape)
    value.flags.writeable = False
    return value, accepted


# TensorFlow feeds an array without copying it only when its data is aligned to this many bytes
# (Eigen's largest alignment); numpy's own large arrays start 16 bytes into a page, so feeding a
# 400 MB tensor read by validation cost a copy (about 4x the time of the assignment itself).
TENSOR_ALIGNMENT = 64


def aligned_empty(size: int) -> np.ndarray:
    """An uninitialised uint8 array of `size` bytes whose data starts at a multiple of
    TENSOR_ALIGNMENT."""
    buffer = np.empty(size + TENSOR_ALIGNMENT, np.uint8)
    start = -buffer.ctypes.data % TENSOR_ALIGNMENT
    return buffer[start : start + size]


def _pread_into(fd: int, path: Path, target: np.ndarray, offset: int) -> None:
    """Fill `target` (bytes) from `offset` of an open file (InputError when it ends first)."""
    done, size = 0, target.size
    try:
        while done < size:
            count = os.preadv(fd, [target[done:].data], offset + done)
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
