"""`pytfpol replay OUT --step N` on a sweep's OUT, and another sweep into the same OUT (issue 27,
items 6 and 8).

One real sweep for the module: a copy of the DQN v2 `common.Checkpointer` run (steps 10, 20, 30;
tests/helpers/artifacts_checkpointer.py), 3 episodes a checkpoint, its best confirmed on 2 fresh
seeds. The refusals leave OUT as it was (an lstat + sha256 snapshot); the tests that change OUT
or the run work on copies, or put the run back as it was.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from pytfpol.cli import main
from pytfpol.formats import layout
from tests.helpers.repo import REPO
from tests.integration.test_output_set import snapshot

DQN_V2_CONFIG = str(REPO / "configs" / "tf-agents-dqn-v2-cartpole.toml")


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def sweep_args(run: Path, out: Path, *more: str) -> list:
    return [
        "sweep", str(run), "--env", "CartPole-v1", "--config", DQN_V2_CONFIG,
        "--episodes", "3", "--confirm-episodes", "2", "--out", str(out), "-q", *more,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def swept(artifacts, tmp_path_factory) -> SimpleNamespace:
    """The module's sweep: its run, another copy of the run, OUT and sweep.json."""
    root = tmp_path_factory.mktemp("replay-sweep")
    runs = []
    for name in ("run", "other"):
        shutil.copytree(artifacts / "checkpointer" / "dqn_v2_run", root / name)
        runs.append(root / name / "train" / "policy")
    out = root / "sweep"
    result = invoke(*sweep_args(runs[0], out))
    assert result.exit_code == 0, result.output
    document = json.loads((out / layout.SWEEP_JSON).read_text())
    return SimpleNamespace(run=runs[0], other=runs[1], out=out, document=document)


def entry_of(document: dict, step: int) -> dict:
    (entry,) = [e for e in document["checkpoints"] if e["step"] == step]
    return entry


def replay_json(*args: str, code: int = 0) -> dict:
    result = invoke("replay", *args, "--json", "-q")
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


# ------------------------------------------------------------------ replay of a sweep's step


def test_replay_of_two_steps_reproduces_their_recorded_episodes(swept):
    """Episode 2 of step 10 and of step 30: each replayed return and length is the one the
    sweep recorded for that step and episode (they differ, so the step is the one asked)."""
    recorded = {s: entry_of(swept.document, s)["episodes"][2] for s in (10, 30)}
    assert recorded[10]["return"] != recorded[30]["return"]  # else the test proves nothing
    for step, episode in recorded.items():
        result = replay_json(str(swept.out), "--step", str(step), "--episode", "2")
        assert result["identical"] and result["episode"] == 2
        assert result["seed"] == episode["seed"]
        assert result["replayed"]["return"] == episode["return"]
        assert result["replayed"]["length"] == episode["length"]
        assert result["checkpoint"] == entry_of(swept.document, step)["checkpoint"]


def test_replay_of_a_step_of_several_runs_needs_run(swept, tmp_path):
    """Two runs with a step 30 each: --step 30 alone is exit 2 naming both; --run 1 replays
    the second run's episode."""
    out = tmp_path / "two-runs"
    two = [*sweep_args(swept.run, out, "--last", "1", "--episodes", "1"), str(swept.other)]
    assert invoke(*two).exit_code == 0
    ambiguous = invoke("replay", str(out), "--step", "30")
    assert ambiguous.exit_code == 2 and "--run 0" in ambiguous.stderr, ambiguous.output
    assert str(swept.other.resolve()) in ambiguous.stderr
    result = replay_json(str(out), "--step", "30", "--run", "1", "--episode", "0")
    assert result["identical"] and result["policy"] == str(swept.other.resolve())


def test_replay_of_the_best_directory(swept):
    """OUT/best is the best checkpoint's fresh-seed evaluation: its episodes 3 and 4 replay,
    with the checkpoint it recorded (not the run's newest)."""
    assert swept.document["best"]["step"] != 30  # else loading the newest would pass too
    best = json.loads((swept.out / layout.BEST_DIR / layout.STATS_JSON).read_text())
    episode = best["episodes"][-1]
    result = replay_json(str(swept.out / layout.BEST_DIR), "--episode", str(episode["index"]))
    assert result["identical"] and result["replayed"]["return"] == episode["return"]
    assert result["checkpoint"] == swept.document["best"]["checkpoint"]


