"""Unit tests for stats.py, results/files.py, output_set.py and settings.py: pure Python/numpy, no TensorFlow."""

from __future__ import annotations

import dataclasses
import errno
import json
import math
import os
import stat
import types
from pathlib import Path

import pytest

from pytfpol.errors import EXIT_OUTPUT, EXIT_USAGE, OutputError, UsageError
from pytfpol.results import documents, files, output_set
from pytfpol.settings import MAX_SEED, EvalSettings, parse_env_kwargs
from pytfpol.stats import SUMMARY_KEYS, summarize


def _names(directory: Path) -> list[str]:
    return sorted(p.name for p in Path(directory).iterdir())


# ---------------------------------------------------------------------------------------------
# stats.summarize


def test_summarize_exact_values_population_std():
    """Mean, population std (ddof=0), min, max, median, mean length and total steps."""
    summary = summarize([1.0, 2.0, 3.0, 4.0], [10, 20, 30, 41])
    assert summary == {
        "episodes": 4,
        "mean_return": 2.5,
        "std_return": math.sqrt(1.25),
        "sem_return": pytest.approx(math.sqrt(5 / 3) / 2, rel=1e-15),  # ddof=1 std / sqrt(n)
        "min_return": 1.0,
        "p5_return": pytest.approx(1.15),  # linear interpolation between order statistics
        "p25_return": 1.75,
        "median_return": 2.5,
        "p75_return": 3.25,
        "p95_return": pytest.approx(3.85),
        "max_return": 4.0,
        "iqm_return": 2.5,  # the mean of the middle two
        "mean_return_ci_low": None,  # fewer than 5 episodes: no interval
        "mean_return_ci_high": None,
        "iqm_return_ci_low": None,
        "iqm_return_ci_high": None,
        "mean_length": 25.25,
        "total_steps": 101,
        "successes": None,  # no success flags given
        "success_rate": None,
        "success_rate_ci_low": None,
        "success_rate_ci_high": None,
    }
    # ddof=1 would give sqrt(5/3) = 1.29...
    assert summary["std_return"] == pytest.approx(1.118033988749895, abs=0)


def test_summarize_returns_plain_python_types():
    """Values are plain float/int (JSON-ready), never numpy scalars."""
    summary = summarize([0.5, -1.5, 7.0], [3, 4, 5])
    for key in ("mean_return", "std_return", "min_return", "max_return", "median_return"):
        assert type(summary[key]) is float, key
    assert type(summary["mean_length"]) is float
    assert type(summary["episodes"]) is int
    assert type(summary["total_steps"]) is int
    assert summary["median_return"] == 0.5
    assert summary["min_return"] == -1.5


def test_summarize_single_episode_has_zero_std():
    """One episode: std 0.0, median = mean = that return."""
    summary = summarize([500.0], [500])
    assert summary["std_return"] == 0.0
    assert summary["median_return"] == summary["mean_return"] == 500.0
    assert summary["total_steps"] == 500


def test_summarize_even_count_median_is_midpoint():
    """The median of an even number of returns is the mean of the middle two."""
    assert summarize([9.0, 1.0, 3.0, 100.0], [1, 1, 1, 1])["median_return"] == 6.0


def test_summarize_empty_input():
    """No episodes: counts are 0 and every statistic is None (not NaN)."""
    summary = summarize([], [])
    assert summary["episodes"] == 0 and summary["total_steps"] == 0
    assert set(summary) == set(SUMMARY_KEYS)
    assert all(v is None for k, v in summary.items() if k not in ("episodes", "total_steps"))


# ---------------------------------------------------------------------------------------------
# files.write_atomic


def test_write_atomic_writes_bytes_and_leaves_no_temp_file(tmp_path):
    """The target holds exactly the data; nothing else is left in the directory."""
    target = tmp_path / "stats.json"
    files.write_atomic(target, b'{"a": 1}\n')
    assert target.read_bytes() == b'{"a": 1}\n'
    assert _names(tmp_path) == ["stats.json"]


