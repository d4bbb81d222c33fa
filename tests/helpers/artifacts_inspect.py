"""Write checkpoints for the `pytfpol inspect` tests with TF-Agents' own savers.

Run as a script (`python tests/helpers/artifacts_inspect.py OUT_DIR`), like tests/helpers/artifacts.py. Writes:

    OUT/train/policy   common.Checkpointer dir: QPolicy + global_step + a NumpyState `side` +
                       a `dtypes` module (one variable per TF dtype, strings too); steps 10, 20, 30
    OUT/dtypes         common.Checkpointer dir: NumpyState `arrays` with one array per dtype that
                       np.save writes without pickling (names in DTYPE_ARRAYS), step 1
    OUT/evaluation     common.Checkpointer dir: NumpyState `evaluation` (the eval history), steps 1, 2
    OUT/eval_history   common.Checkpointer dir: `evaluation` with a `history` array, as `pytfpol
                       eval` writes it, step 7
    OUT/diff_pair      common.Checkpointer dir: steps 1 and 2 of variables that differ in every
                       way `inspect --diff` ranks (NaN in one or both, inf, 64-bit extremes)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pytfpol.policy.quiet_tf import import_tf  # noqa: E402

tf = import_tf()

import numpy as np  # noqa: E402
from tf_agents.networks import q_network  # noqa: E402
from tf_agents.policies import q_policy  # noqa: E402
from tf_agents.specs import tensor_spec  # noqa: E402
from tf_agents.trajectories import time_step as ts  # noqa: E402
from tf_agents.utils import common, numpy_storage  # noqa: E402


def dtype_arrays() -> dict[str, np.ndarray]:
    """One array per dtype family np.save writes without pickling (shared with the tests)."""
    rng = np.random.default_rng(0)
    arrays = {
        "bool_": np.array([True, False, True]),
        "f2": np.array([1.5, -np.inf, np.nan], np.float16),
        "f4": rng.normal(size=(2, 3)).astype(np.float32),
        "f8": np.array([[0.25, np.inf], [np.nan, -3.0]]),
        "f16": np.array([1.0, 2.5], np.longdouble),
        "c8": np.array([1 + 2j, np.nan], np.complex64),
        "c16": np.array([3 - 1j], np.complex128),
        "S3": np.array([b"ab", b"xyz"]),
        "U4": np.array(["héé", "a"]),
        "M8": np.array(["2024-01-02", "NaT"], "datetime64[D]"),
        "m8": np.array([5, -2], "timedelta64[s]"),
        "V3": np.array([b"\x00\x01\x02"], "V3"),
        "record": np.array([(1, 2.5), (3, -1.0)], [("a", "<i4"), ("b", "<f8")]),
        "big_endian": np.arange(4, dtype=">i4"),
        "fortran": np.asfortranarray(np.arange(6, dtype=np.int16).reshape(2, 3)),
        "scalar": np.array(7, np.int64),
        "empty": np.zeros((0, 3), np.float32),
    }
    for bits in (8, 16, 32, 64):
        arrays[f"i{bits // 8}"] = np.array([np.iinfo(f"int{bits}").min, 0, 1], f"int{bits}")
        arrays[f"u{bits // 8}"] = np.array([0, np.iinfo(f"uint{bits}").max], f"uint{bits}")
    return arrays


def q_policy_for_cartpole():
    observation = tensor_spec.BoundedTensorSpec((4,), tf.float32, -10.0, 10.0)
    action = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 1)
    net = q_network.QNetwork(observation, action, fc_layer_params=(8,))
    net.create_variables()
    return q_policy.QPolicy(ts.time_step_spec(observation), action, net), net


def dtype_variables() -> tf.Module:
    module = tf.Module()
    module.f16 = tf.Variable(np.array([1.5, -2.0], np.float16))
    module.bf16 = tf.Variable(tf.constant([1.0, 0.5, -3.0], tf.bfloat16))
    module.f64 = tf.Variable(np.arange(3.0))
    module.i8 = tf.Variable(np.array([-128, 127], np.int8))
    module.i16 = tf.Variable(np.array([-3, 4], np.int16))
    module.u8 = tf.Variable(np.array([0, 255], np.uint8))
    module.u16 = tf.Variable(np.array([65535], np.uint16))
    module.u32 = tf.Variable(np.array([4294967295], np.uint32))
    module.u64 = tf.Variable(np.array([2**64 - 1], np.uint64))
    module.flag = tf.Variable(np.array([True, False]))
    module.c64 = tf.Variable(np.array([1 + 2j], np.complex64))
    module.c128 = tf.Variable(np.array([[1 - 1j, 2j]], np.complex128))
    module.words = tf.Variable([b"", b"a", b"xyz" * 100, bytes(range(256))])
    module.word = tf.Variable(b"scalar string")
    module.no_words = tf.Variable(tf.zeros((0,), tf.string))
    module.empty = tf.Variable(np.zeros((2, 0), np.float32))
    return module


def checkpointer_dir(out: Path) -> None:
    policy, net = q_policy_for_cartpole()
    global_step = tf.Variable(0, dtype=tf.int64)
    side = numpy_storage.NumpyState()
    side.counts = np.zeros(3, np.int64)
    side.mean_return = np.array(0.0)
    checkpointer = common.Checkpointer(
        str(out),
        max_to_keep=5,
        policy=policy,
        global_step=global_step,
        side=side,
        dtypes=dtype_variables(),
    )
    rng = np.random.default_rng(1)
    for step in (10, 20, 30):
        global_step.assign(step)
        if step != 20:  # step 20 leaves the weights as they were: diff shows no change
            for variable in net.variables:
                variable.assign(rng.normal(size=variable.shape).astype(np.float32))
        side.counts = side.counts + step
        side.mean_return = np.array(step / 2.0)
        checkpointer.save(global_step)


def dtypes_dir(out: Path) -> None:
    arrays = numpy_storage.NumpyState()
    for name, value in dtype_arrays().items():
        setattr(arrays, name, value)
    common.Checkpointer(str(out), arrays=arrays).save(tf.constant(1, tf.int64))


def evaluation_dir(out: Path) -> None:
    evaluation = numpy_storage.NumpyState()
    checkpointer = common.Checkpointer(str(out), evaluation=evaluation)
    for run in (1, 2):
        evaluation.train_step = np.array(run * 100, np.int64)
        evaluation.returns = np.arange(4, dtype=np.float64) + run
        evaluation.mean_return = np.array(1.5 + run)
        checkpointer.save(tf.constant(run, tf.int64))


def eval_history_dir(out: Path) -> None:
    """The layout `pytfpol eval` writes in OUT/checkpoint: one checkpoint whose NumpyState
    `evaluation` carries a history array (one row per evaluation) and the last run's episodes."""
    evaluation = numpy_storage.NumpyState()
    evaluation.returns = np.array([9.0, 10.0])
    evaluation.lengths = np.array([9, 10], np.int64)
    evaluation.seeds = np.array([0, 1], np.int64)
    evaluation.history = np.array(
        [[5.0, 2.0, 8.0, 1.0, 1.7e9], [7.0, 2.0, 9.5, 0.5, 1.7e9 + 60]], np.float64
    )
    common.Checkpointer(str(out), evaluation=evaluation).save(tf.constant(7, tf.int64))


