"""`pytfpol sweep`: every checkpoint of a training run evaluated as `pytfpol eval --step N` would.

Runs are real: the example Learner run in examples/cartpole-dqn-run (TF-Agents' Learner and
PolicySavedModelTrigger wrote it) and a DQN v2 `train_dir/policy` written by TF-Agents'
`common.Checkpointer` (tests/helpers/artifacts_checkpointer.py). `--watch` watches a directory into which
tests/helpers/checkpoint_writer.py, a separate process, writes a checkpoint the way training does.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner

from pytfpol import api
from pytfpol.cli import main
from pytfpol.commands.progress import NoProgress
from pytfpol.errors import UsageError
from pytfpol.formats import layout
from pytfpol.running import sweep_plan
from pytfpol.settings import EvalSettings, SweepSettings, parse_steps
from tests.helpers.repo import REPO, run_cli, run_counting_opens, wait_for_first_journal_entry
from tests.helpers.tensorboard_scalars import tensorboard_scalars

LEARNER_RUN = REPO / "examples" / "cartpole-dqn-run"
DQN_V2_CONFIG = str(REPO / "configs" / "tf-agents-dqn-v2-cartpole.toml")

SWEEP_KEYS = {
    "schema_version", "kind", "complete", "error", "created", "policy", "env", "settings",
    "runs", "checkpoints", "backend", "best", "aggregate", "gates", "passed", "warnings", "timing",
    "versions", "output",
}  # fmt: skip
ENTRY_KEYS = {
    "run", "step", "checkpoint", "train_step", "complete", "reused", "error", "key", "summary",
    "episodes", "seconds",
}  # fmt: skip


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def run_json(*args: str, code: int = 0) -> dict:
    result = invoke(*args, "--json")
    assert result.exit_code == code, result.stderr
    return json.loads(result.stdout)


def returns(document: dict) -> list:
    return [e["return"] for e in document["episodes"]]


@pytest.fixture()
def dqn_run(artifacts, tmp_path) -> Path:
    """A private copy of the DQN v2 Checkpointer run (steps 10, 20, 30): tests change it."""
    copy = tmp_path / "run"
    shutil.copytree(artifacts / "checkpointer" / "dqn_v2_run", copy)
    return copy / "train" / "policy"


def sweep_args(path: Path, out: Path, *more: str) -> list:
    return [
        "sweep", str(path), "--env", "CartPole-v1", "--config", DQN_V2_CONFIG,
        "--out", str(out), *more,
    ]  # fmt: skip


# ----------------------------------------------------------------------------- choosing


def test_choose_steps_every_last_on_the_example_run():
    found = layout.detect(str(LEARNER_RUN)).in_context()
    steps = [c.step for c in found.checkpoints]
    assert steps == [0, 2048, 4096, 6144, 8192, 10240, 12288, 14336, 15360]

    def chosen(**options) -> list:
        settings = SweepSettings(
            paths=(str(LEARNER_RUN),),
            eval=EvalSettings(str(LEARNER_RUN), "CartPole-v1"),
            steps=parse_steps(options.pop("steps", None)),
            **options,
        )
        return [c.step for c in sweep_plan.choose(list(found.checkpoints), settings)]

    assert chosen() == steps
    assert chosen(steps="4096:12288") == [4096, 6144, 8192, 10240, 12288]
    assert chosen(steps="10000:") == [10240, 12288, 14336, 15360]
    assert chosen(steps=":2048") == [0, 2048]
    assert chosen(every=3) == [0, 6144, 12288]
    assert chosen(last=2) == [14336, 15360]
    assert chosen(steps="2048:", every=2, last=2) == [10240, 14336]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--step", "20"], "No such option '--step'"),
        (["--steps", "30:10"], "--steps '30:10': the first step is after the last"),
        (["--steps", "x"], "--steps 'x'"),
        (["--select", "nope"], "--select 'nope': not a summary statistic"),
        (["--last", "0"], "--last"),
    ],
)
def test_bad_sweep_options_are_usage_errors(args, message):
    result = run_cli("sweep", str(LEARNER_RUN), "--env", "CartPole-v1", *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_sweep_of_one_policy_says_to_use_eval():
    result = run_cli("sweep", str(REPO / "examples" / "cartpole-dqn"), "--env", "CartPole-v1")
    assert result.returncode == 2, result.stderr
    assert "not a directory of checkpoints" in result.stderr
    assert "pytfpol eval" in result.stderr
    assert [line.split(":")[0] for line in result.stderr.strip().splitlines()] == ["error", "hint"]


# ----------------------------------------------------------------------------- = eval --step


def test_learner_sweep_equals_eval_of_each_step_and_confirms_on_fresh_seeds(tmp_path):
    out = tmp_path / "sweep"
    document = run_json(
        "sweep", str(LEARNER_RUN), "--env", "CartPole-v1", "--last", "3", "--episodes", "4",
        "--seed", "7", "--confirm-episodes", "3", "--out", str(out),
    )  # fmt: skip
    assert set(document) == SWEEP_KEYS
    assert document["complete"] and document["passed"]
    entries = document["checkpoints"]
    assert [e["step"] for e in entries] == [12288, 14336, 15360]
    for entry in entries:
        assert set(entry) == ENTRY_KEYS
        assert entry["complete"] and entry["error"] is None and not entry["reused"]
        single = run_json(
            "eval", str(LEARNER_RUN), "--env", "CartPole-v1", "--step", str(entry["step"]),
            "--episodes", "4", "--seed", "7", "--out", str(tmp_path / f"eval-{entry['step']}"),
        )  # fmt: skip
        assert [e["return"] for e in entry["episodes"]] == returns(single)
        assert [e["seed"] for e in entry["episodes"]] == [7, 8, 9, 10]
        assert entry["summary"] == single["summary"]
        assert entry["train_step"] == single["policy"]["train_step"] == entry["step"]

    best = document["best"]
    means = {e["step"]: e["summary"]["mean_return"] for e in entries}
    assert best["step"] == max(means, key=lambda s: (means[s], -s))
    assert best["value"] == means[best["step"]]

    # The best one again on fresh seeds: episodes 4..6 of the same seed sequence (seeds 11..13).
    confirmation = json.loads((out / "best" / layout.STATS_JSON).read_text())
    assert [e["seed"] for e in confirmation["episodes"]] == [11, 12, 13]
    fresh = run_json(
        "eval", str(LEARNER_RUN), "--env", "CartPole-v1", "--step", str(best["step"]),
        "--episodes", "3", "--seed", "11", "--out", str(tmp_path / "fresh"),
    )  # fmt: skip
    assert returns(confirmation) == returns(fresh)
    assert best["confirmation"] == confirmation["summary"]
    assert confirmation["policy"]["train_step"] == best["step"]

    # The files: one curve row per checkpoint, one episodes row per episode.
    with open(out / layout.CURVE_CSV) as handle:
        curve = list(csv.DictReader(handle))
    assert [int(r["step"]) for r in curve] == [12288, 14336, 15360]
    assert [float(r["mean_return"]) for r in curve] == [means[s] for s in (12288, 14336, 15360)]
    with open(out / layout.EPISODES_CSV) as handle:
        rows = list(csv.DictReader(handle))
    assert [(int(r["step"]), float(r["return"])) for r in rows] == [
        (e["step"], ep["return"]) for e in entries for ep in e["episodes"]
    ]
    assert (out / layout.CURVE_PNG).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((out / layout.SWEEP_JSON).read_text())["checkpoints"] == entries


def test_checkpointer_sweep_equals_eval_of_each_step_and_resumes_from_its_journal(
    dqn_run, tmp_path
):
    out = tmp_path / "sweep"
    # A partial sweep first (the newest checkpoint), then the whole run into the same --out:
    # only the two it has not evaluated are run.
    partial = run_json(*sweep_args(dqn_run, out, "--episodes", "3", "--last", "1"))
    assert [(e["step"], e["reused"]) for e in partial["checkpoints"]] == [(30, False)]
    whole = run_json(*sweep_args(dqn_run, out, "--episodes", "3"))
    assert [(e["step"], e["reused"]) for e in whole["checkpoints"]] == [
        (10, False),
        (20, False),
        (30, True),
    ]
    assert whole["checkpoints"][2]["episodes"] == partial["checkpoints"][0]["episodes"]
    again = run_json(*sweep_args(dqn_run, out, "--episodes", "3"))
    assert all(e["reused"] for e in again["checkpoints"])
    assert [e["episodes"] for e in again["checkpoints"]] == [
        e["episodes"] for e in whole["checkpoints"]
    ]
    # Other settings, other results (another sweep: --overwrite): nothing is reused.
    other = run_json(
        *sweep_args(dqn_run, out, "--episodes", "2", "--confirm-episodes", "0", "--overwrite")
    )
    assert not any(e["reused"] for e in other["checkpoints"])
    assert other["best"]["confirmation"] is None and other["output"]["best"] is None
    assert not (out / layout.BEST_DIR).exists()

    distinct = set()
    for entry in whole["checkpoints"]:
        single = run_json(
            "eval", str(dqn_run), "--env", "CartPole-v1", "--config", DQN_V2_CONFIG,
            "--step", str(entry["step"]), "--episodes", "3",
            "--out", str(tmp_path / f"eval-{entry['step']}"),
        )  # fmt: skip
        assert [e["return"] for e in entry["episodes"]] == returns(single)
        assert entry["train_step"] == single["policy"]["train_step"] == entry["step"]
        assert entry["checkpoint"] == single["policy"]["checkpoint"]
        distinct.add(tuple(returns(single)))
    assert len(distinct) > 1, "the three checkpoints should not all behave alike"

    # TensorBoard: TF-Agents' eval tags at step = train step.
    scalars = tensorboard_scalars(out / layout.TENSORBOARD_DIR)
    assert scalars["Metrics/AverageReturn"] == [
        (e["step"], pytest.approx(e["summary"]["mean_return"])) for e in other["checkpoints"]
    ]
    assert [s for s, _ in scalars["Metrics/AverageEpisodeLength"]] == [10, 20, 30]


def test_two_runs_aggregate_per_step_and_gate_on_the_confirmed_best(dqn_run, tmp_path):
    second = tmp_path / "seed1" / "policy"
    shutil.copytree(dqn_run, second)
    (second / "ckpt-10.index").unlink()  # this run has no complete step-10 checkpoint
    out = tmp_path / "sweep"
    junit = tmp_path / "gates.xml"
    result = invoke(
        *sweep_args(dqn_run, out, "--episodes", "2", "--min-return", "1000"),
        str(second), "--junit", str(junit),
    )  # fmt: skip
    assert result.exit_code == 1, result.stderr
    assert "mean_return" in result.stderr and "1000" in result.stderr
    assert "best" in result.stdout and "step 30" in result.stdout  # the table
    document = json.loads((out / layout.SWEEP_JSON).read_text())
    assert document["complete"] and not document["passed"]
    assert [(e["run"], e["step"]) for e in document["checkpoints"]] == [
        (0, 10), (0, 20), (0, 30), (1, 20), (1, 30),
    ]  # fmt: skip
    assert "skipped ckpt-10: incomplete (no ckpt-10.index)" in document["warnings"]
    by = {(e["run"], e["step"]): e["summary"]["mean_return"] for e in document["checkpoints"]}
    assert by[(1, 20)] == by[(0, 20)]  # the same bytes, the same seeds
    assert document["aggregate"] == [
        {"step": s, "runs": 2, "mean": by[(0, s)], "min": by[(0, s)], "max": by[(0, s)]}
        for s in (20, 30)
    ]
    (gate,) = document["gates"]
    assert not gate["passed"]
    assert gate["value"] == document["best"]["confirmation"]["mean_return"]
    (case,) = ElementTree.parse(junit).getroot().iter("testcase")
    assert case.get("classname") == "pytfpol.sweep.CartPole-v1"
    assert case.find("failure").get("message").startswith("mean_return>=1000 failed")
    board = out / layout.TENSORBOARD_DIR
    assert [s for s, _ in tensorboard_scalars(board / "run-1")["Metrics/AverageReturn"]] == [
        20,
        30,
    ]


# ----------------------------------------------------------------------------- faults


@pytest.mark.slow
def test_damaged_checkpoint_in_the_middle_is_recorded_and_the_sweep_goes_on(dqn_run, tmp_path):
    data = dqn_run / "ckpt-20.data-00000-of-00001"
    damaged = bytearray(data.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    data.write_bytes(bytes(damaged))
    out = tmp_path / "sweep"
    result = run_cli(*sweep_args(dqn_run, out, "--episodes", "2", "-q"))
    assert result.returncode == 3, result.stderr
    warning, line, hint = result.stderr.strip().splitlines()  # the warning came when it failed
    assert warning.startswith("warning: step 20: ") and "checksum mismatch" in warning
    assert "1 of 3 checkpoints could not be evaluated" in line and "ckpt-20" in line
    assert str(out / layout.SWEEP_JSON) in hint
    document = json.loads((out / layout.SWEEP_JSON).read_text())
    states = [(e["step"], e["complete"], e["error"] is None) for e in document["checkpoints"]]
    assert states == [(10, True, True), (20, False, False), (30, True, True)]
    assert document["checkpoints"][1]["error"]["exit_code"] == 3
    assert document["best"]["step"] in (10, 30)
    assert (out / layout.BEST_DIR / layout.STATS_JSON).exists()
    with open(out / layout.CURVE_CSV) as handle:
        assert [int(r["step"]) for r in csv.DictReader(handle)] == [10, 30]


class DeletingProgress(NoProgress):
    """Deletes a checkpoint's files when the first checkpoint starts loading: a training job's
    Checkpointer pruning old checkpoints (max_to_keep) while the sweep runs."""

    def __init__(self, victim: Path) -> None:
        self.victim, self.warnings = victim, []

    def stage(self, description: str) -> None:
        if description.startswith("loading") and self.victim.parent.exists():
            for path in self.victim.parent.glob(self.victim.name + ".*"):
                path.unlink()

    def warn(self, message: str) -> None:
        self.warnings.append(message)


def settings_for(path: Path, out: Path, **sweep) -> SweepSettings:
    return SweepSettings(
        paths=(str(path),),
        eval=EvalSettings(str(path), "CartPole-v1", episodes=2, config=DQN_V2_CONFIG, out=str(out)),
        **sweep,
    )


def test_checkpoint_deleted_during_the_sweep_is_skipped_with_a_note(dqn_run, tmp_path):
    progress = DeletingProgress(dqn_run / "ckpt-30")
    document = api.sweep(settings_for(dqn_run, tmp_path / "o", confirm_episodes=0), progress)
    assert [e["step"] for e in document["checkpoints"]] == [10, 20]
    note = "ckpt-30: deleted before it was evaluated; skipped"
    assert note in document["warnings"] and note in progress.warnings
    assert document["complete"]


class WatchProgress(NoProgress):
    """Training, seen by a watching sweep. A separate process writes checkpoints 40 and 50 with
    TF-Agents' Checkpointer (into a copy of the run); when the sweep first waits, step 50 appears
    whole and step 40 half-written (its data, no index yet); when it waits again, step 40's index
    appears (TensorFlow writes a checkpoint's index last)."""

    def __init__(self, directory: Path, scratch: Path) -> None:
        self.directory, self.scratch, self.watching = directory, scratch, 0

    def stage(self, description: str) -> None:
        if not description.startswith("watching"):
            return
        self.watching += 1
        if self.watching == 1:
            shutil.copytree(self.directory, self.scratch)
            subprocess.run(
                [sys.executable, str(REPO / "tests" / "helpers" / "checkpoint_writer.py"), str(self.scratch),
                 "40", "50"],
                check=True, cwd=REPO, capture_output=True,
            )  # fmt: skip
            for name in (
                "ckpt-50.data-00000-of-00001",
                "ckpt-50.index",
                "ckpt-40.data-00000-of-00001",
            ):
                shutil.copy(self.scratch / name, self.directory / name)
        elif self.watching == 2:
            shutil.copy(self.scratch / "ckpt-40.index", self.directory / "ckpt-40.index")


def test_watch_evaluates_checkpoints_written_while_it_watches(dqn_run, tmp_path):
    progress = WatchProgress(dqn_run, tmp_path / "training")
    settings = settings_for(
        dqn_run, tmp_path / "o", last=1, watch=True, watch_timeout=1.0, poll_seconds=0.2,
        confirm_episodes=0,
    )  # fmt: skip
    document = api.sweep(settings, progress)
    entries = [(e["step"], e["train_step"], e["complete"]) for e in document["checkpoints"]]
    # 10 and 20 were left out by --last 1; 40 is evaluated once whole, after 50.
    assert entries == [(30, 30, True), (40, 40, True), (50, 50, True)]
    assert progress.watching >= 3
    assert document["complete"] and document["settings"]["watch"]
    assert not any("deleted" in note for note in document["warnings"])


@pytest.mark.slow
@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 0), (signal.SIGTERM, 143)])
def test_stopping_a_watch(dqn_run, tmp_path, signum, code):
    """Ctrl-C while waiting for a checkpoint ends the watch and finishes the sweep; SIGTERM stops
    it (143) with what was evaluated written. Either way a re-run takes it from the journal."""
    out = tmp_path / "o"
    args = sweep_args(dqn_run, out, "--episodes", "2", "--last", "1", "--confirm-episodes", "1")
    process = subprocess.Popen(
        [sys.executable, "-m", "pytfpol", *args, "--watch", "--poll", "0.2"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        wait_for_first_journal_entry(process, out)
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == code, stderr
    assert "Traceback" not in stderr
    document = json.loads((out / layout.SWEEP_JSON).read_text())
    assert [e["step"] for e in document["checkpoints"]] == [30]
    if signum == signal.SIGINT:
        assert document["complete"] and "watching ended by Ctrl-C" in document["warnings"]
        assert document["best"]["confirmation"]["episodes"] == 1
    else:
        assert not document["complete"] and document["error"]["exit_code"] == 143
        assert document["best"] is None
    again = run_json(*args)
    assert [(e["step"], e["reused"]) for e in again["checkpoints"]] == [(30, True)]


def test_sweep_settings_refuse_what_they_cannot_do():
    base = EvalSettings("x", "CartPole-v1")
    with pytest.raises(UsageError, match="--every"):
        SweepSettings(paths=("x",), eval=base, every=0)
    with pytest.raises(UsageError, match="at least one PATH"):
        SweepSettings(paths=(), eval=base)


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace (Debian's strace)")
@pytest.mark.parametrize("kind", ["checkpointer", "learner"])
def test_a_sweep_opens_each_checkpoint_file_once(artifacts, tmp_path, kind):
    """Validation reads each checkpoint once and keeps what it read: the journal key, the report's
    file digests and the restore into the graph all come from it, and the best is confirmed from
    what was kept (strace counts every open of the process and its children)."""
    if kind == "checkpointer":
        root = artifacts / "checkpointer" / "dqn_v2_run" / "train" / "policy"
        args = ["--config", DQN_V2_CONFIG]
        files = [f"ckpt-{s}.{e}" for s in (10, 20, 30) for e in ("index", "data-00000-of-00001")]
    else:
        root, args = LEARNER_RUN / "policies", ["--last", "2"]
        files = [
            f"{d}/variables/variables.{e}"
            for d in (
                "greedy_policy",
                "checkpoints/policy_checkpoint_0000014336",
                "checkpoints/policy_checkpoint_0000015360",
            )
            for e in ("index", "data-00000-of-00001")
        ]
    log = tmp_path / "strace.log"
    result, opened = run_counting_opens(
        ["sweep", str(root), "--env", "CartPole-v1", "--episodes", "2",
         "--confirm-episodes", "2", "--out", str(tmp_path / "out"), "-q", *args],
        log,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads((tmp_path / "out" / layout.SWEEP_JSON).read_text())
    assert document["best"]["confirmation"] is not None
    counts = {name: opened.count(str(root / name)) for name in files}
    assert counts == dict.fromkeys(files, 1)


def test_video_best_records_the_median_episode_of_the_confirmation(dqn_run, tmp_path):
    from tests.integration.test_recording import read_frames

    out = tmp_path / "o"
    document = run_json(*sweep_args(dqn_run, out, "--episodes", "2", "--confirm-episodes", "3",
                                    "--video-best"))  # fmt: skip
    best, video = document["best"], document["best"]["video"]
    confirmation = json.loads((out / layout.BEST_DIR / layout.STATS_JSON).read_text())
    ranked = sorted(confirmation["episodes"], key=lambda e: (e["return"], e["index"]))
    median = ranked[1]  # of episodes 2, 3, 4 (seeds 2..4)
    assert (video["index"], video["seed"], video["return"]) == (
        median["index"], median["seed"], median["return"],
    )  # fmt: skip
    path = Path(video["path"])
    assert path == out / "videos" / f"best-step-{best['step']}-episode-{median['index']}.mp4"
    frames = read_frames(path)
    assert len(frames) == video["frames"] == median["length"] + 1
    assert document["runs"][0]["best"]["video"] == video