def test_write_atomic_replaces_by_rename_not_in_place(tmp_path):
    """An existing file is replaced by a new inode: a reader of the old file sees old data."""
    target = tmp_path / "episodes.csv"
    target.write_bytes(b"old contents\n")
    old_inode = target.stat().st_ino
    with open(target, "rb") as reader:
        files.write_atomic(target, b"new\n")
        assert reader.read() == b"old contents\n"
    assert target.read_bytes() == b"new\n"
    assert target.stat().st_ino != old_inode
    assert _names(tmp_path) == ["episodes.csv"]


def test_write_atomic_new_file_mode_follows_umask(tmp_path):
    """A written report is readable like any other new file (0o666 & ~umask), not 0o600."""
    old = os.umask(0o022)
    try:
        files.write_atomic(tmp_path / "stats.json", b"{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "stats.json").stat().st_mode) == 0o644


def test_write_atomic_target_is_directory_raises_output_error(tmp_path):
    """Renaming onto a directory fails: OutputError (exit 5), the directory intact, no temp."""
    target = tmp_path / "stats.json"
    target.mkdir()
    (target / "keep").write_text("x")
    with pytest.raises(OutputError) as info:
        files.write_atomic(target, b"data")
    assert info.value.exit_code == EXIT_OUTPUT == 5
    assert str(target) in info.value.message
    assert "\n" not in info.value.message
    assert info.value.hint
    assert target.is_dir() and _names(target) == ["keep"]
    assert _names(tmp_path) == ["stats.json"]


def test_write_atomic_failed_replace_keeps_previous_file(tmp_path, monkeypatch):
    """When the rename fails (disk full...), the previous file is intact and no temp remains."""
    target = tmp_path / "stats.json"
    target.write_bytes(b"previous")

    def no_space(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "replace", no_space)
    with pytest.raises(OutputError) as info:
        files.write_atomic(target, b"replacement")
    assert info.value.exit_code == 5
    assert "No space left on device" in info.value.message
    assert info.value.path == str(target)
    assert target.read_bytes() == b"previous"
    assert _names(tmp_path) == ["stats.json"]


def test_write_atomic_failed_fsync_keeps_previous_file(tmp_path, monkeypatch):
    """A failure while writing the temporary file is an OutputError; nothing is half-written."""
    target = tmp_path / "stats.json"
    target.write_bytes(b"previous")

    def broken_fsync(fd):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(files.os, "fsync", broken_fsync)
    with pytest.raises(OutputError):
        files.write_atomic(target, b"replacement")
    assert target.read_bytes() == b"previous"
    assert _names(tmp_path) == ["stats.json"]


def test_write_atomic_interrupt_removes_temp_and_reraises(tmp_path, monkeypatch):
    """Ctrl-C mid-write propagates as KeyboardInterrupt; the old file stays, no temp remains."""
    target = tmp_path / "stats.json"
    target.write_bytes(b"previous")

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(files.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        files.write_atomic(target, b"replacement")
    assert target.read_bytes() == b"previous"
    assert _names(tmp_path) == ["stats.json"]


def test_write_atomic_missing_parent_raises_output_error(tmp_path):
    """A missing output directory is an OutputError, not a bare OSError, and creates nothing."""
    target = tmp_path / "gone" / "stats.json"
    with pytest.raises(OutputError) as info:
        files.write_atomic(target, b"data")
    assert info.value.exit_code == 5
    assert str(target) in info.value.message
    assert _names(tmp_path) == []


# ---------------------------------------------------------------------------------------------
# output_set.claim_output_dir


IDENTITY = {"policy": "/p/policy", "policy_name": None, "env": "CartPole-v1"}


def _claim(out, inputs=(), identity=IDENTITY, overwrite=False):
    return output_set.claim_output_dir(out, inputs=inputs, identity=identity, overwrite=overwrite)


def _write_stats(out, path="/p/policy", env="CartPole-v1"):
    out.mkdir(parents=True, exist_ok=True)
    (out / "stats.json").write_text(
        json.dumps({"policy": {"resolved_path": path, "policy": None}, "env": {"id": env}})
    )


def test_claim_creates_missing_dirs_and_records_them(tmp_path):
    """Missing parents are created and listed (innermost first); no probe file is left."""
    out = tmp_path / "a" / "b" / "run"
    claim = _claim(out, inputs=[tmp_path / "policy"])
    assert claim.out == out and out.is_dir()
    assert claim.created == [out, tmp_path / "a" / "b", tmp_path / "a"]
    assert claim.previous_report is None
    assert _names(out) == []


def test_release_unused_removes_what_the_claim_created(tmp_path):
    """A run that failed before writing leaves no directory behind (its lock aside)."""
    out = tmp_path / "a" / "run"
    claim = _claim(out)
    (out / ".pytfpol.lock").write_text("")
    output_set.release_unused(claim)
    assert not (tmp_path / "a").exists()


def test_release_unused_keeps_a_directory_with_outputs(tmp_path):
    out = tmp_path / "run"
    claim = _claim(out)
    (out / "stats.json").write_text("{}")
    output_set.release_unused(claim)
    assert (out / "stats.json").exists()


def test_claim_accepts_an_empty_existing_dir_and_our_own_names(tmp_path):
    out = tmp_path / "run"
    (out / "checkpoint").mkdir(parents=True)
    (out / ".pending-x").mkdir()
    claim = _claim(out)
    assert claim.created == []


def test_claim_refuses_foreign_files_unless_overwrite(tmp_path):
    """A directory holding files pytfpol did not write is refused (exit 5), naming them;
    --overwrite writes beside them and leaves them alone."""
    out = tmp_path / "run"
    out.mkdir()
    (out / "old.txt").write_text("x")
    with pytest.raises(OutputError) as info:
        _claim(out)
    assert info.value.exit_code == 5
    assert "old.txt" in info.value.message and "--overwrite" in info.value.hint
    _claim(out, overwrite=True)
    assert (out / "old.txt").read_text() == "x"


def test_claim_returns_the_report_of_the_same_policy_and_env(tmp_path):
    out = tmp_path / "run"
    _write_stats(out)
    assert _claim(out).previous_report["env"]["id"] == "CartPole-v1"


@pytest.mark.parametrize("path, env", [("/p/other", "CartPole-v1"), ("/p/policy", "Acrobot-v1")])
def test_claim_refuses_another_policys_results_unless_overwrite(tmp_path, path, env):
    out = tmp_path / "run"
    _write_stats(out, path, env)
    with pytest.raises(OutputError) as info:
        _claim(out)
    assert info.value.exit_code == 5
    assert f"{path} on {env}" in info.value.message
    assert _claim(out, overwrite=True).previous_report is None


def test_claim_refuses_an_unreadable_stats_json(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "stats.json").write_text("{not json")
    with pytest.raises(OutputError) as info:
        _claim(out)
    assert "unreadable stats.json" in info.value.message


@pytest.mark.parametrize("relative", ["policy", "policy/eval", "policy/variables/../eval"])
def test_claim_refuses_out_inside_input(tmp_path, relative):
    """--out equal to or inside an input directory is refused before anything is created."""
    policy = tmp_path / "policy"
    (policy / "variables").mkdir(parents=True)
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    out = tmp_path / relative
    with pytest.raises(OutputError) as info:
        _claim(out, inputs=[str(tmp_path / "elsewhere"), str(policy)])
    assert info.value.exit_code == 5
    assert str(out) in info.value.message
    assert info.value.hint
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before


def test_claim_refuses_out_above_input(tmp_path):
    """--out that contains the input would put outputs around it: refused, nothing created."""
    policy = tmp_path / "runs" / "policy"
    policy.mkdir(parents=True)
    with pytest.raises(OutputError) as info:
        _claim(tmp_path / "runs", inputs=[policy])
    assert "is above the input" in info.value.message
    assert _names(tmp_path / "runs") == ["policy"]


def test_claim_refuses_out_inside_input_via_symlink(tmp_path):
    """A symlink that leads into the input counts as inside it."""
    policy = tmp_path / "policy"
    policy.mkdir()
    (tmp_path / "link").symlink_to(policy)
    with pytest.raises(OutputError):
        _claim(tmp_path / "link" / "eval", inputs=[policy])
    assert _names(policy) == []


def test_claim_allows_sibling_with_common_prefix(tmp_path):
    """`policy2` is not inside `policy`: containment is by path parts, not string prefix."""
    (tmp_path / "policy").mkdir()
    _claim(tmp_path / "policy2", inputs=[tmp_path / "policy"])
    assert (tmp_path / "policy2").is_dir()


def test_claim_refuses_a_file(tmp_path):
    """--out naming an existing file is an OutputError and the file is untouched."""
    out = tmp_path / "report"
    out.write_text("not a dir")
    with pytest.raises(OutputError) as info:
        _claim(out)
    assert info.value.exit_code == 5
    assert str(out) in info.value.message
    assert out.read_text() == "not a dir"


def test_claim_under_a_file_raises_output_error(tmp_path):
    """A parent that is a file makes --out uncreatable: OutputError, not a bare OSError."""
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError) as info:
        _claim(tmp_path / "file" / "run")
    assert info.value.exit_code == 5


# ---------------------------------------------------------------------------------------------
# storage: report files


EPISODES = [
    {
        "index": 0,
        "seed": 7,
        "return": 1.5,
        "length": 3,
        "terminated": True,
        "truncated": False,
        "success": True,
    },
    {
        "index": 1,
        "seed": 8,
        "return": 0.1,
        "length": 500,
        "terminated": False,
        "truncated": True,
        "success": False,
    },
    {"index": 2, "seed": 9, "return": None, "length": 10, "terminated": False, "truncated": False},
    {"index": 3, "seed": 10, "return": -2.0, "length": 1, "terminated": True, "truncated": False},
]


def test_episodes_csv_exact_text():
    """Header, one row per episode, floats by repr, booleans lower-case, None or missing empty,
    LF."""
    assert files.episodes_csv(EPISODES) == (
        "index,seed,return,length,terminated,truncated,success\n"
        "0,7,1.5,3,true,false,true\n"
        "1,8,0.1,500,false,true,false\n"
        "2,9,,10,false,false,\n"
        "3,10,-2.0,1,true,false,\n"
    )


def test_episodes_csv_no_episodes_is_header_only():
    """An empty run still has a header line."""
    assert files.episodes_csv([]) == "index,seed,return,length,terminated,truncated,success\n"


def test_episodes_csv_floats_round_trip():
    """Returns are written with full precision (repr), so they read back identical."""
    value = 0.1 + 0.2
    row = dict(EPISODES[0], **{"return": value})
    line = files.episodes_csv([row]).splitlines()[1]
    assert float(line.split(",")[2]) == value


def test_write_report_writes_both_files(tmp_path):
    """episodes.csv and stats.json are written, complete, with no temp files left."""
    report = {"summary": summarize([1.5, 0.1], [3, 500]), "episodes": EPISODES}
    documents.write_eval_report(tmp_path, report)
    assert _names(tmp_path) == ["episodes.csv", "stats.json"]
    assert json.loads((tmp_path / "stats.json").read_text()) == report
    assert (tmp_path / "episodes.csv").read_text() == files.episodes_csv(EPISODES)


def test_write_report_failure_leaves_no_stats_json(tmp_path):
    """episodes.csv is written first: if it fails, no stats.json claims a complete run."""
    (tmp_path / "episodes.csv").mkdir()
    report = {"summary": summarize([1.5], [3]), "episodes": EPISODES[:1]}
    with pytest.raises(OutputError):
        documents.write_eval_report(tmp_path, report)
    assert _names(tmp_path) == ["episodes.csv"]


def test_report_json_refuses_nan():
    """stats.json is strict JSON: NaN is never written."""
    with pytest.raises(ValueError):
        files.report_json({"mean": float("nan")})


# ---------------------------------------------------------------------------------------------
# files.default_run_dir


@pytest.fixture
def fixed_clock(monkeypatch):
    monkeypatch.setattr(
        files, "time", types.SimpleNamespace(strftime=lambda fmt: "20240102-030405")
    )


def test_default_run_dir_name(tmp_path, fixed_clock):
    """<time>-<policy dir name>-<env id>, under base, one level deep even for ALE/… ids."""
    policy = tmp_path / "cartpole-dqn"
    run = files.default_run_dir("ALE/Pong-v5", str(policy), base=tmp_path / "runs")
    assert run == tmp_path / "runs" / "20240102-030405-cartpole-dqn-ALE_Pong-v5"
    assert not run.exists()


def test_default_run_dir_never_returns_an_existing_path(tmp_path, fixed_clock):
    """Existing directories (or files) with the same name are skipped with -2, -3, ..."""
    base = tmp_path / "runs"
    first = files.default_run_dir("CartPole-v1", "p", base=base)
    first.mkdir(parents=True)
    second = files.default_run_dir("CartPole-v1", "p", base=base)
    assert second == first.with_name(first.name + "-2")
    second.write_text("a file also counts")
    third = files.default_run_dir("CartPole-v1", "p", base=base)
    assert third == first.with_name(first.name + "-3")
    assert not third.exists()
    assert len({first, second, third}) == 3


def test_default_run_dir_creates_nothing(tmp_path, fixed_clock):
    """Choosing a name has no side effect."""
    files.default_run_dir("CartPole-v1", "policy", base=tmp_path / "runs")
    assert _names(tmp_path) == []


# ---------------------------------------------------------------------------------------------
# config.parse_env_kwargs


def test_parse_env_kwargs_json_object():
    """One JSON object gives its keys with JSON types."""
    assert parse_env_kwargs(['{"g": 9.81, "render_mode": null, "sizes": [1, 2]}']) == {
        "g": 9.81,
        "render_mode": None,
        "sizes": [1, 2],
    }


def test_parse_env_kwargs_key_value_pairs_are_json_typed():
    """key=value values are JSON when they parse as JSON, strings otherwise."""
    assert parse_env_kwargs(
        ["g=9.81", "n=3", "flag=true", "off=false", "x=null", "mode=rgb_array"]
    ) == {
        "g": 9.81,
        "n": 3,
        "flag": True,
        "off": False,
        "x": None,
        "mode": "rgb_array",
    }


def test_parse_env_kwargs_comma_separated_pairs_and_spaces():
    """Pairs may be comma-separated in one argument; whitespace around parts is ignored."""
    assert parse_env_kwargs([" g = 9.81 , map_name=8x8,", "slippery=false"]) == {
        "g": 9.81,
        "map_name": "8x8",
        "slippery": False,
    }


def test_parse_env_kwargs_later_values_win_and_value_may_contain_equals():
    """Repeated keys: the last one wins; only the first '=' splits key from value."""
    assert parse_env_kwargs(["a=1", '{"a": 2}', "expr=x=y"]) == {"a": 2, "expr": "x=y"}


def test_parse_env_kwargs_nothing():
    """No arguments (or empty ones) give no kwargs."""
    assert parse_env_kwargs([]) == {}
    assert parse_env_kwargs([""]) == {}


@pytest.mark.parametrize(
    "text",
    [
        "{bad json",  # invalid JSON object
        '{"g": 9.81,}',  # trailing comma
        "[1, 2]",  # JSON, but not an object
        "3",  # JSON, but not an object
        '"g=1"',  # a JSON string
        "=value",  # no key
        "g",  # no '='
        "not a key=1",  # not an identifier
    ],
)
def test_parse_env_kwargs_bad_input_is_usage_error(text):
    """Anything that is not a JSON object or key=value pairs: UsageError (exit 2) with a hint."""
    with pytest.raises(UsageError) as info:
        parse_env_kwargs([text])
    assert info.value.exit_code == EXIT_USAGE == 2
    assert "--env-kwargs" in info.value.message
    assert "\n" not in info.value.message
    assert info.value.hint


# ---------------------------------------------------------------------------------------------
# config.EvalSettings


def _settings(**kwargs):
    return EvalSettings("policy", "CartPole-v1", **kwargs)


def test_eval_settings_defaults_and_frozen():
    """Defaults: 10 episodes, seed 0, no --policy (a Learner root's greedy_policy, chosen when the
    input is known); settings cannot be changed after checking."""
    settings = _settings()
    assert (settings.episodes, settings.seed, settings.policy) == (10, 0, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.episodes = 0


@pytest.mark.parametrize(
    "kwargs, option",
    [
        ({"episodes": 0}, "--episodes"),
        ({"episodes": -3}, "--episodes"),
        ({"episodes": True}, "--episodes"),
        ({"episodes": 2.0}, "--episodes"),
        ({"episodes": "5"}, "--episodes"),
        ({"seed": -1}, "--seed"),
        ({"seed": False}, "--seed"),
        ({"seed": 1.5}, "--seed"),
        ({"max_episode_steps": 0}, "--max-episode-steps"),
        ({"max_episode_steps": True}, "--max-episode-steps"),
        ({"num_envs": 0}, "--num-envs"),
        ({"num_envs": True}, "--num-envs"),
    ],
)
def test_eval_settings_rejects_bad_numbers(kwargs, option):
    """Non-integers, bools and out-of-range values: UsageError (exit 2) naming the option."""
    with pytest.raises(UsageError) as info:
        _settings(**kwargs)
    assert info.value.exit_code == 2
    assert info.value.message.startswith(option + " ")
    assert info.value.hint


def test_eval_settings_seed_overflow():
    """Episode seeds seed..seed+episodes-1 must fit in uint32 (what Gymnasium seeds take)."""
    assert MAX_SEED == 2**32 - 1
    assert _settings(seed=MAX_SEED, episodes=1).seed == MAX_SEED
    assert _settings(seed=MAX_SEED - 9, episodes=10).episodes == 10
    for seed, episodes in [(MAX_SEED, 2), (MAX_SEED - 9, 11), (2**32, 1), (2**64, 1)]:
        with pytest.raises(UsageError) as info:
            _settings(seed=seed, episodes=episodes)
        assert info.value.exit_code == 2
        assert "--seed" in info.value.message


def test_eval_settings_empty_env_is_usage_error():
    """An empty --env is a usage error."""
    with pytest.raises(UsageError) as info:
        EvalSettings("policy", "")
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    "episodes, num_envs, expected",
    [
        (1, None, 1),
        (3, None, 3),
        (20, None, 20),
        (100, None, 64),
        (20, 4, 4),
        (5, 16, 5),
        (7, 1, 1),
    ],
)
def test_eval_settings_num_envs_used(episodes, num_envs, expected):
    """batch_size = min(num_envs or 64, episodes) (sync; see config.default_num_envs)."""
    assert _settings(episodes=episodes, num_envs=num_envs).num_envs_used == expected


def test_env_kwargs_pairs_keep_commas_inside_values():
    from pytfpol.settings import parse_env_kwargs

    assert parse_env_kwargs(["sizes=[1,2],g=9.8"]) == {"sizes": [1, 2], "g": 9.8}
    assert parse_env_kwargs(["a=1, b=x"]) == {"a": 1, "b": "x"}
