"""See the policy act: episode videos, exact replay by seed, trajectories, a Minari dataset.

Videos are read back with imageio, trajectories with numpy, the dataset with `minari.load_dataset`;
replay runs through the CLI as a user runs it. Real TF-Agents policies (tests/helpers/artifacts.py), real
Gymnasium envs; the non-deterministic env of tests/helpers/countdown_env.py for mismatch detection.
"""

from __future__ import annotations

import json
import re
import shutil

import gymnasium as gym
import imageio
import numpy as np
import pytest

from pytfpol import api
from pytfpol.commands import replay
from pytfpol.errors import OutputError, UsageError
from pytfpol.running.trajectories import read_npz
from pytfpol.running.video import pad_frame
from pytfpol.settings import EvalSettings, video_episodes
from tests.helpers import countdown_env
from tests.helpers.repo import REPO, run_cli


def read_frames(path) -> list[np.ndarray]:
    """Every frame of a video file (an ffmpeg reader's len() is inf: iterate it)."""
    with imageio.get_reader(path, format="FFMPEG") as reader:
        return [frame for frame in reader]


def returns_of(report: dict) -> list[tuple]:
    return [(e["index"], e["seed"], e["return"], e["length"]) for e in report["episodes"]]


def test_video_frames_are_length_plus_one_padded_and_change_no_result(artifacts, tmp_path):
    """A CartPole episode's MP4 has length+1 frames (reset + one per step), 600x400 padded to
    608x400 (black, not resized), and every per-episode result equals a run without --video.
    A later run without --video or --save-trajectories takes videos/ and trajectories/ away
    with the rest of the output set."""
    out = tmp_path / "out"
    common = dict(policy_path=str(artifacts / "cartpole_sm"), env_id="CartPole-v1", episodes=5)
    recorded = api.evaluate(
        EvalSettings(**common, num_envs=4, out=str(out), video=(1, 3), save_trajectories=True)
    )
    assert [v["index"] for v in recorded["output"]["videos"]] == [1, 3]
    assert recorded["warnings"] == []  # the re-run in the recording env matched every step
    for video in recorded["output"]["videos"]:
        episode = recorded["episodes"][video["index"]]
        assert video["path"] == str(out / "videos" / f"episode-{video['index']}.mp4")
        frames = read_frames(video["path"])
        assert len(frames) == episode["length"] + 1 == video["frames"]
        assert frames[0].shape == (400, 608, 3)  # 600 padded to a multiple of 16
        assert max(int(f[:, 600:].max()) for f in frames) <= 8  # the padding is black
    env = gym.make("CartPole-v1", render_mode="rgb_array")
    env.reset(seed=recorded["episodes"][1]["seed"])
    first = read_frames(out / "videos" / "episode-1.mp4")[0]
    difference = np.abs(first[:, :600].astype(int) - env.render().astype(int))
    assert difference.mean() < 2  # the same picture, not scaled (H.264 is lossy)
    env.close()

    for episode in recorded["episodes"]:
        trajectory = read_npz(out / "trajectories" / f"episode-{episode['index']}.npz")
        assert (trajectory.index, trajectory.seed) == (episode["index"], episode["seed"])
        assert np.cumsum(trajectory.rewards)[-1] == episode["return"]
        assert trajectory.observations["observations"].shape == (episode["length"] + 1, 4)
        assert trajectory.actions["actions"].shape == (episode["length"],)
        assert trajectory.terminated[-1] == episode["terminated"]
        assert not trajectory.terminated[:-1].any()
    assert recorded["output"]["trajectories"] == str(out / "trajectories")

    plain = api.evaluate(EvalSettings(**common, num_envs=2, out=str(out)))
    assert returns_of(plain) == returns_of(recorded)
    assert not (out / "videos").exists() and not (out / "trajectories").exists()
    assert plain["output"]["videos"] == [] and plain["output"]["trajectories"] is None


@pytest.mark.fast
def test_gif_needs_no_ffmpeg(artifacts, tmp_path):
    report = api.evaluate(
        EvalSettings(
            str(artifacts / "cartpole_sm"),
            "CartPole-v1",
            episodes=1,
            max_episode_steps=6,
            out=str(tmp_path / "out"),
            video=(0,),
            video_format="gif",
        )
    )
    path = report["output"]["videos"][0]["path"]
    assert path.endswith("videos/episode-0.gif")
    with open(path, "rb") as handle:
        assert handle.read(6) == b"GIF89a"
    assert report["output"]["videos"][0]["frames"] == report["episodes"][0]["length"] + 1
    frames = imageio.mimread(path)
    assert frames[0].shape[:2] == (400, 600)  # GIF frames are not padded
    assert 2 <= len(frames) <= report["episodes"][0]["length"] + 1  # identical frames merged


