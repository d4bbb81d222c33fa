"""The output directory: where a run writes, and how (atomically: complete or absent).

Every file is written to a temporary name in the same directory, flushed and fsynced, then
renamed into place, so that an interrupted run never leaves a half-written report and an earlier
report stays intact until the new one is complete.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

from pytfpol.errors import OutputError
from pytfpol.formats import layout

STATS_JSON = layout.STATS_JSON
EPISODES_CSV = layout.EPISODES_CSV
EPISODE_COLUMNS = ("index", "seed", "return", "length", "terminated", "truncated", "success")
RETURNS_PNG = layout.RETURNS_PNG
VIDEOS_DIR = layout.VIDEOS_DIR
TRAJECTORIES_DIR = layout.TRAJECTORIES_DIR
DEFAULT_RUNS_DIR = "pytfpol-runs"
# Room kept free beyond what a run writes: reports, the checkpoint's metadata, file system slack.
FREE_SPACE_MARGIN = 16 << 20


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
# belongs to someone else, and is never overwritten without --overwrite.
OWN_PREFIXES: tuple[str, ...]
OWN_PREFIXES = (".pending-", ".commit-", ".pytfpol-probe-", ".stats.json.", ".episodes.csv.")
OWN_PREFIXES += (".checkpoint.tmp-", ".checkpoint.old-")  # of pytfpol 0.1


@dataclass
class OutputClaim:
    """What `claim_output_dir` found and did: directories it created (removed again if the run
    fails before writing anything), and the earlier report of the same policy in OUT, if any."""

    out: Path
    created: list = field(default_factory=list)
    previous_report: Optional[dict] = None


def claim_output_dir(
    out: Path,
    inputs: Iterable[str | os.PathLike] = (),
    identity: Optional[dict] = None,
    overwrite: bool = False,
    report_name: str = STATS_JSON,
) -> OutputClaim:
    """Check `out` may receive this run's outputs, then create it if needed (and check it is
    writable), before any episode runs.

    Refused (exit 5): `out` inside or above an input; a file; a directory holding files pytfpol
    did not write, or the results of another policy or env (`identity` differs from its
    stats.json), unless `overwrite`. The same policy and env again: its report is returned, so
    the run appends to its history."""
    out = Path(out)
    _refuse_overlap(out, inputs)
    if out.exists() and not out.is_dir():
        raise OutputError(
            f"--out {out}: exists and is not a directory", "choose another --out", path=out
        )
    previous = _previous_report(out, identity, overwrite, report_name) if out.is_dir() else None
    created = [p for p in [out, *out.parents] if not p.exists()]
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".pytfpol-probe-", delete=True):
            pass
    except OSError as exc:
        raise OutputError(
            f"--out {out}: not writable ({exc.strerror or exc})",
            "choose a directory you can write to",
            path=out,
        ) from exc
    return OutputClaim(out, created, previous)


def release_unused(claim: OutputClaim) -> None:
    """Remove the directories `claim` created when nothing but our lock was written in them
    (a run that failed before its first episode leaves no empty output directory)."""
    for directory in claim.created:  # innermost first
        try:
            leftovers = [n for n in os.listdir(directory) if n != layout.LOCK_NAME]
            if leftovers:
                return
            lock = directory / layout.LOCK_NAME
            if lock.exists():
                lock.unlink()
            directory.rmdir()
        except OSError:
            return


def _refuse_overlap(out: Path, inputs: Iterable[str | os.PathLike]) -> None:
    resolved = out.resolve()
    for source in inputs:
        source_dir = Path(source).resolve()
        if resolved == source_dir or source_dir in resolved.parents:
            raise OutputError(
                f"--out {out}: is inside the input {source}; pytfpol never writes next to its input",
                "choose an output directory outside the policy directory",
                path=out,
            )
        if resolved in source_dir.parents:
            raise OutputError(
                f"--out {out}: is above the input {source}; pytfpol never writes over its input",
                "choose an output directory that does not contain the policy directory",
                path=out,
            )


def _previous_report(
    out: Path, identity: Optional[dict], overwrite: bool, report_name: str = STATS_JSON
) -> Optional[dict]:
    """The report in `out` when it is of the same policy and env; refuse what is not ours."""
    foreign = sorted(n for n in os.listdir(out) if not _own(n))
    if foreign and not overwrite:
        raise OutputError(
            f"--out {out}: holds files pytfpol did not write ({', '.join(foreign[:3])}"
            f"{', ...' if len(foreign) > 3 else ''})",
            "choose a new or empty --out, or pass --overwrite to write beside them",
            path=out,
        )
    stats = out / report_name
    if not os.path.lexists(stats):
        return None
    report = _read_report(stats)
    same = report is not None and identity is not None and report_identity(report) == identity
    if same:
        return report
    if overwrite:
        return None
    what = "an unreadable stats.json"
    if report is not None:
        theirs = report_identity(report)
        what = f"the results of {theirs['policy'] or '?'} on {theirs['env'] or '?'}"
    raise OutputError(
        f"--out {out}: holds {what}, not of this policy and env",
        "choose another --out, or pass --overwrite to replace them",
        path=out,
    )


def _own(name: str) -> bool:
    own = (*OUTPUT_NAMES, *SWEEP_OUTPUT_NAMES, layout.JOURNAL_DIR, layout.LOCK_NAME)
    return name in own or name.startswith(OWN_PREFIXES)


def _read_report(path: Path) -> Optional[dict]:
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # never open a FIFO: it would block
            return None
        report = json.loads(path.read_text())
        return report if isinstance(report, dict) else None
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def report_identity(report: dict) -> dict:
    """What makes two reports results of the same evaluation target."""
    policy, env = (report.get(k) for k in ("policy", "env"))
    policy, env = (p if isinstance(p, dict) else {} for p in (policy, env))
    return {
        "policy": policy.get("resolved_path") or policy.get("path"),
        "policy_name": policy.get("policy"),
        "env": env.get("id"),
    }


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
        _fsync_dir(path.parent)
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


def _fsync_dir(directory: Path) -> None:
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
    return json.dumps(report, indent=2, sort_keys=False, allow_nan=False) + "\n"


def episodes_csv(episodes: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EPISODE_COLUMNS)
    for episode in episodes:
        writer.writerow([csv_value(episode.get(c)) for c in EPISODE_COLUMNS])
    return buffer.getvalue()


def csv_value(value: Any) -> Any:
    """A CSV cell: empty for None, true/false, floats exactly (repr)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return value


