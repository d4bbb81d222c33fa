"""The output set: how a run claims OUT, stages its outputs, commits them as one unit, recovers
an interrupted commit, and checks that what it replaces in OUT is pytfpol's.

`eval`'s set is checkpoint/, returns.png, videos/, trajectories/, episodes.csv and stats.json;
`sweep`'s has its own names (`output_manifest.SET_NAMES`); a set is replaced together.

A run assembles its outputs in a private `OUT/.pending-*` directory, records each file it wrote
there (name, size, sha256) in a manifest, fsyncs, and renames it to `OUT/.commit-*` (the commit
point, one atomic rename). It then moves each output into place, the manifest with them as
OUT/.pytfpol-outputs.json, and drops the commit directory. A run killed before the commit point
leaves the previous outputs untouched (the pending directory is dropped later); one killed after
it is rolled forward by the next run on OUT, under the lock (`locking`). Either way OUT ends
with one complete output set, never a mixture.

What OUT holds is hostile until checked: before anything of OUT is replaced or removed, every
file under the names it replaces must be one the manifest of OUT's set records, with its size
and hash (`check_ours`); anything else (a file the user added, a symlink, a FIFO) is the user's,
and the run is refused (exit 5) naming it, with or without --overwrite. Names read back from OUT
(its manifest, a commit's) are data: only names of the set's vocabulary are accepted, never a
path; a manifest that does not validate is not pytfpol's and is never followed.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

from pytfpol.errors import OutputError
from pytfpol.formats import layout
from pytfpol.results.files import STATS_JSON, fsync_dir, fsync_file, read_json_file
from pytfpol.results.output_manifest import (
    COMMIT_PREFIX,
    KIND_EVAL,
    KIND_SWEEP,
    MANIFEST,
    PENDING_PREFIX,
    SET_MANIFEST,
    SET_NAMES,
    SET_VOCABULARY,
    foreign,
    read_commit_manifest,
    read_set_manifest,
    record,
    replaced_names,
    set_kind,
    set_kind_in,
)

__all__ = [
    "KIND_EVAL",
    "KIND_SWEEP",
    "OutputClaim",
    "apply_commit",
    "check_ours",
    "claim_output_dir",
    "commit_outputs",
    "recover_outputs",
    "release_unused",
    "replaced_names",
    "report_identity",
    "stage_outputs",
]

# Names `pytfpol eval` writes in OUT, and prefixes of its temporary names: anything else there
# belongs to someone else, and is never overwritten without --overwrite.
# Names `pytfpol eval` writes in OUT, and prefixes of its temporary names: anything else there
# belongs to someone else, and is never overwritten without --overwrite.
OWN_PREFIXES: tuple[str, ...] = (
    ".pending-",
    ".commit-",
    ".pytfpol-probe-",
    ".stats.json.",
    ".episodes.csv.",
    ".checkpoint.tmp-",  # of pytfpol 0.1
    ".checkpoint.old-",  # of pytfpol 0.1
)


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
    policy = _mapping(report.get("policy"))
    env = _mapping(report.get("env"))
    return {
        "policy": policy.get("resolved_path") or policy.get("path"),
        "policy_name": policy.get("policy"),
        "env": env.get("id"),
    }


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


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
        files = record(stage, present)
        (stage / SET_MANIFEST).write_text(json.dumps({"version": 1, "kind": kind, "files": files}))
        present.insert(max(len(present) - 1, 0), SET_MANIFEST)  # before the report
        unset = [n for n in replaced_names(kind) if n not in present]
        replaces = read_set_manifest(
            out
        )  # the set this one replaces (None: of an earlier pytfpol (no manifest))
        check_ours(out, [*present, *unset], [replaces])
        manifest = {
            "kind": kind,
            "set": present,
            "unset": unset,
            "files": files,
            "replaces": replaces,
        }
        (stage / MANIFEST).write_text(json.dumps(manifest))
        for path in stage.rglob("*"):
            if path.is_file():
                fsync_file(path)
        for directory in [stage, *(p for p in stage.rglob("*") if p.is_dir())]:
            fsync_dir(directory)
        commit = out / (COMMIT_PREFIX + stage.name[len(PENDING_PREFIX) :])
        os.rename(stage, commit)
        fsync_dir(out)
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


def check_ours(out: Path, names: Iterable[str], manifests: Optional[list] = None) -> None:
    """Refuse (exit 5, naming it) when anything under `names` in OUT is not a file pytfpol
    wrote: not recorded in OUT's manifest (or one of `manifests`) with that size and sha256, a
    symlink, a FIFO, a device. Without a manifest, only the names pytfpol writes are ours."""
    out = Path(out)
    if manifests is None:
        manifests = [read_set_manifest(out)]
    found = foreign(out, list(names), manifests, "")
    if found:
        first = out / found[0]
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise OutputError(
            f"--out {out}: {first} is not a file pytfpol wrote{more}; pytfpol never replaces or "
            "deletes it, even with --overwrite",
            "move it out of the output directory, or choose another --out",
            path=first,
        )


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