def test_an_env_that_cannot_render_is_refused_before_any_episode(artifacts, tmp_path):
    out = tmp_path / "out"
    result = run_cli(
        "eval", str(artifacts / "countdown_sm"), "--env", countdown_env.CLI_ENV_ID,
        "--episodes", "3", "--video", "1", "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert (
        f"error: --video: {countdown_env.CLI_ENV_ID} cannot render frames: its render modes "
        "are none, not 'rgb_array'" in result.stderr
    )
    assert not out.exists()  # refused before the output directory was claimed


def test_video_options_are_checked():
    assert video_episodes(3, None, 10) == (0, 1, 2)
    assert video_episodes(None, "7, 3", 10) == (7, 3)
    assert video_episodes(None, None, 10) == ()
    with pytest.raises(UsageError, match="give one of them"):
        video_episodes(2, "3", 10)
    with pytest.raises(UsageError, match="--video 11: there are only 10 episodes"):
        video_episodes(11, None, 10)
    with pytest.raises(UsageError, match="'x' is not an episode index"):
        video_episodes(None, "1,x", 10)
    with pytest.raises(UsageError, match="--video-episodes 10: there are only 10 episodes"):
        EvalSettings("p", "CartPole-v1", episodes=10, video=(10,))
    with pytest.raises(UsageError, match="--video-format 'avi': unknown"):
        EvalSettings("p", "CartPole-v1", video=(0,), video_format="avi")
    assert EvalSettings("p", "CartPole-v1", video=(3, 1, 3)).video == (1, 3)
    assert pad_frame(np.ones((400, 600, 3), np.uint8)).shape == (400, 608, 3)
    assert pad_frame(np.ones((33, 16, 3), np.uint8)).shape == (48, 16, 3)


