"""Issue 26: reading a large checkpoint into the graph. Validation keeps every value it read for
pytfpol to assign; TensorFlow feeds an array without copying it only when its data is 64-byte
aligned (Eigen's alignment), which numpy's own large arrays are not (16 bytes into a page):
unaligned, assigning a 400 MB checkpoint cost ~4x as long (bench/restore_bench.py)."""

from __future__ import annotations

import numpy as np
import pytest

from pytfpol.formats import validation
from pytfpol.formats.tensor_data import PIECE_BYTES, TENSOR_ALIGNMENT
from pytfpol.formats.validation import VALUE_SUFFIX


@pytest.mark.fast
def test_large_tensors_are_read_into_aligned_arrays_with_their_values(tmp_path):
    from pytfpol.policy.quiet_tf import import_tf

    tf = import_tf()
    values = {  # several large tensors (read in pieces) of odd sizes, and a small one
        f"v{k}{VALUE_SUFFIX}": np.random.default_rng(k).standard_normal(size).astype(np.float32)
        for k, size in enumerate([3 * PIECE_BYTES // 4 + 7, PIECE_BYTES + 1, 5, 2 * PIECE_BYTES])
    }
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as session:
        variables = {name: tf.Variable(value) for name, value in values.items()}
        session.run(tf.compat.v1.global_variables_initializer())
        prefix = tf.compat.v1.train.Saver(var_list=variables).save(session, str(tmp_path / "c"))
    checked = validation.check_bundle(prefix)
    assert set(checked.values) == set(values)
    for name, value in values.items():
        read = checked.values[name]
        np.testing.assert_array_equal(read, value)
        if read.nbytes > PIECE_BYTES:
            assert read.ctypes.data % TENSOR_ALIGNMENT == 0, name
