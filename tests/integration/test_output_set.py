"""Issue 23, points 1-4: the output directory is hostile until checked.

Real `pytfpol eval` and `pytfpol sweep` runs (the CLI in process, on the example policy and the
example Learner run) into an OUT where something was planted under a name pytfpol uses: a file
of the user's, a symlink out of OUT, a forged commit manifest, the other command's results.
Each test snapshots OUT's parent (names, types, sizes, sha256, link targets; os.lstat, never
following a link) before and after, and checks what changed is only what pytfpol may change.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from pytfpol.cli import main
from pytfpol.formats import layout
from pytfpol.results import output_manifest
from tests.helpers.repo import REPO

POLICY = REPO / "examples" / "cartpole-dqn"
RUN = REPO / "examples" / "cartpole-dqn-run"
EVAL = ("eval", str(POLICY), "--env", "CartPole-v1", "--episodes", "2", "-q")
SWEEP = ("sweep", str(RUN), "--env", "CartPole-v1", "--last", "1", "--episodes", "2", "-q")
COMMANDS = {"eval": EVAL, "sweep": SWEEP}
EVAL_ONLY = {"checkpoint", "stats.json", "returns.png", "trajectories"}
SWEEP_ONLY = {"best", "sweep.json", "curve.csv", "curve.png", "journal"}  # both: tensorboard


def run(command: str, out: Path, *more: str):
    return CliRunner().invoke(main, [*COMMANDS[command], "--out", str(out), *more])


def snapshot(root: Path) -> dict:
    """Every entry under `root`: its type and size, a file's sha256, a symlink's target."""
    found = {}
    for directory, dirs, files in os.walk(root):  # os.walk never descends into a symlink
        for name in dirs + files:
            path = Path(directory) / name
            info = os.lstat(path)
            entry: tuple = (stat.S_IFMT(info.st_mode),)
            if stat.S_ISLNK(info.st_mode):
                entry += (os.readlink(path),)
            elif stat.S_ISREG(info.st_mode):
                entry += (info.st_size, hashlib.sha256(path.read_bytes()).hexdigest())
            found[str(path.relative_to(root))] = entry
    return found


def outside(snap: dict) -> dict:
    """What a snapshot of OUT's parent holds outside OUT."""
    return {k: v for k, v in snap.items() if k != "out" and not k.startswith("out/")}


def refused(result, naming: str) -> None:
    assert result.exit_code == 5, (result.exit_code, result.output)
    assert naming in result.output, result.output


# ---------------------------------------------------------------------------------------------
# 1. A user's files inside OUT are never deleted or replaced


@pytest.mark.parametrize("overwrite", [(), ("--overwrite",)], ids=["plain", "overwrite"])
@pytest.mark.parametrize(
    "command, planted, after_a_run",
    [
        ("eval", "checkpoint/mine.txt", False),
        ("eval", "videos/mine.txt", False),
        ("eval", "trajectories/mine.txt", False),
        ("eval", "checkpoint/mine.txt", True),
        ("eval", "checkpoint/variables/mine.txt", True),
        ("sweep", "best/mine.txt", True),
        ("sweep", "videos/mine.txt", False),
        ("sweep", "checkpoint/mine.txt", False),
    ],
)
def test_a_users_file_inside_out_is_never_deleted_or_replaced(
    tmp_path, command, planted, after_a_run, overwrite
):
    """Issue 23.1: refused (exit 5, naming the file), with or without --overwrite; OUT's parent
    is unchanged, byte for byte."""
    out = tmp_path / "out"
    if after_a_run:
        assert run(command, out).exit_code == 0
    (out / planted).parent.mkdir(parents=True, exist_ok=True)
    (out / planted).write_text("the user's own\n")
    before = snapshot(tmp_path)
    refused(run(command, out, *overwrite), str(out / planted))
    assert snapshot(tmp_path) == before


def test_a_file_pytfpol_wrote_but_the_user_changed_is_the_users(tmp_path):
    """The manifest records each file's size and sha256: a stats.json edited by the user (same
    size, other bytes) is not replaced."""
    out = tmp_path / "out"
    assert run("eval", out).exit_code == 0
    report = out / "stats.json"
    report.write_bytes(report.read_bytes().replace(b"true", b"TRUE", 1))
    before = snapshot(tmp_path)
    refused(run("eval", out, "--overwrite"), str(report))
    assert snapshot(tmp_path) == before


