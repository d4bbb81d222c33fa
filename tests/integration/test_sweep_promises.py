"""Promises of `pytfpol sweep` that once broke unnoticed (issue 23): `--select` picks by its
statistic, a tie goes to the earliest step, and the journal key holds everything a checkpoint's
result depends on (and nothing else). Real sweeps of the example Learner run and of the DQN v2
Checkpointer run (tests/helpers/artifacts_checkpointer.py), one episode where one is enough.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from pytfpol.cli import main
from tests.helpers.repo import REPO

LEARNER_RUN = REPO / "examples" / "cartpole-dqn-run"
DQN_V2_CONFIG = REPO / "configs" / "tf-agents-dqn-v2-cartpole.toml"


def sweep(*args: str) -> dict:
    result = CliRunner().invoke(main, ["sweep", *args, "--json", "-q"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def best_by(entries: list, statistic: str) -> int:
    """The step of the highest `statistic`, the earliest on a tie (the documented rule)."""
    return max(entries, key=lambda e: (e["summary"][statistic], -e["step"]))["step"]


# ------------------------------------------------------------------------------ --select


def test_select_picks_the_best_checkpoint_by_its_statistic(tmp_path):
    """Six episodes of steps 0..14336: the highest mean return (step 2048) is not the highest
    minimum return (step 4096). The second sweep reuses the first's journal."""
    out = str(tmp_path / "sweep")
    common = (str(LEARNER_RUN), "--env", "CartPole-v1", "--steps", ":14336", "--episodes", "6")
    by_mean = sweep(*common, "--confirm-episodes", "0", "--out", out)
    by_min = sweep(*common, "--confirm-episodes", "0", "--out", out, "--select", "min_return")
    assert all(e["reused"] for e in by_min["checkpoints"])
    entries = by_mean["checkpoints"]
    assert best_by(entries, "mean_return") != best_by(entries, "min_return")  # else proves nothing
    for document, statistic in ((by_mean, "mean_return"), (by_min, "min_return")):
        best = document["best"]
        assert (best["statistic"], best["step"]) == (statistic, best_by(entries, statistic))
        assert best["value"] == max(e["summary"][statistic] for e in entries)
        assert document["runs"][0]["best"]["step"] == best["step"]


def test_equal_scores_pick_the_earliest_step(tmp_path):
    """Five steps of CartPole cannot drop the pole: every checkpoint scores 5, and the best is
    the earliest, step 0 (not the last one listed, nor the newest)."""
    document = sweep(
        str(LEARNER_RUN), "--env", "CartPole-v1", "--max-episode-steps", "5", "--episodes", "2",
        "--steps", ":8192", "--confirm-episodes", "1", "--out", str(tmp_path / "sweep"),
    )  # fmt: skip
    entries = document["checkpoints"]
    assert {e["summary"]["mean_return"] for e in entries} == {5.0} and len(entries) == 5
    assert document["best"]["step"] == 0 == document["runs"][0]["best"]["step"]
    confirmed = json.loads((tmp_path / "sweep" / "best" / "stats.json").read_text())
    assert confirmed["policy"]["train_step"] == 0


# ------------------------------------------------------------------------- the journal key


