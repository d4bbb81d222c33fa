"""What `tf.train.Checkpoint(**objects).write()` would write in a graph, gathered without writing:
TensorFlow's own serialization (`save_util.serialize_graph_view`, as its saver calls it) decides
the keys, dtypes and the object graph; the variables' values come from one session run, the
NumpyState ones from Python; `formats.bundle_writer` writes them.

Why not the saver itself: see `formats.bundle_writer` (memory). Objects whose checkpoint needs
more than keys and whole tensors (sliced variables, registered savers) raise `NeedsSaver`, and
are written by TensorFlow's saver as before.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf
from tensorflow.python.checkpoint import graph_view, save_util
from tensorflow.python.training.saving import saveable_object
from tensorflow.python.util import object_identity

from pytfpol.formats.bundle import DT_STRING, OBJECT_GRAPH_KEY
from pytfpol.formats.bundle_writer import Blocks, TensorToWrite

FETCH_BYTES = 16 << 20  # variables are read in session runs of about this many bytes at most


class NeedsSaver(Exception):
    """The objects' checkpoint holds what only TensorFlow's saver writes."""


def checkpoint_tensors(session, checkpoint: tf.train.Checkpoint) -> list[TensorToWrite]:
    """Every tensor of `checkpoint` (built in `session`'s graph, which must be the default one)
    as its `write()` would save it: the object graph, each variable's value, each NumpyState's
    serialized arrays, and the save counter (0: a written checkpoint was never `save()`d)."""
    counter = checkpoint.save_counter  # created here: Checkpointer-saved files carry one
    serialized, feeds, registered, proto = save_util.serialize_graph_view(
        graph_view.ObjectGraphView(checkpoint),
        cache=object_identity.ObjectIdentityWeakKeyDictionary(),
    )
    if registered:
        raise NeedsSaver("registered savers")
    fed = {id(tensor): value for tensor, value in feeds.items()}  # NumpyState, serialized
    written = [TensorToWrite(OBJECT_GRAPH_KEY, DT_STRING, _string(proto.SerializeToString()))]
    to_read: dict[str, Any] = {}
    for trackable, tensors in serialized.items():
        for key, tensor in tensors.items():
            tensor = _tensor(key, tensor)
            dtype_enum = tensor.dtype.as_datatype_enum
            if id(tensor) in fed:
                written.append(TensorToWrite(key, dtype_enum, _string(fed[id(tensor)])))
            elif trackable is counter:
                written.append(TensorToWrite(key, dtype_enum, np.zeros((), np.int64)))
            else:
                to_read[key] = tensor
    large = {k: t for k, t in to_read.items() if _nbytes(t) > FETCH_BYTES and t.shape.rank}
    for key, tensor in large.items():
        written.append(TensorToWrite(key, tensor.dtype.as_datatype_enum, _blocks(session, tensor)))
    small = {k: t for k, t in to_read.items() if k not in large}
    for group in _fetch_groups(small):
        values = session.run(group)
        written += [TensorToWrite(k, group[k].dtype.as_datatype_enum, v) for k, v in values.items()]
    return written


def _blocks(session, tensor: tf.Tensor) -> Blocks:
    """A variable over FETCH_BYTES, read a block of rows at a time when it is written (a slice
    op a block, built now in the graph): never held whole outside the session."""
    shape = tuple(int(d) for d in tensor.shape)
    rows = max(1, FETCH_BYTES // max(1, _nbytes(tensor) // shape[0]))
    slices = [tensor[start : start + rows] for start in range(0, shape[0], rows)]
    return Blocks(shape, lambda: (session.run(block) for block in slices))


def _nbytes(tensor: tf.Tensor) -> int:
    """A tensor's size in bytes; FETCH_BYTES when not known (strings, unknown shapes)."""
    if not tensor.shape.is_fully_defined() or tensor.dtype == tf.string:
        return FETCH_BYTES
    return tensor.shape.num_elements() * tensor.dtype.size


def _tensor(key: str, value: Any) -> tf.Tensor:
    """The tensor a trackable serializes for `key`: variables give a `SaveSpec` whose tensor is
    made on demand (a read of the variable); a dict of slices is left to the saver."""
    if isinstance(value, saveable_object.SaveSpec):
        if value.slice_spec:
            raise NeedsSaver(f"{key}: a slice of a partitioned variable")
        value = value.tensor
    if not isinstance(value, tf.Tensor):
        raise NeedsSaver(f"{key}: {type(value).__name__} is not a whole tensor")
    return value


def _string(value: Any) -> np.ndarray:
    """A scalar string tensor's value (bytes; TensorFlow's str values are UTF-8)."""
    data = value.encode() if isinstance(value, str) else bytes(value)
    array = np.empty((), dtype=object)
    array[()] = data
    return array


def _fetch_groups(tensors: dict[str, Any]) -> list[dict[str, Any]]:
    """`tensors` split into session runs of about FETCH_BYTES each (a variable of unknown size
    counts as one group's worth), so that a large policy is not copied out whole at once."""
    groups: list[dict[str, Any]] = []
    size = 0
    for key, tensor in tensors.items():
        nbytes = _nbytes(tensor)
        if not groups or size + nbytes > FETCH_BYTES:
            groups.append({})
            size = 0
        groups[-1][key] = tensor
        size += nbytes
    return groups
