"""The checkpoints pytfpol writes into OUT without TensorFlow's saver (issue 26, start-up memory):
`formats.bundle_writer` lays out what `policy.checkpoint_tensors` gathers with TensorFlow's own
serialization. TensorFlow's reader and TF-Agents' restore are the judges of every byte."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pytfpol.formats import bundle_writer, validation
from pytfpol.formats.bundle import DT_STRING
from pytfpol.policy.quiet_tf import import_tf

tf = import_tf()

from tf_agents.utils import numpy_storage  # noqa: E402

from pytfpol.policy import checkpoints  # noqa: E402

NUMERIC = ["float32", "float64", "float16", "int8", "int16", "int32", "int64", "uint8",
           "uint16", "uint32", "uint64", "bool", "complex64", "complex128"]  # fmt: skip


def _enum(dtype: str) -> int:
    return tf.as_dtype(dtype).as_datatype_enum


def _strings(values: list[bytes], shape: tuple) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array.reshape(shape)


def _assert_read_back(prefix: Path, tensors: list) -> None:
    """TensorFlow's reader and pytfpol's validating reader both give back every tensor."""
    reader = tf.train.load_checkpoint(str(prefix))
    assert set(reader.get_variable_to_dtype_map()) == {t.key for t in tensors}
    for tensor in tensors:
        assert reader.get_variable_to_dtype_map()[tensor.key].as_datatype_enum == tensor.dtype_enum
        got = reader.get_tensor(tensor.key)
        if tensor.dtype_enum == DT_STRING:
            assert np.asarray(got, dtype=object).tolist() == tensor.value.tolist()
        else:
            assert got.dtype == tensor.value.dtype and got.shape == tensor.value.shape
            np.testing.assert_array_equal(got, tensor.value)
    checked = validation.check_bundle(str(prefix))  # every checksum, as an input is checked
    assert set(checked.bundle.entries) == {t.key for t in tensors}


def test_a_bundle_of_every_dtype_reads_back_in_tensorflow_and_in_pytfpol(tmp_path):
    """Every dtype a checkpoint holds, scalars, empty tensors, strings (empty ones too), a tensor
    over a write piece, and enough keys for several table blocks."""
    rng = np.random.default_rng(0)
    tensors = [
        bundle_writer.TensorToWrite(
            f"t/{dtype}/.ATTRIBUTES/VARIABLE_VALUE",
            _enum(dtype),
            (rng.random((3, 4)) * 100).astype(dtype),
        )
        for dtype in NUMERIC
    ]
    tensors += [
        bundle_writer.TensorToWrite("scalar", _enum("int64"), np.array(7, np.int64)),
        bundle_writer.TensorToWrite("empty", _enum("float32"), np.zeros((0, 3), np.float32)),
        bundle_writer.TensorToWrite(
            "big",
            _enum("float32"),
            rng.random(bundle_writer.PIECE_BYTES // 4 + 3).astype(np.float32),
        ),
        bundle_writer.TensorToWrite("s/scalar", DT_STRING, _strings([b"\x00\xffnpy"], ())),
        bundle_writer.TensorToWrite(
            "s/matrix", DT_STRING, _strings([b"", b"a", b"bc" * 300, b"", b"x", b"yz"], (2, 3))
        ),
    ]
    tensors += [
        bundle_writer.TensorToWrite(f"many/{i:04d}", _enum("int32"), np.array([i], np.int32))
        for i in range(400)
    ]
    prefix = tmp_path / "bundle"
    bundle_writer.write_bundle(prefix, tensors)
    assert (tmp_path / "bundle.index").stat().st_size > 3 * bundle_writer.BLOCK_BYTES
    _assert_read_back(prefix, tensors)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    arrays=st.lists(
        hnp.arrays(
            st.sampled_from(["float32", "int64", "uint8", "bool"]),
            hnp.array_shapes(min_dims=0, max_dims=3, max_side=5),
        ),
        min_size=1,
        max_size=6,
    ),
    strings=st.lists(st.binary(max_size=40), max_size=6),
)
def test_any_tensors_read_back_in_tensorflow_as_written(tmp_path_factory, arrays, strings):
    prefix = tmp_path_factory.mktemp("hyp") / "bundle"
    tensors = [
        bundle_writer.TensorToWrite(f"a{i}", _enum(str(a.dtype)), a) for i, a in enumerate(arrays)
    ]
    tensors.append(bundle_writer.TensorToWrite("s", DT_STRING, _strings(strings, (len(strings),))))
    bundle_writer.write_bundle(prefix, tensors)
    reader = tf.train.load_checkpoint(str(prefix))
    for tensor in tensors[:-1]:
        got = reader.get_tensor(tensor.key)
        assert got.dtype == tensor.value.dtype and got.shape == tensor.value.shape
        np.testing.assert_array_equal(got, tensor.value)
    assert list(reader.get_tensor("s")) == strings


def test_the_writer_replaces_nothing_and_follows_no_symlink(tmp_path):
    """Each file is created new: a file already at its name, or a symlink there (to a file of
    the user's), is an error and is left exactly as it was."""
    users = tmp_path / "users.txt"
    users.write_text("the user's")
    tensors = [bundle_writer.TensorToWrite("x", _enum("float32"), np.ones(3, np.float32))]
    os.symlink(users, tmp_path / "a.data-00000-of-00001")
    with pytest.raises(OSError):
        bundle_writer.write_bundle(tmp_path / "a", tensors)
    os.symlink(users, tmp_path / "b.index")
    with pytest.raises(OSError):
        bundle_writer.write_bundle(tmp_path / "b", tensors)
    (tmp_path / "c.index").write_text("earlier")
    with pytest.raises(OSError):
        bundle_writer.write_bundle(tmp_path / "c", tensors)
    assert users.read_text() == "the user's"
    assert (tmp_path / "c.index").read_text() == "earlier"


def _objects(graph):
    """A policy-like set of objects in `graph`: variables of several dtypes, a train step, and
    NumpyState side data with the evaluation arrays pytfpol adds."""
    with graph.as_default():
        kernel = tf.Variable(np.arange(12, dtype=np.float32).reshape(3, 4), name="kernel")
        bias = tf.Variable(np.array([0.5, -1.5], np.float64), name="bias")
        step = tf.Variable(np.int64(41), name="train_step")
    state = numpy_storage.NumpyState()
    state.mean = np.array([1.0, 2.0, 3.0])
    evaluation = checkpoints.evaluation_state(
        np.array([1.0, 2.0]), np.array([3, 4]), np.array([0, 1]), None, (41.0, 2.0, 1.5, 0.5, 9.0)
    )
    objects = {"policy": tf.Module(), "global_step": step, "stats": state, "evaluation": evaluation}
    objects["policy"].layer = [kernel, bias]
    return objects, [kernel, bias, step]


def test_a_checkpoint_is_written_without_tensorflows_saver_and_restores_in_tensorflow(tmp_path):
    """`write_checkpoint` adds no save op to the policy's graph (it runs only reads of the
    variables), and `tf.train.Checkpoint.restore(...).assert_consumed()` in a fresh graph gives
    every variable and every NumpyState array back."""
    graph = tf.Graph()
    objects, variables = _objects(graph)
    with tf.compat.v1.Session(graph=graph) as session:
        with graph.as_default():
            session.run(tf.compat.v1.variables_initializer(variables))
        prefix = checkpoints.write_checkpoint(session, objects, tmp_path / "out", "ckpt-1")
        assert not [op.name for op in graph.get_operations() if op.type in ("SaveV2", "SaveSlices")]
        expected = session.run(variables)
    assert (
        (tmp_path / "out" / "checkpoint").read_text().startswith('model_checkpoint_path: "ckpt-1"')
    )
    counter = tf.train.load_checkpoint(prefix).get_tensor("save_counter/.ATTRIBUTES/VARIABLE_VALUE")
    assert counter == 0  # as `write()` leaves it: a written checkpoint was never `save()`d
    restored_graph = tf.Graph()
    fresh, fresh_variables = _objects(restored_graph)
    fresh["stats"] = numpy_storage.NumpyState()
    fresh["evaluation"] = numpy_storage.NumpyState()
    with tf.compat.v1.Session(graph=restored_graph) as session, restored_graph.as_default():
        status = tf.train.Checkpoint(**fresh).restore(prefix)
        status.assert_consumed().run_restore_ops(session)
        for got, want in zip(session.run(fresh_variables), expected):
            np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(fresh["stats"].mean, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(fresh["evaluation"].returns, [1.0, 2.0])
    assert fresh["evaluation"].history.tolist() == [[41.0, 2.0, 1.5, 0.5, 9.0]]


def test_a_sharded_variable_is_left_to_tensorflows_saver_and_restores(tmp_path):
    """What the writer cannot lay out (a variable saved as slices of one tensor) goes through
    TensorFlow's saver as before, and reads back whole."""
    from tensorflow.python.distribute.sharded_variable import ShardedVariable

    graph = tf.Graph()
    with graph.as_default():
        shards = [tf.Variable(np.full((2, 2), 1.0, np.float32)),
                  tf.Variable(np.full((1, 2), 2.0, np.float32))]  # fmt: skip
        sharded = ShardedVariable(shards)
    with tf.compat.v1.Session(graph=graph) as session:
        session.run([shard.initializer for shard in shards])
        prefix = checkpoints.write_checkpoint(session, {"w": sharded}, tmp_path, "ckpt-1")
        assert [op for op in graph.get_operations() if op.type == "SaveV2"]
    reader = tf.train.load_checkpoint(prefix)
    np.testing.assert_array_equal(
        reader.get_tensor("w/.ATTRIBUTES/VARIABLE_VALUE"), [[1.0, 1.0], [1.0, 1.0], [2.0, 2.0]]
    )


def test_variables_are_read_in_runs_of_bounded_size(tmp_path, monkeypatch):
    """A policy's variables are copied out of the session at most FETCH_BYTES at a time: small
    ones in groups, a larger one a block of rows at a time as it is written; all are written
    whole."""
    from pytfpol.policy import checkpoint_tensors

    monkeypatch.setattr(checkpoint_tensors, "FETCH_BYTES", 100)
    graph = tf.Graph()
    with graph.as_default():
        variables = [tf.Variable(np.full((3, 4), i, np.float32)) for i in range(5)]  # 48 B each
        large = np.arange(40 * 3, dtype=np.float32).reshape(40, 3)  # 480 B, 12 B a row
        variables.append(tf.Variable(large))
        reads = {f"v{i}": v.value() for i, v in enumerate(variables[:5])}
    assert [len(g) for g in checkpoint_tensors._fetch_groups(reads)] == [2, 2, 1]
    with tf.compat.v1.Session(graph=graph) as session:
        session.run([v.initializer for v in variables])
        with graph.as_default():
            gathered = checkpoint_tensors.checkpoint_tensors(
                session, tf.train.Checkpoint(v=variables)
            )
            blocks = {t.key: t.value for t in gathered}["v/5/.ATTRIBUTES/VARIABLE_VALUE"]
            assert [b.shape for b in blocks.read()] == [(8, 3)] * 5  # 96 B each
        prefix = checkpoints.write_checkpoint(session, {"v": variables}, tmp_path, "ckpt-1")
    reader = tf.train.load_checkpoint(prefix)
    for i in range(5):
        assert (reader.get_tensor(f"v/{i}/.ATTRIBUTES/VARIABLE_VALUE") == i).all()
    np.testing.assert_array_equal(reader.get_tensor("v/5/.ATTRIBUTES/VARIABLE_VALUE"), large)
