"""pytfpol against TF-Agents' own reference paths, on the same inputs.

- Actions: `PyTFPolicy` in our graph vs `SavedModelPyTFEagerPolicy` from `policy_loader.load`
  (with `update_from_checkpoint` for Learner checkpoints), discrete and continuous.
- Returns: `api.evaluate` vs a straightforward eager loop over the Gymnasium env, and vs
  TF-Agents' `metric_utils.compute` driving our `GymnasiumEnvironment`.
"""

from __future__ import annotations

import itertools

import gymnasium as gym
import numpy as np
import pytest

from pytfpol.policy.quiet_tf import import_tf

tf = import_tf()

from tf_agents.eval import metric_utils  # noqa: E402
from tf_agents.metrics import py_metrics  # noqa: E402
from tf_agents.policies import policy_loader  # noqa: E402
from tf_agents.trajectories import time_step as ts  # noqa: E402

from pytfpol import api  # noqa: E402
from pytfpol.formats.sources import resolve_policy_source  # noqa: E402
from pytfpol.policy.loading import LoadOptions, load_policy  # noqa: E402
from pytfpol.running.envs import GymnasiumEnvironment  # noqa: E402
from tests.helpers import countdown_env  # noqa: E402
from tests.helpers.reference_loop import run_episodes  # noqa: E402

CASES = [
    ("cartpole_sm", "CartPole-v1"),
    ("pendulum_sm", "Pendulum-v1"),
    ("learner/policies", "CartPole-v1"),
]


def observations_from(env_id: str, count: int) -> np.ndarray:
    """Realistic observations: states visited by random actions from seeded resets."""
    env = gym.make(env_id)
    env.action_space.seed(0)
    rows, seed = [], 0
    observation, _ = env.reset(seed=seed)
    while len(rows) < count:
        rows.append(observation)
        observation, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            seed += 1
            observation, _ = env.reset(seed=seed)
    return np.asarray(rows, dtype=np.float32)


def reference_policy(source):
    return policy_loader.load(source.saved_model_dir, source.checkpoint_dir)


@pytest.mark.fast
@pytest.mark.parametrize("name, env_id", CASES)
def test_actions_equal_saved_model_eager_policy(artifacts, name, env_id):
    source = resolve_policy_source(artifacts / name)
    observations = observations_from(env_id, 64)
    batch = len(observations)
    time_step = ts.TimeStep(
        step_type=np.full(batch, ts.StepType.MID, np.int32),
        reward=np.zeros(batch, np.float32),
        discount=np.ones(batch, np.float32),
        observation=observations,
    )
    loaded = load_policy(source, LoadOptions(batch_size=batch))
    try:
        with loaded.session.as_default():
            ours = loaded.py_policy.action(time_step, loaded.py_policy.get_initial_state(batch))
    finally:
        loaded.close()

    reference = reference_policy(source)
    theirs = np.stack(
        [
            reference.action(
                ts.TimeStep(np.int32(ts.StepType.MID), np.float32(0), np.float32(1), observation)
            ).action
            for observation in observations
        ]
    )
    assert ours.action.shape == theirs.shape
    if np.issubdtype(theirs.dtype, np.integer):
        np.testing.assert_array_equal(ours.action, theirs)
        assert len(np.unique(theirs)) > 1, "a constant policy would prove nothing"
    else:
        np.testing.assert_allclose(ours.action, theirs, rtol=0, atol=1e-6)


def test_learner_checkpoint_changes_the_actions(artifacts):
    """The checkpoint, not the step-0 SavedModel weights, decides (or the test above is vacuous)."""
    root = artifacts / "learner" / "policies"
    observations = observations_from("CartPole-v1", 64)
    step0 = resolve_policy_source(root / "greedy_policy")
    plain = policy_loader.load(step0.saved_model_dir)
    trained = policy_loader.load(step0.saved_model_dir, step0.checkpoint_dir)
    first = [plain.action(_time_step(o)).action for o in observations]
    last = [trained.action(_time_step(o)).action for o in observations]
    assert first != last


def _time_step(observation):
    return ts.TimeStep(np.int32(ts.StepType.MID), np.float32(0), np.float32(1), observation)


def reference_returns(source, env: gym.Env, episodes: int, seed: int):
    """(return, length, terminated) of TF-Agents' SavedModel policy in the eager reference loop."""
    outcomes = run_episodes(reference_policy(source), env, range(seed, seed + episodes))
    return [(o.return_, o.length, o.terminated) for o in outcomes]


