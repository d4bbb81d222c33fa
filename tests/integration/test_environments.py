"""Issue 24, environments: --env FILE.json, --wrapper and the tf-agents-atari preset, Atari,
the env recorded whole in the report (replay, compare, --env of that JSON), TF-Agents
PyEnvironments, and runs whose episodes are all the same.

Real parts only: ALE games (ale-py), TF-Agents' own Atari wrappers on gym 0.23's API
(tests/tf_agents_atari.py), TF-Agents' suite_gym, real SavedModels.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pytfpol.cli import main
from tests.helpers.repo import REPO, write_artifacts

BREAKOUT = "BreakoutNoFrameskip-v4"
CARTPOLE_RUN = REPO / "examples" / "cartpole-dqn-run" / "policies"
EARLY = CARTPOLE_RUN / "checkpoints" / "policy_checkpoint_0000004096"  # returns vary by seed
FINAL = CARTPOLE_RUN / "checkpoints" / "policy_checkpoint_0000015360"  # 500 on every seed
STEP_LIMIT = "200"  # agent steps: the random Atari policy never fires, the game never ends


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def evaluate(*args) -> dict:
    result = invoke("eval", *args, "--json", "-q")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def outcomes(report: dict) -> list[tuple]:
    return [(e["seed"], e["return"], e["length"], e["terminated"]) for e in report["episodes"]]


@pytest.fixture(scope="module")
def atari_policy(tmp_path_factory) -> Path:
    """A random-weight DQN policy on (84, 84, 4) uint8 frames (tests/helpers/artifacts_atari.py)."""
    return write_artifacts(tmp_path_factory, "artifacts_atari.py") / "breakout_dqn_sm"


@pytest.fixture(scope="module")
def preset_run(atari_policy, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("preset") / "run"
    return evaluate(atari_policy, "--env", BREAKOUT, "--wrapper", "tf-agents-atari",
                    "--max-episode-steps", STEP_LIMIT, "--episodes", "3", "--video", "1",
                    "--out", out)  # fmt: skip


# ------------------------------------------------------------------------------------------
# The preset is TF-Agents' suite_atari, step by step


def _play(ours, theirs, actions: list[int], steps: int, seeds: list[int]) -> list[tuple]:
    """Step pytfpol's env and TF-Agents' PyEnvironment with the same actions, asserting equal
    observations at every step; returns each finished episode's (our, their) returns."""
    returns, ours_sum, theirs_sum = [], 0.0, 0.0
    seed = iter(seeds)

    def reset():
        s = next(seed)
        theirs.seed(s)
        their_step = theirs.reset()
        observation, _ = ours.reset(seed=s)
        np.testing.assert_array_equal(observation, their_step.observation)

    reset()
    for i in range(steps):
        action = actions[i % len(actions)]
        their_step = theirs.step(np.int64(action))
        observation, reward, terminated, truncated, _ = ours.step(action)
        assert observation.shape == (84, 84, 4) and observation.dtype == np.uint8
        np.testing.assert_array_equal(observation, their_step.observation, err_msg=f"step {i}")
        assert reward == float(their_step.reward)
        assert bool(their_step.is_last()) == (terminated or truncated), f"step {i}"
        ours_sum, theirs_sum = ours_sum + reward, theirs_sum + float(their_step.reward)
        if terminated or truncated:
            assert terminated == (float(their_step.discount) == 0.0)
            returns.append((ours_sum, theirs_sum))
            ours_sum = theirs_sum = 0.0
            reset()
    return returns


@pytest.mark.parametrize("limit, steps, ended", [(None, 470, 3), (60, 130, 2)])
def test_tf_agents_atari_preset_is_suite_atari_with_frame_stack(limit, steps, ended):
    """A real Breakout, a fixed action sequence: pytfpol's preset and TF-Agents' own
    AtariPreprocessing + FrameStack4 (+ AtariTimeLimit) give the same (84, 84, 4) uint8
    observation at every step, the same rewards, ends and per-episode returns."""
    from pytfpol.running.env_spec import resolve_env
    from tests.helpers import tf_agents_atari

    theirs = tf_agents_atari.load(BREAKOUT, max_episode_steps=limit)
    ours = resolve_env(BREAKOUT, {}, limit, ("tf-agents-atari",)).make()
    try:
        returns = _play(ours, theirs, [1, 0, 2, 2, 3, 3, 0, 1, 2, 3, 3, 2], steps, [5, 6, 7, 8])
    finally:
        ours.close()
        theirs.close()
    assert len(returns) == ended
    assert all(mine == their for mine, their in returns)