def diff_pair_values(step: int) -> dict[str, np.ndarray]:
    """Step 1 and step 2 of the `diff_pair` variables (also used by the test, as expected)."""
    rng = np.random.default_rng(5)
    big = rng.normal(size=(300, 1000)).astype(np.float32)  # 1.2 MB: several pieces
    nan_both = np.arange(50, dtype=np.float32)
    nan_both[[3, 40]] = np.nan
    ties = np.zeros(40, np.float64)
    nan_first = np.arange(12, dtype=np.float32)
    extremes = np.array([np.iinfo(np.int64).min, 0, 5], np.int64)
    unsigned = np.array([0, 2**64 - 1], np.uint64)
    if step == 2:
        big[::7] += 0.25
        big[150, 10] = np.inf  # inf before NaN (in flat order): inf is the maximum
        big[200, 3] = np.nan
        nan_both[10] = 2.5
        ties[[5, 25]] = [np.inf, -np.inf]
        nan_first[[2, 8]] = [np.nan, np.inf]  # NaN before inf: NaN is the maximum
        extremes = np.array([np.iinfo(np.int64).max, 0, -5], np.int64)
        unsigned = unsigned[::-1].copy()
    return {
        "big": big,
        "nan_both": nan_both,
        "ties": ties,
        "nan_first": nan_first,
        "extremes": extremes,
        "unsigned": unsigned,
        "small_ints": np.array([-128, 0, 127], np.int8) * (1 if step == 1 else -1),
        "half": np.array([1.0, np.nan, 3.0], np.float16) * step,
        "brain": tf.constant([1.0, -2.0, 0.5 * step], tf.bfloat16),
        "complex": np.array([1 + 1j, complex(np.nan, 0)], np.complex64) * step,
        "flags": np.array([True, step == 1]),
        "same": np.arange(1000, dtype=np.int32),
    }


def diff_pair_dir(out: Path) -> None:
    module = tf.Module()
    for name, value in diff_pair_values(1).items():
        setattr(module, name, tf.Variable(value))
    checkpointer = common.Checkpointer(str(out), values=module)
    checkpointer.save(tf.constant(1, tf.int64))
    for name, value in diff_pair_values(2).items():
        getattr(module, name).assign(value)
    checkpointer.save(tf.constant(2, tf.int64))


def main(out_dir: str) -> None:
    out = Path(out_dir)
    tf.random.set_seed(0)
    checkpointer_dir(out / "train" / "policy")
    dtypes_dir(out / "dtypes")
    evaluation_dir(out / "evaluation")
    eval_history_dir(out / "eval_history")
    diff_pair_dir(out / "diff_pair")


if __name__ == "__main__":
    main(sys.argv[1])
