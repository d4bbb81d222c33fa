"""`pytfpol compare`, `eval --plot` and the CI workflow, on one real TF-Agents training run:
examples/cartpole-dqn-run, written by examples/train_cartpole_dqn.py --run-dir with TF-Agents'
own PolicySavedModelTrigger (checkpoints from train step 0 to solved at 15360)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from PIL import Image

from pytfpol.cli import main
from tests.helpers.repo import REPO

RUN = REPO / "examples" / "cartpole-dqn-run" / "policies"
EARLY = RUN / "checkpoints" / "policy_checkpoint_0000004096"  # about 180 on CartPole
FINAL = RUN / "checkpoints" / "policy_checkpoint_0000015360"  # 500 on every seed
WORKFLOW = REPO / "examples" / "ci" / "github-actions.yml"


def invoke(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def evaluate(out: Path, checkpoint: Path, seed: int = 0, episodes: int = 20, *extra: str) -> Path:
    result = invoke("eval", RUN, "--env", "CartPole-v1", "--episodes", episodes, "--seed", seed,
                    "--checkpoint", checkpoint, "--out", out, "-q", *extra)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """Two checkpoints of the run, evaluated on the same 20 seeds (the final one with --plot)."""
    root = tmp_path_factory.mktemp("compare")
    return {
        "early": evaluate(root / "early", EARLY),
        "final": evaluate(root / "final", FINAL, 0, 20, "--plot"),
        "root": root,
    }


def compare_json(*args) -> tuple[int, dict, str]:
    result = invoke("compare", *args, "--json")
    return result.exit_code, json.loads(result.stdout) if result.stdout else {}, result.stderr


def test_the_earlier_weaker_checkpoint_is_worse(runs):
    code, result, stderr = compare_json(runs["final"], runs["early"])
    assert code == 1
    assert result["verdict"] == "worse" and result["passed"] is False
    assert result["paired"] is True
    assert result["pairing"] == "paired: same env and seeds 0..19"
    assert result["candidate"]["train_step"] == 4096 and result["baseline"]["train_step"] == 15360
    d = result["difference"]
    assert d["baseline"] == 500.0
    assert d["difference"] == pytest.approx(d["candidate"] - 500.0)
    assert d["ci_low"] <= d["difference"] <= d["ci_high"] < 0
    assert d["p_value"] < 0.05 and d["probability_of_improvement"] == 0.0
    assert d["bootstrap_unit"] == "episodes of one policy (paired by seed)"
    assert stderr.splitlines()[0].startswith("error: the candidate is worse: iqm_return")


def test_a_policy_compared_with_itself_is_not_worse(runs):
    code, result, _ = compare_json(runs["early"], runs["early"])
    assert code == 0
    assert result["verdict"] == "no significant difference"
    d = result["difference"]
    assert (d["difference"], d["ci_low"], d["ci_high"]) == (0.0, 0.0, 0.0)
    assert d["p_value"] == 1.0 and d["probability_of_improvement"] == 0.5


def test_the_later_checkpoint_is_better(runs):
    code, result, _ = compare_json(runs["early"], runs["final"] / "stats.json", "--statistic",
                                   "mean_return")  # fmt: skip
    assert code == 0
    assert result["verdict"] == "better" and result["statistic"] == "mean_return"


def test_a_margin_larger_than_the_loss_passes(runs):
    code, result, _ = compare_json(runs["final"], runs["early"], "--margin", "400")
    assert code == 0
    assert result["verdict"] == "worse within margin"
    assert result["rule"].startswith("worse (exit 1) when the upper end of the 95% interval")


def test_different_seeds_are_compared_unpaired_with_a_warning(runs):
    other = evaluate(runs["root"] / "early-seed-100", EARLY, 100, 15)
    code, result, stderr = compare_json(runs["final"], other)
    assert code == 1 and result["verdict"] == "worse"
    assert result["paired"] is False
    assert result["pairing"] == "unpaired: different seeds (baseline 0..19, candidate 100..114)"
    assert "Mann-Whitney" in result["difference"]["test"]
    assert result["difference"]["welch_p_value"] < 0.05
    assert "warning: episodes differ: baseline 20, candidate 15" in stderr
    assert "warning: seed differ: baseline 0, candidate 100" in stderr


def test_different_env_ids_are_exit_2(runs, tmp_path):
    report = json.loads((runs["early"] / "stats.json").read_text())
    report["env"]["id"] = "CartPole-v0"
    other = tmp_path / "stats.json"
    other.write_text(json.dumps(report))
    result = invoke("compare", runs["final"], other)
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "error: different environments: baseline ran CartPole-v1, candidate ran CartPole-v0"
    )


def test_too_few_episodes_and_missing_reports(runs, tmp_path):
    few = evaluate(tmp_path / "few", EARLY, 0, 3)
    result = invoke("compare", runs["final"], few)
    assert result.exit_code == 2 and "3 episodes; compare needs at least 5" in result.stderr
    result = invoke("compare", runs["final"], tmp_path / "nothing-here")
    assert result.exit_code == 3 and result.stderr.startswith("error: ")


def test_compare_plot_and_junit(runs, tmp_path):
    picture, junit = tmp_path / "compare.png", tmp_path / "compare.xml"
    result = invoke("compare", runs["final"], runs["early"], "--plot", picture, "--junit", junit)
    assert result.exit_code == 1
    assert "verdict                  WORSE" in result.stdout
    with Image.open(picture) as image:
        assert image.format == "PNG" and image.size[0] > 800
    root = ET.parse(junit).getroot()
    assert (root.get("tests"), root.get("failures")) == ("1", "1")
    (case,) = root.iter("testcase")
    assert case.get("name") == "iqm_return not worse than the baseline"
    assert "verdict worse" in case.find("failure").get("message")


def test_evaluation_options_need_env(runs):
    result = invoke("compare", runs["final"], runs["early"], "--candidate-checkpoint", EARLY)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --candidate-checkpoint: only with --env")


def test_compare_is_a_library_function_whose_document_the_cli_prints(runs):
    """`commands.compare.compare` returns a Comparison: the document `compare --json` prints,
    the returns compared; `check_verdict` is what turns "worse" into exit 1."""
    from pytfpol.commands.compare import CompareSettings, check_verdict, compare
    from pytfpol.errors import GateFailed

    worse = compare(CompareSettings(str(runs["final"]), str(runs["early"])))
    code, printed, stderr = compare_json(runs["final"], runs["early"])
    assert worse.document == printed and not worse.passed and code == 1
    assert worse.baseline_returns.tolist() == [500.0] * 20
    assert worse.candidate_returns.size == 20 and worse.candidate_returns.max() < 500
    with pytest.raises(GateFailed) as failure:
        check_verdict(worse.document)
    assert stderr.splitlines()[0] == f"error: {failure.value.message}"
    same = compare(CompareSettings(str(runs["early"]), str(runs["early"]), statistic="mean_return"))
    assert same.passed and same.document["statistic"] == "mean_return"
    assert check_verdict(same.document) is None


def test_the_training_run_is_small_and_goes_from_untrained_to_solved():
    size = sum(p.stat().st_size for p in RUN.parent.rglob("*") if p.is_file())
    assert size < 500_000, f"examples/cartpole-dqn-run is {size} bytes: keep it small"
    steps = sorted(int(p.name.rsplit("_", 1)[1]) for p in (RUN / "checkpoints").iterdir())
    assert steps[0] == 0 and steps[-1] == 15360 and len(steps) >= 6


def test_compare_evaluates_two_policies_on_the_same_seeds(tmp_path):
    out = tmp_path / "both"
    result = invoke("compare", RUN, RUN, "--env", "CartPole-v1", "--episodes", "10",
                    "--baseline-checkpoint", FINAL, "--candidate-checkpoint", EARLY,
                    "--out", out, "--json", "-q")  # fmt: skip
    assert result.exit_code == 1, result.stderr
    compared = json.loads(result.stdout)
    assert compared["paired"] is True and compared["verdict"] == "worse"
    for side in ("baseline", "candidate"):
        report = json.loads((out / side / "stats.json").read_text())
        assert [e["seed"] for e in report["episodes"]] == list(range(10))
        assert compared[side]["report"] == str(out / side / "stats.json")


# ------------------------------------------------------------------------------- eval --plot


def test_eval_plot_is_part_of_the_output_set(runs):
    out = runs["final"]
    assert sorted(p.name for p in out.iterdir()) == [
        ".pytfpol-outputs.json", "checkpoint", "episodes.csv", "returns.png", "stats.json",
        "tensorboard",
    ]  # fmt: skip
    report = json.loads((out / "stats.json").read_text())
    assert report["output"]["plot"] == str(out / "returns.png")
    with Image.open(out / "returns.png") as image:
        assert image.format == "PNG" and image.size[0] > 800
    again = runs["root"] / "replot"
    shutil.copytree(out, again)
    evaluate(again, FINAL, 0, 5)  # no --plot: the new set has no picture, the old one goes
    assert not (again / "returns.png").exists()


# ------------------------------------------------------------------------- the CI workflow


def workflow_commands() -> list[list[str]]:
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["evaluate"]["steps"]
    commands = []
    for step in steps:
        for line in step.get("run", "").splitlines():
            words = shlex.split(line)
            if words and words[0] == ".venv/bin/pytfpol":
                commands.append(words[1:])
    return commands


def test_workflow_caches_the_venv_installs_and_uploads():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = workflow["jobs"]["evaluate"]["steps"]
    cache = next(s for s in steps if s.get("uses", "").startswith("actions/cache@"))
    assert "hashFiles('requirements.lock'" in cache["with"]["key"]
    assert cache["with"]["path"] == ".venv"
    assert any("make .venv/.pytfpol-installed" in s.get("run", "") for s in steps)
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
    for pattern in ("runs/*/stats.json", "runs/*/returns.png", "runs/compare.png", "runs/*.xml"):
        assert pattern in upload["with"]["path"]
    assert [c[0] for c in workflow_commands()] == ["eval", "eval", "compare"]


def test_workflow_commands_run_as_written(tmp_path):
    """Every pytfpol command of the workflow, run in order in a checkout-like directory: they
    succeed and leave every file the upload step collects."""
    (tmp_path / "examples").symlink_to(REPO / "examples")
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(REPO)}
    for words in workflow_commands():
        for word in words:
            if word.startswith("-"):  # every option exists (Click refuses unknown ones)
                assert re.fullmatch(r"--?[a-z][a-z-]*", word), word
        done = subprocess.run([sys.executable, "-m", "pytfpol", *words], cwd=tmp_path,
                              capture_output=True, text=True, timeout=600, env=env)  # fmt: skip
        assert done.returncode == 0, (words, done.stderr)
    runs = tmp_path / "runs"
    for name in ("candidate/stats.json", "candidate/returns.png", "baseline/returns.png",
                 "compare.png", "eval-gates.xml", "compare.xml"):  # fmt: skip
        assert (runs / name).is_file(), name
    for xml in ("eval-gates.xml", "compare.xml"):
        assert ET.parse(runs / xml).getroot().get("failures") == "0"
