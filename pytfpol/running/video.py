"""Episode videos: a finished episode rendered again in an env of its own, to MP4 or GIF.

The evaluation's environments never render. When a recorded episode ends, `record_episode` makes
one more env of the same id, kwargs and step limit with `render_mode="rgb_array"`, resets it with
the episode's seed and steps it with the actions the policy took, rendering the reset frame and
one frame per step (length + 1 frames). Each step's reward, flags and observation are compared
with the evaluated episode's: a difference means the env is not reproducible from its seed and
actions, and is reported (the video then shows the re-run, not the evaluated episode).

MP4 goes through imageio and imageio-ffmpeg (a static ffmpeg inside its wheel; H.264, yuv420p).
H.264 works on 16x16 macro blocks and imageio would resize other frame sizes: frames are padded
with black on the right and at the bottom to multiples of 16 instead, never scaled. GIF goes
through Pillow and needs no ffmpeg (its encoder merges identical consecutive frames).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from pytfpol.errors import OutputError, PytfpolError, RunError, UsageError, first_line
from pytfpol.running.env_spec import EnvSpec
from pytfpol.running.stepper import action_rows, stack_rows
from pytfpol.running.trajectories import Trajectory, flat, nest_like

FORMATS = ("mp4", "gif")
RENDER_MODE = "rgb_array"
MACRO_BLOCK = 16
DEFAULT_FPS = 30


@dataclass(frozen=True)
class VideoResult:
    path: Path
    frames: int
    diverged: Optional[str] = None  # how the re-run differed from the evaluated episode


def render_spec(spec: EnvSpec) -> EnvSpec:
    """`spec` with `render_mode="rgb_array"`; refused when --env-kwargs sets another mode."""
    mode = spec.kwargs.get("render_mode", RENDER_MODE)
    if mode != RENDER_MODE:
        raise UsageError(
            f"--video: --env-kwargs sets render_mode={mode!r}; videos need {RENDER_MODE!r}",
            "drop render_mode from --env-kwargs (pytfpol sets it for the recording env only)",
        )
    return dataclasses.replace(spec, kwargs={**spec.kwargs, "render_mode": RENDER_MODE})


def check_can_render(spec: EnvSpec, metadata: dict, seed: int, video_format: str) -> None:
    """Before any episode: the encoder is there, and `spec`'s env (whose `metadata` is given:
    it must list rgb_array among its render modes) renders RGB frames: made, reset with `seed`
    and rendered once. UsageError (exit 2) naming the env otherwise."""
    _check_encoder(video_format)
    modes = list((metadata or {}).get("render_modes") or [])
    if RENDER_MODE not in modes:
        raise UsageError(
            f"--video: {spec.env_id} cannot render frames: its render modes are "
            f"{modes or 'none'}, not {RENDER_MODE!r}",
            "record videos of an env that supports render_mode='rgb_array', or drop --video",
        )
    render = render_spec(spec)
    try:
        env = render.make()
    except PytfpolError as exc:
        raise UsageError(
            f"--video: {spec.env_id} cannot be made with render_mode={RENDER_MODE!r} "
            f"({exc.message})",
            "record videos of an env that supports render_mode='rgb_array', or drop --video",
        ) from exc
    try:
        try:
            env.reset(seed=seed)
            frame = env.render()
        except Exception as exc:  # noqa: BLE001 - renderers raise anything
            raise UsageError(
                f"--video: {spec.env_id} failed to render ({first_line(exc)})",
                "install what the env needs to render (pygame for classic control and Box2D; "
                "for MuJoCo without a display set MUJOCO_GL=egl or osmesa), or drop --video",
            ) from exc
        rgb_frame(frame, spec.env_id)
    finally:
        _close_quietly(env)


def rgb_frame(frame: Any, env_id: str) -> np.ndarray:
    """A rendered frame as H x W x 3 uint8 (an alpha channel dropped, grey expanded)."""
    array = np.asarray(frame) if frame is not None else None
    if array is not None and array.dtype == np.uint8:
        if array.ndim == 2:
            return np.repeat(array[:, :, None], 3, axis=2)
        if array.ndim == 3 and array.shape[2] in (3, 4) and min(array.shape[:2]) > 0:
            return array[:, :, :3]
    what = "nothing" if array is None else f"an array {array.dtype}{list(array.shape)}"
    raise UsageError(
        f"--video: {env_id}'s render() returned {what}, not an RGB image (H x W x 3 uint8)",
        "record videos of an env whose rgb_array rendering returns images, or drop --video",
    )


def pad_frame(frame: np.ndarray) -> np.ndarray:
    """Black on the right and at the bottom up to multiples of 16: H.264 without resizing."""
    height, width = frame.shape[:2]
    pad_h, pad_w = -height % MACRO_BLOCK, -width % MACRO_BLOCK
    if not pad_h and not pad_w:
        return frame
    return np.pad(frame, ((0, pad_h), (0, pad_w), (0, 0)))


def record_episode(
    spec: EnvSpec, trajectory: Trajectory, path: Path, video_format: str
) -> VideoResult:
    """Re-run `trajectory`'s episode in a rendering env and write its frames to `path`."""
    env = render_spec(spec).make()
    path = Path(path)
    writer = None
    try:
        fps = float(env.metadata.get("render_fps") or DEFAULT_FPS)
        writer = _open_writer(path, video_format, fps)
        stack = stack_rows(env.observation_space)
        actions = action_rows(env.action_space)(
            nest_like(env.action_space, trajectory.actions, "actions"), None
        )
        observation, _ = _call(env.reset, trajectory, "reset", seed=trajectory.seed)
        diverged = _observation_differs(stack, observation, trajectory, 0)
        _append(writer, env, spec, path, video_format)
        frames = 1
        for t, action in enumerate(actions):
            observation, reward, terminated, truncated, _ = _call(
                env.step, trajectory, "step", action
            )
            _append(writer, env, spec, path, video_format)
            frames += 1
            if diverged is None:
                diverged = _step_differs(trajectory, t, reward, terminated, truncated)
                diverged = diverged or _observation_differs(stack, observation, trajectory, t + 1)
            if (terminated or truncated) and t + 1 < len(actions):
                diverged = diverged or f"the re-run ended at step {t + 1} of {len(actions)}"
                break
        _close_writer(writer, path, video_format)
        writer = None
        return VideoResult(path, frames, diverged)
    except BaseException:
        if writer is not None:
            try:
                writer.close()
            except Exception:  # noqa: BLE001 - the original error matters
                pass
        _remove_quietly(path)
        raise
    finally:
        _close_quietly(env)