def test_the_typed_result_of_replay_is_the_json_it_prints(swept, tmp_path):
    """api.replay returns a ReplayResult whose fields are exactly the keys `replay --json`
    prints, in its order, and whose as_document() is that JSON object (the same episode
    replayed twice gives the same values; a trajectory written is in both)."""
    import dataclasses

    from pytfpol import api

    printed = replay_json(str(swept.out), "--step", "10", "--episode", "1",
                          "--trajectory", str(tmp_path / "cli.npz"))  # fmt: skip
    result = api.replay(swept.out, 1, step=10, trajectory=tmp_path / "api.npz")
    assert isinstance(result, api.ReplayResult)
    # replay --json's keys, in the order it printed them when replay returned a dict
    keys = "report episode seed recorded replayed identical policy checkpoint env stochastic"
    keys += " video frames trajectory versions"
    assert [f.name for f in dataclasses.fields(api.ReplayResult)] == list(printed) == keys.split()
    assert result.identical and result.trajectory == str(tmp_path / "api.npz")
    assert result.as_document() == dict(printed, trajectory=str(tmp_path / "api.npz"))
    assert json.dumps(result.as_document()) == json.dumps(
        dict(printed, trajectory=result.trajectory)
    )  # the same keys in the same order: the CLI's --json is the document


def test_replay_of_a_sweep_without_step_lists_its_steps(swept):
    result = invoke("replay", str(swept.out))
    assert result.exit_code == 2, result.output
    assert f"{swept.out}: is a sweep; give --step N" in result.stderr
    assert "10, 20, 30" in result.stderr and "best" in result.stderr
    unknown = invoke("replay", str(swept.out), "--step", "15")
    assert unknown.exit_code == 2 and "10, 20, 30" in unknown.stderr, unknown.output


def test_replay_of_a_directory_without_a_report_hints_at_eval_and_sweep(tmp_path):
    result = invoke("replay", str(tmp_path))
    assert result.exit_code == 3, result.output
    assert "no stats.json nor sweep.json" in result.stderr and "--env" not in result.stderr


def test_replay_refuses_a_checkpoint_changed_since_the_sweep(swept):
    """Step 20's files replaced by step 10's (a valid checkpoint, other weights): refused
    (exit 3) before anything runs; the run is put back as it was."""
    prefix = {s: swept.run / f"ckpt-{s}" for s in (10, 20)}
    suffixes = (".index", ".data-00000-of-00001")
    kept = {s: Path(f"{prefix[20]}{s}").read_bytes() for s in suffixes}
    try:
        for suffix in suffixes:
            shutil.copyfile(f"{prefix[10]}{suffix}", f"{prefix[20]}{suffix}")
        result = invoke("replay", str(swept.out), "--step", "20", "--episode", "0")
        assert result.exit_code == 3, result.output
        assert "changed since the sweep evaluated it" in result.stderr
        assert str(prefix[20]) in result.stderr
    finally:
        for suffix, content in kept.items():
            Path(f"{prefix[20]}{suffix}").write_bytes(content)
    assert replay_json(str(swept.out), "--step", "20", "--episode", "0")["identical"]


def test_video_and_trajectory_are_not_overwritten_without_overwrite(swept, tmp_path):
    video, trajectory = tmp_path / "ep.gif", tmp_path / "ep.npz"
    for existing in (video, trajectory):
        existing.write_bytes(b"the user's own file")
        option = "--video" if existing is video else "--trajectory"
        result = invoke("replay", str(swept.out), "--step", "10", option, str(existing))
        assert result.exit_code == 5, result.output
        assert f"{existing}: exists" in result.stderr and "--overwrite" in result.stderr
        assert existing.read_bytes() == b"the user's own file"
    result = replay_json(
        str(swept.out), "--step", "10", "--episode", "1", "--trajectory", str(trajectory),
        "--overwrite",
    )  # fmt: skip
    assert result["identical"] and result["trajectory"] == str(trajectory)
    assert trajectory.read_bytes()[:2] == b"PK"  # an .npz (a zip) now