@pytest.fixture()
def checkpointer_run(artifacts, tmp_path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(artifacts / "checkpointer" / "dqn_v2_run", copy)
    return copy / "train" / "policy"


def keys(document: dict) -> list:
    return [e["key"] for e in document["checkpoints"]]


def test_the_journal_key_changes_with_everything_the_result_depends_on(checkpointer_run, tmp_path):
    """Each setting changed alone, from one baseline: a new key, so no entry is reused. Every
    field the key holds is covered: the checkpoint's bytes, the config, the env, its kwargs and
    step limit, the episodes, the seed, sampling, --allow-partial, --success-threshold."""
    edited_config = tmp_path / "config.toml"
    edited_config.write_text(DQN_V2_CONFIG.read_text() + "\n# the same network, other text\n")

    def run(name: str, *more: str) -> dict:
        return sweep(
            str(checkpointer_run), "--env", "CartPole-v1", "--config", str(DQN_V2_CONFIG),
            "--last", "1", "--episodes", "1", "--confirm-episodes", "0",
            "--out", str(tmp_path / name), *more,
        )  # fmt: skip

    baseline = keys(run("baseline"))
    variations = {
        "seed": ("--seed", "1"),
        "episodes": ("--episodes", "2"),
        "env": ("--env", "CartPole-v0"),
        "env kwargs": ("--env-kwargs", "sutton_barto_reward=true"),
        "max episode steps": ("--max-episode-steps", "50"),
        "stochastic": ("--stochastic",),
        "allow partial": ("--allow-partial",),
        "success threshold": ("--success-threshold", "10"),
        "config": ("--config", str(edited_config)),
    }
    same = [name for name, more in variations.items() if keys(run(name, *more)) == baseline]
    assert same == [], f"the journal key ignores: {same}"
    # The checkpoint's bytes: the three checkpoints, with the same settings, three keys.
    every = keys(run("all", "--last", "3"))
    assert len(set(every)) == 3 and every[-1] == baseline[0]
    # And a changed key is a new evaluation in the same OUT (another sweep: --overwrite).
    again = run("baseline", "--seed", "1", "--overwrite")
    assert [e["reused"] for e in again["checkpoints"]] == [False]


def test_the_journal_key_changes_with_the_savedmodel(tmp_path):
    """A Learner run: the SavedModel that runs its checkpoints is in the key by its content.
    saved_model.pb edited in place (its recorded TensorFlow git version, a string the graph
    does not use) with the same size and its time stamps restored: a new key, so the entry
    evaluated with the old graph is not reused."""
    run = tmp_path / "run"
    shutil.copytree(LEARNER_RUN, run)

    def key(name: str, *more: str) -> str:
        document = sweep(
            str(run), "--env", "CartPole-v1", "--last", "1", "--episodes", "1",
            "--confirm-episodes", "0", "--out", str(tmp_path / name), *more,
        )  # fmt: skip
        (entry,) = document["checkpoints"]
        return entry["key"]

    baseline = key("baseline")
    pb = run / "policies" / "greedy_policy" / "saved_model.pb"  # what --policy greedy runs
    info, content = pb.stat(), pb.read_bytes()
    version = b"\x17v2.15.0-11-g63f5a65c7cd"  # MetaInfoDef.tensorflow_git_version, 23 bytes
    assert content.count(version) == 1
    pb.write_bytes(content.replace(version, version[:-1] + b"e"))
    os.utime(pb, ns=(info.st_atime_ns, info.st_mtime_ns))
    after = pb.stat()
    assert (after.st_size, after.st_mtime_ns) == (info.st_size, info.st_mtime_ns)
    assert key("edited") != baseline


def test_saved_model_pb_is_hashed_once_per_savedmodel_per_sweep(tmp_path):
    """The key's digest of saved_model.pb is read once per SavedModel and kept for the sweep
    (every checkpoint of a Learner run shares it); another SavedModel, or the next sweep (a new
    cache), reads its own. Proved by changing the file between the calls."""
    from pytfpol.commands.sweep.journal_key import saved_model_digest

    first, second = tmp_path / "a", tmp_path / "b"
    for directory, text in ((first, b"graph a"), (second, b"graph b")):
        directory.mkdir()
        (directory / "saved_model.pb").write_bytes(text)
    cache: dict = {}
    digest = saved_model_digest(cache, str(first))
    (first / "saved_model.pb").write_bytes(b"graph c")
    assert saved_model_digest(cache, str(first)) == digest  # not read again in this sweep
    assert saved_model_digest(cache, str(second)) not in (None, digest)
    assert saved_model_digest({}, str(first)) != digest  # the next sweep reads it again
    assert saved_model_digest(cache, None) is None  # a checkpoint without a SavedModel


def test_the_journal_key_ignores_what_the_result_does_not_depend_on(checkpointer_run, tmp_path):
    """How the episodes run (envs side by side, processes), what is reported and how, which
    checkpoint is chosen as best: the same key, the entry reused in the same OUT."""
    out = str(tmp_path / "sweep")
    common = (str(checkpointer_run), "--env", "CartPole-v1", "--config", str(DQN_V2_CONFIG),
              "--last", "1", "--episodes", "3", "--out", out)  # fmt: skip
    first = sweep(*common, "--confirm-episodes", "0")
    again = sweep(
        *common, "--confirm-episodes", "1", "--num-envs", "2", "--vector", "async",
        "--select", "min_return", "--tensorboard", str(tmp_path / "board"),
    )  # fmt: skip
    assert keys(again) == keys(first)
    assert [e["reused"] for e in again["checkpoints"]] == [True]
    assert again["checkpoints"][0]["episodes"] == first["checkpoints"][0]["episodes"]