def _call(method, trajectory: Trajectory, name: str, *args, **kwargs):
    try:
        return method(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - environments raise anything
        raise RunError(
            f"episode {trajectory.index} (seed {trajectory.seed}): recording its video, the "
            f"rendering env raised in {name}() ({first_line(exc)})",
            "check the environment; or drop --video",
        ) from exc


def _step_differs(trajectory: Trajectory, t: int, reward, terminated, truncated) -> Optional[str]:
    evaluated = (
        float(trajectory.rewards[t]),
        bool(trajectory.terminated[t]),
        bool(trajectory.truncated[t]),
    )
    again = (float(reward), bool(terminated), bool(truncated))
    if again == evaluated:
        return None
    return (
        f"step {t + 1}: reward/terminated/truncated {again} in the re-run, {evaluated} when "
        "evaluated"
    )


def _observation_differs(stack, observation, trajectory: Trajectory, t: int) -> Optional[str]:
    for name, leaf in flat(stack([observation]), "observations"):
        if not np.array_equal(leaf[0], trajectory.observations[name][t]):
            where = "the reset observation" if t == 0 else f"step {t}: the observation"
            return f"{where} ({name}) differs from the evaluated one"
    return None


def _check_encoder(video_format: str) -> None:
    if video_format not in FORMATS:
        raise UsageError(
            f"--video-format {video_format!r}: unknown", f"choose one of {', '.join(FORMATS)}"
        )
    try:
        import imageio  # noqa: F401

        if video_format == "mp4":
            import imageio_ffmpeg

            imageio_ffmpeg.get_ffmpeg_exe()
        else:
            import PIL  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - ImportError, or no ffmpeg binary (RuntimeError)
        raise UsageError(
            f"--video-format {video_format}: cannot write videos ({first_line(exc)})",
            "install pytfpol's dependencies imageio and imageio-ffmpeg (its wheel carries "
            "ffmpeg); or --video-format gif, which needs no ffmpeg",
        ) from exc


def _open_writer(path: Path, video_format: str, fps: float):
    import imageio

    try:
        if video_format == "mp4":
            return imageio.get_writer(
                path,
                format="FFMPEG",
                mode="I",
                fps=fps,
                codec="libx264",
                pixelformat="yuv420p",
                macro_block_size=MACRO_BLOCK,
                ffmpeg_log_level="error",
            )
        # GIF delays are in hundredths of a second; browsers slow down anything under 20 ms.
        duration = max(20, int(round(100 / fps)) * 10)
        return imageio.get_writer(path, format="GIF", mode="I", duration=duration, loop=0)
    except OSError as exc:
        raise _output_error(path, exc) from exc


def _append(writer, env, spec: EnvSpec, path: Path, video_format: str) -> None:
    try:
        frame = env.render()
    except Exception as exc:  # noqa: BLE001 - renderers raise anything
        raise RunError(
            f"--video: {spec.env_id} failed to render ({first_line(exc)})",
            "check the env's rendering dependencies, or drop --video",
        ) from exc
    image = rgb_frame(frame, spec.env_id)
    try:
        writer.append_data(pad_frame(image) if video_format == "mp4" else image)
    except OSError as exc:
        raise _output_error(path, exc) from exc


def _close_writer(writer, path: Path, video_format: str) -> None:
    try:
        writer.close()
    except OSError as exc:
        raise _output_error(path, exc) from exc
    if video_format == "mp4" and not mp4_is_complete(path):
        raise OutputError(
            f"{path}: ffmpeg left the video incomplete: no space left on device, or a "
            "file-size limit?",
            "check free space and permissions of the output directory",
            path=path,
        )


def mp4_is_complete(path: Path) -> bool:
    """Whether the MP4 at `path` is whole: boxes end to end up to the end of the file, among
    them the `moov` box ffmpeg writes last. Why: imageio-ffmpeg never looks at ffmpeg's exit
    status, so a write that failed in ffmpeg (a full disk, a file-size limit) leaves a truncated
    file and no error."""
    try:
        with open(path, "rb") as handle:
            size, offset, kinds = os.fstat(handle.fileno()).st_size, 0, set()
            while offset + 8 <= size:
                handle.seek(offset)
                header = handle.read(16)
                box_size, kind = int.from_bytes(header[:4], "big"), header[4:8]
                if box_size == 1 and len(header) == 16:  # a 64-bit size follows the type
                    box_size = int.from_bytes(header[8:16], "big")
                elif box_size == 0:  # the box runs to the end of the file
                    box_size = size - offset
                if box_size < 8:
                    return False
                kinds.add(kind)
                offset += box_size
    except OSError:
        return False
    return offset == size and b"moov" in kinds


def _output_error(path: Path, exc: OSError) -> OutputError:
    return OutputError(
        f"{path}: could not write the video ({first_line(exc)})",
        "check free space and permissions of the output directory",
        path=path,
    )


def _remove_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _close_quietly(env) -> None:
    try:
        env.close()
    except Exception:  # noqa: BLE001 - closing must not hide the outcome
        pass