def test_an_out_of_an_earlier_version_without_a_manifest_is_replaced_by_its_known_names(tmp_path):
    """No manifest (pytfpol <= 0.2): the names pytfpol writes are taken as its own, others not."""
    out = tmp_path / "out"
    assert run("eval", out).exit_code == 0
    (out / output_manifest.SET_MANIFEST).unlink()
    assert run("eval", out).exit_code == 0
    assert (out / output_manifest.SET_MANIFEST).is_file()
    (out / output_manifest.SET_MANIFEST).unlink()
    (out / "checkpoint" / "notes.txt").write_text("mine")
    refused(run("eval", out), str(out / "checkpoint" / "notes.txt"))


# ---------------------------------------------------------------------------------------------
# 2. Names read from OUT are data, not paths


@pytest.mark.parametrize(
    "manifest",
    [
        {"kind": "eval", "set": ["../../d"], "unset": [], "files": {}},
        {"kind": "eval", "set": [], "unset": ["../f"], "files": {}},
        {"kind": "eval", "set": [], "unset": ["/abs/f"], "files": {}},
        {"kind": "eval", "set": ["checkpoint/../../d"], "unset": [], "files": {}},
        {"kind": "eval", "set": ["mine"], "unset": [], "files": {}},
        {"kind": "eval", "set": ["stats.json"], "unset": [], "files": {"../f": {}}},
        {"kind": "eval", "set": [], "unset": ["checkpoint"], "files": {}, "replaces": None},
        {"set": ["../../d"]},
        {"unset": ["../f"]},
        "not json {",
    ],
    ids=[
        "set-up",
        "unset-up",
        "absolute",
        "slash",
        "unknown",
        "files",
        "not-this-out",
        "old-set",
        "old-unset",
        "damaged",
    ],
)
def test_a_forged_commit_manifest_is_never_followed_and_never_wedges_out(tmp_path, manifest):
    """Issue 23.2: a `.commit-*/.manifest.json` naming `../x`, an absolute path, a name with
    `/` or outside the vocabulary, or not of the set OUT holds, is not pytfpol's: left as it
    is, nothing outside OUT moved or removed, and runs on OUT go on succeeding."""
    out, victim = tmp_path / "out", tmp_path / "d"
    victim.mkdir()
    (victim / "precious").write_text("outside OUT")
    (tmp_path / "f").write_text("outside OUT too")
    assert run("eval", out).exit_code == 0
    commit = out / ".commit-forged"
    commit.mkdir()
    text = manifest if isinstance(manifest, str) else json.dumps(manifest)
    (commit / output_manifest.MANIFEST).write_text(text)
    (commit / "stats.json").write_text("{}")
    before = snapshot(tmp_path)
    for _ in range(2):
        result = run("eval", out)
        assert result.exit_code == 0, result.output
    after = snapshot(tmp_path)
    assert outside(after) == outside(before)
    assert {k: v for k, v in after.items() if ".commit-forged" in k} == {
        k: v for k, v in before.items() if ".commit-forged" in k
    }


def test_a_damaged_set_manifest_is_not_followed(tmp_path):
    """OUT/.pytfpol-outputs.json naming a path outside OUT is not pytfpol's manifest: OUT is then
    judged by the names pytfpol writes, and nothing outside it is touched."""
    out = tmp_path / "out"
    assert run("eval", out).exit_code == 0
    (tmp_path / "f").write_text("outside OUT")
    forged = {"version": 1, "kind": "eval", "files": {"../f": {"size": 11, "sha256": "0" * 64}}}
    (out / output_manifest.SET_MANIFEST).write_text(json.dumps(forged))
    before = outside(snapshot(tmp_path))
    assert run("eval", out).exit_code == 0
    assert outside(snapshot(tmp_path)) == before
    assert output_manifest.read_set_manifest(out) is not None  # a valid one again


# ---------------------------------------------------------------------------------------------
# 3. No write through a symlink planted in OUT


