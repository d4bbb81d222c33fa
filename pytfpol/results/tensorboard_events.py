"""TensorBoard event files written without TensorFlow: the records `tf.summary.scalar` and
`tf.summary.histogram` write (the same protos, tags, plugin names, float32 scalars and the
[k, 3] float64 buckets of TensorBoard's `summary_v2._buckets`), framed as TFRecords.

Why not `tf.summary`: importing TensorFlow costs seconds, and a sweep's driver needs it for
nothing else when the units run on Ray or every result comes from the journal.
"""

from __future__ import annotations

import os
import socket
import struct
import time
from pathlib import Path

import numpy as np

from pytfpol.formats.sstable import crc32c

BUCKETS = 30  # tf.summary.histogram's default
_DT_FLOAT, _DT_DOUBLE = 1, 2  # tensorflow.DataType
_written = 0  # event files opened by this process (TensorFlow's writers count them too)


class EventFile:
    """One `events.out.tfevents.<time>.<host>.<pid>.<n>.v2` file, written record by record."""

    def __init__(self, logdir: Path) -> None:
        global _written
        from tensorboard.compat.proto import event_pb2  # protobuf only: no TensorFlow

        self._event_pb2 = event_pb2
        Path(logdir).mkdir(parents=True, exist_ok=True)
        name = (
            f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}."
            f"{os.getpid()}.{_written}.v2"
        )
        _written += 1
        self.path = Path(logdir) / name
        self._file = open(self.path, "xb")  # noqa: SIM115 - closed by close()
        first = event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2")
        first.source_metadata.writer = "pytfpol"
        self._record(first)

    def scalar(self, tag: str, value: float, step: int) -> None:
        data = np.asarray(value, dtype=np.float32)
        self._summary(tag, "scalars", _DT_FLOAT, (), data.tobytes(), step)

    def histogram(self, tag: str, values: np.ndarray, step: int) -> None:
        data = histogram_buckets(values)
        self._summary(tag, "histograms", _DT_DOUBLE, data.shape, data.astype("<f8").tobytes(), step)

    def close(self) -> None:
        self._file.close()

    def _summary(
        self, tag: str, plugin: str, dtype: int, shape: tuple, content: bytes, step: int
    ) -> None:
        event = self._event_pb2.Event(wall_time=time.time(), step=step)
        value = event.summary.value.add(tag=tag)
        value.metadata.plugin_data.plugin_name = plugin
        value.tensor.dtype = dtype
        value.tensor.tensor_shape.SetInParent()  # present, if empty, as TensorFlow writes it
        for size in shape:
            value.tensor.tensor_shape.dim.add(size=size)
        value.tensor.tensor_content = content
        self._record(event)

    def _record(self, event) -> None:
        data = event.SerializeToString()
        length = struct.pack("<Q", len(data))
        self._file.write(length + struct.pack("<I", _masked(length)))
        self._file.write(data + struct.pack("<I", _masked(data)))


def histogram_buckets(values: np.ndarray, count: int = BUCKETS) -> np.ndarray:
    """[count, 3] rows (left edge, right edge, number of values), as TensorBoard's
    `summary_v2._buckets` computes them: `count` equal buckets from the minimum to the
    maximum (the last one closed); one value only: every edge at it, all in the last bucket."""
    data = np.asarray(values, dtype=np.float64).reshape(-1)
    if data.size == 0:
        return np.zeros((count, 3))
    low, high = data.min(), data.max()
    if high - low == 0:
        edges = np.full(count, high)
        counts = np.zeros(count)
        counts[-1] = data.size
        return np.stack([edges, edges, counts]).T
    indices = np.minimum(
        np.floor((data - low) / ((high - low) / count)).astype(np.int32), count - 1
    )
    counts = np.bincount(indices, minlength=count).astype(np.float64)
    edges = np.linspace(low, high, count + 1)  # start + i * step, the last one `high`
    return np.stack([edges[:-1], edges[1:], counts]).T


def _masked(data: bytes) -> int:
    """TFRecord's masked CRC32C."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF
