"""--metric info.KEY[:AGG] (issue 27 item 9) and TensorBoard for one eval (item 5), through the
CLI: a real policy on InfoCountdown (tests/helpers/countdown_env.py), whose every step's info
reports t = info_value(step) and whose episode i lasts 3 + (S+i) % 5 steps, so every expected
value is exact; sweeps of the example Learner run on a CartPole that reports its step number."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pytfpol.cli import main
from pytfpol.errors import EXIT_GATE, EXIT_INPUT, EXIT_RUNTIME, EXIT_USAGE
from pytfpol.formats import layout
from pytfpol.results import documents, output_manifest
from pytfpol.running import metrics, vector
from pytfpol.stats import iqm
from tests.helpers import countdown_env
from tests.helpers.repo import EXAMPLE_POLICY, REPO
from tests.helpers.tensorboard_scalars import tensorboard_scalars

EPISODES = 10
LEARNER_RUN = REPO / "examples" / "cartpole-dqn-run"


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def eval_args(artifacts, out: Path, *more: str, env: str = countdown_env.INFO_ENV_ID) -> list:
    return ["eval", str(artifacts / "countdown_sm"), "--env", env, "--episodes", str(EPISODES),
            "--out", str(out), "--json", "-q", *more]  # fmt: skip


def expected(seed: int, aggregation: str) -> float:
    """Episode `seed`'s value of info.t aggregated as `aggregation`."""
    values = [countdown_env.info_value(t) for t in range(1, countdown_env.episode_length(seed) + 1)]
    return {"sum": sum, "max": max, "last": lambda v: v[-1], "mean": np.mean}[aggregation](values)


# ------------------------------------------------------------------------------ aggregation


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_each_aggregation_gives_the_exact_value_per_episode(artifacts, tmp_path, mode):
    """sum (the default), max, last and mean of the same per-step values, three envs side by
    side: each episode's value is exactly the aggregate of its own steps' infos."""
    args = eval_args(
        artifacts, tmp_path / "run", "--num-envs", "3", "--vector", mode,
        "--metric", "info.t", "--metric", "info.t.1:max", "--metric", "info.t.2:last",
        "--metric", "info.t.3:mean",
    )  # fmt: skip
    result = invoke(*args)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    for episode in report["episodes"]:
        seed = episode["seed"]
        assert episode["metrics"] == {
            "info.t": expected(seed, "sum"),
            "info.t.1": expected(seed, "max"),
            "info.t.2": expected(seed, "last"),
            "info.t.3": pytest.approx(expected(seed, "mean")),
        }
    assert {name: d["aggregation"] for name, d in report["statistics"]["metrics"].items()} == {
        "info.t": "sum",
        "info.t.1": "max",
        "info.t.2": "last",
        "info.t.3": "mean",
    }


def test_pipelined_groups_give_the_same_metrics(artifacts, tmp_path):
    """Each group of slots keeps its own totals: 2 groups of 2 envs give one group's values."""
    reports = []
    for groups in ("1", "2"):
        args = eval_args(
            artifacts, tmp_path / groups, "--num-envs", "4", "--pipeline-groups", groups,
            "--metric", "info.t", "--metric", "info.t.1:max",
        )  # fmt: skip
        result = invoke(*args)
        assert result.exit_code == 0, result.stderr
        reports.append(json.loads(result.stdout))
    assert [e["metrics"] for e in reports[1]["episodes"]] == [
        {"info.t": expected(s, "sum"), "info.t.1": expected(s, "max")} for s in range(EPISODES)
    ]
    assert reports[0]["episodes"] == reports[1]["episodes"]


def test_metric_statistics_are_the_returns_statistics_of_its_values(artifacts, tmp_path):
    """The summary holds info.KEY_mean, _iqm, _std, ..., and the intervals, computed as the
    return's; stats.json on disk reads back through the validating reader; the table shows it."""
    out = tmp_path / "run"
    result = invoke(*eval_args(artifacts, out, "--metric", "info.t"))
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    values = np.array([expected(s, "sum") for s in range(EPISODES)])
    summary = report["summary"]
    assert summary["info.t_mean"] == pytest.approx(values.mean())
    assert summary["info.t_iqm"] == pytest.approx(iqm(values))
    assert summary["info.t_std"] == pytest.approx(values.std())
    assert (summary["info.t_min"], summary["info.t_max"]) == (values.min(), values.max())
    assert summary["info.t_median"] == pytest.approx(np.median(values))
    low, high = summary["info.t_mean_ci_low"], summary["info.t_mean_ci_high"]
    assert low < values.mean() < high
    assert summary["info.t_iqm_ci_low"] is not None
    assert set(metrics.STATISTICS) == {k[len("info.t_") :] for k in summary if k[:7] == "info.t_"}
    rows = list(csv.DictReader((out / "episodes.csv").open()))
    assert [float(r["info.t"]) for r in rows] == list(values)  # a column after eval's
    assert list(rows[0])[-2:] == ["success", "info.t"]
    read = documents.read_eval_report(out / "stats.json")
    assert read.summary == summary and read.episodes[0]["metrics"] == {"info.t": values[0]}
    table = invoke(*[a for a in eval_args(artifacts, tmp_path / "t", "--metric", "info.t")
                     if a not in ("--json", "-q")])  # fmt: skip
    assert "info.t (sum)" in table.stdout and f"mean {values.mean():g}" in table.stdout


def test_a_run_without_metric_reports_as_before(artifacts, tmp_path):
    result = invoke(*eval_args(artifacts, tmp_path / "run"))
    report = json.loads(result.stdout)
    assert "metrics" not in report["episodes"][0] and "metrics" not in report["statistics"]
    assert not any(k.startswith("info.") for k in report["summary"])


# ------------------------------------------------------------------------------------ gates


def test_a_gate_on_a_metric_statistic(artifacts, tmp_path):
    values = [expected(s, "sum") for s in range(EPISODES)]
    mean = float(np.mean(values))
    result = invoke(
        *eval_args(artifacts, tmp_path / "run", "--metric", "info.t"),
        "--gate", f"info.t_mean>={mean - 0.5}", "--gate", f"info.t_max<{max(values)}",
    )  # fmt: skip
    assert result.exit_code == EXIT_GATE
    gates = json.loads(result.stdout)["gates"]
    assert [(g["statistic"], g["passed"]) for g in gates] == [
        ("info.t_mean", True),
        ("info.t_max", False),
    ]
    assert gates[1]["value"] == max(values)
    assert f"info.t_max is {max(values):g}" in result.stderr


@pytest.mark.parametrize(
    "more, named",
    [
        (("--gate", "info.t_mean>=1"), "info.t is not measured"),
        (("--metric", "info.t", "--gate", "info.t_average>=1"), "unknown statistic"),
        (("--metric", "t"), "not of the form info.KEY"),
        (("--metric", "info.a/b"), "not of the form info.KEY"),
        (("--metric", "info.t:median"), "unknown aggregation 'median'"),
        (("--metric", "info.t", "--metric", "info.t:max"), "info.t: given twice"),
    ],
)
def test_metric_and_gate_usage_errors_are_exit_2(artifacts, tmp_path, more, named):
    result = invoke(*eval_args(artifacts, tmp_path / "run"), *more)
    assert result.exit_code == EXIT_USAGE
    assert named in result.stderr
    assert not (tmp_path / "run").exists()


# ----------------------------------------------------------------------- missing or bad values


@pytest.mark.parametrize(
    "fault, problem",
    [
        ("missing", "info has no 't'"),
        ("text", "info['t'] is not a number (str)"),
        ("nan", "info['t'] is not finite (nan)"),
    ],
)
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_missing_or_bad_value_is_exit_4_naming_key_env_episode_and_step(
    artifacts, tmp_path, fault, problem, mode
):
    args = eval_args(
        artifacts, tmp_path / "run", "--metric", "info.t", "--num-envs", "2", "--vector", mode,
        "--env-kwargs", f"fault_seed=3,fault={fault}",
    )  # fmt: skip
    result = invoke(*args)
    assert result.exit_code == EXIT_RUNTIME
    first = result.stderr.splitlines()[0]
    assert (
        f"episode 3 (seed 3) at step 2: --metric: {countdown_env.INFO_ENV_ID}: {problem}" in first
    )
    report = json.loads((tmp_path / "run" / "stats.json").read_text())
    assert report["complete"] is False and report["error"]["exit_code"] == EXIT_RUNTIME


