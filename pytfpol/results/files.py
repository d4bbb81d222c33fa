"""Files a run writes, one at a time and atomically (complete or absent), and the names it uses.

Every file is written to a temporary name in the same directory, flushed and fsynced, then
renamed into place, so that an interrupted run never leaves a half-written report and an earlier
report stays intact until the new one is complete. Also here: the JSON text of a report and
episodes.csv's text (the report writers are in `documents`), the default name of a run's directory, the free-space check, and the one safe reader of a
small JSON file found in OUT (never through a symlink, never from a FIFO).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import stat
import tempfile
import time
from pathlib import Path
from typing import Any

from pytfpol.errors import OutputError
from pytfpol.formats import layout
from pytfpol.results import json_text

STATS_JSON = layout.STATS_JSON
EPISODES_CSV = layout.EPISODES_CSV
EPISODE_COLUMNS = ("index", "seed", "return", "length", "terminated", "truncated", "success")
RETURNS_PNG = layout.RETURNS_PNG
VIDEOS_DIR = layout.VIDEOS_DIR
TRAJECTORIES_DIR = layout.TRAJECTORIES_DIR
DEFAULT_RUNS_DIR = "pytfpol-runs"
# Room kept free beyond what a run writes: reports, the checkpoint's metadata, file system slack.
FREE_SPACE_MARGIN = 16 << 20
# The largest JSON file of OUT read back (a manifest, a journal entry, an earlier report).
MAX_JSON_BYTES = 64 << 20


def default_run_dir(
    env_id: str, policy_path: str, base: str | os.PathLike = DEFAULT_RUNS_DIR
) -> Path:
    """A new directory name under `base`: <time>-<policy>-<env>, never an existing one."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    policy_name = _slug(Path(policy_path).resolve().name) or "policy"
    stem = f"{stamp}-{policy_name}-{_slug(env_id)}"
    candidate = Path(base) / stem
    counter = 1
    while candidate.exists():
        counter += 1
        candidate = Path(base) / f"{stem}-{counter}"
    return candidate


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:60]


# Names `pytfpol eval` writes in OUT, and prefixes of its temporary names: anything else there


def check_free_space(out: Path, needed: int = 0) -> None:
    """Refuse (exit 5) before any episode runs when `out` lacks room for `needed` bytes plus a
    margin: a full disk found at the end would cost the whole run."""
    try:
        free = shutil.disk_usage(out).free
    except OSError as exc:
        raise OutputError(
            f"--out {out}: cannot check free space ({exc.strerror or exc})",
            "choose a directory you can write to",
            path=out,
        ) from exc
    wanted = needed + FREE_SPACE_MARGIN
    if free < wanted:
        raise OutputError(
            f"--out {out}: not enough free space ({_mib(free)} free, {_mib(wanted)} needed)",
            "free some space on that file system, or choose another --out",
            path=out,
        )


def _mib(size: int) -> str:
    return f"{size / (1 << 20):.1f} MiB"


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a temporary file in the same directory, fsync, rename."""
    path = Path(path)
    try:
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise OutputError(
            f"{path}: could not write ({exc.strerror or exc})",
            "check that the output directory exists and is writable",
            path=path,
        ) from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            os.chmod(tmp_name, _new_file_mode())  # mkstemp makes 0o600; this is an ordinary file
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
        fsync_dir(path.parent)
    except OSError as exc:
        _remove_quietly(tmp_name)
        raise OutputError(
            f"{path}: could not write ({exc.strerror or exc})",
            "check free space and permissions of the output directory",
            path=path,
        ) from exc
    except BaseException:
        _remove_quietly(tmp_name)
        raise


def _new_file_mode() -> int:
    """The mode `open()` would give a new file: 0o666 minus the process umask."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove_quietly(name: str) -> None:
    try:
        os.unlink(name)
    except OSError:
        pass


def report_json(report: dict) -> str:
    return json_text.dumps(report, allow_nan=False) + "\n"


def episodes_csv(episodes: list[dict]) -> str:
    """eval's columns, then one per --metric (`info.KEY`)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    metrics = metric_columns(episodes)
    writer.writerow((*EPISODE_COLUMNS, *metrics))
    for episode in episodes:
        writer.writerow(episode_row(episode, metrics))
    return buffer.getvalue()


def metric_columns(episodes: list[dict]) -> tuple[str, ...]:
    """The --metric names the episodes carry (the first one's, in its order)."""
    return tuple(episodes[0].get("metrics") or ()) if episodes else ()


def episode_row(episode: dict, metrics: tuple[str, ...]) -> list:
    """An episode's CSV cells: eval's columns, then its `metrics` values."""
    values = episode.get("metrics") or {}
    return [
        csv_value(v)
        for v in (*(episode.get(c) for c in EPISODE_COLUMNS), *map(values.get, metrics))
    ]


def csv_value(value: Any) -> Any:
    """A CSV cell: empty for None, true/false, floats exactly (repr)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return value


def read_json_file(path: Path) -> Any:
    """A small regular file's JSON, never through a symlink or from a FIFO; None if not."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_JSON_BYTES:
            return None
        with os.fdopen(os.dup(fd), "rb") as handle:
            return json.loads(handle.read(MAX_JSON_BYTES + 1))
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return None
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
