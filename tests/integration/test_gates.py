"""--gate, success rates and --junit: the grammar, exit codes, every failing gate named, the
report's `gates` list, and JUnit XML read back. Real policies on the countdown env (exact returns:
episode i lasts 3 + (S+i) % 5 steps and the policy scores every step)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from click.testing import CliRunner

from pytfpol import gates
from pytfpol.cli import main
from pytfpol.errors import EXIT_USAGE, UsageError
from pytfpol.running import vector
from tests.helpers import countdown_env


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def eval_args(artifacts, tmp_path, env=countdown_env.ENV_ID, episodes=10) -> list[str]:
    return ["eval", str(artifacts / "countdown_sm"), "--env", env, "--episodes", str(episodes),
            "--out", str(tmp_path / "run"), "--json", "-q"]  # fmt: skip


# --------------------------------------------------------------------------------- the grammar


@pytest.mark.parametrize(
    "text, expected",
    [
        ("iqm_return>=450", ("iqm_return", ">=", 450.0)),
        ("  mean_length <= 200 ", ("mean_length", "<=", 200.0)),
        ("success_rate>0.9", ("success_rate", ">", 0.9)),
        ("mean_return_ci_low<-1.5e2", ("mean_return_ci_low", "<", -150.0)),
        ("p5_return>=.5", ("p5_return", ">=", 0.5)),
    ],
)
def test_gate_grammar_accepts(text, expected):
    gate = gates.parse(text)
    assert (gate.statistic, gate.op, gate.threshold) == expected


@pytest.mark.parametrize(
    "text",
    [
        "iqm_return=>450",
        "iqm_return==450",
        "iqm_return>=",
        ">=450",
        "iqm_return>=450 and 1",
        "__import__('os').system('true')>=0",
        "iqm_return>=nan",
        "iqm_return>=1e999",
    ],
)
def test_gate_grammar_refuses_anything_else(text):
    with pytest.raises(UsageError) as error:
        gates.parse(text)
    assert error.value.exit_code == EXIT_USAGE


def test_unknown_statistic_is_exit_2_listing_the_names(artifacts, tmp_path):
    result = invoke(*eval_args(artifacts, tmp_path), "--gate", "iqr_return>=4")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --gate 'iqr_return>=4': unknown statistic 'iqr_return'")
    hint = result.stderr.splitlines()[1]
    for name in ("iqm_return", "mean_return_ci_low", "success_rate", "mean_length", "p95_return"):
        assert name in hint
    assert not (tmp_path / "run").exists(), "refused before anything ran"


# ---------------------------------------------------------------------------------- eval gates


@pytest.mark.fast
def test_every_failing_gate_is_listed_and_exit_1(artifacts, tmp_path):
    """Seeds 0..9: returns 3,4,5,6,7,3,4,5,6,7: mean 5, IQM 5 (middle six), max 7."""
    result = invoke(
        *eval_args(artifacts, tmp_path),
        "--gate", "iqm_return>=5",
        "--gate", "mean_length<=4",
        "--gate", "max_return<7",
        "--min-return", "4.5",
    )  # fmt: skip
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["summary"]["iqm_return"] == 5.0
    assert [(g["gate"], g["option"], g["value"], g["passed"]) for g in report["gates"]] == [
        ("mean_return>=4.5", "--min-return", 5.0, True),
        ("iqm_return>=5", "--gate", 5.0, True),
        ("mean_length<=4", "--gate", 5.0, False),
        ("max_return<7", "--gate", 7.0, False),
    ]
    assert report["passed"] is False
    assert result.stderr.splitlines()[0] == (
        "error: 2 of 4 gates failed: mean_length<=4: mean_length is 5; "
        "max_return<7: max_return is 7"
    )
    on_disk = json.loads((tmp_path / "run" / "stats.json").read_text())
    assert on_disk["gates"] == report["gates"]


@pytest.mark.parametrize(
    "gate, passed", [(">=3", True), ("<=3", True), (">3", False), ("<3", False)]
)
def test_a_gate_at_exact_equality(artifacts, tmp_path, gate, passed):
    """Seed 0, one episode: a return of exactly 3. `>=` and `<=` pass at equality, `>` and `<`
    fail: through the CLI's exit code and the library alike."""
    result = invoke(*eval_args(artifacts, tmp_path, episodes=1), "--gate", f"mean_return{gate}")
    assert result.exit_code == (0 if passed else 1), result.stderr
    (recorded,) = json.loads(result.stdout)["gates"]
    assert (recorded["value"], recorded["passed"]) == (3.0, passed)
    (judged,) = gates.evaluate([gates.parse(f"iqm_return{gate}")], {"iqm_return": 3.0})
    assert judged["passed"] is passed


