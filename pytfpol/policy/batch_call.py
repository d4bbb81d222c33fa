"""One policy call on a batch, as cheap as the session allows: the PyTFPolicy's graph through one
C++ callable.

`PyTFPolicy` builds the policy's graph (its placeholders for a time step and a policy state, and
the `action()` ops on them) and is what pytfpol loads and restores. Its own `action()` then costs
more than the graph: it flattens and checks nests, builds a feed dict keyed by tensors and goes
through `Session.run`'s fetch handling on every call (~0.1 ms of Python), and it fetches `info`
too. `BatchCall` runs the very same placeholders and fetches through a callable made once with
the C++ `Session::MakeCallable` (`Session._make_callable_from_options`, as Keras' graph functions
use it; the public `Session.make_callable` with a feed list only wraps `Session.run` in TF 2.15),
with the time step given as the flat list of arrays the evaluation loop keeps preallocated and the
policy state as a flat list: one C++ call per batch, numpy in and out (~15 us for a small MLP).
The numbers are those of `PyTFPolicy.action` (a test checks bit-identical actions).

`session_config` runs every op in the calling thread (`inter_op_parallelism_threads = -1`):
a small policy's `session.run` then costs about half (no hand-over to an inter-op pool thread
for each op), and a pipelined loop (`pytfpol.running.pipeline`) computes one group's actions in
its own thread while it steps another group's environments.

Other `PyPolicy`s (e.g. a numpy stand-in in `make bench`) are called through their `action()`.
"""

from __future__ import annotations

import weakref
from typing import Optional

import numpy as np

from pytfpol.policy.quiet_tf import import_tf

tf = import_tf()

from tensorflow.core.protobuf import config_pb2, rewriter_config_pb2  # noqa: E402
from tensorflow.python.client import pywrap_tf_session  # noqa: E402
from tf_agents.policies import py_tf_policy  # noqa: E402
from tf_agents.trajectories import time_step as ts  # noqa: E402

from pytfpol.policy import sampling  # noqa: E402

# All of a session's ops run in the thread that calls it (ConfigProto: "Negative means all
# operations are performed in caller's thread").
INTER_OP_THREADS = -1


def session_config(config=None):
    """`config` (a ConfigProto, or a new one) with every op run in the calling thread, and
    shapes folded into constants.

    Grappler's constant folding trusts the placeholders' static shapes only when AGGRESSIVE
    (`assume_valid_feeds`): every feed is one of the loop's preallocated arrays of exactly those
    shapes, so the shape arithmetic of TF-Agents' action step (`Deterministic.sample`'s Shape,
    BroadcastArgs, concat, a Flatten's Reshape) becomes constants: 7 of ~50 ops fewer per call,
    ~2 us (bench/README.md). The kernels that compute on values run as before: a test checks
    the returns equal TF-Agents' own eager loop's exactly."""
    config = config if config is not None else tf.compat.v1.ConfigProto()
    config.inter_op_parallelism_threads = INTER_OP_THREADS
    config.graph_options.rewrite_options.constant_folding = (
        rewriter_config_pb2.RewriterConfig.AGGRESSIVE
    )
    return config


class BatchCall:
    """`policy` called on a batch given as flat arrays: `time_step` leaves in `tf.nest` order
    (step_type, reward, discount, then the observation's leaves), the policy state as the flat
    list `initial_state()` starts with. Returns (action nest, new flat state, info nest), the
    info only when made `with_info` (else None: fetching it costs)."""

    batch_size: Optional[int]
    keyed: bool  # takes per-row episode keys (pytfpol.policy.sampling)

    def initial_state(self) -> list:
        raise NotImplementedError

    def __call__(self, time_step: list, state: list, keys: Optional[tuple] = None):
        raise NotImplementedError


# Session calls made so far, by policy: making one prunes and optimises the graph (~25 ms), once
# per policy, not once per run (e.g. a sweep restoring checkpoint after checkpoint into it).
_SESSION_CALLS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def batch_call(policy, batch_size: int, with_info: bool = False) -> BatchCall:
    """The fastest way to call `policy` on batches of `batch_size` rows: through the session
    when it is a built `PyTFPolicy` (or `sampling.EpisodeKeyedPyPolicy` over one), else its
    `action()`. `with_info`: also return the policy's info (for recording trajectories)."""
    inner = policy.inner if isinstance(policy, sampling.EpisodeKeyedPyPolicy) else policy
    if not (
        isinstance(inner, py_tf_policy.PyTFPolicy)
        and getattr(inner, "_built", False)
        and inner.session is not None
    ):
        return _ActionCall(policy, batch_size, with_info)
    if inner._batch_size != batch_size:  # noqa: SLF001
        raise ValueError(
            f"the policy was built for batches of {inner._batch_size}, not {batch_size}"  # noqa: SLF001
        )
    calls = _SESSION_CALLS.setdefault(policy, {})
    call = calls.get(with_info)
    if call is None or call.session is not inner.session:
        call = calls[with_info] = _SessionCall(
            inner, keyed=inner is not policy, with_info=with_info
        )
    return call


