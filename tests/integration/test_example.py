"""The shipped example policy is really trained: what `make demo` shows, as a test."""

from __future__ import annotations

from pytfpol import api
from tests.helpers.repo import EXAMPLE_POLICY


def test_example_policy_scores_at_least_475_over_20_episodes(tmp_path):
    report = api.evaluate(
        api.EvalSettings(
            str(EXAMPLE_POLICY),
            "CartPole-v1",
            episodes=20,
            seed=0,
            out=str(tmp_path / "demo"),
            min_return=475,
        )
    )
    api.check_gates(report)
    assert report.summary["mean_return"] >= 475
    assert report.policy["format"] == "saved_model"
    assert report.policy["train_step"] > 0


def test_example_artifact_is_small():
    size = sum(p.stat().st_size for p in EXAMPLE_POLICY.rglob("*") if p.is_file())
    assert size < 500_000, f"examples/cartpole-dqn is {size} bytes: keep shipped artifacts small"