@pytest.mark.parametrize("num_envs", [1, 3])
@pytest.mark.parametrize(
    "name, env_id", [("cartpole_sm", "CartPole-v1"), ("learner", "CartPole-v1")]
)
def test_returns_equal_reference_loop(artifacts, tmp_path, name, env_id, num_envs):
    episodes, seed = 7, 11
    report = api.evaluate(
        api.EvalSettings(
            str(artifacts / name),
            env_id,
            episodes=episodes,
            seed=seed,
            num_envs=num_envs,
            out=str(tmp_path / "out"),
        )
    )
    expected = reference_returns(
        resolve_policy_source(artifacts / name), gym.make(env_id), episodes, seed
    )
    got = [(e["return"], e["length"], e["terminated"]) for e in report.episodes]
    assert got == expected
    assert [e["seed"] for e in report.episodes] == list(range(seed, seed + episodes))


def test_continuous_returns_match_reference_loop(artifacts, tmp_path):
    report = api.evaluate(
        api.EvalSettings(
            str(artifacts / "pendulum_sm"),
            "Pendulum-v1",
            episodes=3,
            seed=5,
            num_envs=2,
            out=str(tmp_path / "out"),
        )
    )
    expected = reference_returns(
        resolve_policy_source(artifacts / "pendulum_sm"), gym.make("Pendulum-v1"), 3, 5
    )
    assert [e["length"] for e in report.episodes] == [200, 200, 200]
    np.testing.assert_allclose(
        [e["return"] for e in report.episodes], [r[0] for r in expected], rtol=1e-5
    )
    assert all(e["truncated"] and not e["terminated"] for e in report.episodes)


def test_mean_return_equals_tf_agents_metric_utils(artifacts, tmp_path):
    """TF-Agents' own evaluation (metric_utils.compute + PyDriver) on our GymnasiumEnvironment."""
    episodes, seed = 6, 3
    source = resolve_policy_source(artifacts / "cartpole_sm")
    environment = GymnasiumEnvironment(gym.make("CartPole-v1"), seeds=itertools.count(seed))
    metrics = [py_metrics.AverageReturnMetric(), py_metrics.AverageEpisodeLengthMetric()]
    results = metric_utils.compute(metrics, environment, reference_policy(source), episodes)
    report = api.evaluate(
        api.EvalSettings(
            str(artifacts / "cartpole_sm"),
            "CartPole-v1",
            episodes=episodes,
            seed=seed,
            out=str(tmp_path / "out"),
        )
    )
    assert report.summary["mean_return"] == pytest.approx(float(results["AverageReturn"]))
    assert report.summary["mean_length"] == pytest.approx(float(results["AverageEpisodeLength"]))


@pytest.mark.fast
def test_exact_returns_on_the_countdown_env(artifacts, tmp_path):
    """A policy with Q = observation scores exactly the episode length, 3 + seed % 5."""
    report = api.evaluate(
        api.EvalSettings(
            str(artifacts / "countdown_sm"),
            countdown_env.ENV_ID,
            episodes=9,
            seed=2,
            num_envs=4,
            out=str(tmp_path / "out"),
        )
    )
    lengths = [countdown_env.episode_length(2 + i) for i in range(9)]
    assert [e["return"] for e in report.episodes] == [float(n) for n in lengths]
    assert [e["length"] for e in report.episodes] == lengths
    assert all(e["terminated"] and not e["truncated"] for e in report.episodes)
    assert report.summary["mean_return"] == pytest.approx(np.mean(lengths))
    assert report.summary["median_return"] == float(np.median(lengths))


def test_max_episode_steps_truncates(artifacts, tmp_path):
    report = api.evaluate(
        api.EvalSettings(
            str(artifacts / "countdown_sm"),
            countdown_env.ENV_ID,
            episodes=5,
            seed=0,
            max_episode_steps=4,
            out=str(tmp_path / "out"),
        )
    )
    # Lengths would be 3, 4, 5, 6, 7: the cap truncates the last three at 4 steps.
    assert [(e["return"], e["terminated"], e["truncated"]) for e in report.episodes] == [
        (3.0, True, False),
        (4.0, True, False),
        (4.0, False, True),
        (4.0, False, True),
        (4.0, False, True),
    ]


@pytest.mark.parametrize("num_envs", [1, 2, 5, 8])
def test_results_do_not_depend_on_num_envs(artifacts, tmp_path, num_envs):
    report = api.evaluate(
        api.EvalSettings(
            str(artifacts / "cartpole_sm"),
            "CartPole-v1",
            episodes=11,
            seed=100,
            num_envs=num_envs,
            out=str(tmp_path / "out"),
        )
    )
    baseline = api.evaluate(
        api.EvalSettings(
            str(artifacts / "cartpole_sm"),
            "CartPole-v1",
            episodes=11,
            seed=100,
            num_envs=1,
            out=str(tmp_path / "baseline"),
        )
    )
    assert report.episodes == baseline.episodes
    assert report.settings["num_envs"] == num_envs