def test_last_needs_the_key_only_in_the_final_steps_info(artifacts, tmp_path):
    """`final` is in the last step's info only: :last takes it; sum needs every step's."""
    result = invoke(*eval_args(artifacts, tmp_path / "a", "--metric", "info.final:last"))
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert [e["metrics"]["info.final"] for e in report["episodes"]] == [
        10.0 * countdown_env.episode_length(s) for s in range(EPISODES)
    ]
    result = invoke(*eval_args(artifacts, tmp_path / "b", "--metric", "info.final"))
    assert result.exit_code == EXIT_RUNTIME
    assert "episode 0 (seed 0) at step 1: --metric:" in result.stderr
    assert "info has no 'final'" in result.stderr


def test_native_vector_info_uses_the_key_masks():
    """A vector env's info: arrays over sub-envs, `_KEY` marking the sub-envs that report KEY."""
    info = {"t": np.array([1.0, 2.0, 3.0, 4.0]), "_t": np.array([1, 1, 0, 1], bool)}
    every, last = metrics.Metric("t"), metrics.Metric("t", "last")
    slots, done = np.array([0, 1, 3]), np.array([False, True, False])
    assert vector.read_vector_metrics(info, (every,), slots, done).tolist() == [[1.0], [2.0], [4.0]]
    values = vector.read_vector_metrics(info, (last,), np.array([1, 2]), np.array([True, False]))
    assert values[0, 0] == 2.0 and np.isnan(values[1, 0])  # slot 2 not done: not needed
    with pytest.raises(metrics.InfoProblem, match="info has no 't' for sub-env 2"):
        vector.read_vector_metrics(info, (every,), np.array([2]), np.array([False]))


def test_native_vector_env_info_is_read_through_its_masks(tmp_path):
    """--vector native reads the vector env's info (CartPole reports none): exit 4 naming it."""
    result = invoke(
        "eval", str(EXAMPLE_POLICY), "--env", "CartPole-v1", "--vector", "native",
        "--num-envs", "4", "--episodes", "4", "--metric", "info.x", "--out", str(tmp_path / "o"),
    )  # fmt: skip
    assert result.exit_code == EXIT_RUNTIME
    assert "at step 1: --metric: CartPole-v1: info has no 'x'" in result.stderr.splitlines()[0]


# --------------------------------------------------------------------------------- documents


def test_the_reader_refuses_a_non_numeric_episode_metric(artifacts, tmp_path):
    out = tmp_path / "run"
    assert invoke(*eval_args(artifacts, out, "--metric", "info.t")).exit_code == 0
    report = json.loads((out / "stats.json").read_text())
    report["episodes"][2]["metrics"]["info.t"] = "12"
    bad = tmp_path / "stats.json"
    bad.write_text(json.dumps(report))
    with pytest.raises(Exception) as caught:
        documents.read_eval_report(bad)
    assert getattr(caught.value, "exit_code", None) == EXIT_INPUT
    assert "episodes[2].metrics.info.t is a string" in str(caught.value)


# ------------------------------------------------------------------------------ TensorBoard


