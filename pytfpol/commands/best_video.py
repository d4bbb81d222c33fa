"""`pytfpol sweep --video-best`: a video of the best checkpoint's median episode.

The episode is picked by return from the best checkpoint's fresh-seed confirmation (or its sweep
episodes with `--confirm-episodes 0`), with replay's rule (the lower median; ties: the lowest
index). It is run again, alone, on the worker that already holds the checkpoint (seed S+K, as
every episode K), its trajectory collected; `running.video.record_episode` then re-runs it in a
rendering env of its own. The re-run must give the recorded return: a difference is a warning
(the env or policy is not reproducible), as for eval's videos.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from pytfpol.commands.episode_selection import select_episode
from pytfpol.errors import RunError
from pytfpol.running import video
from pytfpol.running.trajectories import TrajectoryCollector


def file_name(step, index: int, video_format: str) -> str:
    return f"best-step-{step}-episode-{index}.{video_format}"


def record_median_episode(
    episodes: list[dict],
    step,
    run_episode: Callable,
    env_spec,
    directory: Path,
    video_format: str,
) -> tuple[dict, list[str]]:
    """Record the median of `episodes` (eval's episode dicts) into `directory`. `run_episode(
    index, observer)` runs episode `index` of the best checkpoint with the observer and returns
    the UnitResult. Returns the video's description (for sweep.json) and warnings."""
    record = select_episode(
        {"episodes": episodes, "output": {"stats": "the best checkpoint"}}, "median"
    )
    index = record["index"]
    collected: list = []
    result = run_episode(index, TrajectoryCollector(collected.append, {index}.__contains__))
    if result.error is not None:
        raise result.error
    if len(collected) != 1:
        raise RunError(f"--video-best: episode {index} was not collected", "report this as a bug")
    trajectory = collected[0]
    notes = []
    if trajectory.return_ != record["return"]:
        notes.append(
            f"--video-best: episode {index} (seed {record['seed']}) returned "
            f"{trajectory.return_:g} when run again, {record['return']:g} before: the env or the "
            "policy is not reproducible from the seed"
        )
    directory.mkdir(exist_ok=True)
    path = directory / file_name(step, index, video_format)
    made = video.record_episode(env_spec, trajectory, path, video_format)
    if made.diverged is not None:
        notes.append(
            f"--video-best: the video of episode {index} is not that episode exactly: "
            f"{made.diverged}"
        )
    described = {
        "step": step,
        "index": index,
        "seed": record["seed"],
        "return": record["return"],
        "frames": made.frames,
        "file": path.name,
    }
    return described, notes
