"""Batch invariance: a row's action, and so an episode's result, does not depend on what is
computed beside it (`pytfpol.policy.invariance`, `pytfpol.policy.sampling`).

Policies are untrained TF-Agents actors written by PolicySaver and Checkpointer
(tests/helpers/artifacts_determinism.py) and loaded through pytfpol's loading path. HalfCheetah is
chaotic: one ulp in one action early in an episode changes its return visibly, so equal returns
across `--num-envs` and `--vector` are a sharp test of equal actions.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from pytfpol.policy.quiet_tf import import_tf

tf = import_tf()

from tf_agents.trajectories import time_step as ts  # noqa: E402

from pytfpol.errors import UsageError  # noqa: E402
from pytfpol.formats.sources import resolve_policy_source  # noqa: E402
from pytfpol.policy import invariance  # noqa: E402
from pytfpol.policy.loading import LoadOptions, load_policy  # noqa: E402
from pytfpol.policy.policy_config import load_policy_config  # noqa: E402
from pytfpol.running import envs, evaluation, vector  # noqa: E402
from pytfpol.running.env_spec import EnvSpec  # noqa: E402
from tests.helpers.repo import REPO  # noqa: E402

CHEETAH = "HalfCheetah-v5"
SAC_CONFIG = REPO / "configs" / "tf-agents-sac-v2-actor.toml"
BATCHES = (1, 2, 3, 8, 33, 64)
ROWS = 64
OFFSETS = (0, 5)  # each row is computed at several positions of its batch
STEPS = 3  # policy state carried from step to step

# name: (artifact, rebuilt from a config?, --stochastic?)
POLICIES = {
    "mlp": ("cheetah_sac_sm", False, False),
    "rnn": ("cheetah_rnn_sm", False, False),
    "conv-pixels": ("pixels_conv_sm", False, False),
    "mlp-rebuilt": ("cheetah_sac_ckpt", True, False),
    "mlp-rebuilt-stochastic": ("cheetah_sac_ckpt", True, True),
    "mlp-saved-model-stochastic": ("cheetah_sample_sm", False, True),
}


def cheetah_specs():
    env = gym.make(CHEETAH)
    return envs.tensor_specs(
        {
            "observation": envs.space_to_spec(env.observation_space, "observation"),
            "action": envs.space_to_spec(env.action_space, "action"),
        }
    )


def load(det_artifacts, name: str, batch: int, **options):
    artifact, rebuilt, stochastic = POLICIES[name]
    config = load_policy_config(SAC_CONFIG) if rebuilt else None
    source = resolve_policy_source(str(det_artifacts / artifact))
    return load_policy(
        source,
        LoadOptions(batch_size=batch, config=config, stochastic=stochastic, seed=0, **options),
        cheetah_specs() if rebuilt else None,
    )


def actions_by_row(loaded, batch: int, observations: np.ndarray) -> np.ndarray:
    """Actions of STEPS steps for each of ROWS rows, per offset: every row computed inside
    batches of `batch` rows (the last batch filled up with copies of its first row)."""
    policy = loaded.py_policy
    keyed = hasattr(policy, "set_episode_keys")
    out = np.zeros((len(OFFSETS), ROWS, STEPS, *loaded.action_spec.shape), np.float32)
    with loaded.session.as_default():
        for o, offset in enumerate(OFFSETS):
            for start in range(0, ROWS, batch):
                real = (offset + np.arange(start, min(start + batch, ROWS))) % ROWS
                rows = np.concatenate([real, np.repeat(real[:1], batch - len(real))])
                state = policy.get_initial_state(batch)
                for t in range(STEPS):
                    step_type = ts.StepType.FIRST if t == 0 else ts.StepType.MID
                    time_step = ts.TimeStep(
                        np.full(batch, step_type, np.int32),
                        np.zeros(batch, np.float32),
                        np.ones(batch, np.float32),
                        observations[(rows + 7 * t) % ROWS],
                    )
                    if keyed:  # row r plays episode 1000 + r
                        policy.set_episode_keys(1000 + rows, np.full(batch, t))
                    step = policy.action(time_step, state)
                    state = step.state
                    out[o, real, t] = step.action[: len(real)]
    return out


def observations_for(spec) -> np.ndarray:
    rng = np.random.default_rng(1)
    if np.dtype(spec.dtype).kind == "u":
        return rng.integers(0, 256, size=(ROWS, *spec.shape)).astype(spec.dtype)
    return rng.normal(size=(ROWS, *spec.shape)).astype(spec.dtype)


@pytest.mark.parametrize("name", list(POLICIES))
def test_actions_bit_identical_for_any_batch_size_and_row(det_artifacts, name):
    results = {}
    for batch in BATCHES:
        loaded = load(det_artifacts, name, batch)
        try:
            observations = observations_for(loaded.observation_spec)
            results[batch] = actions_by_row(loaded, batch, observations)
        finally:
            loaded.close()
    reference = results[1][0]
    # The rows differ from each other (the comparison is not between constants).
    assert len({reference[r].tobytes() for r in range(ROWS)}) == ROWS
    for batch, actions in results.items():
        for o in range(len(OFFSETS)):
            differ = np.flatnonzero((actions[o] != reference).reshape(ROWS, -1).any(axis=1))
            assert differ.size == 0, f"batch {batch}, offset {o}: rows {differ.tolist()} differ"


def test_padded_batches_are_multiples_of_the_row_quantum():
    assert [invariance.compute_batch(n) for n in (1, 15, 16, 17, 33, 64, 65)] == [
        16, 16, 16, 32, 48, 64, 80,
    ]  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Episodes on a chaotic env: returns identical across --num-envs and --vector

EPISODES, SEED, MAX_STEPS = 9, 5, 100
RUNS = [(1, "sync"), (3, "sync"), (8, "sync"), (32, "sync"), (3, "async"), (32, "async")]


def episodes_of(det_artifacts, name: str, num_envs: int, mode: str, seed: int = SEED):
    loaded = load(det_artifacts, name, num_envs)
    stepper = vector.make_stepper(mode, EnvSpec(CHEETAH, {}, MAX_STEPS), num_envs)
    try:
        with loaded.session.as_default():
            results = evaluation.run_episodes(loaded.py_policy, stepper, EPISODES, seed)
    finally:
        stepper.close()
        loaded.close()
    assert [r.seed for r in results] == [seed + i for i in range(EPISODES)]
    return [(r.return_, r.length) for r in results]


@pytest.mark.parametrize("name", ["mlp", "mlp-rebuilt-stochastic"])
def test_cheetah_returns_identical_for_any_num_envs_and_vector(det_artifacts, name):
    alone = episodes_of(det_artifacts, name, 1, "sync")  # each episode run by itself
    assert len({r for r, _ in alone}) == EPISODES
    for num_envs, mode in RUNS[1:]:
        assert episodes_of(det_artifacts, name, num_envs, mode) == alone, (num_envs, mode)


def test_stochastic_samples_per_episode(det_artifacts):
    """Sampling happens (returns differ from the greedy mode's) and follows --seed: episode i of
    seed S is episode i-1 of seed S+1."""
    greedy = episodes_of(det_artifacts, "mlp-rebuilt", 8, "sync")
    sampled = episodes_of(det_artifacts, "mlp-rebuilt-stochastic", 8, "sync")
    shifted = episodes_of(det_artifacts, "mlp-rebuilt-stochastic", 8, "sync", seed=SEED + 1)
    assert all(g != s for g, s in zip(greedy, sampled))
    assert shifted[:-1] == sampled[1:]


def test_saved_model_stochastic_samples_its_distribution_per_episode(det_artifacts):
    name = "mlp-saved-model-stochastic"
    assert episodes_of(det_artifacts, name, 1, "sync") == episodes_of(
        det_artifacts, name, 8, "sync"
    )


def test_stochastic_refuses_a_deterministic_saved_model(det_artifacts):
    source = resolve_policy_source(str(det_artifacts / "cheetah_sac_sm"))
    with pytest.raises(UsageError, match="deterministic.*nothing to sample") as caught:
        load_policy(source, LoadOptions(batch_size=2, stochastic=True, seed=0))
    assert caught.value.exit_code == 2


def test_stochastic_refuses_a_saved_model_without_a_distribution(artifacts):
    """A DQN collect policy is epsilon-greedy: PolicySaver cannot save its distribution(), and
    its own action() samples with seeds fixed when it was saved: refused, with or without
    --stochastic (see also test_newcomer.py)."""
    source = resolve_policy_source(str(artifacts / "learner" / "policies"), "collect")
    with pytest.raises(UsageError, match="saved no distribution pytfpol could sample") as caught:
        load_policy(source, LoadOptions(batch_size=2, stochastic=True, seed=0))
    assert caught.value.exit_code == 2


def test_stochastic_q_policy_saved_model_is_per_episode(artifacts):
    """Discrete sampling (the Q policy's softmax, a Learner root's `policy` SavedModel)."""
    source = resolve_policy_source(str(artifacts / "learner" / "policies"), "policy")
    runs = []
    for num_envs in (1, 3):
        loaded = load_policy(source, LoadOptions(batch_size=num_envs, stochastic=True, seed=0))
        stepper = vector.make_stepper("sync", EnvSpec("CartPole-v1"), num_envs)
        try:
            with loaded.session.as_default():
                results = evaluation.run_episodes(loaded.py_policy, stepper, 7, SEED)
        finally:
            stepper.close()
            loaded.close()
        runs.append([(r.return_, r.length) for r in results])
    assert runs[0] == runs[1]


# ---------------------------------------------------------------------------------------------
# Issue 15: the loop calls the PyTFPolicy's graph through one C++ callable, and may pipeline
# groups of slots; neither changes an action.


def actions_through_batch_call(loaded, batch: int, observations: np.ndarray) -> np.ndarray:
    """`actions_by_row`, with every call made through `batch_call` (flat arrays, the policy
    state carried as a flat list, the episode keys fed directly)."""
    from pytfpol.policy.batch_call import batch_call

    call = batch_call(loaded.py_policy, batch)
    out = np.zeros((len(OFFSETS), ROWS, STEPS, *loaded.action_spec.shape), np.float32)
    for o, offset in enumerate(OFFSETS):
        for start in range(0, ROWS, batch):
            real = (offset + np.arange(start, min(start + batch, ROWS))) % ROWS
            rows = np.concatenate([real, np.repeat(real[:1], batch - len(real))])
            state = call.initial_state()
            for t in range(STEPS):
                step_type = ts.StepType.FIRST if t == 0 else ts.StepType.MID
                time_step = [
                    np.full(batch, step_type, np.int32),
                    np.zeros(batch, np.float32),
                    np.ones(batch, np.float32),
                    observations[(rows + 7 * t) % ROWS],
                ]
                keys = (1000 + rows, np.full(batch, t)) if call.keyed else None
                action, state, _ = call(time_step, state, keys)
                out[o, real, t] = action[: len(real)]
    return out


@pytest.mark.parametrize("name", list(POLICIES))
def test_batch_call_equals_py_tf_policy_action(det_artifacts, name):
    for batch in (3, 33):
        loaded = load(det_artifacts, name, batch)
        try:
            observations = observations_for(loaded.observation_spec)
            theirs = actions_by_row(loaded, batch, observations)
            ours = actions_through_batch_call(loaded, batch, observations)
        finally:
            loaded.close()
        assert np.array_equal(ours, theirs), (name, batch)
        assert len({theirs[0, r].tobytes() for r in range(ROWS)}) == ROWS  # not constants


PIPELINED = [(8, "sync", 2), (32, "sync", 3), (32, "async", 2)]


def pipelined_episodes(det_artifacts, name: str, num_envs: int, mode: str, groups: int):
    loaded = load(det_artifacts, name, -(-num_envs // groups))
    stepper = vector.make_stepper(mode, EnvSpec(CHEETAH, {}, MAX_STEPS), num_envs)
    try:
        with loaded.session.as_default():
            results = evaluation.run_episodes(
                loaded.py_policy, stepper, EPISODES, SEED, groups=groups
            )
    finally:
        stepper.close()
        loaded.close()
    return [(r.return_, r.length) for r in results]


@pytest.mark.parametrize("name", ["mlp", "rnn", "mlp-rebuilt-stochastic"])
def test_cheetah_returns_identical_for_any_group_count(det_artifacts, name):
    alone = episodes_of(det_artifacts, name, 1, "sync")
    assert len({r for r, _ in alone}) == EPISODES
    for num_envs, mode, groups in PIPELINED:
        got = pipelined_episodes(det_artifacts, name, num_envs, mode, groups)
        assert got == alone, (num_envs, mode, groups)
