"""Batch-invariant inference: a row's action does not depend on how many rows are computed with it.

pytfpol runs one policy call for all environments side by side, so the same observation is
computed in batches of 1, 3 or 64 rows and at any row of the batch. TensorFlow's CPU kernels give
bit-identical rows for all of these only under two conditions (measured by
`bench/determinism_repro.py`, see bench/README.md):

* one intra-op thread: with more, Eigen splits long dot products (e.g. 2048 inputs) into
  per-thread partial sums for some batch sizes only, so the rounding depends on the batch size;
* a batch whose row count is a multiple of `ROW_QUANTUM` (16): Eigen computes a one-row matrix
  product as a matrix-vector product (another summation order; oneDNN, when switched on, changes
  its kernel for a few rows too), and transcendental functions (exp, log1p, sigmoid, softplus,
  ...) on the last `size % packet` elements of a tensor with scalar code whose rounding differs
  from the SIMD code used for the rest (packets hold 16 floats with AVX-512, 8 with AVX2).

`session_config()` gives the first; `PaddedBatchPolicy` the second: it pads every batch to a
multiple of 16 rows inside the graph (copies of row 0) and returns the real rows. Then every
row of a float32 tensor is computed by the same code whatever the batch size and the row's
position.
"""

from __future__ import annotations

from pytfpol.policy.quiet_tf import import_tf

tf = import_tf()

from tf_agents.policies import tf_policy  # noqa: E402

ROW_QUANTUM = 16


def compute_batch(batch_size: int) -> int:
    """The batch the network is computed on: `batch_size` rounded up to a multiple of 16."""
    return -(-max(batch_size, 1) // ROW_QUANTUM) * ROW_QUANTUM


def session_config():
    """A session configuration with one intra-op thread (see the module docstring)."""
    return tf.compat.v1.ConfigProto(intra_op_parallelism_threads=1)


class PaddedBatchPolicy(tf_policy.TFPolicy):
    """Computes `wrapped` on `compute_batch(n)` rows (padded with copies of row 0) and returns the
    first n rows of its actions, or of its distributions: each row then goes through the same
    kernels for every batch size."""

    def __init__(self, wrapped: tf_policy.TFPolicy) -> None:
        super().__init__(
            wrapped.time_step_spec,
            wrapped.action_spec,
            policy_state_spec=wrapped.policy_state_spec,
            info_spec=wrapped.info_spec,
            clip=False,
            validate_args=False,
            automatic_state_reset=False,  # the wrapped policy resets its own state
        )
        self._wrapped = wrapped

    @property
    def wrapped_policy(self) -> tf_policy.TFPolicy:
        return self._wrapped

    def _variables(self):
        return self._wrapped.variables()

    def _action(self, time_step, policy_state, seed):
        return self._padded(self._wrapped.action, time_step, policy_state, seed=seed)

    def _distribution(self, time_step, policy_state):
        return self._padded(self._wrapped.distribution, time_step, policy_state)

    def _padded(self, call, time_step, policy_state, **kwargs):
        """`call` on the padded batch; its outputs (tensors or distributions) cut to the real
        rows."""
        rows = _static_rows(time_step.step_type)
        padded = compute_batch(rows)
        if padded == rows:
            return call(time_step, policy_state, **kwargs)
        index = tf.constant(list(range(rows)) + [0] * (padded - rows), dtype=tf.int32)
        pad = lambda t: tf.gather(t, index)  # noqa: E731
        step = call(
            tf.nest.map_structure(pad, time_step),
            tf.nest.map_structure(pad, policy_state),
            **kwargs,
        )
        return tf.nest.map_structure(lambda t: t[:rows], step)

    def _get_initial_state(self, batch_size):
        return self._wrapped.get_initial_state(batch_size)


def _static_rows(step_type) -> int:
    rows = step_type.shape[0] if step_type.shape.rank else None
    if rows is None:
        raise ValueError("PaddedBatchPolicy needs a static batch size (PyTFPolicy.initialize(n))")
    return int(rows)