def test_sticky_action_ids_play_other_episodes_for_other_seeds():
    """ALE/<Game>-v5 (sticky actions 0.25) with the preset: the same actions, other seeds,
    other frames; the hint given for identical episodes holds."""
    from pytfpol.running.env_spec import resolve_env

    spec = resolve_env("ALE/Breakout-v5", {"frameskip": 1}, None, ("tf-agents-atari",))
    streams = []
    for seed in (0, 1):
        env = spec.make()
        try:
            frames = [env.reset(seed=seed)[0]]
            frames += [env.step([1, 2, 3][i % 3])[0] for i in range(60)]
        finally:
            env.close()
        streams.append(np.stack(frames))
    assert streams[0].shape == (61, 84, 84, 4)
    assert not np.array_equal(streams[0], streams[1])


def test_gymnasium_defaults_are_not_the_preset():
    """Gymnasium's AtariPreprocessing + FrameStackObservation with their defaults stack
    channels first and start with up to 30 noops: not what TF-Agents-trained policies saw."""
    import gymnasium as gym

    from pytfpol.running.env_spec import register_known_providers

    register_known_providers(BREAKOUT)
    env = gym.wrappers.FrameStackObservation(gym.wrappers.AtariPreprocessing(gym.make(BREAKOUT)), 4)
    try:
        assert env.observation_space.shape == (4, 84, 84)
        assert env.env.noop_max == 30
    finally:
        env.close()


# ------------------------------------------------------------------------------------------
# Atari policies: the preset, the refusal without it, identical episodes


def test_atari_policy_runs_on_breakout_with_the_preset_and_says_episodes_are_identical(
    preset_run,
):
    """NoFrameskip-v4 has no sticky actions and the preset no noop starts: every seed plays
    the same episode. The report says so and gives no interval (one sample, not three)."""
    report = preset_run
    assert report["complete"] and [e["length"] for e in report["episodes"]] == [200] * 3
    assert report["statistics"]["identical_episodes"] is True
    summary = report["summary"]
    assert summary["mean_return_ci_low"] is None and summary["iqm_return_ci_high"] is None
    assert summary["sem_return"] is None
    assert any("all 3 episodes are identical" in w and "ALE/<Game>-v5" in w
               for w in report["warnings"])  # fmt: skip
    assert report["env"]["wrappers"] == ["tf-agents-atari"]
    video = report["output"]["videos"][0]
    assert video["frames"] == 201  # the game's own frames: the reset and 200 agent steps
    wrappers = [w["name"] for w in report["env"]["spec"]["additional_wrappers"]]
    assert wrappers == [
        "AtariPreprocessing",
        "FrameStackObservation",
        "ChannelsLast",
        "RecordedTimeLimit",
    ]


def test_the_table_says_identical_episodes_are_one_sample(preset_run):
    from pytfpol.cli import tables
    from pytfpol.results.documents import EvalReport

    rows = dict(tables._eval_rows(EvalReport.from_dict(preset_run)))  # a view of the type
    assert "ALL IDENTICAL, one sample" in rows["episodes"]
    assert rows["mean return 95% CI"] == "- (all episodes identical: one sample)"


def test_a_gate_on_an_interval_of_identical_episodes_fails_saying_why():
    from pytfpol.results.report import finish_report
    from pytfpol.running.units import EpisodeRecord
    from pytfpol.settings import EvalSettings

    settings = EvalSettings("policy", BREAKOUT, episodes=6, gates=("mean_return_ci_low>=0",))
    same = [EpisodeRecord(i, i, 2.0, 200, False, True, fingerprint=7) for i in range(6)]
    report = finish_report({"warnings": []}, settings, same, None, 0.0, 1.0)
    (gate,) = report["gates"]
    assert not gate["passed"] and gate["value"] is None
    assert (
        gate["reason"] == "mean_return_ci_low has no value: all episodes are identical (one sample)"
    )


