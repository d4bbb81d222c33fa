"""The output directory: where a run writes, and how (atomically: complete or absent).

Every file is written to a temporary name in the same directory, flushed and fsynced, then
renamed into place, so that an interrupted run never leaves a half-written report and an earlier
report stays intact until the new one is complete.
"""

from __future__ import annotations

import csv
import hashlib
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
OWN_PREFIXES = (".pending-", ".commit-", ".pytfpol-probe-", ".stats.json.", ".episodes.csv.")
OWN_PREFIXES += (".checkpoint.tmp-", ".checkpoint.old-")  # of pytfpol 0.1


@dataclass
class OutputClaim:
    """What `claim_output_dir` found and did: directories it created (removed again if the run
    fails before writing anything), and the earlier report of the same policy in OUT, if any."""

    out: Path
    created: list = field(default_factory=list)
    previous_report: Optional[dict] = None
    kind: str = "eval"  # the kind of output set the run writes (KIND_EVAL, KIND_SWEEP)


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
    stats.json), or the other kind of results (a sweep's for `eval`, an eval's for `sweep`),
    unless `overwrite`. The same policy and env again: its report is returned, so the run
    appends to its history."""
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
    return OutputClaim(out, created, previous, set_kind(report_name))


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
    _refuse_other_kind(out, set_kind(report_name), overwrite)
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


def _refuse_other_kind(out: Path, kind: str, overwrite: bool) -> None:
    """One kind of result per OUT: an eval's results are not mixed with a sweep's."""
    theirs = set_kind_in(out)
    if theirs is not None and theirs != kind and not overwrite:
        raise OutputError(
            f"--out {out}: holds the results of `pytfpol {theirs}`, not of `pytfpol {kind}`",
            "choose another --out, or pass --overwrite to replace them",
            path=out,
        )


def _own(name: str) -> bool:
    own = (*SET_VOCABULARY, layout.LOCK_NAME)
    return name in own or name.startswith(OWN_PREFIXES)


def _read_report(path: Path) -> Optional[dict]:
    """OUT's report, never through a symlink nor from a FIFO (then None: not ours)."""
    report = read_json_file(path)
    return report if isinstance(report, dict) else None


def report_identity(report: dict) -> dict:
    """What makes two reports results of the same evaluation target."""
    policy = report.get("policy") if isinstance(report.get("policy"), dict) else {}
    env = report.get("env") if isinstance(report.get("env"), dict) else {}
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
    return json_text.dumps(report, allow_nan=False) + "\n"


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
# (of `eval`; `sweep` has its own names) are replaced together.
#
# A run assembles its outputs in a private `OUT/.pending-*` directory, records each file it wrote
# there (name, size, sha256) in a manifest, fsyncs, and renames it to `OUT/.commit-*` (the commit
# point, one atomic rename). It then moves each output into place, the manifest with them as
# OUT/.pytfpol-outputs.json, and drops the commit directory. A run killed before the commit point
# leaves the previous outputs untouched (the pending directory is dropped later); one killed after
# it is rolled forward by the next run on OUT, under the lock. Either way OUT ends with one
# complete output set, never a mixture.
#
# What OUT holds is hostile until checked: before anything of OUT is replaced or removed, every
# file under the names it replaces must be one the manifest of OUT's set records, with its size
# and hash (`check_ours`); anything else (a file the user added, a symlink, a FIFO) is the user's,
# and the run is refused (exit 5) naming it, with or without --overwrite. Names read back from OUT
# (its manifest, a commit's) are data: only names of the set's vocabulary are accepted, never a
# path; a manifest that does not validate is not pytfpol's and is never followed.

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
MANIFEST = ".manifest.json"  # a commit's: what it sets and unsets, and the files it holds
SET_MANIFEST = layout.SET_MANIFEST  # OUT's: the files of its output set, size and sha256
KIND_EVAL, KIND_SWEEP = "eval", "sweep"
SET_NAMES = {KIND_EVAL: OUTPUT_NAMES, KIND_SWEEP: SWEEP_OUTPUT_NAMES}
# Every name an output set may set or unset in OUT: nothing else is ever replaced or removed.
SET_VOCABULARY = tuple(
    dict.fromkeys((*OUTPUT_NAMES, *SWEEP_OUTPUT_NAMES, layout.JOURNAL_DIR, SET_MANIFEST))
)
_COMPONENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_DEPTH = 12
MAX_MANIFEST_BYTES = 64 << 20
# The journal is written entry by entry, outside the set: its entries are ours by their name.
JOURNAL_ENTRY = re.compile(rf"{layout.JOURNAL_DIR}/[0-9a-f]{{64}}\.json")
# An OUT of pytfpol <= 0.2 has no manifest: there, a file is taken as ours only under a name
# pytfpol writes (anything else, e.g. checkpoint/notes.txt, is the user's).
_DIRS = r"(?:[A-Za-z0-9_][A-Za-z0-9_.-]*/){0,4}"
LEGACY_FILE = re.compile(
    r"(?:best/)?(?:"
    rf"checkpoint/{_DIRS}(?:checkpoint|pytfpol-policy\.toml|[A-Za-z0-9_][A-Za-z0-9_.-]*"
    r"\.(?:index|data-\d{5}-of-\d{5}))"
    r"|videos/(?:best-step-\d+-)?episode-\d+\.(?:mp4|gif)"
    r"|trajectories/episode-\d+\.npz"
    rf"|tensorboard/{_DIRS}events\.out\.tfevents\.[A-Za-z0-9_.-]+"
    r"|stats\.json|episodes\.csv|returns\.png|curve\.png|curve\.csv|sweep\.json)"
)