class _SessionCall(BatchCall):
    """The PyTFPolicy's own placeholders and `action()` tensors through one C++ callable.

    PyTFPolicy 0.19 keeps them in `_time_step`, `_policy_state` and `_action_step` (set by
    `PyTFPolicy.initialize`); TF-Agents 0.19.0 is the last release and pinned."""

    def __init__(self, py_policy: py_tf_policy.PyTFPolicy, keyed: bool, with_info: bool) -> None:
        self.batch_size = py_policy._batch_size  # noqa: SLF001
        self.keyed = keyed
        self.session = py_policy.session
        time_step = tf.nest.flatten(py_policy._time_step)  # noqa: SLF001
        state_in = py_policy._policy_state  # noqa: SLF001
        step = py_policy._action_step  # noqa: SLF001
        initial = py_policy._tf_initial_state  # noqa: SLF001
        keys: list = []
        state_out = step.state
        if keyed:  # the episode keys are fed, the wrapped policy's state carried
            keys = [state_in[sampling.EPISODE], state_in[sampling.STEP]]
            state_in, state_out = state_in[sampling.POLICY], step.state[sampling.POLICY]
            initial = initial[sampling.POLICY]
        self._action_structure = step.action
        actions = tf.nest.flatten(step.action)
        self._action_count = len(actions)
        self._single = len(actions) == 1 and not tf.nest.is_nested(step.action)
        self._info_structure = step.info if with_info else None
        info = tf.nest.flatten(step.info) if with_info else []
        self._info_count = len(info)
        feeds = time_step + tf.nest.flatten(state_in) + keys
        options = config_pb2.CallableOptions(
            feed=[t.name for t in feeds],
            fetch=[t.name for t in actions + info + tf.nest.flatten(state_out)],
        )
        # `Session.make_callable` with a feed list only wraps `Session.run` (TF 2.15); this is
        # the C++ `Session::MakeCallable` behind it, as Keras' graph functions use it.
        self._call = self.session._make_callable_from_options(options)  # noqa: SLF001
        self._initial = self.session.run(tf.nest.flatten(initial))
        # The loop's common case (one action leaf, no info, no episode keys) skips all packing.
        self._plain = self._single and not keyed and not with_info

    def _run(self, feeds: list) -> list:
        """The callable on `feeds` (a list of arrays): what `_Callable.__call__` does without its
        run-metadata handling (~1 us a call). The session's handle is read on every call, as
        there (the `_Callable` object, kept, releases the callable when it goes)."""
        return pywrap_tf_session.TF_SessionRunCallable(
            self.session._session,  # noqa: SLF001
            self._call._handle,  # noqa: SLF001
            feeds,
            None,
        )

    def initial_state(self) -> list:
        return [np.array(leaf) for leaf in self._initial]

    def __call__(self, time_step: list, state: list, keys: Optional[tuple] = None):
        if self._plain:
            out = self._run(time_step + state if state else time_step)
            return out[0], out[1:], None
        if self.keyed:
            if keys is None:
                raise RuntimeError("this policy samples per episode: give the episode keys")
            seeds, steps = keys
            out = self._run(
                [*time_step, *state, sampling.episode_key(seeds), steps.astype(np.int32)]
            )
        else:
            out = self._run([*time_step, *state])
        k, i = self._action_count, self._action_count + self._info_count
        action = (
            out[0] if self._single else tf.nest.pack_sequence_as(self._action_structure, out[:k])
        )
        info = None
        if self._info_structure is not None:
            info = tf.nest.pack_sequence_as(self._info_structure, out[k:i])
        return action, out[i:], info


class _ActionCall(BatchCall):
    """Any `PyPolicy`: its `action()` on a `TimeStep` packed from the flat arrays."""

    def __init__(self, policy, batch_size: int, with_info: bool = False) -> None:
        self.batch_size = batch_size
        self._with_info = with_info
        self.keyed = hasattr(policy, "set_episode_keys")
        self._policy = policy
        self._observation = policy.time_step_spec.observation
        self._state_structure = policy.get_initial_state(batch_size)

    def initial_state(self) -> list:
        return [np.array(leaf) for leaf in tf.nest.flatten(self._state_structure)]

    def __call__(self, time_step: list, state: list, keys: Optional[tuple] = None):
        if self.keyed and keys is not None:
            self._policy.set_episode_keys(*keys)
        step_type, reward, discount, *observation = time_step
        step = self._policy.action(
            ts.TimeStep(
                step_type,
                reward,
                discount,
                tf.nest.pack_sequence_as(self._observation, observation),
            ),
            tf.nest.pack_sequence_as(self._state_structure, state),
        )
        state = [np.asarray(leaf) for leaf in tf.nest.flatten(step.state)]
        return step.action, state, step.info if self._with_info else None
