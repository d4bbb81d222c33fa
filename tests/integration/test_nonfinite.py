"""Issue 23.10: a non-finite reward is never averaged away.

A NaN or ±inf reward from the env, in any row of any stepper (one env, `--num-envs 8` in sync,
async or pipelined groups, a native vector env), stops the run with exit 4 naming the episode,
its seed and the step, like a NaN observation; no gate passes on such a run. Behind it, the
statistics never trim a non-finite return away: one leaves every return statistic null, and a
gate on a null or non-finite value fails.
"""

from __future__ import annotations

import json
import math

import gymnasium as gym
import numpy as np
import pytest
from click.testing import CliRunner
from gymnasium.envs.classic_control.cartpole import CartPoleEnv, CartPoleVectorEnv

from pytfpol import gates, stats
from pytfpol.cli import main
from tests.helpers import countdown_env

SEED, BAD_EPISODE, BAD_STEP = 10, 5, 2  # FaultyCountdown fails at step 2 of seed fail_seed


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def faulty_eval(artifacts, tmp_path, fault: str, *more: str):
    return invoke(
        "eval", str(artifacts / "countdown_sm"), "--env", countdown_env.FAULTY_ENV_ID,
        "--env-kwargs", f"fault={fault}", "--env-kwargs", f"fail_seed={SEED + BAD_EPISODE}",
        "--episodes", "8", "--seed", str(SEED), "--gate", "iqm_return>=0",
        "--min-return", "0", "--out", str(tmp_path / "run"), "--json", "-q", *more,
    )  # fmt: skip


def assert_stopped_at_the_bad_reward(result, tmp_path, shown: str) -> None:
    assert result.exit_code == 4, result.stderr  # not 0 (passed) nor 1 (a gate judged it)
    assert result.stderr.splitlines()[0] == (
        f"error: episode {BAD_EPISODE} (seed {SEED + BAD_EPISODE}): the environment returned a "
        f"non-finite reward ({shown}) at step {BAD_STEP}"
    )
    report = json.loads((tmp_path / "run" / "stats.json").read_text())
    assert report["complete"] is False and report["passed"] is False
    assert not any(g["passed"] for g in report["gates"])
    assert BAD_EPISODE not in [e["index"] for e in report["episodes"]]
    assert all(math.isfinite(e["return"]) for e in report["episodes"])


@pytest.mark.fast
@pytest.mark.parametrize(
    "fault, shown", [("nan_reward", "nan"), ("inf_reward", "inf"), ("-inf_reward", "-inf")]
)
@pytest.mark.parametrize("num_envs", ["1", "8"])
def test_a_non_finite_reward_in_any_row_is_exit_4(artifacts, tmp_path, fault, shown, num_envs):
    """One env, and eight side by side (the bad episode runs in row 5, not row 0)."""
    result = faulty_eval(artifacts, tmp_path, fault, "--num-envs", num_envs)
    assert_stopped_at_the_bad_reward(result, tmp_path, shown)


@pytest.mark.parametrize(
    "more",
    [("--vector", "async"), ("--vector", "sync", "--pipeline-groups", "2")],
    ids=["async", "pipelined-groups"],
)
def test_a_non_finite_reward_is_exit_4_in_async_and_pipelined_runs(artifacts, tmp_path, more):
    result = faulty_eval(artifacts, tmp_path, "nan_reward", "--num-envs", "8", *more)
    assert_stopped_at_the_bad_reward(result, tmp_path, "nan")


class _BadRewardVector(gym.vector.VectorWrapper):
    """CartPole's own vector env whose slot 5 returns a NaN reward at step 2 of its first
    episode (with 8 slots, episode 5)."""

    def __init__(self, env) -> None:
        super().__init__(env)
        self._fired = False

    def step(self, actions):
        observation, reward, terminated, truncated, info = self.env.step(actions)
        if not self._fired and self.env.unwrapped.steps[BAD_EPISODE] == BAD_STEP:
            self._fired = True
            reward = np.array(reward, dtype=np.float64)
            reward[BAD_EPISODE] = np.nan
        return observation, reward, terminated, truncated, info


BAD_REWARD_CARTPOLE = "pytfpol_test/BadRewardCartPole-v0"
if BAD_REWARD_CARTPOLE not in gym.registry:
    gym.register(
        BAD_REWARD_CARTPOLE,
        entry_point=CartPoleEnv,
        max_episode_steps=500,
        vector_entry_point=lambda num_envs, **kwargs: _BadRewardVector(
            CartPoleVectorEnv(num_envs=num_envs, **kwargs)
        ),
    )


def test_a_non_finite_reward_of_a_native_vector_env_is_exit_4(artifacts, tmp_path):
    result = invoke(
        "eval", str(artifacts / "cartpole_sm"), "--env", BAD_REWARD_CARTPOLE,
        "--vector", "native", "--num-envs", "8", "--episodes", "8", "--gate", "iqm_return>=0",
        "--out", str(tmp_path / "run"), "--json", "-q",
    )  # fmt: skip
    assert result.exit_code == 4, result.stderr
    # (its env, registered with a lambda, cannot be recorded as an EnvSpec: a warning first)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: episode {BAD_EPISODE} (seed {BAD_EPISODE}): the environment returned a "
        f"non-finite reward (nan) at step {BAD_STEP}"
    ]


def test_finite_rewards_that_overflow_the_return_are_exit_4(artifacts, tmp_path):
    """Rewards of 1e308, each finite: their sum is inf by step 2 of episode 0 (3 steps). (The
    policy's float32 time step cannot hold them: numpy warns of the cast, first.)"""
    result = invoke(
        "eval", str(artifacts / "countdown_sm"), "--env", countdown_env.ENV_ID,
        "--env-kwargs", "reward_scale=1e308", "--episodes", "2", "--num-envs", "1",
        "--gate", "iqm_return>=0", "--out", str(tmp_path / "run"), "--json", "-q",
    )  # fmt: skip
    assert result.exit_code == 4, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: episode 0 (seed 0): its return overflowed to inf by its end at step 3 "
        "(every reward was finite)"
    ]


# ------------------------------------------------------------------- the statistics behind it


RETURN_STATISTICS = [k for k in stats.SUMMARY_KEYS if "_return" in k]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_non_finite_return_leaves_every_return_statistic_null(bad):
    """Seven returns of 500 and one bad one: sorted and trimmed, the IQM would be 500 (what
    the unguarded code reported); every return statistic is null instead."""
    returns = [500.0] * 7 + [bad]
    summary = stats.summarize(returns, [500] * 8)
    assert {k: summary[k] for k in RETURN_STATISTICS} == dict.fromkeys(RETURN_STATISTICS)
    assert summary["episodes"] == 8 and summary["mean_length"] == 500.0
    results = gates.evaluate(gates.gates_for(["iqm_return>=0", "median_return>=0"]), summary)
    assert [r["passed"] for r in results] == [False, False]
    assert "return is not finite" in results[0]["reason"]


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_a_gate_on_a_non_finite_value_fails(value):
    """A summary handed to `gates.evaluate` by a library user: inf >= 450 would pass."""
    for text in ("iqm_return>=450", "iqm_return<=450"):
        (result,) = gates.evaluate([gates.parse(text)], {"iqm_return": value})
        assert result["passed"] is False