# --------------------------------------------------------- another sweep into the same OUT


def test_a_sweep_with_another_seed_is_refused_and_out_is_unchanged(swept):
    before = snapshot(swept.out)
    result = invoke(*sweep_args(swept.run, swept.out, "--seed", "5"))
    assert result.exit_code == 5, result.output
    assert f"--out {swept.out}: holds another sweep (--seed 5 vs 0 recorded)" in result.stderr
    assert "--overwrite" in result.stderr and "another --out" in result.stderr
    assert snapshot(swept.out) == before


@pytest.mark.parametrize(
    "more, named",
    [
        (("--env", "CartPole-v0"), "--env CartPole-v0 vs CartPole-v1 recorded"),
        (("--env-kwargs", "sutton_barto_reward=true"),
         '--env-kwargs {"sutton_barto_reward": true} vs {} recorded'),
        (("--episodes", "4"), "--episodes 4 vs 3 recorded"),
        (("--max-episode-steps", "50"), "--max-episode-steps 50 vs none recorded"),
        # --metric changes every checkpoint's result: a sweep.json without one measured none
        (("--metric", "info.t"), "--metric info.t:sum vs none recorded"),
        (("--stochastic",), "--stochastic on vs off recorded"),
        (("--config", "COPY"), "--config COPY vs CONFIG recorded"),
    ],
)  # fmt: skip
def test_a_sweep_with_another_setting_is_refused_naming_it_and_out_is_unchanged(
    swept, tmp_path, more, named
):
    """Each setting a checkpoint's result depends on is part of the sweep's identity: exit 5
    naming the option with the value given and the one recorded; OUT as it was."""
    copy = tmp_path / "dqn.toml"  # the same network, but another --config than the sweep's
    shutil.copyfile(DQN_V2_CONFIG, copy)
    more = tuple(str(copy) if m == "COPY" else m for m in more)
    named = named.replace("COPY", str(copy)).replace("CONFIG", DQN_V2_CONFIG)
    before = snapshot(swept.out)
    result = invoke(*sweep_args(swept.run, swept.out, *more))
    assert result.exit_code == 5, result.output
    assert f"--out {swept.out}: holds another sweep ({named})" in result.stderr
    assert snapshot(swept.out) == before


def test_a_sweep_of_another_run_is_refused_and_out_is_unchanged(swept):
    before = snapshot(swept.out)
    result = invoke(*sweep_args(swept.other, swept.out))
    assert result.exit_code == 5, result.output
    assert f"RUN {swept.other.resolve()} vs {swept.run.resolve()} recorded" in result.stderr
    assert snapshot(swept.out) == before


def test_the_same_sweep_again_resumes_and_evaluates_nothing(swept):
    result = invoke(*sweep_args(swept.run, swept.out, "--json"))
    assert result.exit_code == 0, result.output
    again = json.loads(result.stdout)
    assert [(e["step"], e["reused"]) for e in again["checkpoints"]] == [
        (10, True),
        (20, True),
        (30, True),
    ]


def test_overwrite_replaces_the_other_sweep_but_never_a_users_file(swept, tmp_path):
    out = tmp_path / "sweep"
    shutil.copytree(swept.out, out, symlinks=True)
    mine = out / layout.TENSORBOARD_DIR / "mine.txt"
    mine.write_text("the user's")
    other = ("--seed", "5", "--last", "1", "--confirm-episodes", "0", "--overwrite")
    refused = invoke(*sweep_args(swept.run, out, *other))
    assert refused.exit_code == 5 and "mine.txt" in refused.stderr, refused.output
    assert mine.read_text() == "the user's"
    mine.unlink()
    result = invoke(*sweep_args(swept.run, out, *other, "--json"))
    assert result.exit_code == 0, result.output
    document = json.loads((out / layout.SWEEP_JSON).read_text())
    assert document["settings"]["identity"]["seed"] == 5
    assert [(e["step"], e["reused"]) for e in document["checkpoints"]] == [(30, False)]
    assert not (out / layout.BEST_DIR).exists()  # the old sweep's best/ went with it