def set_kind(report_name: str) -> str:
    """The kind of output set whose report is `report_name`."""
    return KIND_SWEEP if report_name == layout.SWEEP_JSON else KIND_EVAL


def replaced_names(kind: str) -> tuple:
    """What a commit of `kind` sets or unsets: its own names and the other kind's (one kind of
    result per OUT), the journal too for `eval` (a sweep's resume state)."""
    names = [*SET_NAMES[kind], SET_MANIFEST]
    names += [n for n in SET_VOCABULARY if n not in names]
    return tuple(n for n in names if kind == KIND_EVAL or n != layout.JOURNAL_DIR)


def valid_set_name(name: Any) -> bool:
    """A name of the output set's vocabulary: relative, no '..', no absolute path, no empty or
    hidden component, its first component one of SET_VOCABULARY."""
    if not isinstance(name, str) or not name or name.startswith("/"):
        return False
    parts = name.split("/")
    return (
        len(parts) <= MAX_DEPTH
        and parts[0] in SET_VOCABULARY
        and all(_COMPONENT.fullmatch(p) for p in parts[1:])
    )


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


def commit_outputs(out: Path, stage: Path, kind: str = KIND_EVAL) -> None:
    """Make the staged output set OUT's, as one unit (see above). What the set replaces or
    removes in OUT is checked to be ours first (`check_ours`), before the commit point."""
    out, stage = Path(out), Path(stage)
    names = SET_NAMES[kind]
    present = [name for name in names if os.path.lexists(stage / name)]
    try:
        files = _record(stage, present)
        (stage / SET_MANIFEST).write_text(json.dumps({"version": 1, "kind": kind, "files": files}))
        present.insert(max(len(present) - 1, 0), SET_MANIFEST)  # before the report
        unset = [n for n in replaced_names(kind) if n not in present]
        replaces = read_set_manifest(out)  # the set this one replaces (None: of pytfpol <= 0.2)
        check_ours(out, [*present, *unset], [replaces])
        manifest = {"kind": kind, "set": present, "unset": unset, "files": files}
        manifest["replaces"] = replaces
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


def apply_commit(out: Path, commit: Path, manifest: Optional[dict] = None) -> None:
    """Move a committed output set into place; safe to repeat after an interruption. Every
    rename is relative to OUT's and the commit's directory descriptors, of names validated by
    `read_commit_manifest`, so nothing outside OUT is reached and no symlink is followed."""
    manifest = manifest or read_commit_manifest(commit)
    if manifest is None:
        raise OutputError(
            f"--out {out}: {commit.name} is not an output set of pytfpol",
            "remove it, or choose another --out",
            path=commit,
        )
    out_fd = _open_dir(Path(out))
    try:
        commit_fd = _open_dir(Path(commit.name), out_fd)
        try:
            _apply(out_fd, commit, commit_fd, manifest)
            os.fsync(out_fd)
        finally:
            os.close(commit_fd)
        done = PENDING_PREFIX + "done-" + commit.name[len(COMMIT_PREFIX) :]
        os.rename(commit.name, done, src_dir_fd=out_fd, dst_dir_fd=out_fd)  # applied: droppable
    finally:
        os.close(out_fd)
    shutil.rmtree(Path(out) / done)  # a directory of ours, just renamed: rmtree follows no link