def test_replay_reproduces_an_episode_of_a_num_envs_8_run(artifacts, tmp_path):
    """Episode K of a 12-episode run on 8 envs in two pipelined groups, run alone from
    stats.json: the same return and length, the same observations, actions and rewards bit for
    bit; its video has length+1 frames."""
    out = tmp_path / "out"
    report = api.evaluate(
        EvalSettings(
            str(artifacts / "cartpole_sm"),
            "CartPole-v1",
            episodes=12,
            seed=100,
            num_envs=8,
            pipeline_groups=2,  # the observer sees each group's rows: mapped back to slots
            out=str(out),
            save_trajectories=True,
        )
    )
    worst = min(report["episodes"], key=lambda e: (e["return"], e["index"]))
    video, trajectory = tmp_path / "worst.mp4", tmp_path / "worst.npz"
    result = run_cli(
        "replay", str(out), "--episode", "worst", "--video", str(video),
        "--trajectory", str(trajectory), "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    replayed = json.loads(result.stdout)
    assert replayed["episode"] == worst["index"] and replayed["seed"] == 100 + worst["index"]
    assert replayed["identical"] is True
    assert (
        replayed["replayed"]
        == replayed["recorded"]
        == {k: worst[k] for k in ("return", "length", "terminated", "truncated")}
    )
    assert replayed["video"] == str(video) and replayed["trajectory"] == str(trajectory)
    assert len(read_frames(video)) == worst["length"] + 1
    again = np.load(trajectory)
    evaluated = np.load(out / "trajectories" / f"episode-{worst['index']}.npz")
    assert sorted(again.files) == sorted(evaluated.files)
    for name in evaluated.files:
        assert np.array_equal(again[name], evaluated[name]), name


def test_replay_of_a_sampling_policy_records_its_distribution_per_step(artifacts, tmp_path):
    """A PPO collect policy samples (per episode, keyed by the episode's seed): replaying episode
    2 of a 4-env run draws the same actions; its info (the distribution's loc and scale, the
    value prediction) is in the trajectory, and its rewards add up to the recorded return."""
    out = tmp_path / "out"
    report = api.evaluate(
        EvalSettings(
            str(artifacts / "pendulum_ppo_collect_sm"),
            "Pendulum-v1",
            episodes=4,
            num_envs=4,
            pipeline_groups=2,
            max_episode_steps=15,
            out=str(out),
            save_trajectories=True,
        )
    )
    assert report["policy"]["stochastic"] is True
    result = replay.replay(out, 2, trajectory=tmp_path / "two.npz")
    assert result.identical and result.stochastic
    assert result.replayed["return"] == report["episodes"][2]["return"]
    again = read_npz(tmp_path / "two.npz")
    evaluated = read_npz(out / "trajectories" / "episode-2.npz")
    assert sorted(again.info) == [
        "info/dist_params/loc",
        "info/dist_params/scale",
        "info/value_prediction",
    ]
    assert again.info["info/dist_params/loc"].shape == (15, 1)
    for name in again.info:
        assert np.array_equal(again.info[name], evaluated.info[name])
    assert np.array_equal(again.actions["actions"], evaluated.actions["actions"])
    assert np.cumsum(again.rewards)[-1] == report["episodes"][2]["return"]
    assert again.index == 2 and again.seed == report["episodes"][2]["seed"]


def test_replay_detects_a_non_deterministic_env(artifacts, tmp_path):
    out = tmp_path / "out"
    report = api.evaluate(
        EvalSettings(
            str(artifacts / "countdown_sm"),
            countdown_env.CLI_ENV_ID.replace(countdown_env.ENV_ID, countdown_env.NOISY_ENV_ID),
            episodes=3,
            num_envs=3,
            out=str(out),
        )
    )
    recorded = report["episodes"][1]
    trajectory = tmp_path / "noisy.npz"
    # The recorded env id is tests.helpers.countdown_env:...: a module stats.json names, imported only
    # when asked (no code from data).
    result = run_cli("replay", str(out), "--episode", "1", "--trajectory", str(trajectory),
                     "--allow-code")  # fmt: skip
    assert result.returncode == 4, result.stderr
    assert "error: episode 1 (seed 1) did not replay: return " in result.stderr
    assert f"now, recorded {recorded['return']!r} in {recorded['length']} steps" in result.stderr
    assert re.search(r"^identical\s+NO$", result.stdout, re.M)  # the table says so too
    assert read_npz(trajectory).index == 1  # written all the same, to look at


LEARNER_RUN = REPO / "examples" / "cartpole-dqn-run"
LEARNER_CHECKPOINT = "policies/checkpoints/policy_checkpoint_0000014336/variables/variables"
DQN_V2_CONFIG = str(REPO / "configs" / "tf-agents-dqn-v2-cartpole.toml")
# kind: (copied from, evaluated settings, the file changed after the evaluation)
CHANGED_FILES = {
    "saved-model": ("countdown_sm", {"env_id": countdown_env.CLI_ENV_ID}, "policy_specs.pbtxt"),
    "checkpointer-data": (
        "checkpointer/dqn_v2_run/train/policy",
        {"env_id": "CartPole-v1", "config": DQN_V2_CONFIG, "step": 20},
        "ckpt-20.data-00000-of-00001",
    ),
    "checkpointer-index": (
        "checkpointer/dqn_v2_run/train/policy",
        {"env_id": "CartPole-v1", "config": DQN_V2_CONFIG, "step": 20},
        "ckpt-20.index",
    ),
    "learner-data": (
        None,
        {"env_id": "CartPole-v1", "step": 14336},
        LEARNER_CHECKPOINT + ".data-00000-of-00001",
    ),
    "learner-index": (
        None,
        {"env_id": "CartPole-v1", "step": 14336},
        LEARNER_CHECKPOINT + ".index",
    ),
}


@pytest.mark.parametrize("kind", list(CHANGED_FILES))
def test_replay_refuses_a_changed_policy_file(artifacts, tmp_path, kind):
    """Any file the evaluation loaded from, edited since: a SavedModel's, a Checkpointer
    checkpoint's or a Learner policy checkpoint's `.data-*` or `.index` (one byte flipped)."""
    copied, settings, name = CHANGED_FILES[kind]
    policy = tmp_path / "policy"
    shutil.copytree(LEARNER_RUN if copied is None else artifacts / copied, policy)
    out = tmp_path / "out"
    api.evaluate(EvalSettings(str(policy), episodes=2, out=str(out), **settings))
    changed = policy / name
    if kind == "saved-model":
        changed.write_text(changed.read_text() + "\n# edited\n")
    else:
        edited = bytearray(changed.read_bytes())
        edited[len(edited) // 2] ^= 0x01
        changed.write_bytes(bytes(edited))
    result = run_cli("replay", str(out), "--episode", "0")
    assert result.returncode == 3, result.stderr
    assert f"error: {changed}: the policy file changed since the evaluation in {out}" in (
        result.stderr
    )
    if kind != "saved-model":
        return
    specs = changed
    (policy / "fingerprint.pb").unlink()
    specs.write_text(specs.read_text().replace("\n# edited\n", ""))
    result = run_cli("replay", str(out), "--episode", "best")
    assert result.returncode == 3, result.stderr
    assert f"error: {policy / 'fingerprint.pb'}: the policy file the evaluation" in result.stderr


def test_episode_selection_by_return():
    report = {
        "output": {"stats": "s"},
        "episodes": [
            {"index": i, "seed": 10 + i, "return": r, "length": 1}
            for i, r in enumerate([5.0, 1.0, 9.0, 1.0, None, 9.0, 4.0])
        ],
    }
    assert replay.select_episode(report, "worst")["index"] == 1  # ties: the lowest index
    assert replay.select_episode(report, "best")["index"] == 2
    assert replay.select_episode(report, "median")["index"] == 6  # 1 1 4 5 9 9: lower median
    assert replay.select_episode(report, "3")["index"] == 3
    with pytest.raises(UsageError, match="has no episode 7 \\(it has 0..6\\)"):
        replay.select_episode(report, 7)
    with pytest.raises(UsageError, match="not an episode index nor one of worst, best, median"):
        replay.select_episode(report, "last")


def test_minari_dataset_loads_back_with_the_same_returns_and_seeds(
    artifacts, tmp_path, monkeypatch
):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    import minari

    name = "pytfpol/cartpole-eval-v0"
    report = api.evaluate(
        EvalSettings(
            str(artifacts / "cartpole_sm"),
            "CartPole-v1",
            episodes=5,
            seed=20,
            num_envs=3,
            out=str(tmp_path / "out"),
            dataset=name,
        )
    )
    assert report["output"]["dataset"] == {
        "id": name,
        "path": str(tmp_path / "minari" / name),
        "episodes": 5,
    }
    assert report["output"]["trajectories"] is None  # staged for the export only
    assert not (tmp_path / "out" / ".dataset-trajectories").exists()
    dataset = minari.load_dataset(name)
    assert dataset.total_episodes == 5
    seeds = [m["seed"] for m in dataset.storage.get_episode_metadata(range(5))]
    assert seeds == [e["seed"] for e in report["episodes"]] == [20, 21, 22, 23, 24]
    for episode, data in zip(report["episodes"], dataset.iterate_episodes()):
        assert data.id == episode["index"]
        assert np.cumsum(data.rewards)[-1] == episode["return"]
        assert len(data.observations) == episode["length"] + 1
        assert bool(data.terminations[-1]) == episode["terminated"]
    assert dataset.recover_environment().spec.id == "CartPole-v1"

    with pytest.raises(OutputError, match=f"--dataset {name}: a Minari dataset with this id"):
        api.evaluate(
            EvalSettings(
                str(artifacts / "cartpole_sm"),
                "CartPole-v1",
                out=str(tmp_path / "again"),
                dataset=name,
            )
        )
    assert not (tmp_path / "again").exists()  # refused before anything was written


def test_nested_spaces_round_trip_through_a_trajectory_file(tmp_path):
    """Dict/Tuple observations and namedtuple policy info are stored as `observations/<key>`,
    `info/<field>` arrays and packed back into the space's structure (for Minari)."""
    from collections import namedtuple

    from gymnasium import spaces

    from pytfpol.running.trajectories import Trajectory, flat, nest_like

    space = spaces.Dict(
        {
            "pos": spaces.Box(-1, 1, (2,)),
            "more": spaces.Tuple((spaces.Discrete(3), spaces.Box(0, 1, (1,)))),
        }
    )
    nest = {"pos": np.zeros((4, 2)), "more": (np.arange(4), np.ones((4, 1)))}
    arrays = dict(flat(nest, "observations"))
    assert sorted(arrays) == ["observations/more/0", "observations/more/1", "observations/pos"]
    packed = nest_like(space, arrays, "observations")
    assert np.array_equal(packed["more"][0], np.arange(4)) and packed["pos"].shape == (4, 2)
    Info = namedtuple("Info", ["log_probability"])
    info = dict(flat(Info(np.full(3, -0.5)), "info"))
    assert list(info) == ["info/log_probability"]
    trajectory = Trajectory(
        index=7,
        seed=107,
        observations=arrays,
        actions={"actions": np.array([0, 1, 2])},
        rewards=np.array([0.1, 0.2, 0.7]),
        terminated=np.array([False, False, True]),
        truncated=np.zeros(3, bool),
        info=info,
    )
    path = tmp_path / "t.npz"
    path.write_bytes(trajectory.to_npz())
    again = read_npz(path)
    assert (again.index, again.seed, again.length) == (7, 107, 3)
    assert again.return_ == 0.1 + 0.2 + 0.7  # in step order, as the loop adds
    assert sorted(again.observations) == sorted(arrays) and list(again.info) == list(info)
    with np.load(path, allow_pickle=False) as data:  # plain arrays: no pickle needed
        assert float(data["return"]) == again.return_