def test_eval_writes_tensorboard_events_at_the_train_step_equal_to_stats_json(artifacts, tmp_path):
    """OUT/tensorboard by default, TF-Agents' tags and one per metric, at the policy's train
    step (the one countdown_sm's SavedModel records: 1); the event files are in OUT's manifest."""
    out = tmp_path / "run"
    result = invoke(*eval_args(artifacts, out, "--metric", "info.t"))
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    step = report["policy"]["train_step"]
    assert step == 1
    assert report["output"]["tensorboard"] == str(out / layout.TENSORBOARD_DIR)
    summary = report["summary"]
    assert tensorboard_scalars(out / layout.TENSORBOARD_DIR) == {
        "Metrics/AverageReturn": [(step, pytest.approx(summary["mean_return"]))],
        "Metrics/AverageEpisodeLength": [(step, pytest.approx(summary["mean_length"]))],
        "Metrics/info.t": [(step, pytest.approx(summary["info.t_mean"]))],
        "Metrics/Returns": [step],
    }
    manifest = json.loads((out / output_manifest.SET_MANIFEST).read_text())
    assert any(name.startswith("tensorboard/events.out.tfevents.") for name in manifest["files"])


def test_a_saved_model_without_a_train_step_reports_none_and_writes_events_at_step_0(
    artifacts, tmp_path
):
    """A PolicySaver SavedModel saved without `train_step` (TF-Agents records -1): the report's
    policy.train_step is null, not -1, and eval's events are at step 0."""
    out = tmp_path / "run"
    policy = artifacts / "checkpointer" / "no_train_step"
    result = invoke("eval", str(policy), "--env", "Pendulum-v1", "--episodes", "2",
                    "--max-episode-steps", "5", "--out", str(out), "--json", "-q")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["policy"]["train_step"] is None
    assert json.loads((out / layout.STATS_JSON).read_text())["policy"]["train_step"] is None
    scalars = tensorboard_scalars(out / layout.TENSORBOARD_DIR)
    assert scalars["Metrics/AverageReturn"] == [
        (0, pytest.approx(report["summary"]["mean_return"]))
    ]
    assert scalars.pop("Metrics/Returns") == [0]  # the returns histogram too
    assert {steps[0][0] for steps in scalars.values()} == {0}
    shown = invoke("inspect", str(policy))  # the stored -1, said for what it is
    assert shown.exit_code == 0, shown.stderr
    assert "-1 (none: saved without a train_step)" in shown.stdout


def test_tensorboard_dir_outside_out_gets_new_event_files_only(artifacts, tmp_path):
    """--tensorboard DIR: written there (nothing under OUT), beside what DIR held, which stays."""
    board = tmp_path / "train" / "eval_pytfpol"
    board.mkdir(parents=True)
    (board / "events.out.tfevents.1.training").write_bytes(b"training's own")
    out = tmp_path / "run"
    for _ in range(2):
        result = invoke(*eval_args(artifacts, out, "--tensorboard", str(board), "--overwrite"))
        assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["output"]["tensorboard"] == str(board)
    assert not (out / layout.TENSORBOARD_DIR).exists()
    names = sorted(p.name for p in board.iterdir())
    assert len(names) == 3 and "events.out.tfevents.1.training" in names
    assert (board / "events.out.tfevents.1.training").read_bytes() == b"training's own"


def test_an_incomplete_eval_writes_no_events(artifacts, tmp_path):
    out = tmp_path / "run"
    args = eval_args(artifacts, out, "--metric", "info.t", "--env-kwargs", "fault_seed=3")
    assert invoke(*args).exit_code == EXIT_RUNTIME
    assert not (out / layout.TENSORBOARD_DIR).exists()


# ------------------------------------------------------------------------------------ sweep