def _apply(out_fd: int, commit: Path, commit_fd: int, manifest: dict) -> None:
    for name in manifest["set"]:
        staged = _lstat(name, commit_fd)
        if staged is None:
            continue  # moved by an earlier, interrupted apply
        if stat.S_ISDIR(staged.st_mode):
            if _lstat(name, out_fd) is not None:
                os.rename(
                    name, _aside(commit, commit_fd, name), src_dir_fd=out_fd, dst_dir_fd=commit_fd
                )
            os.rename(name, name, src_dir_fd=commit_fd, dst_dir_fd=out_fd)
        else:
            os.replace(name, name, src_dir_fd=commit_fd, dst_dir_fd=out_fd)
    for name in manifest["unset"]:  # e.g. the checkpoint of an earlier run, after a failed run
        if _lstat(name, out_fd) is not None:
            os.rename(
                name, _aside(commit, commit_fd, name), src_dir_fd=out_fd, dst_dir_fd=commit_fd
            )


def _aside(commit: Path, commit_fd: int, name: str) -> str:
    """Where an old output goes until the commit directory is dropped."""
    aside = f".old-{name}"
    found = _lstat(aside, commit_fd)
    if found is not None and stat.S_ISDIR(found.st_mode):  # from an earlier, interrupted apply
        shutil.rmtree(commit / aside)  # rmtree never follows a link; no dir_fd before 3.11
    elif found is not None:
        os.unlink(aside, dir_fd=commit_fd)
    return aside


def recover_outputs(out: Path) -> list[str]:
    """Under the lock: roll a committed output set forward, drop an uncommitted one. A commit
    directory whose manifest does not validate, or whose staged files are not the ones it
    records, is not pytfpol's: it is left as it is, never followed."""
    out, done = Path(out), []
    for commit in sorted(out.glob(COMMIT_PREFIX + "*")):
        if not _is_real_dir(commit):
            continue
        manifest = read_commit_manifest(commit)
        current = read_set_manifest(out)
        if manifest is None or current not in (None, manifest["replaces"], manifest["files"]):
            done.append(f"left {commit.name}: not an output set of pytfpol for this OUT")
            continue
        mixed = [manifest["replaces"], manifest["files"]]  # an interrupted apply: old and new
        check_ours(out, manifest["set"] + manifest["unset"], mixed)
        apply_commit(out, commit, manifest)
        done.append(f"completed {commit.name}")
    for leftover in out.glob(PENDING_PREFIX + "*"):
        if _is_real_dir(leftover):
            shutil.rmtree(leftover, ignore_errors=True)
            done.append(f"removed {leftover.name}")
    return done


# ------------------------------------------------------------------------ manifests, read back


def read_commit_manifest(commit: Path) -> Optional[dict]:
    """A commit directory's manifest, when it is one pytfpol wrote: its names of the output
    set's vocabulary, and the files still staged in it those it records. Else None."""
    manifest = read_json_file(commit / MANIFEST)
    if not isinstance(manifest, dict) or manifest.get("kind") not in SET_NAMES:
        return None
    lists = [manifest.get("set"), manifest.get("unset")]
    if not all(isinstance(x, list) and all(valid_set_name(n) for n in x) for x in lists):
        return None
    names = manifest["set"] + manifest["unset"]
    if any("/" in n for n in names) or len(set(names)) != len(names):
        return None
    files = _valid_files(manifest.get("files"))
    replaces = manifest.get("replaces")
    if files is None or (replaces is not None and _valid_files(replaces) is None):
        return None
    staged = [n for n in manifest["set"] if n != SET_MANIFEST]
    if _foreign(commit, staged, [files], "") != []:
        return None
    return {**manifest, "files": files, "replaces": replaces}


def read_set_manifest(out: Path) -> Optional[dict]:
    """The files of OUT's output set as its manifest records them ({name: {size, sha256}}), or
    None when there is none or it does not validate (then OUT is taken as of pytfpol <= 0.2)."""
    manifest = read_json_file(Path(out) / SET_MANIFEST)
    if not isinstance(manifest, dict) or manifest.get("kind") not in SET_NAMES:
        return None
    return _valid_files(manifest.get("files"))


