"""What `pytfpol eval` records besides its statistics: episode videos (`--video`), every episode's
trajectory (`--save-trajectories`) and a Minari dataset of them (`--dataset NAME`).

`check(plan)` runs before the output directory is claimed and before TensorFlow: the env renders
RGB frames and the encoder is there (for --video), Minari is installed and NAME is free (for
--dataset); otherwise exit 2 (or 5) and nothing is written. `Recorder` then observes the
evaluation loop through one `TrajectoryCollector` (only the episodes it needs), writes each
finished trajectory into the run's staging directory and renders each recorded episode's video
there (`running.video`: a dedicated env per recorded episode, so the evaluation's envs never
render and no result changes); `finish` puts the paths, and the Minari dataset, in the report.
Videos and trajectories are part of the output set committed with the report (`output_set`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from pytfpol.errors import OutputError, first_line
from pytfpol.results import files

DATASET_STAGING = ".dataset-trajectories"  # trajectories for --dataset only: not committed


def check(plan) -> None:
    """Refuse what cannot be recorded, before any output or episode (see the module docstring)."""
    settings = plan.settings
    if settings.video:
        from pytfpol.running import video

        first_seed = settings.seed + settings.video[0]
        metadata = getattr(plan.first_env, "metadata", {})
        video.check_can_render(plan.env, metadata, first_seed, settings.video_format)
    if settings.dataset is not None:
        from pytfpol.results import minari_export

        minari_export.check(settings.dataset)


def trajectory_name(index: int) -> str:
    return f"episode-{index}.npz"


def video_name(index: int, video_format: str) -> str:
    return f"episode-{index}.{video_format}"


class Recorder:
    """The loop's observer for one run (`observer` is None when nothing is recorded)."""

    def __init__(self, plan, stage: Path, out: Path, observation_space, action_space) -> None:
        self._plan = plan
        self._settings = settings = plan.settings
        self._out = Path(out)
        self._spaces = (observation_space, action_space)
        self._videos = set(settings.video)
        self._keep_all = settings.save_trajectories or settings.dataset is not None
        self.video_results: list = []
        self.notes: list[str] = []
        self.trajectory_files: dict[int, Path] = {}
        self._trajectory_dir: Optional[Path] = None
        self._video_dir: Optional[Path] = None
        self.observer = None
        if not (self._keep_all or self._videos):
            return
        if self._keep_all:
            name = files.TRAJECTORIES_DIR if settings.save_trajectories else DATASET_STAGING
            self._trajectory_dir = _mkdir(Path(stage) / name)
        if self._videos:
            self._video_dir = _mkdir(Path(stage) / files.VIDEOS_DIR)
        from pytfpol.running.trajectories import TrajectoryCollector

        wanted = None if self._keep_all else self._videos.__contains__
        self.observer = TrajectoryCollector(self._finished, wanted)

    def _finished(self, trajectory) -> None:
        if self._trajectory_dir is not None:
            path = self._trajectory_dir / trajectory_name(trajectory.index)
            try:
                path.write_bytes(trajectory.to_npz())
            except OSError as exc:
                raise OutputError(
                    f"{path}: could not write the trajectory ({first_line(exc)})",
                    "check free space and permissions of the output directory",
                    path=path,
                ) from exc
            self.trajectory_files[trajectory.index] = path
        if trajectory.index in self._videos and self._video_dir is not None:
            from pytfpol.running import video

            name = video_name(trajectory.index, self._settings.video_format)
            result = video.record_episode(
                self._plan.env, trajectory, self._video_dir / name, self._settings.video_format
            )
            self.video_results.append((trajectory, result))
            if result.diverged is not None:
                self.notes.append(
                    f"--video: the video of episode {trajectory.index} (seed {trajectory.seed}) "
                    f"is not that episode exactly: {result.diverged} (the environment is not "
                    "reproducible from its seed and actions)"
                )

    def finish(self, report: dict, error) -> None:
        """The outputs' final paths (and warnings) into `report`; the Minari dataset, for a
        complete run."""
        output = report["output"]
        output["videos"] = [
            {
                "index": trajectory.index,
                "seed": trajectory.seed,
                "path": str(self._out / files.VIDEOS_DIR / result.path.name),
                "frames": result.frames,
            }
            for trajectory, result in sorted(self.video_results, key=lambda r: r[0].index)
        ]
        if self._settings.save_trajectories:
            output["trajectories"] = str(self._out / files.TRAJECTORIES_DIR)
        report["warnings"] = [*report["warnings"], *self.notes]
        dataset = self._settings.dataset
        if dataset is None:
            return
        if error is not None:
            report["warnings"].append(f"--dataset {dataset}: not exported: the run is incomplete")
            return
        output["dataset"] = self._export(dataset, report)

    def _export(self, dataset: str, report: dict) -> dict:
        from pytfpol.results import minari_export

        files = [self.trajectory_files[i] for i in sorted(self.trajectory_files)]
        env = self._plan.env.make()
        try:
            seeds = f"{self._settings.seed}..{self._settings.seed + len(files) - 1}"
            return minari_export.export(
                dataset,
                files,
                *self._spaces,
                env=env,
                description=(
                    f"pytfpol eval of {report['policy']['resolved_path']} on "
                    f"{report['env']['id']}: {len(files)} episodes, reset seeds {seeds}"
                ),
            )
        finally:
            try:
                env.close()
            except Exception:  # noqa: BLE001 - closing must not hide the outcome
                pass


def _mkdir(path: Path) -> Path:
    try:
        path.mkdir(exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"{path}: could not create ({first_line(exc)})",
            "check free space and permissions of the output directory",
            path=path,
        ) from exc
    return path