def test_gates_on_interval_ends(artifacts, tmp_path):
    result = invoke(
        *eval_args(artifacts, tmp_path), "--gate", "mean_return_ci_low>=4", "--gate",
        "mean_return_ci_high<=6",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    low, high = report["summary"]["mean_return_ci_low"], report["summary"]["mean_return_ci_high"]
    assert 4 <= low < 5 < high <= 6
    statistics = report["statistics"]
    assert statistics["bootstrap_unit"] == "episodes of one policy"
    assert (statistics["confidence_level"], statistics["interval_method"]) == (0.95, "BCa")
    assert statistics["resamples"] == 10_000 and statistics["bootstrap_seed"] == 0


def test_a_gate_without_a_value_fails_saying_why(artifacts, tmp_path):
    result = invoke(*eval_args(artifacts, tmp_path, episodes=3), "--gate", "iqm_return_ci_low>=1")
    assert result.exit_code == 1
    gate = json.loads(result.stdout)["gates"][0]
    assert gate["value"] is None and gate["passed"] is False
    assert "at least 5 episodes" in gate["reason"]
    assert "iqm_return_ci_low has no value" in result.stderr.splitlines()[0]


# ------------------------------------------------------------------------------- success rate


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_success_rate_from_the_envs_final_is_success(artifacts, tmp_path, mode):
    """The env says is_success=False on every step but the last; there True for long episodes
    (length >= 5: seeds with seed % 5 in 2, 3, 4): 6 of seeds 0..9."""
    args = eval_args(artifacts, tmp_path, env=countdown_env.SUCCESS_ENV_ID)
    result = invoke(*args, "--vector", mode, "--num-envs", "3", "--gate", "success_rate>=0.9")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    expected = [countdown_env.long_episode(s) for s in range(10)]
    assert [e["success"] for e in report["episodes"]] == expected
    summary = report["summary"]
    assert (summary["successes"], summary["success_rate"]) == (6, 0.6)
    # Wilson 95 % for 6 of 10, by the formula: (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)
    z, n, p = 1.959963984540054, 10, 0.6
    centre, half = p + z * z / (2 * n), z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert summary["success_rate_ci_low"] == pytest.approx((centre - half) / (1 + z * z / n))
    assert summary["success_rate_ci_high"] == pytest.approx((centre + half) / (1 + z * z / n))
    assert report["statistics"]["success"] == {"source": "env", "threshold": None}
    assert "success_rate>=0.9: success_rate is 0.6" in result.stderr


def test_success_threshold_defines_success_by_return(artifacts, tmp_path):
    result = invoke(*eval_args(artifacts, tmp_path), "--success-threshold", "6")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert [e["success"] for e in report["episodes"]] == [
        e["return"] >= 6 for e in report["episodes"]
    ]
    assert report["summary"]["success_rate"] == 0.4
    assert report["statistics"]["success"] == {"source": "threshold", "threshold": 6.0}
    rows = (tmp_path / "run" / "episodes.csv").read_text().splitlines()
    assert rows[0].endswith(",success") and rows[4].endswith(",true")  # seed 3: return 6


def test_success_rate_gate_fails_when_the_env_does_not_report_success(artifacts, tmp_path):
    result = invoke(*eval_args(artifacts, tmp_path), "--gate", "success_rate>=0.5")
    assert result.exit_code == 1
    assert "--success-threshold" in json.loads(result.stdout)["gates"][0]["reason"]


def test_native_vector_env_success_uses_the_is_success_mask():
    """A vector env reports is_success for finished sub-envs only (`_is_success` marks them)."""
    info = {
        "is_success": np.array([True, False, True, False]),
        "_is_success": np.array([1, 1, 0, 1], bool),
    }
    slots = np.array([0, 1, 2])
    done = np.array([True, True, True])
    assert vector._vector_success(info, slots, done).tolist() == [1, 0, -1]
    assert vector._vector_success({}, slots, done).tolist() == [-1, -1, -1]


# -------------------------------------------------------------------------------------- junit


@pytest.mark.fast
def test_junit_lists_each_gate_as_a_test_case(artifacts, tmp_path):
    junit = tmp_path / "ci" / "gates.xml"
    junit.parent.mkdir()
    result = invoke(
        *eval_args(artifacts, tmp_path), "--gate", "iqm_return>=5", "--gate", "max_return<7",
        "--junit", str(junit),
    )  # fmt: skip
    assert result.exit_code == 1
    root = ET.parse(junit).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("2", "1", "0")
    (suite,) = root.findall("testsuite")
    cases = {case.get("name"): case for case in suite.findall("testcase")}
    assert list(cases) == ["iqm_return>=5", "max_return<7"]
    assert cases["iqm_return>=5"].find("failure") is None
    failure = cases["max_return<7"].find("failure")
    assert failure.get("message") == "max_return<7 failed: max_return is 7"
    assert str(tmp_path / "run" / "stats.json") in failure.text
    assert sorted(p.name for p in junit.parent.iterdir()) == ["gates.xml"]  # no temporaries


def test_junit_without_gates_has_one_passing_case(artifacts, tmp_path):
    junit = tmp_path / "gates.xml"
    assert invoke(*eval_args(artifacts, tmp_path), "--junit", str(junit)).exit_code == 0
    (case,) = ET.parse(junit).getroot().iter("testcase")
    assert case.get("name") == "complete" and case.find("failure") is None
