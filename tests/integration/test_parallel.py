"""Parallel evaluation: per-episode results do not depend on `--num-envs` nor `--vector`.

Episode i is reset with seed S+i whichever slot or process runs it, exactly `--episodes` episodes
are run (no bias toward short ones), and recurrent policy state is reset for exactly the slots
that start an episode: results equal those of each episode run alone in TF-Agents' eager loop.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from pytfpol.policy.quiet_tf import import_tf

tf = import_tf()

from tf_agents.policies import policy_loader  # noqa: E402

from pytfpol import api  # noqa: E402
from pytfpol.errors import RunError, UsageError  # noqa: E402
from pytfpol.formats.sources import resolve_policy_source  # noqa: E402
from pytfpol.policy.loading import LoadOptions, load_policy  # noqa: E402
from pytfpol.running import evaluation, vector  # noqa: E402
from pytfpol.running.env_spec import EnvSpec  # noqa: E402
from pytfpol.settings import EvalSettings, default_num_envs  # noqa: E402
from tests.helpers import countdown_env  # noqa: E402
from tests.helpers.reference_loop import run_episodes  # noqa: E402

NUM_ENVS = (1, 3, 8)


@pytest.fixture(scope="module")
def policies(artifacts):
    """Loaded policies by (artifact name, batch size), each loaded once for the module."""
    cache: dict = {}

    def get(name: str, batch: int):
        if (name, batch) not in cache:
            source = resolve_policy_source(artifacts / name)
            cache[name, batch] = load_policy(source, LoadOptions(batch_size=batch))
        return cache[name, batch]

    yield get
    for loaded in cache.values():
        loaded.close()


def run(policies, name, env_id, num_envs, mode, episodes, seed, max_steps=None):
    """(return, length, terminated, truncated) per episode, in index order."""
    loaded = policies(name, num_envs)
    factory = EnvSpec(env_id, {}, max_steps)
    stepper = vector.make_stepper(mode, factory, num_envs)
    try:
        with loaded.session.as_default():
            results = evaluation.run_episodes(loaded.py_policy, stepper, episodes, seed)
    finally:
        stepper.close()
    assert [r.index for r in results] == list(range(episodes))
    assert [r.seed for r in results] == [seed + i for i in range(episodes)]
    return [(r.return_, r.length, r.terminated, r.truncated) for r in results]


def alone(artifacts, name, env_id, episodes, seed, max_steps=None, carry_state=True):
    """Each episode run alone in TF-Agents' eager loop (`SavedModelPyTFEagerPolicy`), policy
    state from `get_initial_state` at its start. `carry_state=False` resets it every step."""
    policy = policy_loader.load(str(artifacts / name))
    env = gym.make(env_id, max_episode_steps=max_steps)
    outcomes = run_episodes(policy, env, range(seed, seed + episodes), carry_state)
    return [(o.return_, o.length, o.terminated, o.truncated) for o in outcomes]


CASES = {
    # name: (artifact, env id, episodes, seed, max_episode_steps); episode counts not divisible
    # by 3 or 8, so slots finish at different times and some idle at the end.
    "feed-forward": ("cartpole_sm", "CartPole-v1", 11, 3, None),
    "q-rnn": ("cartpole_qrnn_sm", "CartPole-v1", 7, 20, 60),
    "actor-rnn": ("pendulum_actor_rnn_sm", "Pendulum-v1", 5, 9, 30),
}


@pytest.mark.parametrize("case", list(CASES))
def test_results_identical_for_any_num_envs_and_mode(policies, case):
    name, env_id, episodes, seed, max_steps = CASES[case]
    baseline = run(policies, name, env_id, 1, "sync", episodes, seed, max_steps)
    for mode in ("sync", "async"):
        for num_envs in NUM_ENVS:
            got = run(policies, name, env_id, num_envs, mode, episodes, seed, max_steps)
            assert got == baseline  # exactly, continuous actions too (pytfpol.policy.invariance)


def assert_same(got, expected, exact: bool) -> None:
    """Equal per-episode results. Between pytfpol and TF-Agents' eager loop continuous actions
    are equal up to float32 rounding only (other kernels, batch 1 eager); discrete (argmax)
    actions, lengths and flags are exactly equal."""
    if exact:
        assert got == expected
        return
    assert [g[1:] for g in got] == [e[1:] for e in expected]
    np.testing.assert_allclose([g[0] for g in got], [e[0] for e in expected], rtol=1e-6)


@pytest.mark.parametrize("case", ["q-rnn", "actor-rnn"])
def test_recurrent_results_equal_each_episode_alone(artifacts, policies, case):
    name, env_id, episodes, seed, max_steps = CASES[case]
    ours = run(policies, name, env_id, 3, "sync", episodes, seed, max_steps)
    theirs = alone(artifacts, name, env_id, episodes, seed, max_steps)
    assert_same(ours, theirs, exact=False)  # eager and graph kernels round differently
    # The recurrent state matters for this policy, or the comparison would prove nothing.
    stateless = alone(artifacts, name, env_id, episodes, seed, max_steps, carry_state=False)
    assert stateless != theirs


@pytest.mark.parametrize("num_envs", [3, 8])
def test_native_cartpole_equals_sync(policies, num_envs):
    name, env_id, episodes, seed, _ = CASES["feed-forward"]
    sync = run(policies, name, env_id, 1, "sync", episodes, seed)
    native = run(policies, name, env_id, num_envs, "native", episodes, seed)
    assert native == sync
    capped = run(policies, "cartpole_qrnn_sm", env_id, num_envs, "native", 7, 20, 60)
    assert capped == run(policies, "cartpole_qrnn_sm", env_id, 1, "sync", 7, 20, 60)


def test_native_is_refused_where_seeds_cannot_be_honoured():
    with pytest.raises(UsageError, match="no vectorised implementation"):
        vector.make_stepper("native", EnvSpec("Pendulum-v1"), 2)
    env_id = "pytfpol_test/SharedRngVector-v0"
    if env_id not in gym.registry:
        gym.register(
            env_id,
            entry_point=countdown_env.CountdownEnv,
            vector_entry_point=lambda num_envs, **_: gym.vector.SyncVectorEnv(
                [countdown_env.CountdownEnv] * num_envs
            ),
        )
    with pytest.raises(UsageError, match="cannot reset one sub-environment with a chosen seed"):
        vector.make_stepper("native", EnvSpec(env_id), 2)


def test_async_exact_returns_on_the_countdown_env(policies):
    got = run(policies, "countdown_sm", countdown_env.ENV_ID, 3, "async", 10, 4)
    # (async workers make the env from its EnvSpec: no `module:` prefix needed)
    lengths = [countdown_env.episode_length(4 + i) for i in range(10)]
    assert got == [(float(n), n, True, False) for n in lengths]


def test_async_env_failure_names_the_episode_and_keeps_the_rest(policies):
    loaded = policies("countdown_sm", 3)
    factory = EnvSpec(countdown_env.FAULTY_ENV_ID, {"fail_seed": 5})
    stepper = vector.make_stepper("async", factory, 3)
    try:
        with loaded.session.as_default(), pytest.raises(RunError) as info:
            evaluation.run_episodes(loaded.py_policy, stepper, 8, 0)
    finally:
        stepper.close()
    assert "episode 5 (seed 5)" in info.value.message
    assert "simulated physics failure" in info.value.message
    assert 5 not in [r.index for r in info.value.completed]
    assert [r.index for r in info.value.completed][:3] == [0, 1, 2]


def test_async_stepper_never_resets_on_its_own():
    """A finished slot stays finished until the loop resets it with the seed it chooses."""
    stepper = vector.AsyncStepper(EnvSpec(countdown_env.ENV_ID), 2, workers=2)
    try:
        slots = np.arange(2)
        stepper.reset(slots, np.array([0, 1]))  # lengths 3 and 4
        for _ in range(3):
            _, _, terminated, *_ = stepper.step(slots, np.zeros(2, np.int64))
        assert terminated.tolist() == [True, False]
        first = stepper.reset(np.array([0]), np.array([12]))
        again = stepper.reset(np.array([0]), np.array([12]))
        np.testing.assert_array_equal(first, again)
    finally:
        stepper.close()


def test_api_evaluate_async_reports_the_mode(artifacts, tmp_path):
    report = api.evaluate(
        EvalSettings(
            str(artifacts / "countdown_sm"),
            countdown_env.ENV_ID,
            episodes=5,
            seed=1,
            num_envs=2,
            vector="async",
            out=str(tmp_path / "out"),
        )
    )
    assert report.settings["vector"] == "async"
    assert report.settings["num_envs"] == 2
    assert [e["length"] for e in report.episodes] == [
        countdown_env.episode_length(1 + i) for i in range(5)
    ]


def test_default_num_envs():
    assert EvalSettings("p", "CartPole-v1", episodes=5).num_envs_used == 5
    assert EvalSettings("p", "CartPole-v1", episodes=1000).num_envs_used == default_num_envs("sync")
    assert EvalSettings("p", "CartPole-v1", episodes=1000, vector="native").num_envs_used == 256
    assert default_num_envs("async") >= 32
    with pytest.raises(UsageError, match="--vector"):
        EvalSettings("p", "CartPole-v1", vector="threads")


def test_cli_native_refused_with_exit_2(artifacts, tmp_path):
    from tests.helpers.repo import run_cli

    result = run_cli(
        "eval",
        str(artifacts / "pendulum_sm"),
        "--env",
        "Pendulum-v1",
        "--episodes",
        "2",
        "--vector",
        "native",
        "--out",
        str(tmp_path / "out"),
    )
    assert result.returncode == 2, result.stderr
    stderr = " ".join(result.stderr.split())  # the console may wrap long lines
    assert "--vector native: Pendulum-v1 has no vectorised implementation" in stderr
    assert "hint: use --vector sync or --vector async" in stderr


# ---------------------------------------------------------------------------------------------
# Issue 17.5: pytfpol itself resets recurrent state per slot

STEP_COUNTER_LIMIT = 4  # tests/helpers/artifacts_checkpointer.py: step_counter


def step_counter_return(length: int) -> float:
    """Countdown with StepCounterPolicy: rewarded while the count is below the limit."""
    right = min(length, STEP_COUNTER_LIMIT)
    return float(right - (length - right))


@pytest.mark.parametrize(
    ("num_envs", "mode", "groups"),
    [(1, "sync", 1), (3, "sync", 1), (6, "sync", 1), (3, "async", 1), (5, "sync", 2)],
)
def test_state_is_reset_for_each_episode_by_the_loop(artifacts, tmp_path, num_envs, mode, groups):
    """StepCounterPolicy counts steps in its state and never looks at the step type, so TF-Agents'
    own reset-on-FIRST cannot hide a missing reset: every episode scores exactly as if it ran
    alone, whatever slot (and pipelined group) runs it after whichever episode."""
    config = tmp_path / "counter.toml"
    config.write_text('factory = "tests.helpers.factories:step_counter_policy"\n')
    settings = EvalSettings(
        str(artifacts / "checkpointer" / "step_counter"),
        countdown_env.ENV_ID,
        episodes=12,
        seed=2,
        config=str(config),
        num_envs=num_envs,
        vector=mode,
        pipeline_groups=groups,
        out=str(tmp_path / "out"),
    )
    assert (settings.groups_used, settings.policy_batch_size) == (groups, -(-num_envs // groups))
    report = api.evaluate(settings)
    lengths = [countdown_env.episode_length(2 + i) for i in range(12)]
    assert [e["length"] for e in report.episodes] == lengths
    assert [e["return"] for e in report.episodes] == [step_counter_return(n) for n in lengths]


def test_reset_state_replaces_exactly_the_starting_rows():
    state = {
        "count": np.array([5.0, 7.0, 9.0]),
        "h": np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]),
    }
    initial = {"count": np.zeros(3), "h": np.zeros((3, 2))}
    step_type = np.array([1, 0, 1], dtype=np.int32)  # MID, FIRST, MID
    reset = evaluation._reset_state(state, initial, step_type)
    np.testing.assert_array_equal(reset["count"], [5.0, 0.0, 9.0])
    np.testing.assert_array_equal(reset["h"], [[1.0, 1.0], [0.0, 0.0], [3.0, 3.0]])
    assert evaluation._reset_state((), (), step_type) == ()


# ---------------------------------------------------------------------------------------------
# Issue 15: pipelined groups (a worker thread computes one group while the others step)


def run_grouped(policies, name, env_id, num_envs, mode, groups, episodes, seed, max_steps=None):
    """As `run`, with the slots split into `groups`, each one policy call of its own size."""
    loaded = policies(name, -(-num_envs // groups))
    stepper = vector.make_stepper(mode, EnvSpec(env_id, {}, max_steps), num_envs)
    try:
        with loaded.session.as_default():
            results = evaluation.run_episodes(
                loaded.py_policy, stepper, episodes, seed, groups=groups
            )
    finally:
        stepper.close()
    assert [r.index for r in results] == list(range(episodes))
    return [(r.return_, r.length, r.terminated, r.truncated) for r in results]


@pytest.mark.parametrize("case", list(CASES))
def test_results_identical_for_any_group_count(policies, case):
    """Groups of 1, 2 or 3 slots (some groups with a filler row: 8 = 3 + 3 + 2), sync and
    async: the same per-episode results as one slot. Recurrent state is carried per group."""
    name, env_id, episodes, seed, max_steps = CASES[case]
    baseline = run(policies, name, env_id, 1, "sync", episodes, seed, max_steps)
    for mode, num_envs, groups in [("sync", 3, 3), ("sync", 8, 2), ("sync", 8, 3), ("async", 8, 2)]:
        got = run_grouped(policies, name, env_id, num_envs, mode, groups, episodes, seed, max_steps)
        assert got == baseline, (mode, num_envs, groups)


def test_pipelined_env_failure_names_the_episode(policies):
    loaded = policies("countdown_sm", 2)
    stepper = vector.make_stepper("sync", EnvSpec(countdown_env.FAULTY_ENV_ID, {"fail_seed": 5}), 4)
    try:
        with loaded.session.as_default(), pytest.raises(RunError) as info:
            evaluation.run_episodes(loaded.py_policy, stepper, 8, 0, groups=2)
    finally:
        stepper.close()
    assert "episode 5 (seed 5)" in info.value.message
    assert 5 not in [r.index for r in info.value.completed]


def test_native_takes_one_group_only(policies):
    with pytest.raises(UsageError, match="--vector native steps all its environments at once"):
        EvalSettings("p", "CartPole-v1", episodes=8, vector="native", pipeline_groups=2)
    assert EvalSettings("p", "CartPole-v1", episodes=8, vector="native").groups_used == 1
    loaded = policies("cartpole_sm", 2)
    stepper = vector.make_stepper("native", EnvSpec("CartPole-v1"), 4)
    try:
        with loaded.session.as_default(), pytest.raises(ValueError, match="steps all its slots"):
            evaluation.run_episodes(loaded.py_policy, stepper, 4, 0, groups=2)
    finally:
        stepper.close()


def test_a_policy_built_for_another_batch_is_refused(policies):
    loaded = policies("cartpole_sm", 3)
    stepper = vector.make_stepper("sync", EnvSpec("CartPole-v1"), 4)
    try:
        with pytest.raises(ValueError, match="built for batches of 3, not 2"):
            evaluation.run_episodes(loaded.py_policy, stepper, 4, 0, groups=2)
    finally:
        stepper.close()


def counting_py_policy():
    """A numpy PyPolicy whose state counts steps and which never looks at the step type (no
    TF-Agents policy resets it on FIRST): right while its count is below the limit, wrong
    after. Only the loop's reset per starting slot gives each episode its exact return."""
    from tf_agents.policies import py_policy
    from tf_agents.specs import array_spec
    from tf_agents.trajectories import policy_step
    from tf_agents.trajectories import time_step as ts

    class CountingPolicy(py_policy.PyPolicy):
        def _get_initial_state(self, batch_size):
            return np.zeros(batch_size, np.float32)

        def _action(self, time_step, policy_state):
            good = np.argmax(time_step.observation, axis=-1).astype(np.int64)
            right = policy_state < STEP_COUNTER_LIMIT
            return policy_step.PolicyStep(np.where(right, good, 1 - good), policy_state + 1)

    observation = array_spec.BoundedArraySpec((2,), np.float32, 0.0, 1.0, "observation")
    return CountingPolicy(
        ts.time_step_spec(observation),
        array_spec.BoundedArraySpec((), np.int64, 0, 1, "action"),
        policy_state_spec=array_spec.ArraySpec((), np.float32),
    )


@pytest.mark.parametrize(("num_envs", "groups"), [(1, 1), (3, 1), (5, 2), (6, 3)])
def test_loop_resets_state_per_episode_in_every_group(num_envs, groups):
    policy = counting_py_policy()
    stepper = vector.make_stepper("sync", EnvSpec(countdown_env.ENV_ID), num_envs)
    try:
        results = evaluation.run_episodes(policy, stepper, 12, 2, groups=groups)
    finally:
        stepper.close()
    lengths = [countdown_env.episode_length(2 + i) for i in range(12)]
    assert [r.length for r in results] == lengths
    assert [r.return_ for r in results] == [step_counter_return(n) for n in lengths]