def write_report(out: Path, report: dict) -> None:
    """Write episodes.csv, then stats.json (last: its presence means the run's files are there)."""
    csv_path, json_path = Path(out) / EPISODES_CSV, Path(out) / STATS_JSON
    write_atomic(csv_path, episodes_csv(report["episodes"]).encode())
    write_atomic(json_path, report_json(report).encode())


# ---------------------------------------------------------------------------------------------
# The output set: checkpoint/, returns.png, videos/, trajectories/, episodes.csv and stats.json
# are replaced together.
#
# A run assembles its outputs in a private `OUT/.pending-*` directory, writes a manifest, fsyncs,
# and renames it to `OUT/.commit-*` (the commit point, one atomic rename). It then moves each
# output into place and removes the commit directory. A run killed before the commit point leaves
# the previous outputs untouched (the pending directory is dropped later); one killed after it is
# rolled forward by the next run on OUT, under the lock. Either way OUT ends with one complete
# output set, never a mixture.

OUTPUT_CHECKPOINT = layout.OUTPUT_CHECKPOINT_DIR
# The output sets of `eval` and of `sweep`, each moved into place in this order (the report last).
OUTPUT_NAMES = (
    OUTPUT_CHECKPOINT,
    RETURNS_PNG,
    VIDEOS_DIR,
    TRAJECTORIES_DIR,
    EPISODES_CSV,
    STATS_JSON,
)
SWEEP_OUTPUT_NAMES = (
    layout.BEST_DIR,
    VIDEOS_DIR,
    layout.TENSORBOARD_DIR,
    layout.CURVE_PNG,
    layout.CURVE_CSV,
    EPISODES_CSV,
    layout.SWEEP_JSON,
)
PENDING_PREFIX = ".pending-"
COMMIT_PREFIX = ".commit-"
MANIFEST = ".manifest.json"


def stage_outputs(out: Path) -> Path:
    """A private directory in `out` where a run assembles its output set."""
    try:
        return Path(tempfile.mkdtemp(dir=out, prefix=PENDING_PREFIX))
    except OSError as exc:
        raise OutputError(
            f"--out {out}: cannot create a staging directory ({exc.strerror or exc})",
            "check free space and permissions of the output directory",
            path=out,
        ) from exc


def commit_outputs(out: Path, stage: Path, names: tuple = OUTPUT_NAMES) -> None:
    """Make the staged output set OUT's, as one unit (see above); `names` are the outputs of
    the set (those not staged are removed from OUT)."""
    out, stage = Path(out), Path(stage)
    present = [name for name in names if (stage / name).exists()]
    manifest = {"set": present, "unset": [n for n in names if n not in present]}
    try:
        (stage / MANIFEST).write_text(json.dumps(manifest))
        for path in stage.rglob("*"):
            if path.is_file():
                _fsync_file(path)
        for directory in [stage, *(p for p in stage.rglob("*") if p.is_dir())]:
            _fsync_dir(directory)
        commit = out / (COMMIT_PREFIX + stage.name[len(PENDING_PREFIX) :])
        os.rename(stage, commit)
        _fsync_dir(out)
        apply_commit(out, commit)
    except OSError as exc:
        raise OutputError(
            f"--out {out}: could not write the outputs ({exc.strerror or exc})",
            "check free space and permissions of the output directory",
            path=out,
        ) from exc


def apply_commit(out: Path, commit: Path) -> None:
    """Move a committed output set into place; safe to repeat after an interruption."""
    manifest = json.loads((commit / MANIFEST).read_text())
    for name in manifest["set"]:
        staged, target = commit / name, out / name
        if not staged.exists() and not staged.is_symlink():
            continue  # moved by an earlier, interrupted apply
        if staged.is_dir():
            if target.exists():
                os.rename(target, _aside(commit, name))
            os.rename(staged, target)
        else:
            os.replace(staged, target)
    for name in manifest["unset"]:  # e.g. the checkpoint of an earlier run, after a failed run
        target = out / name
        if target.exists() or target.is_symlink():
            os.rename(target, _aside(commit, name))
    _fsync_dir(out)
    shutil.rmtree(commit)


def _aside(commit: Path, name: str) -> Path:
    aside = commit / f".old-{name}"
    if aside.exists():
        shutil.rmtree(aside) if aside.is_dir() else aside.unlink()
    return aside


def recover_outputs(out: Path) -> list[str]:
    """Under the lock: roll a committed output set forward, drop an uncommitted one."""
    done = []
    for commit in sorted(Path(out).glob(COMMIT_PREFIX + "*")):
        if commit.is_dir() and (commit / MANIFEST).is_file():
            apply_commit(out, commit)
            done.append(f"completed {commit.name}")
    for leftover in [*Path(out).glob(PENDING_PREFIX + "*"), *Path(out).glob(COMMIT_PREFIX + "*")]:
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
            done.append(f"removed {leftover.name}")
    return done


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