@pytest.mark.parametrize(
    "command, name, target_is_dir, first_a_run",
    [
        ("eval", layout.LOCK_NAME, False, False),
        ("sweep", layout.LOCK_NAME, False, False),
        ("sweep", layout.JOURNAL_DIR, True, False),
        ("eval", layout.JOURNAL_DIR, True, False),
        ("eval", "stats.json", False, True),
        ("eval", "episodes.csv", False, False),
        ("eval", "checkpoint", True, False),
        ("eval", "checkpoint/evaluation", True, True),
        ("eval", "videos", True, False),
        ("sweep", "sweep.json", False, True),
        ("sweep", "best", True, False),
        ("sweep", "tensorboard", True, False),
        ("eval", "tensorboard", True, False),
        ("eval", output_manifest.SET_MANIFEST, False, True),
    ],
)
def test_a_symlink_planted_in_out_is_never_written_through(
    tmp_path, command, name, target_is_dir, first_a_run
):
    """Issue 23.3: a symlink where pytfpol expects its own file or folder is exit 5 (naming
    it); its target, outside OUT, is byte-identical afterwards; so is OUT's parent."""
    out, target = tmp_path / "out", tmp_path / "target"
    if first_a_run:
        assert run(command, out).exit_code == 0
    out.mkdir(exist_ok=True)
    if target_is_dir:
        target.mkdir()
        (target / "precious").write_text("outside OUT")
    else:
        target.write_text("outside OUT")
    link = out / name
    if os.path.lexists(link):
        shutil.rmtree(link) if link.is_dir() else link.unlink()
    link.symlink_to(target, target_is_directory=target_is_dir)
    before = snapshot(tmp_path)
    refused(run(command, out, "--overwrite"), name)
    assert snapshot(tmp_path) == before


def test_a_symlinked_journal_entry_is_never_written_through(tmp_path):
    """A sweep re-run over its OUT: each journal entry planted as a symlink is refused."""
    out, target = tmp_path / "out", tmp_path / "target"
    assert run("sweep", out).exit_code == 0
    target.write_text("outside OUT")
    (entry,) = [  # the checkpoint's (the others name kept outputs: best/, curve.png)
        e for e in (out / layout.JOURNAL_DIR).iterdir() if "step" in json.loads(e.read_text())
    ]
    entry.unlink()
    entry.symlink_to(target)
    before = snapshot(tmp_path)
    refused(run("sweep", out), entry.name)
    assert snapshot(tmp_path) == before


def test_a_symlinked_commit_directory_is_never_followed(tmp_path):
    """`.commit-*` as a symlink to a directory outside OUT holding a commit: not pytfpol's."""
    out, target = tmp_path / "out", tmp_path / "target"
    assert run("eval", out).exit_code == 0
    target.mkdir()
    (target / "stats.json").write_text("{}")
    manifest = {"kind": "eval", "set": ["stats.json"], "unset": ["checkpoint"], "files": {}}
    (target / output_manifest.MANIFEST).write_text(json.dumps(manifest))
    (out / ".commit-x").symlink_to(target, target_is_directory=True)
    before = outside(snapshot(tmp_path))
    assert run("eval", out).exit_code == 0
    assert outside(snapshot(tmp_path)) == before


# ---------------------------------------------------------------------------------------------
# 4. One kind of result per OUT


@pytest.mark.parametrize("first, then", [("eval", "sweep"), ("sweep", "eval")])
def test_one_kind_of_result_per_out(tmp_path, first, then):
    """Issue 23.4: an eval's OUT given to sweep (or the reverse) is exit 5 without --overwrite,
    OUT unchanged; with it, the previous set is replaced whole, nothing of its kind left."""
    out = tmp_path / "out"
    assert run(first, out).exit_code == 0
    before = snapshot(tmp_path)
    refused(run(then, out), "--overwrite")
    assert snapshot(tmp_path) == before
    result = run(then, out, "--overwrite")
    assert result.exit_code == 0, result.output
    names = {p.name for p in out.iterdir()}
    gone = EVAL_ONLY if then == "sweep" else SWEEP_ONLY
    assert not names & gone, names
    assert json.loads((out / output_manifest.SET_MANIFEST).read_text())["kind"] == then