def test_sweep_reports_each_checkpoints_metric_and_writes_its_tag(tmp_path):
    out = tmp_path / "sweep"
    result = invoke(
        "sweep", str(LEARNER_RUN), "--env", f"tests.helpers.countdown_env:{countdown_env.INFO_CARTPOLE_ID}",
        "--steps", ":2048", "--episodes", "2", "--confirm-episodes", "0", "--metric", "info.t",
        "--out", str(out), "--json", "-q",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    entries = document["checkpoints"]
    assert len(entries) == 2
    for entry in entries:
        sums = [e["length"] * (e["length"] + 1) / 2 for e in entry["episodes"]]
        assert [e["metrics"]["info.t"] for e in entry["episodes"]] == sums
        assert entry["summary"]["info.t_mean"] == pytest.approx(np.mean(sums))
    rows = list(csv.DictReader((out / layout.EPISODES_CSV).open()))
    assert [float(r["info.t"]) for r in rows] == [
        e["metrics"]["info.t"] for entry in entries for e in entry["episodes"]
    ]
    scalars = tensorboard_scalars(out / layout.TENSORBOARD_DIR)
    assert scalars["Metrics/info.t"] == [
        (e["step"], pytest.approx(e["summary"]["info.t_mean"])) for e in entries
    ]
    documents.read_sweep_report(out / layout.SWEEP_JSON)


def test_a_sweep_journal_entry_without_the_metric_is_not_reused_for_one_with_it(tmp_path):
    """The journal key holds the --metric list (only when given): a resumed sweep asking for
    another metric or aggregation evaluates again rather than reuse entries without it."""
    out = tmp_path / "sweep"

    def run(*more: str) -> dict:
        result = invoke(
            "sweep", str(LEARNER_RUN), "--env", f"tests.helpers.countdown_env:{countdown_env.INFO_CARTPOLE_ID}",
            "--steps", ":0", "--episodes", "1", "--confirm-episodes", "0", "--out", str(out),
            "--overwrite", "--json", "-q", *more,
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)["checkpoints"][0]

    assert run()["reused"] is False and run()["reused"] is True
    with_metric = run("--metric", "info.t")
    assert with_metric["reused"] is False and "info.t_mean" in with_metric["summary"]
    maximum = run("--metric", "info.t:max")
    assert maximum["reused"] is False
    assert maximum["episodes"][0]["metrics"]["info.t"] == maximum["episodes"][0]["length"]


def info_sweep(out: Path, *more: str) -> list:
    """A sweep of the Learner run's first two checkpoints on InfoCartPole, with --metric info.t."""
    return [
        "sweep", str(LEARNER_RUN), "--env", f"tests.helpers.countdown_env:{countdown_env.INFO_CARTPOLE_ID}",
        "--steps", ":2048", "--episodes", "2", "--metric", "info.t", "--out", str(out), "--json",
        "-q", *more,
    ]  # fmt: skip


def test_a_sweep_gate_on_a_metric_statistic_judges_the_best_on_fresh_seeds(tmp_path):
    """--gate info.t_mean / info.t_max on a sweep judge its best checkpoint's confirmation (the
    fresh seeds' episodes in OUT/best, each summing to L(L+1)/2), not the sweep's own episodes
    of that checkpoint: pass and fail, exit 1 naming the failing one; a re-run into the same
    OUT with gates at the confirmation's values passes (exit 0) from the journal."""
    out = tmp_path / "sweep"
    result = invoke(*info_sweep(out, "--confirm-episodes", "3", "--gate", "info.t_mean>=1",
                                "--gate", "info.t_max<1"))  # fmt: skip
    assert result.exit_code == EXIT_GATE, result.stderr
    document = json.loads(result.stdout)
    best = json.loads((out / layout.BEST_DIR / layout.STATS_JSON).read_text())
    sums = [e["length"] * (e["length"] + 1) / 2 for e in best["episodes"]]
    confirmation = document["best"]["confirmation"]
    assert confirmation["info.t_mean"] == pytest.approx(np.mean(sums))
    assert confirmation["info.t_mean"] != document["best"]["summary"]["info.t_mean"]  # else moot
    gates = document["gates"]
    assert [(g["statistic"], g["value"], g["passed"]) for g in gates] == [
        ("info.t_mean", confirmation["info.t_mean"], True),
        ("info.t_max", max(sums), False),
    ]
    assert f"info.t_max is {max(sums):g}" in result.stderr and document["passed"] is False
    mean = confirmation["info.t_mean"]
    passed = invoke(*info_sweep(out, "--confirm-episodes", "3", "--gate", f"info.t_mean>={mean}",
                                "--gate", f"info.t_max<={max(sums)}"))  # fmt: skip
    assert passed.exit_code == 0, passed.stderr
    again = json.loads(passed.stdout)
    assert again["passed"] is True and all(g["passed"] for g in again["gates"])
    assert {e["reused"] for e in again["checkpoints"]} == {True}