def test_different_episodes_of_equal_returns_are_not_called_identical(tmp_path):
    """A CartPole policy that reaches 500 on every seed: equal returns and lengths, different
    episodes (other first observations): intervals as usual."""
    report = evaluate(CARTPOLE_RUN, "--checkpoint", FINAL, "--env", "CartPole-v1",
                      "--episodes", "5", "--out", tmp_path / "run")  # fmt: skip
    assert {e["return"] for e in report["episodes"]} == {500.0}
    assert report["statistics"]["identical_episodes"] is False
    assert report["summary"]["mean_return_ci_low"] == 500.0
    assert not any("identical" in w for w in report["warnings"])


def test_an_atari_policy_on_raw_frames_is_refused_with_the_preset_hint(atari_policy, tmp_path):
    out = tmp_path / "run"
    result = invoke("eval", atari_policy, "--env", BREAKOUT, "--episodes", "2", "--out", out)
    assert result.exit_code == 3, result.stderr
    assert "shape (210, 160, 3) (env) vs (84, 84, 4) (policy)" in result.stderr
    assert "hint: " in result.stderr and "--wrapper tf-agents-atari" in result.stderr
    assert not out.exists()  # refused before any episode: nothing written


def test_pyenvironment_of_suite_atari_gives_the_presets_episodes(
    atari_policy, preset_run, tmp_path
):
    """TF-Agents' suite_atari PyEnvironment (`--env module:function`) and the preset: the same
    episodes through the same loop."""
    report = evaluate(atari_policy, "--env", "tests.helpers.tf_agents_atari:load", "--env-kwargs",
                      f"max_episode_steps={STEP_LIMIT}", "--episodes", "3",
                      "--out", tmp_path / "run")  # fmt: skip
    assert outcomes(report) == outcomes(preset_run)
    assert (
        report["env"]["id"] == "tests.helpers.tf_agents_atari:load"
        and report["env"]["spec"] is None
    )


# ------------------------------------------------------------------------------------------
# The env recorded whole: --env FILE.json, replay, compare


def test_env_spec_json_rebuilds_the_recorded_env(atari_policy, preset_run, tmp_path):
    spec_file = tmp_path / "breakout.json"
    spec_file.write_text(json.dumps(preset_run["env"]["spec"]))
    report = evaluate(atari_policy, "--env", spec_file, "--episodes", "3",
                      "--out", tmp_path / "run")  # fmt: skip
    assert report["env"]["spec"] == preset_run["env"]["spec"]
    assert report["env"]["requested_id"] == str(spec_file)
    assert outcomes(report) == outcomes(preset_run)


def test_replay_rebuilds_the_wrapped_env_from_the_report(preset_run, tmp_path):
    result = invoke("replay", preset_run["output"]["dir"], "--episode", "1", "--json")
    assert result.exit_code == 0, result.stderr
    replayed = json.loads(result.stdout)
    assert replayed["identical"] and replayed["replayed"]["length"] == 200


def test_wrappers_by_name_apply_in_order_and_are_recorded(tmp_path):
    report = evaluate(CARTPOLE_RUN, "--checkpoint", EARLY, "--env", "CartPole-v1",
                      "--wrapper", "ClipReward:min_reward=0,max_reward=0.5",
                      "--wrapper", "TimeLimit:max_episode_steps=7",
                      "--episodes", "2", "--out", tmp_path / "run")  # fmt: skip
    assert [(e["return"], e["length"]) for e in report["episodes"]] == [(3.5, 7), (3.5, 7)]
    wrappers = report["env"]["spec"]["additional_wrappers"]
    assert [(w["name"], w["kwargs"]) for w in wrappers] == [
        ("ClipReward", {"min_reward": 0, "max_reward": 0.5}),
        ("RecordedTimeLimit", {"max_episode_steps": 7}),
    ]


def test_a_wrapper_with_a_lambda_cannot_be_recorded_and_says_so():
    import gymnasium as gym

    from pytfpol.running.env_spec import EnvSpec, record_env

    env = gym.wrappers.TransformReward(gym.make("CartPole-v1"), lambda r: 2 * r)
    try:
        recorded, why_not = record_env(env, EnvSpec("CartPole-v1"))
    finally:
        env.close()
    assert recorded is None
    assert why_not.startswith("the env cannot be recorded as a Gymnasium EnvSpec")
    assert "replay, compare and --env FILE.json cannot rebuild it" in why_not


