"""The `pytfpol` command: exact output, exit codes, one-line errors, no side effects on inputs."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pytfpol.cli import main
from pytfpol.results.output_manifest import SET_MANIFEST
from tests.helpers import countdown_env
from tests.helpers.repo import REPO, run_cli

REPORT_KEYS = {
    "schema_version",
    "complete",
    "error",
    "created",
    "summary",
    "episodes",
    "policy",
    "env",
    "settings",
    "backend",
    "statistics",
    "gates",
    "passed",
    "warnings",
    "timing",
    "versions",
    "output",
}
SUMMARY_KEYS = {
    "episodes",
    "mean_return",
    "std_return",
    "sem_return",
    "min_return",
    "p5_return",
    "p25_return",
    "median_return",
    "p75_return",
    "p95_return",
    "max_return",
    "iqm_return",
    "mean_return_ci_low",
    "mean_return_ci_high",
    "iqm_return_ci_low",
    "iqm_return_ci_high",
    "mean_length",
    "total_steps",
    "successes",
    "success_rate",
    "success_rate_ci_low",
    "success_rate_ci_high",
}


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def snapshot(root: Path) -> dict:
    return {str(p): p.stat().st_mtime_ns for p in sorted(root.rglob("*"))}


def assert_one_line_error(result, exit_code: int, *fragments: str) -> None:
    """The error contract: exit code, `error:` line naming the problem, a `hint:`, no traceback."""
    assert result.exit_code == exit_code, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: "), result.stderr
    assert any(line.startswith("hint: ") for line in lines[1:]), result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert result.stdout == ""


@pytest.mark.fast
def test_help_lists_exit_codes_and_does_not_import_tensorflow():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from pytfpol.cli import main\n"
        "for args in (['--help'], ['eval', '--help'], ['compare', '--help']):\n"
        "    result = CliRunner().invoke(main, args)\n"
        "    assert result.exit_code == 0, result.output\n"
        "    assert 'Exit codes' in result.output and '130' in result.output\n"
        "heavy = ('tensorflow', 'tf_agents', 'gymnasium', 'rich', 'scipy', 'matplotlib')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_import_pytfpol_api_imports_no_tensorflow():
    """`import pytfpol.api` (every command's function) leaves TensorFlow to the first call
    that loads a policy."""
    code = (
        "import sys\n"
        "from pytfpol import api\n"
        "assert callable(api.evaluate) and callable(api.sweep) and callable(api.inspect)\n"
        "heavy = [m for m in ('tensorflow', 'tf_agents') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def _function_level_imports(path: Path) -> list[str]:
    """The pytfpol modules `path` imports inside a function (`from pytfpol.X import ...`)."""
    import ast

    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and (inner.module or "").startswith("pytfpol"):
                    found.append(f"{inner.module}: {', '.join(a.name for a in inner.names)}")
                elif isinstance(inner, ast.Import):
                    found += [a.name for a in inner.names if a.name.startswith("pytfpol")]
    return found


def test_commands_import_each_other_only_at_module_level_and_api_only_re_exports():
    """Imports go one way: a command imports another at module level (no function-level import
    hides a cycle), never `pytfpol.api`; `api.py` holds imports and `__all__` only."""
    import ast

    commands = sorted((REPO / "pytfpol" / "commands").rglob("*.py"))
    assert commands
    for path in commands:
        inside = _function_level_imports(path)
        between = [i for i in inside if i.startswith(("pytfpol.commands", "pytfpol.api"))]
        assert not between, (path, between)
        assert "pytfpol import api" not in path.read_text(), path
    api = ast.parse((REPO / "pytfpol" / "api.py").read_text())
    for node in api.body[1:]:  # after the docstring
        assert isinstance(node, (ast.ImportFrom, ast.Assign)), ast.dump(node)[:80]


def test_heavy_imports_run_without_gc_then_freeze_and_restore_it():
    """TensorFlow's import runs with the cyclic GC off (full collections walked its objects ~7
    times, ~1 s of a short eval), what it imported is frozen, and the GC is back on after the
    outermost block; once imported, later blocks (each eval's) freeze nothing."""
    code = (
        "import gc\n"
        "from pytfpol.policy.quiet_tf import heavy_imports, import_tf\n"
        "frozen = gc.get_freeze_count()\n"
        "with heavy_imports():\n"
        "    assert not gc.isenabled()\n"
        "    tf = import_tf()\n"
        "    import tf_agents\n"
        "    assert not gc.isenabled()\n"
        "assert gc.isenabled()\n"
        "frozen_after = gc.get_freeze_count()\n"
        "assert frozen_after > frozen + 100_000, frozen_after\n"
        "with heavy_imports():\n"  # all imported already: a later run's objects not frozen
        "    assert gc.isenabled()\n"
        "assert gc.get_freeze_count() == frozen_after\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_python_dash_m_and_version():
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip().startswith("pytfpol 0.1.0 (TensorFlow 2.15.1, TF-Agents 0.19.0, ")
    assert "Gymnasium 1." in result.stdout and "Python 3." in result.stdout


@pytest.mark.fast
def test_eval_json_is_the_report_and_matches_the_files(artifacts, tmp_path):
    out = tmp_path / "run"
    result = invoke(
        "eval",
        str(artifacts / "countdown_sm"),
        "--env",
        countdown_env.ENV_ID,
        "--episodes",
        "6",
        "--seed",
        "10",
        "--out",
        str(out),
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) == REPORT_KEYS
    assert report["schema_version"] == 2
    assert report["complete"] is True
    assert report["passed"] is True and report["gates"] == []
    assert set(report["summary"]) == SUMMARY_KEYS
    lengths = [countdown_env.episode_length(10 + i) for i in range(6)]
    assert report["summary"]["episodes"] == 6
    assert report["summary"]["mean_return"] == pytest.approx(sum(lengths) / 6)
    assert report["summary"]["min_return"] == float(min(lengths))
    assert report["summary"]["max_return"] == float(max(lengths))
    assert report["episodes"][0] == {
        "index": 0,
        "seed": 10,
        "return": float(lengths[0]),
        "length": lengths[0],
        "terminated": True,
        "truncated": False,
        "success": None,  # the countdown env reports no info["is_success"]
    }
    policy = artifacts / "countdown_sm"
    assert report["policy"] == {
        "path": str(policy),
        "resolved_path": str(policy),
        "input_kind": "saved_model",
        "format": "saved_model",
        "saved_model": str(policy),
        "policy": None,
        "checkpoint": None,
        "train_step": 1,
        "metadata": {},
        "architecture": None,
        "config": None,
        "inferred": False,
        "assumed": [],
        "stochastic": False,
        "unmatched": [],
        "lost": [],
        "side_data": [],
        "files": [  # every file of the SavedModel, with its sha256 (what replay re-checks)
            {"path": str(f), "sha256": hashlib.sha256(f.read_bytes()).hexdigest(),
             "bytes": f.stat().st_size}
            for f in sorted((f for f in policy.rglob("*") if f.is_file()), key=str)
        ],
    }  # fmt: skip
    assert report["settings"] == {
        "episodes": 6,
        "seed": 10,
        "num_envs": 6,
        "vector": "sync",
        "stochastic": False,
        "allow_partial": False,
    }
    assert set(report["timing"]) == {
        "load_seconds", "run_seconds", "steps_per_second", "wall_seconds",
    }  # fmt: skip
    timing = report["timing"]
    assert timing["wall_seconds"] >= timing["load_seconds"] + timing["run_seconds"]
    assert report["output"] == {
        "dir": str(out),
        "stats": str(out / "stats.json"),
        "episodes": str(out / "episodes.csv"),
        "checkpoint": str(out / "checkpoint" / "variables" / "variables"),
        "plot": None,
        "videos": [],
        "trajectories": None,
        "dataset": None,
        "tensorboard": str(out / "tensorboard"),
    }
    assert report["warnings"] == []
    env = dict(report["env"])
    spec = env.pop("spec")  # the whole env as Gymnasium records it (tests/test_environments.py)
    assert env == {
        "id": countdown_env.ENV_ID,
        "requested_id": countdown_env.ENV_ID,
        "kwargs": {},
        "max_episode_steps": None,
        "wrappers": [],
    }
    assert (spec["id"], spec["entry_point"]) == (
        countdown_env.ENV_ID,
        "tests.helpers.countdown_env:CountdownEnv",
    )
    assert set(report["versions"]) >= {"pytfpol", "tensorflow", "tf_agents", "gymnasium"}
    assert report["versions"]["tf_agents"] == "0.19.0"
    on_disk = json.loads((out / "stats.json").read_text())
    assert on_disk == report
    rows = list(csv.DictReader((out / "episodes.csv").open()))
    assert [int(r["length"]) for r in rows] == lengths
    assert rows[0] == {
        "index": "0",
        "seed": "10",
        "return": repr(float(lengths[0])),
        "length": str(lengths[0]),
        "terminated": "true",
        "truncated": "false",
        "success": "",
    }
    assert sorted(p.name for p in out.iterdir()) == [
        SET_MANIFEST,
        "checkpoint",
        "episodes.csv",
        "stats.json",
        "tensorboard",
    ]
    assert report["output"]["checkpoint"] == str(out / "checkpoint" / "variables" / "variables")


@pytest.mark.fast
def test_eval_table_on_stdout(artifacts, tmp_path):
    result = invoke(
        "eval", str(artifacts / "countdown_sm"), "--env", countdown_env.ENV_ID,
        "--episodes", "3", "--out", str(tmp_path / "run"),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "mean return" in result.stdout
    assert "3.00 / 5.00" in result.stdout  # lengths 3, 4, 5: min / max
    assert "(seeds 0..2)" in result.stdout
    assert result.stderr == ""  # no progress bar and no noise when stderr is not a terminal


def test_quiet_prints_nothing(artifacts, tmp_path):
    result = invoke(
        "eval", str(artifacts / "countdown_sm"), "--env", countdown_env.ENV_ID,
        "--episodes", "2", "--out", str(tmp_path / "run"), "-q",
    )  # fmt: skip
    assert result.exit_code == 0
    assert result.stdout == "" and result.stderr == ""
    assert (tmp_path / "run" / "stats.json").is_file()


def test_learner_root_reports_checkpoint_and_train_step(artifacts, tmp_path):
    root = artifacts / "learner"
    before = snapshot(root)
    result = invoke("eval", str(root), "--env", "CartPole-v1", "--episodes", "2",
                    "--out", str(tmp_path / "a"), "--json")  # fmt: skip
    report = json.loads(result.stdout)
    assert report["policy"]["format"] == "learner_policies"
    assert report["policy"]["policy"] == "greedy"
    assert report["policy"]["checkpoint"].endswith("policy_checkpoint_0000000009")
    assert report["policy"]["train_step"] == 9

    older = root / "policies" / "checkpoints" / "policy_checkpoint_0000000005"
    result = invoke("eval", str(root), "--env", "CartPole-v1", "--episodes", "2",
                    "--checkpoint", str(older), "--policy", "policy",
                    "--out", str(tmp_path / "b"))  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "policy_checkpoint_0000000005" in result.stdout
    assert "learner_policies (policy)" in result.stdout
    assert "sampled (seeded by --seed)" in result.stdout  # the `policy` SavedModel samples
    assert snapshot(root) == before, "reading an input must not change it"


@pytest.mark.fast
def test_min_return_gate(artifacts, tmp_path):
    args = ["eval", str(artifacts / "countdown_sm"), "--env", countdown_env.ENV_ID,
            "--episodes", "5", "--out", str(tmp_path / "run"), "--json"]  # fmt: skip
    passed = invoke(*args, "--min-return", "5")  # mean of 3..7 is 5
    assert passed.exit_code == 0
    assert json.loads(passed.stdout)["gates"][0]["passed"] is True
    assert json.loads(passed.stdout)["passed"] is True
    failed = invoke(*args, "--min-return", "5.01")
    assert failed.exit_code == 1
    report = json.loads(failed.stdout)
    assert report["gates"] == [
        {
            "gate": "mean_return>=5.01",
            "option": "--min-return",
            "statistic": "mean_return",
            "op": ">=",
            "threshold": 5.01,
            "value": 5.0,
            "passed": False,
            "reason": None,
        }
    ]
    assert report["passed"] is False
    assert failed.stderr.startswith(
        "error: 1 of 1 gate failed: mean_return>=5.01: mean_return is 5\n"
    )


def test_default_out_is_a_new_run_directory(artifacts, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        result = invoke("eval", str(artifacts / "countdown_sm"), "--env", countdown_env.ENV_ID,
                        "--episodes", "1", "-q")  # fmt: skip
        assert result.exit_code == 0
    runs = sorted((tmp_path / "pytfpol-runs").iterdir())
    assert len(runs) == 2
    assert all((r / "stats.json").is_file() for r in runs)


def test_env_kwargs_and_max_episode_steps_reach_gymnasium(artifacts, tmp_path):
    result = invoke("eval", str(artifacts / "countdown_sm"), "--env", countdown_env.ENV_ID,
                    "--episodes", "3", "--env-kwargs", "reward_scale=2.5",
                    "--max-episode-steps", "3", "--out", str(tmp_path / "r"), "--json")  # fmt: skip
    report = json.loads(result.stdout)
    assert [e["return"] for e in report["episodes"]] == [7.5, 7.5, 7.5]
    assert [e["truncated"] for e in report["episodes"]] == [False, True, True]
    assert report["env"]["kwargs"] == {"reward_scale": 2.5}
    assert report["env"]["max_episode_steps"] == 3


# ------------------------------------------------------------------ errors and exit codes


@pytest.mark.fast
def test_missing_policy_path(tmp_path):
    missing = tmp_path / "no-such-policy"
    result = invoke("eval", str(missing), "--env", "CartPole-v1", "--out", str(tmp_path / "o"))
    assert_one_line_error(result, 3, str(missing), "no such file or directory")
    assert not missing.exists()


def test_file_and_empty_directory_are_not_policies(tmp_path):
    afile = tmp_path / "policy.txt"
    afile.write_text("hello")
    assert_one_line_error(invoke("eval", str(afile), "--env", "CartPole-v1"), 3, str(afile))
    empty = tmp_path / "empty"
    empty.mkdir()
    result = invoke("eval", str(empty), "--env", "CartPole-v1", "--out", str(tmp_path / "o"))
    assert_one_line_error(result, 3, str(empty), "not a TF-Agents policy directory")
    assert list(empty.iterdir()) == []


def test_unknown_env_suggests_close_ids(artifacts, tmp_path):
    result = invoke("eval", str(artifacts / "cartpole_sm"), "--env", "Cartpole-v1",
                    "--out", str(tmp_path / "o"))  # fmt: skip
    assert_one_line_error(result, 3, "Cartpole-v1", "no such Gymnasium environment")
    assert "did you mean: CartPole-v1" in result.stderr


@pytest.mark.fast
def test_incompatible_env_shows_specs_side_by_side(artifacts, tmp_path):
    result = invoke("eval", str(artifacts / "cartpole_sm"), "--env", "Pendulum-v1",
                    "--out", str(tmp_path / "o"))  # fmt: skip
    assert_one_line_error(result, 3, "does not fit env Pendulum-v1", "observation")
    table = result.stderr.splitlines()[1:-1]
    assert table[0].split() == ["policy", "env"]
    assert table[1].startswith("observation") and "(4,)" in table[1] and "(3,)" in table[1]
    assert table[2].startswith("action")
    assert not (tmp_path / "o" / "stats.json").exists()


def test_missing_checkpoint_is_an_input_error_and_is_not_created(artifacts, tmp_path):
    missing = tmp_path / "policy_checkpoint_0000000077"
    result = invoke("eval", str(artifacts / "learner"), "--env", "CartPole-v1",
                    "--checkpoint", str(missing), "--out", str(tmp_path / "o"))  # fmt: skip
    assert_one_line_error(result, 3, str(missing))
    assert not missing.exists()


def test_empty_checkpoint_index_is_an_input_error(tmp_path):
    directory = tmp_path / "train_dir" / "policy"
    directory.mkdir(parents=True)
    (directory / "checkpoint").write_text('model_checkpoint_path: "ckpt-3"\n')
    (directory / "ckpt-3.index").write_bytes(b"")
    before = snapshot(tmp_path)
    result = invoke("eval", str(directory), "--env", "CartPole-v1", "--out", str(tmp_path / "o"))
    assert_one_line_error(result, 3, str(directory / "ckpt-3.index"))
    assert snapshot(tmp_path) == {
        **before,
        **{k: v for k, v in snapshot(tmp_path).items() if "/o" in k},
    }


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--episodes", "0"], "--episodes 0"),
        (["--seed", "-1"], "--seed -1"),
        (["--num-envs", "0"], "--num-envs 0"),
        (["--max-episode-steps", "0"], "--max-episode-steps 0"),
        (["--env-kwargs", "{bad json"], "--env-kwargs"),
        (["--env-kwargs", "novalue"], "--env-kwargs"),
    ],
)
def test_bad_option_values_are_usage_errors(artifacts, tmp_path, args, fragment):
    result = invoke("eval", str(artifacts / "countdown_sm"), "--env", countdown_env.ENV_ID,
                    "--out", str(tmp_path / "o"), *args)  # fmt: skip
    assert_one_line_error(result, 2, fragment)


def test_env_kwargs_the_env_does_not_take(artifacts, tmp_path):
    result = invoke("eval", str(artifacts / "countdown_sm"), "--env", countdown_env.ENV_ID,
                    "--env-kwargs", "gravity=3", "--out", str(tmp_path / "o"))  # fmt: skip
    assert_one_line_error(result, 2, "--env-kwargs", "gravity")


def test_output_that_is_a_file_or_inside_the_input(artifacts, tmp_path):
    afile = tmp_path / "taken"
    afile.write_text("x")
    result = invoke("eval", str(artifacts / "countdown_sm"), "--env", countdown_env.ENV_ID,
                    "--out", str(afile))  # fmt: skip
    assert_one_line_error(result, 5, str(afile))
    before = snapshot(artifacts / "countdown_sm")
    inside = artifacts / "countdown_sm" / "eval"
    result = invoke("eval", str(artifacts / "countdown_sm"), "--env", countdown_env.ENV_ID,
                    "--out", str(inside))  # fmt: skip
    assert_one_line_error(result, 5, "inside the input")
    assert snapshot(artifacts / "countdown_sm") == before


@pytest.mark.fast
@pytest.mark.parametrize("fault, fragment", [("raise", "simulated physics failure"),
                                             ("nan", "non-finite observation")])  # fmt: skip
def test_env_failure_exits_4_and_keeps_completed_episodes(artifacts, tmp_path, fault, fragment):
    out = tmp_path / "run"
    result = invoke("eval", str(artifacts / "countdown_sm"), "--env", countdown_env.FAULTY_ENV_ID,
                    "--env-kwargs", f"fault={fault}", "--episodes", "6", "--num-envs", "1",
                    "--out", str(out), "--json")  # fmt: skip
    assert result.exit_code == 4
    assert result.stderr.startswith("error: episode 3 (seed 3): ")
    assert fragment in result.stderr.splitlines()[0]
    report = json.loads((out / "stats.json").read_text())
    assert report == json.loads(result.stdout)
    assert report["complete"] is False
    assert report["error"]["exit_code"] == 4
    assert [e["index"] for e in report["episodes"]] == [0, 1, 2]


def test_verbose_shows_the_traceback(tmp_path):
    result = invoke("eval", str(tmp_path / "missing"), "--env", "CartPole-v1", "-v")
    assert result.exit_code == 3
    assert "Traceback" in result.stderr


def test_json_stdout_is_pure_json_in_a_real_process(artifacts, tmp_path):
    """TensorFlow's C++ logs and gym's banner must not reach stdout (or stderr) of the process."""
    result = run_cli("eval", str(artifacts / "cartpole_sm"), "--env", "CartPole-v1",
                     "--episodes", "2", "--out", str(tmp_path / "o"), "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["summary"]["episodes"] == 2
    assert result.stderr == ""


def test_reading_never_writes_next_to_the_input(artifacts, tmp_path):
    before = snapshot(artifacts)
    invoke("eval", str(artifacts / "cartpole_sm"), "--env", "CartPole-v1", "--episodes", "1",
           "--out", str(tmp_path / "o"), "-q")  # fmt: skip
    assert snapshot(artifacts) == before
    assert os.listdir(tmp_path) == ["o"]
    assert sorted(os.listdir(tmp_path / "o")) == [
        SET_MANIFEST,
        "checkpoint",
        "episodes.csv",
        "stats.json",
        "tensorboard",
    ]


def test_output_inside_the_learner_root_is_refused(artifacts, tmp_path):
    root = artifacts / "learner" / "policies"
    before = snapshot(root)
    result = invoke("eval", str(root / "greedy_policy"), "--env", "CartPole-v1",
                    "--out", str(root / "eval"))  # fmt: skip
    assert_one_line_error(result, 5, "inside the input")
    assert snapshot(root) == before


@pytest.mark.fast
def test_saved_model_output_checkpoint_round_trip(artifacts, tmp_path):
    """A SavedModel's eval writes a policy checkpoint for that SavedModel; evaluating the output
    directory again gives the same episodes and a second history row."""
    first, second = tmp_path / "first", tmp_path / "second"
    args = ["--env", "CartPole-v1", "--episodes", "3", "--seed", "4", "--json"]
    one = json.loads(
        invoke("eval", str(artifacts / "cartpole_sm"), *args, "--out", str(first)).stdout
    )
    two = json.loads(invoke("eval", str(first), *args, "--out", str(second)).stdout)
    assert two["episodes"] == one["episodes"]
    assert two["policy"]["checkpoint"] == str(first / "checkpoint")
    history = [s for s in two["policy"]["side_data"] if s["name"] == "evaluation/history"]
    assert history == [{"name": "evaluation/history", "dtype": "float64", "shape": [1, 5]}]
    from tests.integration.test_checkpointer import _read_py_state

    rows = _read_py_state(
        str(second / "checkpoint" / "evaluation" / "evaluation"), "evaluation/history"
    )
    assert rows.shape == (2, 5)
    assert rows[:, 0].tolist() == [7, 7]  # the train step is kept (was: -1 the second time)


def test_outputs_of_a_learner_root_evaluate_again_from_anywhere(artifacts, tmp_path):
    """Issue 9.3: relative paths given in one directory, the output re-evaluated from another:
    the report stores resolved paths, keeps the train step, and inspect shows the history."""
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    shutil.copytree(artifacts / "learner", work / "learner")
    elsewhere.mkdir()
    first = run_cli("eval", "learner/policies", "--env", "CartPole-v1", "--episodes", "2",
                    "--out", "out1", "--json", cwd=work)  # fmt: skip
    assert first.returncode == 0, first.stderr
    one = json.loads(first.stdout)
    assert one["policy"]["saved_model"] == str(work / "learner" / "policies" / "greedy_policy")
    assert one["policy"]["checkpoint"] == str(
        work / "learner" / "policies" / "checkpoints" / "policy_checkpoint_0000000009"
    )
    second = run_cli("eval", str(work / "out1"), "--env", "CartPole-v1", "--episodes", "2",
                     "--out", "out2", "--json", cwd=elsewhere)  # fmt: skip
    assert second.returncode == 0, second.stderr
    two = json.loads(second.stdout)
    assert two["episodes"] == one["episodes"]
    assert two["policy"]["train_step"] == 9
    shown = json.loads(run_cli("inspect", str(elsewhere / "out2"), "--json", cwd=elsewhere).stdout)
    history = shown["evaluation"]["history"]
    assert [row["train_step"] for row in history] == [9, 9]
    assert [row["episodes"] for row in history] == [2, 2]


@pytest.mark.fast
def test_a_rerun_into_the_same_out_appends_to_its_history(artifacts, tmp_path):
    """Issue 9.3: the same policy and env again into the same --out: one more history row."""
    out = tmp_path / "out"
    args = ["eval", str(artifacts / "countdown_sm"), "--env", countdown_env.ENV_ID,
            "--episodes", "2", "--out", str(out), "-q"]  # fmt: skip
    for seed in ("0", "5"):
        assert invoke(*args, "--seed", seed).exit_code == 0
    shown = json.loads(invoke("inspect", str(out), "--json").stdout)
    assert [row["episodes"] for row in shown["evaluation"]["history"]] == [2, 2]
    assert shown["evaluation"]["stats"]["complete"] is True


def test_out_with_foreign_files_or_another_policys_results_is_refused(artifacts, tmp_path):
    """Issue 9.3: nothing pytfpol did not write is overwritten without --overwrite (exit 5)."""
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    args = ["--env", countdown_env.ENV_ID, "--episodes", "1", "-q"]
    result = invoke("eval", str(artifacts / "countdown_sm"), *args, "--out", str(foreign))
    assert_one_line_error(result, 5, str(foreign), "notes.txt")
    assert "--overwrite" in result.stderr
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]
    result = invoke(
        "eval", str(artifacts / "countdown_sm"), *args, "--out", str(foreign), "--overwrite"
    )
    assert result.exit_code == 0, result.stderr
    assert (foreign / "notes.txt").read_text() == "mine"

    other = tmp_path / "other"
    assert invoke("eval", str(artifacts / "cartpole_sm"), "--env", "CartPole-v1",
                  "--episodes", "1", "-q", "--out", str(other)).exit_code == 0  # fmt: skip
    before = (other / "stats.json").read_text()
    result = invoke("eval", str(artifacts / "countdown_sm"), *args, "--out", str(other))
    assert_one_line_error(result, 5, str(other), "cartpole_sm", "CartPole-v1")
    assert (other / "stats.json").read_text() == before


def test_out_above_the_input_is_refused(artifacts, tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(artifacts / "countdown_sm", runs / "policy")
    result = invoke("eval", str(runs / "policy"), "--env", countdown_env.ENV_ID,
                    "--out", str(runs))  # fmt: skip
    assert_one_line_error(result, 5, "is above the input")
    assert sorted(p.name for p in runs.iterdir()) == ["policy"]


def test_a_failure_before_the_first_episode_leaves_no_output_directory(artifacts, tmp_path):
    """Issue 9.3: e.g. a spec mismatch found once the policy is loaded."""
    out = tmp_path / "runs" / "new"
    result = invoke("eval", str(artifacts / "cartpole_sm"), "--env", "Pendulum-v1",
                    "--out", str(out))  # fmt: skip
    assert result.exit_code == 3
    assert not (tmp_path / "runs").exists()


CWD_ENV_MODULE = '''
import os

import gymnasium
import pygame
from gymnasium.envs.classic_control.cartpole import CartPoleEnv


class CartPoleWithSdl(CartPoleEnv):
    """CartPole that starts pygame as Box2D envs do to render: SDL opens its audio driver."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        with open("sdl_audio_driver.txt", "w") as handle:
            handle.write(os.environ.get("SDL_AUDIODRIVER", "<unset>"))
        pygame.init()


gymnasium.register("PytfpolCwd-v0", entry_point=CartPoleWithSdl)
'''


def test_console_script_imports_env_modules_from_the_working_directory(artifacts, tmp_path):
    """`--env module:ID` from the installed console script finds a module in the working
    directory, as `python -m pytfpol` does; pygame's SDL gets the dummy audio driver (no ALSA
    errors on stderr on machines without sound)."""
    script = Path(sys.executable).parent / "pytfpol"
    assert script.is_file(), "the console script is installed by `make`"
    (tmp_path / "cwd_env_module.py").write_text(CWD_ENV_MODULE)
    environment = {k: v for k, v in os.environ.items() if k != "SDL_AUDIODRIVER"}
    result = subprocess.run(
        [str(script), "eval", str(artifacts / "cartpole_sm"), "--env",
         "cwd_env_module:PytfpolCwd-v0", "--episodes", "2", "--out", str(tmp_path / "o"),
         "--json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={**environment, "NO_COLOR": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["env"]["id"] == "cwd_env_module:PytfpolCwd-v0"
    assert (tmp_path / "sdl_audio_driver.txt").read_text() == "dummy"
    assert "ALSA" not in result.stderr


def test_process_environment_keeps_what_the_user_set(monkeypatch):
    from pytfpol.policy.quiet_tf import prepare_environment

    monkeypatch.setenv("SDL_AUDIODRIVER", "pulseaudio")
    monkeypatch.delenv("PYGAME_HIDE_SUPPORT_PROMPT", raising=False)
    prepare_environment()
    assert os.environ["SDL_AUDIODRIVER"] == "pulseaudio"
    assert os.environ["PYGAME_HIDE_SUPPORT_PROMPT"] == "hide"
    monkeypatch.delenv("SDL_AUDIODRIVER")
    prepare_environment()
    assert os.environ["SDL_AUDIODRIVER"] == "dummy"


# ----------------------------------------------------------------------------- the CLI package

HELPS = (["--help"], ["eval", "--help"], ["sweep", "--help"], ["compare", "--help"],
         ["replay", "--help"], ["inspect", "--help"], ["configs", "--help"])  # fmt: skip


@pytest.mark.parametrize("width", [60, 80])
def test_help_wraps_between_whole_words_without_patching_click(width):
    """`pytfpol-runs`, `TF-Agents`, `re-evaluation` never split at their hyphen in --help, at
    any width; done by pytfpol's HelpFormatter, Click's own text wrapper left as it is."""
    from click import _textwrap

    assert _textwrap.TextWrapper.__module__ == "click._textwrap"
    for args in HELPS:
        result = CliRunner().invoke(main, args, terminal_width=width)
        assert result.exit_code == 0, result.output
        split = [line for line in result.output.splitlines() if line[-2:-1].isalpha()
                 and line.endswith("-")]  # fmt: skip
        assert not split, split


def test_help_exit_codes_are_the_table_of_pytfpol_errors():
    """`pytfpol --help` lists every exit code pytfpol.errors defines, with its meaning there;
    every command's table lists codes of that table only."""
    from pytfpol.errors import EXIT_CODES

    text = CliRunner().invoke(main, ["--help"]).output
    for code, meaning in EXIT_CODES.items():
        first, *more = meaning.split("\n")
        assert f"  {code:<4} {first}\n" in text, (code, text)
        for line in more:
            assert f"       {line}\n" in text
    for args in HELPS[1:]:
        table = CliRunner().invoke(main, args).output.split("Exit codes:\n")[1]
        codes = {int(line.split()[0]) for line in table.splitlines() if line[:5].strip()}
        assert codes and codes <= set(EXIT_CODES), (args, codes)


def test_the_env_options_are_one_group_every_evaluating_command_takes():
    """--env, --env-kwargs, --max-episode-steps, --wrapper come from one group (env_group):
    eval, sweep and compare take all of it, so an option added there reaches each."""
    import click

    from pytfpol.cli.options import env_group

    group = env_group()(click.command()(lambda **kw: None))
    names = {param.name for param in group.params}
    assert names == {"env_id", "env_kwargs", "max_episode_steps", "wrappers"}
    for name in ("eval", "sweep", "compare"):
        command = main.get_command(click.Context(main), name)
        assert names <= {param.name for param in command.params}, name


def test_commands_are_loaded_only_when_asked_for():
    """`import pytfpol.cli` loads no command module; `pytfpol eval --help` loads eval's only."""
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from pytfpol.cli import main\n"
        "loaded = lambda: sorted(m for m in sys.modules if m.endswith('_command'))\n"
        "assert loaded() == [], loaded()\n"
        "assert CliRunner().invoke(main, ['eval', '--help']).exit_code == 0\n"
        "assert loaded() == ['pytfpol.cli.eval_command'], loaded()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
