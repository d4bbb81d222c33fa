"""`--stochastic`: actions sampled per episode, from seeds that do not depend on the batch.

TF's stateful random ops (graph seed + op seed, as `PyTFPolicy(seed=...)` uses them) draw one
stream per batch: which numbers episode i gets depends on how many episodes run beside it and in
which row. Here the draw for episode i at step t uses the stateless seed

    fold_in(seed + i as two 32-bit halves, t), then fold_in(..., k) for action leaf k

and is taken row by row (`tf.map_fn` over the batch, each row's distribution sliced out, TFP
stateless sampling), so it depends only on the episode's seed, the step and that row's own
distribution, which `invariance.PaddedBatchPolicy` computes bit-identically for any batch.

`EpisodeSampledPolicy` (TF) carries the per-row keys in its policy state; `EpisodeKeyedPyPolicy`
(numpy) hides them from the evaluation loop, which hands them over with `set_episode_keys`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pytfpol.errors import UsageError
from pytfpol.policy.quiet_tf import import_tf

tf = import_tf()

import tensorflow_probability as tfp  # noqa: E402
from tf_agents.policies import py_policy, tf_policy  # noqa: E402
from tf_agents.specs import tensor_spec  # noqa: E402
from tf_agents.trajectories import policy_step  # noqa: E402

POLICY, EPISODE, STEP = "policy", "episode", "step"


class EpisodeSampledPolicy(tf_policy.TFPolicy):
    """Samples `wrapped.distribution()` row by row with per-episode stateless seeds.

    Policy state: {"policy": the wrapped state, "episode": int32 [2] (the episode's seed as two
    32-bit halves), "step": int32 [] (the step within the episode)}. Actions are clipped to
    bounded action specs, as `TFPolicy.action` does by default.
    """

    def __init__(self, wrapped: tf_policy.TFPolicy, what: str) -> None:
        state_spec = {
            POLICY: wrapped.policy_state_spec,
            EPISODE: tensor_spec.TensorSpec([2], tf.int32, name="episode_seed"),
            STEP: tensor_spec.TensorSpec([], tf.int32, name="episode_step"),
        }
        super().__init__(
            wrapped.time_step_spec,
            wrapped.action_spec,
            policy_state_spec=state_spec,
            info_spec=wrapped.info_spec,
            clip=True,
            validate_args=False,
            automatic_state_reset=False,  # the loop resets state rows at episode starts
        )
        self._wrapped = wrapped
        self._what = what  # names the policy in errors

    def _variables(self):
        return self._wrapped.variables()

    def _action(self, time_step, policy_state, seed):
        step = self._wrapped.distribution(time_step, policy_state[POLICY])
        distributions = check_distributions(step, self._what)
        actions = sample_rows(
            distributions, policy_state[EPISODE], policy_state[STEP], self.action_spec
        )
        state = {**policy_state, POLICY: step.state}
        return policy_step.PolicyStep(actions, state, step.info)

    def _distribution(self, time_step, policy_state):
        raise NotImplementedError("EpisodeSampledPolicy computes actions only")

    def _get_initial_state(self, batch_size):
        return {
            POLICY: self._wrapped.get_initial_state(batch_size),
            EPISODE: tf.zeros([batch_size, 2], tf.int32),
            STEP: tf.zeros([batch_size], tf.int32),
        }


def check_distributions(step, what: str):
    """The action distributions of a distribution step; UsageError when there is nothing to
    sample (a deterministic policy) or no distribution at all (e.g. a SavedModel whose
    distribution() PolicySaver could not serialise, as for an epsilon-greedy collect policy)."""
    leaves = tf.nest.flatten(getattr(step, "action", None))
    if not leaves or not all(isinstance(d, tfp.distributions.Distribution) for d in leaves):
        raise UsageError(
            f"--stochastic: {what} has no action distribution to sample from (PolicySaver could "
            "not save its distribution(), e.g. of an epsilon-greedy collect policy)",
            "evaluate it without --stochastic (its action() as saved)",
        )
    if all(isinstance(d, tfp.distributions.Deterministic) for d in leaves):
        raise UsageError(
            f"--stochastic: {what} is deterministic (a greedy policy or a deterministic "
            "actor): there is nothing to sample",
            "drop --stochastic; of a Learner policies/ root, --policy policy or --policy "
            "collect picks a SavedModel that samples",
        )
    return step.action


def sample_rows(distributions: Any, episode, step, action_spec) -> Any:
    """One draw per row of a batch of distributions, seeded by that row's episode and step."""
    leaves = tf.nest.flatten(distributions)
    specs = tf.nest.flatten(action_spec)
    rows = episode.shape[0]

    def row(r):
        base = tf.random.experimental.stateless_fold_in(episode[r], step[r])
        return [
            tf.cast(leaf[r].sample(seed=tf.random.experimental.stateless_fold_in(base, k)), s.dtype)
            for k, (leaf, s) in enumerate(zip(leaves, specs))
        ]

    signature = [tf.TensorSpec(s.shape, s.dtype) for s in specs]
    sampled = tf.map_fn(row, tf.range(rows), fn_output_signature=signature)
    return tf.nest.pack_sequence_as(action_spec, sampled)


def episode_key(episode_seeds: np.ndarray) -> np.ndarray:
    """Per row, an int64 episode seed as its two 32-bit halves (int32 bit patterns)."""
    seeds = np.asarray(episode_seeds, dtype=np.int64)
    low = (seeds & 0xFFFFFFFF).astype(np.uint32).view(np.int32)
    high = (seeds >> 32).astype(np.int32)
    return np.stack([low, high], axis=1)


class EpisodeKeyedPyPolicy(py_policy.PyPolicy):
    """The numpy side of `EpisodeSampledPolicy` (driven through a `PyTFPolicy`): the loop calls
    `set_episode_keys(seed + episode index, step within the episode)` per row before `action`;
    its policy state is the wrapped policy's only."""

    def __init__(self, inner) -> None:
        super().__init__(
            inner.time_step_spec,
            inner.action_spec,
            policy_state_spec=inner.policy_state_spec[POLICY],
            info_spec=inner.info_spec,
        )
        self._inner = inner
        self._keys: dict = {}

    @property
    def session(self):
        return self._inner.session

    @property
    def inner(self):
        """The `PyTFPolicy` of the `EpisodeSampledPolicy` (pytfpol.policy.batch_call calls it)."""
        return self._inner

    def set_episode_keys(self, episode_seeds: np.ndarray, steps: np.ndarray) -> None:
        self._keys = {
            EPISODE: episode_key(episode_seeds),
            STEP: np.asarray(steps).astype(np.int32),
        }

    def _get_initial_state(self, batch_size: int):
        return self._inner.get_initial_state(batch_size)[POLICY]

    def _action(self, time_step, policy_state, seed=None):
        if not self._keys:
            raise RuntimeError("set_episode_keys() must be called before action()")
        step = self._inner.action(time_step, {POLICY: policy_state, **self._keys})
        return policy_step.PolicyStep(step.action, step.state[POLICY], step.info)