def test_an_unknown_wrapper_is_a_usage_error_with_suggestions(tmp_path):
    result = invoke("eval", CARTPOLE_RUN, "--env", "CartPole-v1", "--wrapper", "ClipRewards",
                    "--out", tmp_path / "run")  # fmt: skip
    assert result.exit_code == 2
    assert "--wrapper 'ClipRewards'" in result.stderr and "ClipReward" in result.stderr


@pytest.fixture(scope="module")
def early_runs(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("early")
    plain = evaluate(CARTPOLE_RUN, "--checkpoint", EARLY, "--env", "CartPole-v1",
                     "--episodes", "6", "--out", root / "plain")  # fmt: skip
    clipped = evaluate(CARTPOLE_RUN, "--checkpoint", EARLY, "--env", "CartPole-v1",
                       "--wrapper", "ClipReward:max_reward=0.5",
                       "--episodes", "6", "--out", root / "clipped")  # fmt: skip
    return {"plain": plain, "clipped": clipped}


def test_compare_refuses_runs_whose_env_specs_differ(early_runs):
    """Same id, episodes and seeds; one env wraps its rewards: not comparable (exit 2)."""
    plain, clipped = early_runs["plain"], early_runs["clipped"]
    assert plain["env"]["id"] == clipped["env"]["id"] == "CartPole-v1"
    result = invoke("compare", plain["output"]["dir"], clipped["output"]["dir"])
    assert result.exit_code == 2, result.stderr
    assert "env specs of baseline and candidate differ in additional_wrappers" in result.stderr
    same = invoke("compare", plain["output"]["dir"], plain["output"]["dir"])
    assert same.exit_code == 0, same.stderr


def test_worker_processes_make_the_wrapped_env(early_runs, tmp_path):
    """--vector async: each worker process makes the env from the pickled spec, wrappers and
    all: the same episodes as in this process."""
    report = evaluate(CARTPOLE_RUN, "--checkpoint", EARLY, "--env", "CartPole-v1",
                      "--wrapper", "ClipReward:max_reward=0.5", "--vector", "async",
                      "--num-envs", "3", "--episodes", "6", "--out", tmp_path / "run")  # fmt: skip
    assert outcomes(report) == outcomes(early_runs["clipped"])
    assert report["env"]["spec"] == early_runs["clipped"]["env"]["spec"]


def test_compare_takes_wrapper_only_with_env(early_runs):
    plain = early_runs["plain"]["output"]["dir"]
    result = invoke("compare", plain, plain, "--wrapper", "ClipReward:max_reward=0.5")
    assert result.exit_code == 2 and "--wrapper: only with --env" in result.stderr


def test_a_resumed_sweep_with_other_wrappers_evaluates_again(tmp_path):
    """The journal keys results by the whole env spec: the same id with a wrapper more is
    another env, evaluated again, not taken from the journal."""
    out = tmp_path / "sweep"

    def sweep(*extra) -> dict:
        result = invoke("sweep", CARTPOLE_RUN.parent, "--env", "CartPole-v1", "--last", "1",
                        "--episodes", "2", "--confirm-episodes", "0", "--out", out, "--json",
                        "-q", *extra)  # fmt: skip
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    plain = sweep()
    again = sweep()
    clipped = sweep("--wrapper", "ClipReward:max_reward=0.5", "--overwrite")  # another sweep
    assert [e["reused"] for e in (plain, again, clipped) for e in e["checkpoints"]] == [
        False,
        True,
        False,
    ]
    assert clipped["env"]["spec"]["additional_wrappers"][0]["name"] == "ClipReward"
    for entry in clipped["checkpoints"][0]["episodes"]:
        assert entry["return"] <= 0.5 * 500


# ------------------------------------------------------------------------------------------
# No code from data: an env spec file names only Gymnasium's, registered or pytfpol's code


@pytest.mark.parametrize("allow_code", [False, True], ids=["refused", "--allow-code"])
@pytest.mark.parametrize("where", ["env", "wrapper"])
def test_env_spec_file_naming_other_code_is_refused_without_importing_it(
    where, allow_code, tmp_path, monkeypatch
):
    marker = tmp_path / "imported"
    (tmp_path / "planted_module.py").write_text(
        f"open({str(marker)!r}, 'w').close()\nclass Planted: pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = json.loads(
        '{"id": "CartPole-v1", "entry_point": "gymnasium.envs.classic_control.cartpole:'
        'CartPoleEnv", "reward_threshold": 475.0, "nondeterministic": false, '
        '"max_episode_steps": 500, "order_enforce": true, "disable_env_checker": false, '
        '"kwargs": {}, "additional_wrappers": [], "vector_entry_point": null}'
    )
    if where == "env":
        spec["entry_point"] = "planted_module:Planted"
    else:
        spec["additional_wrappers"] = [
            {"name": "Planted", "entry_point": "planted_module:Planted", "kwargs": {}}
        ]
    spec_file = tmp_path / "planted.json"
    spec_file.write_text(json.dumps(spec))
    extra = ["--allow-code"] if allow_code else []
    result = invoke("eval", CARTPOLE_RUN, "--env", spec_file, "--out", tmp_path / "run", *extra)
    if allow_code:  # the opt-in really imports what the file names (it is no env: refused later)
        sys.modules.pop("planted_module", None)
        assert marker.exists(), result.stderr
        return
    assert result.exit_code == 2, result.stderr
    assert str(spec_file) in result.stderr and "'planted_module:Planted'" in result.stderr
    assert "--allow-code" in result.stderr
    assert not marker.exists()


def test_env_spec_file_of_gymnasiums_own_env_is_accepted(tmp_path):
    import gymnasium as gym

    spec_file = tmp_path / "cartpole.json"
    spec_file.write_text(gym.make("CartPole-v1", max_episode_steps=9).spec.to_json())
    report = evaluate(CARTPOLE_RUN, "--checkpoint", EARLY, "--env", spec_file,
                      "--episodes", "2", "--out", tmp_path / "run")  # fmt: skip
    assert [e["length"] for e in report["episodes"]] == [9, 9]


# ------------------------------------------------------------------------------------------
# TF-Agents PyEnvironments


def test_pyenvironment_factory_is_seeded_per_episode(early_runs, tmp_path):
    """TF-Agents' suite_gym CartPole (gym 0.23) seeded with S+i per episode plays Gymnasium's
    CartPole-v1 episodes of the same seeds: the same returns, episode by episode."""
    report = evaluate(CARTPOLE_RUN, "--checkpoint", EARLY, "--env",
                      "tests.helpers.py_env_factories:cartpole", "--episodes", "6", "--num-envs", "2",
                      "--out", tmp_path / "run")  # fmt: skip
    assert len({e["return"] for e in report["episodes"]}) > 1
    assert outcomes(report) == outcomes(early_runs["plain"])


@pytest.mark.parametrize(
    "factory, fragment",
    [
        ("unseedable", "Unseedable cannot be seeded"),
        ("not_an_environment", "returned str, not a TF-Agents PyEnvironment"),
    ],
)
def test_pyenvironment_that_cannot_be_used_is_refused_before_any_episode(
    factory, fragment, tmp_path
):
    out = tmp_path / "run"
    result = invoke("eval", CARTPOLE_RUN, "--env", f"tests.helpers.py_env_factories:{factory}",
                    "--out", out)  # fmt: skip
    assert result.exit_code == 3, result.stderr
    assert fragment in result.stderr and "hint: " in result.stderr
    assert not out.exists()


def test_native_vectors_refuse_wrapped_envs(tmp_path):
    result = invoke("eval", CARTPOLE_RUN, "--env", "CartPole-v1", "--vector", "native",
                    "--wrapper", "ClipReward:max_reward=0.5", "--out", tmp_path / "run")  # fmt: skip
    assert result.exit_code == 2, result.stderr
    assert "--vector native" in result.stderr


def test_atari_is_installed_with_its_roms():
    """pytfpol[atari] (ale-py ships the ROMs): a real game is made and stepped."""
    import gymnasium as gym

    from pytfpol.running.env_spec import register_known_providers

    register_known_providers("ALE/Pong-v5")
    env = gym.make("ALE/Pong-v5", frameskip=1)
    try:
        observation, _ = env.reset(seed=0)
        assert observation.shape == (210, 160, 3)
        env.step(0)
    finally:
        env.close()
