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
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional

import google_crc32c
import numpy as np

from pytfpol.errors import InputError
from pytfpol.formats.bundle import (
    DT_STRING,
    DTYPES,
    HELD,
    MAX_INDEX_BYTES,
    OBJECT_GRAPH_KEY,
    PY_STATE_SUFFIX,
    VARIABLE_SUFFIX,
    Entry,
    Header,
    _parse_entry,
    _parse_index,
    data_path,
    index_path,
    prefix_of,
    short_name,
)
from pytfpol.formats.numpy_state import (
    decode_py_state,
)
from pytfpol.formats.reading import (
    _opened,
    _read_file,
    _regular_file_size,
)
from pytfpol.formats.saved_model_proto import (
    read_signatures,
)
from pytfpol.formats.sstable import (
    FOOTER_SIZE,
    HINT_CORRUPT,
    TABLE_MAGIC,
    _Corrupt,
    _fields,
    _table_items,
    _varint,
    crc32c,
    mask_crc,
    masked_crc32c,
)
from pytfpol.formats.tensor_data import (
    PIECE_BYTES,
    READ_AHEAD_PIECES,
    _decode,
    _Hasher,
    _pread_into,
    _read_numeric,
    _read_shard,
    _ShardDigest,
)
from pytfpol.formats.text_proto import (
    CheckpointState,
    read_checkpoint_state,
    read_text_proto,
)

# What callers use, by module (tests reach a few internals to build and break checkpoints).
__all__ = [
    "Bundle",
    "CheckpointState",
    "DTYPES",
    "Entry",
    "FOOTER_SIZE",
    "HINT_CORRUPT",
    "Header",
    "OBJECT_GRAPH_KEY",
    "PIECE_BYTES",
    "PY_STATE_SUFFIX",
    "READ_AHEAD_PIECES",
    "TABLE_MAGIC",
    "VARIABLE_SUFFIX",
    "_fields",
    "_opened",
    "_parse_entry",
    "_read_file",
    "_read_numeric",
    "_regular_file_size",
    "_table_items",
    "_varint",
    "crc32c",
    "data_path",
    "decode_py_state",
    "index_path",
    "mask_crc",
    "masked_crc32c",
    "open_bundle",
    "prefix_of",
    "read_checkpoint_state",
    "read_index",
    "read_signatures",
    "read_text_proto",
    "short_name",
]


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
        (sha256, bytes), hashed by a thread from the very bytes read for the tensors (the file
        is read once); and `contents` (with `digests`) each shard's path -> its bytes, read
        whole and hashed by a thread, for a caller that must hand the files on (e.g. ship them
        to other machines) without reading them again.
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
                hasher: Optional[_Hasher | _ShardDigest] = None
                if digests is not None:
                    hasher = (
                        _ShardDigest(fd, path, size)
                        if contents is None
                        else _Hasher(fd, path, size, keep=True)
                    )
                try:
                    _read_shard(fd, path, size, entries, visit, accept, _single_pass(hasher))
                except BaseException:
                    if hasher is not None:
                        hasher.abandon()  # the reader's error is the one to report
                    raise
                if hasher is not None and digests is not None:
                    digests[str(path)] = (hasher.finish(), size)
                    if contents is not None and isinstance(hasher, _Hasher):
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


def _single_pass(hasher: Optional[_Hasher | _ShardDigest]) -> Optional[_ShardDigest]:
    """The digest fed by the reads themselves (None when the file is hashed by its own read)."""
    return hasher if isinstance(hasher, _ShardDigest) else None


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