def set_kind_in(out: Path) -> Optional[str]:
    """The kind of output set OUT holds ("eval", "sweep"), None when it holds none."""
    manifest = read_json_file(Path(out) / SET_MANIFEST)
    if isinstance(manifest, dict) and manifest.get("kind") in SET_NAMES:
        return manifest["kind"]
    for kind, report in ((KIND_SWEEP, layout.SWEEP_JSON), (KIND_EVAL, STATS_JSON)):
        if os.path.lexists(Path(out) / report):
            return kind
    return None


def _valid_files(files: Any) -> Optional[dict]:
    if not isinstance(files, dict):
        return None
    for name, entry in files.items():
        if not valid_set_name(name) or name == SET_MANIFEST or not isinstance(entry, dict):
            return None
        size, digest = entry.get("size"), entry.get("sha256")
        if not isinstance(size, int) or size < 0 or not isinstance(digest, str):
            return None
        if not _SHA256.fullmatch(digest):
            return None
    return files


def read_json_file(path: Path) -> Any:
    """A small regular file's JSON, never through a symlink or from a FIFO; None if not."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_MANIFEST_BYTES:
            return None
        with os.fdopen(os.dup(fd), "rb") as handle:
            return json.loads(handle.read(MAX_MANIFEST_BYTES + 1))
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return None
    finally:
        os.close(fd)


# ------------------------------------------------------------------------------ what is ours


def check_ours(out: Path, names: Iterable[str], manifests: Optional[list] = None) -> None:
    """Refuse (exit 5, naming it) when anything under `names` in OUT is not a file pytfpol
    wrote: not recorded in OUT's manifest (or one of `manifests`) with that size and sha256, a
    symlink, a FIFO, a device. Without a manifest, only the names pytfpol writes are ours."""
    out = Path(out)
    if manifests is None:
        manifests = [read_set_manifest(out)]
    found = _foreign(out, list(names), manifests, "")
    if found:
        first = out / found[0]
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise OutputError(
            f"--out {out}: {first} is not a file pytfpol wrote{more}; pytfpol never replaces or "
            "deletes it, even with --overwrite",
            "move it out of the output directory, or choose another --out",
            path=first,
        )


def _foreign(root: Path, names: list, manifests: list, prefix: str) -> list[str]:
    """The paths under `names` in `root` that are not ours (see check_ours), relative to it."""
    found = []
    for name in names:
        path, rel = root / name, f"{prefix}{name}"
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            continue
        except OSError:
            found.append(rel)
            continue
        if stat.S_ISDIR(info.st_mode):
            try:
                children = sorted(os.listdir(path))
            except OSError:
                found.append(rel)
                continue
            found += _foreign(path, children, manifests, f"{rel}/")
        elif not stat.S_ISREG(info.st_mode) or not _is_ours(path, rel, info, manifests):
            found.append(rel)
    return found


def _is_ours(path: Path, rel: str, info: os.stat_result, manifests: list) -> bool:
    if rel == SET_MANIFEST or JOURNAL_ENTRY.fullmatch(rel):
        return True
    known = [m for m in manifests if m is not None]
    if len(known) < len(manifests) and LEGACY_FILE.fullmatch(rel):
        return True  # OUT has no manifest (pytfpol <= 0.2): a name pytfpol writes is ours
    entries = [m[rel] for m in known if rel in m and m[rel]["size"] == info.st_size]
    return bool(entries) and _sha256(path) in {e["sha256"] for e in entries}


def _record(stage: Path, names: list) -> dict:
    """Each file under `names` in the stage: {relative name: {size, sha256}}."""
    files = {}
    for name in names:
        top = stage / name
        paths = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        for path in paths:
            rel = path.relative_to(stage).as_posix()
            files[rel] = {"size": path.stat().st_size, "sha256": _sha256(path)}
    return files


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ------------------------------------------------------------- directory-relative operations


def _open_dir(path: Path, dir_fd: Optional[int] = None) -> int:
    """A directory's descriptor, never through a symlink."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    return os.open(path, flags, dir_fd=dir_fd)


def _lstat(name: str, dir_fd: int) -> Optional[os.stat_result]:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _is_real_dir(path: Path) -> bool:
    """A directory itself, not a symlink to one."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
