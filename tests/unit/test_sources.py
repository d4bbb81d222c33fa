"""Unit tests for sources.py: layout detection from the file system alone (no TensorFlow).

Directories are fabricated with empty placeholder files: detection only looks at names.
Every resolve, successful or not, must leave the tree exactly as it was.
"""

from __future__ import annotations

import json
import os
import pickle
from dataclasses import replace as dataclass_replace
from pathlib import Path

import pytest

from pytfpol.errors import EXIT_INPUT, EXIT_USAGE, InputError, PytfpolError, UsageError
from pytfpol.formats import layout
from pytfpol.formats.sources import (
    FORMAT_CHECKPOINTER,
    FORMAT_LEARNER,
    FORMAT_SAVED_MODEL,
    PolicySource,
    resolve_policy_source,
)
from tests.unit.test_documents import EVAL

SAVED_MODEL_FILES = (
    "saved_model.pb",
    "policy_specs.pbtxt",
    "variables/variables.index",
    "variables/variables.data-00000-of-00001",
)


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def make_saved_model(directory: Path) -> Path:
    for name in SAVED_MODEL_FILES:
        _touch(directory / name)
    return directory


def make_checkpoint(policies: Path, step: int) -> Path:
    directory = policies / "checkpoints" / f"policy_checkpoint_{step:010d}"
    _touch(directory / "variables" / "variables.index")
    _touch(directory / "variables" / "variables.data-00000-of-00001")
    return directory


@pytest.fixture
def learner(tmp_path):
    """train/policies/{greedy_policy,collect_policy,policy} + checkpoints at steps 5 and 12."""
    policies = tmp_path / "train" / "policies"
    for name in ("greedy_policy", "collect_policy", "policy"):
        make_saved_model(policies / name)
    make_checkpoint(policies, 5)
    make_checkpoint(policies, 12)
    return policies


def snapshot(root: Path) -> dict:
    """Every path under root (and root itself) with its type and mtime."""
    paths = [root, *root.rglob("*")]
    return {str(p): (p.is_dir(), p.stat().st_mtime_ns) for p in paths}


def assert_error(root: Path, error_class, target, *args, **kwargs) -> PytfpolError:
    """resolve_policy_source(target, ...) raises exactly `error_class` and changes nothing."""
    before = snapshot(root)
    with pytest.raises(PytfpolError) as info:
        resolve_policy_source(target, *args, **kwargs)
    assert type(info.value) is error_class, info.value
    assert snapshot(root) == before
    error = info.value
    assert "\n" not in error.message
    assert error.hint
    return error


# ---------------------------------------------------------------------------------------------
# Layouts that resolve


def test_plain_saved_model(tmp_path):
    """A PolicySaver directory is a SavedModel source with no checkpoint."""
    model = make_saved_model(tmp_path / "cartpole-dqn")
    before = snapshot(tmp_path)
    source = resolve_policy_source(model)
    assert source == PolicySource(str(model), FORMAT_SAVED_MODEL, str(model))
    assert source.checkpoint_dir is None and source.checkpoint_prefix is None
    assert snapshot(tmp_path) == before


def test_plain_saved_model_accepts_str_path(tmp_path):
    """A str path works like a Path."""
    model = make_saved_model(tmp_path / "m")
    assert resolve_policy_source(str(model)).saved_model_dir == str(model)


def test_learner_root_defaults_to_greedy_and_newest_checkpoint(learner):
    """policies/: greedy_policy, with the highest-step policy_checkpoint applied."""
    before = snapshot(learner.parent)
    source = resolve_policy_source(learner)
    assert source.format == FORMAT_LEARNER
    assert source.path == str(learner)
    assert source.policy_name == "greedy"
    assert source.saved_model_dir == str(learner / "greedy_policy")
    newest = learner / "checkpoints" / "policy_checkpoint_0000000012"
    assert source.checkpoint_dir == str(newest)
    assert source.checkpoint_step == 12
    assert source.checkpoint_prefix == str(newest / "variables" / "variables")
    assert snapshot(learner.parent) == before


def test_newest_checkpoint_is_by_step_not_by_name_or_mtime(tmp_path):
    """Steps compare as numbers; files and foreign names in checkpoints/ are ignored."""
    policies = tmp_path / "policies"
    make_saved_model(policies / "greedy_policy")
    make_checkpoint(policies, 900)
    make_checkpoint(policies, 10000)  # newer by step, older by mtime below
    make_checkpoint(policies, 3)
    os.utime(policies / "checkpoints" / "policy_checkpoint_0000010000", (1, 1))
    _touch(policies / "checkpoints" / "policy_checkpoint_0000099999")  # a file, not a dir
    (policies / "checkpoints" / "policy_checkpoint_0000088888.tmp").mkdir()
    source = resolve_policy_source(policies)
    assert source.checkpoint_step == 10000
    assert source.checkpoint_dir == str(policies / "checkpoints" / "policy_checkpoint_0000010000")
    assert [c.step for c in layout.list_policy_checkpoints(policies / "checkpoints")] == [
        3,
        900,
        10000,
    ]


def test_learner_root_without_checkpoints_uses_saved_model_weights(tmp_path):
    """No checkpoints/ (or an empty one): the SavedModel's own variables, no checkpoint."""
    policies = tmp_path / "policies"
    make_saved_model(policies / "greedy_policy")
    assert resolve_policy_source(policies).checkpoint_dir is None
    (policies / "checkpoints").mkdir()
    source = resolve_policy_source(policies)
    assert source.checkpoint_dir is None and source.checkpoint_step is None
    assert source.saved_model_dir == str(policies / "greedy_policy")
    assert layout.list_policy_checkpoints(policies / "missing") == []


@pytest.mark.parametrize(
    "policy, directory",
    [("collect", "collect_policy"), ("policy", "policy"), ("greedy", "greedy_policy")],
)
def test_learner_policy_choice(learner, policy, directory):
    """--policy picks the SavedModel; the newest checkpoint still applies."""
    source = resolve_policy_source(learner, policy=policy)
    assert source.policy_name == policy
    assert source.saved_model_dir == str(learner / directory)
    assert source.checkpoint_step == 12


@pytest.mark.parametrize(
    "relative",
    [
        "",
        "variables",
        "variables/variables",
        "variables/variables.index",
        "variables/variables.data-00000-of-00001",
    ],
)
def test_explicit_checkpoint_forms_resolve_to_the_same_dir(learner, relative):
    """--checkpoint as the dir, its variables/ dir, the prefix or a file of it: same dir."""
    directory = learner / "checkpoints" / "policy_checkpoint_0000000005"
    given = directory / relative if relative else directory
    before = snapshot(learner.parent)
    source = resolve_policy_source(learner, checkpoint=given)
    assert source.checkpoint_dir == str(directory)
    assert source.checkpoint_step == 5
    assert source.checkpoint_prefix == str(directory / "variables" / "variables")
    assert source.saved_model_dir == str(learner / "greedy_policy")
    assert snapshot(learner.parent) == before


def test_explicit_checkpoint_given_as_str(learner):
    """A str --checkpoint works too."""
    directory = learner / "checkpoints" / "policy_checkpoint_0000000005"
    assert resolve_policy_source(str(learner), checkpoint=str(directory)).checkpoint_step == 5


def test_explicit_checkpoint_outside_policies_dir(learner, tmp_path):
    """A checkpoint copied elsewhere applies; a name without a step gives step None."""
    copy = tmp_path / "saved-weights"
    _touch(copy / "variables" / "variables.index")
    source = resolve_policy_source(learner, checkpoint=copy)
    assert source.checkpoint_dir == str(copy)
    assert source.checkpoint_step is None


def test_plain_saved_model_with_explicit_checkpoint(learner, tmp_path):
    """--checkpoint on a plain SavedModel attaches that checkpoint."""
    model = make_saved_model(tmp_path / "exported")
    ckpt = learner / "checkpoints" / "policy_checkpoint_0000000012"
    source = resolve_policy_source(model, checkpoint=ckpt / "variables" / "variables")
    assert source.format == FORMAT_SAVED_MODEL
    assert source.saved_model_dir == str(model)
    assert source.checkpoint_dir == str(ckpt)
    assert source.checkpoint_step == 12


def test_train_dir_resolves_to_its_policies(learner):
    """The parent of policies/ (the training run's root dir) works like policies/ itself."""
    train = learner.parent
    source = resolve_policy_source(train, policy="collect")
    assert source.format == FORMAT_LEARNER
    assert source.path == str(train)  # what the user gave
    assert source.saved_model_dir == str(learner / "collect_policy")
    assert source.checkpoint_step == 12


def test_pointing_at_a_learner_saved_model_applies_newest_sibling_checkpoint(learner):
    """policies/greedy_policy itself: still a Learner source with the newest checkpoint."""
    given = learner / "greedy_policy"
    source = resolve_policy_source(given)
    assert source.format == FORMAT_LEARNER
    assert source.path == str(given)
    assert source.policy_name == "greedy"
    assert source.saved_model_dir == str(learner / "greedy_policy")
    assert source.checkpoint_step == 12


def test_pointing_at_collect_policy_dir_with_another_policy_option_is_refused(learner):
    """The directory named is the one evaluated; a --policy that contradicts it is exit 2."""
    source = resolve_policy_source(learner / "collect_policy")
    assert source.policy_name == "collect"
    assert source.saved_model_dir == str(learner / "collect_policy")
    assert resolve_policy_source(learner / "collect_policy", policy="collect") == source
    error = assert_error(learner.parent, UsageError, learner / "collect_policy", policy="greedy")
    assert "--policy greedy" in error.message and "collect SavedModel itself" in error.message


def test_pointing_at_learner_saved_model_with_explicit_checkpoint(learner):
    """policies/greedy_policy with --checkpoint: that checkpoint, not the newest."""
    ckpt = learner / "checkpoints" / "policy_checkpoint_0000000005"
    source = resolve_policy_source(learner / "greedy_policy", checkpoint=ckpt)
    assert source.checkpoint_step == 5


def test_dot_inside_learner_saved_model_is_the_same_as_its_path(learner, monkeypatch):
    """`pytfpol eval .` from inside policies/greedy_policy evaluates the same weights."""
    monkeypatch.chdir(learner / "greedy_policy")
    source = resolve_policy_source(".")
    assert source.format == FORMAT_LEARNER
    assert source.policy_name == "greedy"
    assert Path(source.saved_model_dir).resolve() == (learner / "greedy_policy").resolve()
    assert (
        Path(source.checkpoint_dir).resolve()
        == (learner / "checkpoints" / "policy_checkpoint_0000000012").resolve()
    )


def test_policy_source_is_small_and_picklable(learner):
    """A PolicySource is a plain value that can be sent to worker processes."""
    source = resolve_policy_source(learner)
    assert pickle.loads(pickle.dumps(source)) == source


# ---------------------------------------------------------------------------------------------
# Errors: right class, path in the message, a hint, and nothing created or changed


def test_missing_path_is_input_error_and_not_created(tmp_path):
    """A mistyped path: InputError naming it; it is not created."""
    (tmp_path / "policies").mkdir()
    target = tmp_path / "polices" / "greedy_policy"
    error = assert_error(tmp_path, InputError, target)
    assert error.exit_code == EXIT_INPUT
    assert str(target) in error.message
    assert error.path == str(target)
    assert not (tmp_path / "polices").exists()


def test_regular_file_is_input_error(tmp_path):
    """A file (e.g. saved_model.pb itself) is not a policy directory."""
    model = make_saved_model(tmp_path / "m")
    target = model / "saved_model.pb"
    error = assert_error(tmp_path, InputError, target)
    assert str(target) in error.message
    assert "file" in error.message


def test_empty_dir_is_input_error(tmp_path):
    """An empty directory: InputError naming it."""
    target = tmp_path / "empty"
    target.mkdir()
    error = assert_error(tmp_path, InputError, target)
    assert str(target) in error.message
    assert os.listdir(target) == []


def test_checkpointer_dir_resolves_to_the_newest_index(tmp_path):
    """A common.Checkpointer dir resolves to its newest ckpt-<step>; --step picks another;
    the `checkpoint` state file is never followed (it may point anywhere)."""
    target = tmp_path / "train" / "policy"
    (target).mkdir(parents=True)
    (target / "checkpoint").write_text('model_checkpoint_path: "/etc/elsewhere/ckpt-99"\n')
    for step in (3, 12):
        _touch(target / f"ckpt-{step}.index")
        _touch(target / f"ckpt-{step}.data-00000-of-00001")
    before = snapshot(tmp_path)
    source = resolve_policy_source(target)
    assert source.format == FORMAT_CHECKPOINTER
    assert source.saved_model_dir is None
    assert source.checkpoint_step == 12
    assert source.checkpoint_prefix == str(target / "ckpt-12")
    assert resolve_policy_source(target, step=3).checkpoint_prefix == str(target / "ckpt-3")
    assert snapshot(tmp_path) == before


def test_checkpointer_dir_unknown_step_lists_the_available_ones(tmp_path):
    target = tmp_path / "ck"
    _touch(target / "ckpt-12.index")
    error = assert_error(tmp_path, InputError, target, step=5)
    assert "step 5" in error.message
    assert "12" in error.hint


def test_checkpoint_state_file_without_index_is_an_input_error(tmp_path):
    target = tmp_path / "ck"
    _touch(target / "checkpoint")
    error = assert_error(tmp_path, InputError, target)
    assert str(target) in error.message


def test_unknown_policy_name_is_usage_error(learner):
    """--policy must be greedy, collect or policy; the hint lists them."""
    error = assert_error(learner.parent, UsageError, learner, policy="best")
    assert error.exit_code == EXIT_USAGE
    assert "'best'" in error.message
    for name in ("greedy", "collect", "policy"):
        assert name in error.hint


def test_unknown_policy_name_checked_before_path(tmp_path):
    """A bad --policy is reported even when the path is missing too (usage first)."""
    assert_error(tmp_path, UsageError, tmp_path / "missing", policy="Greedy")
    assert not (tmp_path / "missing").exists()


def test_missing_policy_subdir_hint_lists_present_ones(tmp_path):
    """A Learner root without the asked-for SavedModel: InputError; hint names those present."""
    policies = tmp_path / "policies"
    make_saved_model(policies / "collect_policy")
    make_saved_model(policies / "policy")
    make_checkpoint(policies, 1)
    error = assert_error(tmp_path, InputError, policies, policy="greedy")
    assert "greedy_policy" in error.message
    assert str(policies) in error.message
    assert "collect" in error.hint and "policy" in error.hint
    assert "greedy" not in error.hint
    assert not (policies / "greedy_policy").exists()


def test_incomplete_learner_saved_model_names_missing_file(tmp_path):
    """greedy_policy without policy_specs.pbtxt: InputError naming the file."""
    policies = tmp_path / "policies"
    make_saved_model(policies / "greedy_policy")
    (policies / "greedy_policy" / "policy_specs.pbtxt").unlink()
    error = assert_error(tmp_path, InputError, policies)
    assert "policy_specs.pbtxt" in error.message
    assert str(policies / "greedy_policy") in error.message


@pytest.mark.parametrize(
    "relative",
    [
        "policy_checkpoint_0000000099",  # no such checkpoint
        "policy_checkpoint_0000000005/variables/variablez",  # typo inside a real checkpoint
        "policy_checkpoint_0000000005/nonsense",
    ],
)
def test_missing_explicit_checkpoint_is_input_error_and_not_created(learner, relative):
    """A --checkpoint that does not exist is refused (never silently replaced by another)."""
    target = learner / "checkpoints" / relative
    error = assert_error(learner.parent, InputError, learner, checkpoint=target)
    assert str(target) in error.message
    assert not target.exists()


def test_explicit_checkpoint_that_is_not_a_checkpoint(learner):
    """A --checkpoint directory without variables/variables.index is refused."""
    target = learner / "greedy_policy"
    _touch(learner / "stray" / "file")
    error = assert_error(learner.parent, InputError, learner, checkpoint=learner / "stray")
    assert str(learner / "stray") in error.message
    assert "not a checkpoint" in error.message
    assert target.is_dir()


def test_newest_checkpoint_incomplete_is_reported(tmp_path):
    """A newest policy_checkpoint dir without its index is an InputError naming it."""
    policies = tmp_path / "policies"
    make_saved_model(policies / "greedy_policy")
    broken = policies / "checkpoints" / "policy_checkpoint_0000000007"
    broken.mkdir(parents=True)
    error = assert_error(tmp_path, InputError, policies)
    assert str(broken) in error.message


def test_resolving_never_creates_output_or_cache_files(learner):
    """A successful resolve of each layout leaves the whole tree unchanged."""
    root = learner.parent.parent
    before = snapshot(root)
    for target in (learner, learner.parent, learner / "collect_policy"):
        resolve_policy_source(target)
    resolve_policy_source(
        learner, checkpoint=learner / "checkpoints" / "policy_checkpoint_0000000005"
    )
    assert snapshot(root) == before


# ---------------------------------------------------------------------------------------------
# Issue 9: one way to pick a checkpoint for every input kind; options that mean nothing refused


def make_ckpt(directory: Path, step: int, index: bool = True, data: bool = True) -> Path:
    if index:
        _touch(directory / f"ckpt-{step}.index")
    if data:
        _touch(directory / f"ckpt-{step}.data-00000-of-00001")
    return directory / f"ckpt-{step}"


@pytest.fixture
def checkpointer(tmp_path):
    """train/policy with ckpt-10 and ckpt-20, and its state file naming ckpt-20."""
    directory = tmp_path / "train" / "policy"
    for step in (10, 20):
        make_ckpt(directory, step)
    (directory / "checkpoint").write_text(
        'model_checkpoint_path: "ckpt-20"\nall_model_checkpoint_paths: "ckpt-20"\n'
    )
    return directory


def test_step_selects_the_learner_checkpoint_at_that_step(learner):
    """`eval LEARNER --step 5` evaluates policy_checkpoint_..05, not the newest (was: 12)."""
    source = resolve_policy_source(learner, step=5)
    assert source.checkpoint_step == 5
    assert source.checkpoint_dir == str(learner / "checkpoints" / "policy_checkpoint_0000000005")
    assert resolve_policy_source(learner / "greedy_policy", step=5) == dataclass_replace(
        source, path=str(learner / "greedy_policy")
    )


@pytest.mark.parametrize("target", ["learner", "checkpointer"])
def test_a_step_that_is_not_there_is_exit_3_listing_the_steps(learner, checkpointer, target):
    root = learner if target == "learner" else checkpointer
    error = assert_error(root.parent.parent, InputError, root, step=7)
    assert error.exit_code == EXIT_INPUT
    assert "no checkpoint at step 7" in error.message
    assert ("5, 12" if target == "learner" else "10, 20") in error.hint


@pytest.mark.parametrize("form", ["ckpt-10", "ckpt-10.index", "ckpt-10.data-00000-of-00001"])
def test_checkpoint_option_takes_a_checkpointer_prefix(checkpointer, form):
    """`eval TRAIN/policy --checkpoint .../ckpt-10` evaluates ckpt-10 (was: the newest)."""
    source = resolve_policy_source(checkpointer, checkpoint=checkpointer / form)
    assert source.checkpoint_prefix == str(checkpointer / "ckpt-10")
    assert source.checkpoint_step == 10


def test_a_checkpoint_prefix_is_an_input_of_its_own(checkpointer):
    source = resolve_policy_source(checkpointer / "ckpt-10")
    assert source.format == FORMAT_CHECKPOINTER
    assert source.checkpoint_prefix == str(checkpointer / "ckpt-10")
    assert source.path == str(checkpointer / "ckpt-10")


def test_a_policy_checkpoint_dir_is_evaluated_with_its_learner_saved_model(learner):
    target = learner / "checkpoints" / "policy_checkpoint_0000000005"
    source = resolve_policy_source(target)
    assert source.format == FORMAT_LEARNER
    assert source.saved_model_dir == str(learner / "greedy_policy")
    assert source.checkpoint_step == 5 and source.path == str(target)


def test_step_and_checkpoint_together_are_refused(checkpointer):
    error = assert_error(
        checkpointer.parent, UsageError, checkpointer, step=10, checkpoint=checkpointer / "ckpt-10"
    )
    assert "--step and --checkpoint" in error.message


def test_step_on_a_plain_saved_model_is_refused(tmp_path):
    saved = make_saved_model(tmp_path / "sm")
    error = assert_error(tmp_path, UsageError, saved, step=3)
    assert "--step 3" in error.message and "PolicySaver SavedModel" in error.message


def test_policy_option_on_a_checkpointer_dir_is_refused(checkpointer):
    error = assert_error(checkpointer.parent, UsageError, checkpointer, policy="collect")
    assert error.message.startswith("--policy: has no meaning for")
    assert "common.Checkpointer directory" in error.message


def test_a_checkpointer_prefix_for_a_learner_root_is_refused(learner, checkpointer):
    error = assert_error(
        learner.parent.parent, UsageError, learner, checkpoint=checkpointer / "ckpt-10"
    )
    assert "common.Checkpointer checkpoint" in error.message
    assert "policy_checkpoint_<step>" in error.message


def test_newest_checkpoint_without_index_is_skipped_with_a_warning(checkpointer):
    """ckpt-30 has data but no .index (being written): ckpt-20 is evaluated, and one warning
    names both."""
    make_ckpt(checkpointer, 30, index=False)
    source = resolve_policy_source(checkpointer)
    assert source.checkpoint_step == 20
    assert len(source.warnings) == 1
    assert f"ckpt-30 (missing {checkpointer / 'ckpt-30.index'})" in source.warnings[0]
    assert "using ckpt-20" in source.warnings[0]
    error = assert_error(checkpointer.parent, InputError, checkpointer, step=30)
    assert str(checkpointer / "ckpt-30.index") in error.message


def test_newest_learner_checkpoint_without_index_is_skipped_with_a_warning(learner):
    (learner / "checkpoints" / "policy_checkpoint_0000000020" / "variables").mkdir(parents=True)
    source = resolve_policy_source(learner)
    assert source.checkpoint_step == 12
    assert "policy_checkpoint_0000000020" in source.warnings[0]


def test_an_index_of_any_file_type_counts_and_is_left_to_validation(checkpointer):
    """A damaged newest index (here a directory) is selected, so validation refuses it (exit 3)
    naming it: a damaged newest checkpoint is never silently replaced by an older one."""
    (checkpointer / "ckpt-30.index").mkdir()
    _touch(checkpointer / "ckpt-30.data-00000-of-00001")
    assert resolve_policy_source(checkpointer).checkpoint_step == 30


@pytest.mark.parametrize(
    "state, fragment",
    [
        ('model_checkpoint_path: "ckpt-10"\n', "names ckpt-10"),
        ('model_checkpoint_path: "../elsewhere/ckpt-99"\n', "points outside"),
        ("garbage that is not a text proto\n", "not a valid checkpoint state file"),
    ],
)
def test_a_state_file_naming_another_checkpoint_is_a_warning(checkpointer, state, fragment):
    """pytfpol picks by step and never follows the state file; when it disagrees, one warning
    says so, naming both."""
    (checkpointer / "checkpoint").write_text(state)
    source = resolve_policy_source(checkpointer)
    assert source.checkpoint_step == 20
    assert len(source.warnings) == 1
    assert fragment in source.warnings[0] and "ckpt-20" in source.warnings[0]


def test_a_state_file_naming_the_newest_gives_no_warning(checkpointer):
    assert resolve_policy_source(checkpointer).warnings == ()


@pytest.mark.parametrize("given", ["root", "train"])
def test_train_eval_dirs_resolve_to_their_policy_checkpointer(checkpointer, given):
    """root/ and root/train/ of a train_eval script (train/ holds the agent's own ckpt-N)."""
    make_ckpt(checkpointer.parent, 10)  # the agent checkpoint in train/
    target = checkpointer.parent.parent if given == "root" else checkpointer.parent
    source = resolve_policy_source(target)
    assert source.format == FORMAT_CHECKPOINTER
    assert source.checkpoint_prefix == str(checkpointer / "ckpt-20")
    assert source.path == str(target)


def test_policy_saved_model_folder_resolves_to_its_newest_saved_model(tmp_path):
    """PPO's policy_saved_model/policy_<step>/: newest by step, --step picks another."""
    folder = tmp_path / "root" / "policy_saved_model"
    for step in (100, 2000):
        make_saved_model(folder / f"policy_{step:09d}")
    for target in (folder, folder.parent):
        source = resolve_policy_source(target)
        assert source.format == FORMAT_SAVED_MODEL
        assert source.saved_model_dir == str(folder / "policy_000002000")
        assert source.checkpoint_step == 2000 and source.checkpoint_prefix is None
    assert resolve_policy_source(folder, step=100).saved_model_dir == str(
        folder / "policy_000000100"
    )
    error = assert_error(tmp_path, InputError, folder, step=5)
    assert "100, 2000" in error.hint
    assert_error(tmp_path, UsageError, folder, checkpoint=folder / "policy_000000100")


def test_eval_output_of_a_saved_model_resolves_from_any_directory(tmp_path, monkeypatch):
    """An output of a SavedModel input records the SavedModel's absolute path and train step:
    it evaluates again from another working directory. (Its stats.json is read by the one
    validating reader: a report, not just the keys used here.)"""
    saved = make_saved_model(tmp_path / "sm")
    out = tmp_path / "out"
    _touch(out / "checkpoint" / "variables" / "variables.index")
    _touch(out / "checkpoint" / "variables" / "variables.data-00000-of-00001")
    policy = {"saved_model": str(saved), "train_step": 9}
    (out / "stats.json").write_text(json.dumps({**EVAL, "policy": policy}))  # a valid report
    monkeypatch.chdir(tmp_path / "sm")
    source = resolve_policy_source(out)
    assert source.saved_model_dir == str(saved)
    assert source.checkpoint_prefix == str(out / "checkpoint" / "variables" / "variables")
    assert source.checkpoint_step == 9
    error = assert_error(tmp_path, UsageError, out, step=3)
    assert "--step" in error.message


# --------------------------------------------------------------------------- scale (issue 26)


def _many_checkpoints(directory: Path, count: int) -> Path:
    """A Checkpointer directory of `count` complete steps, then: one without its data, one with
    data but no index, one with an index and a file only named like data."""
    for step in range(1, count + 1):
        _touch(directory / f"ckpt-{step}.index")
        _touch(directory / f"ckpt-{step}.data-00000-of-00001")
    _touch(directory / f"ckpt-{count + 1}.index")
    _touch(directory / f"ckpt-{count + 2}.data-00000-of-00001")
    _touch(directory / f"ckpt-{count + 3}.index")
    _touch(directory / f"ckpt-{count + 3}.data-partial")
    return directory


@pytest.fixture
def listings(monkeypatch) -> list:
    """Every directory `os.listdir` is asked for, in order (a counting wrapper of the real one)."""
    calls: list = []
    real = os.listdir

    def counting(path="."):
        calls.append(os.path.normpath(os.fspath(path)))
        return real(path)

    monkeypatch.setattr(os, "listdir", counting)
    return calls


@pytest.mark.parametrize("given", ["dir", "train_root"])
def test_a_run_of_many_checkpoints_is_listed_once(tmp_path, listings, given):
    """Detecting a run of N checkpoints lists its directory once (not once per checkpoint), and
    resolving each of its checkpoints from that layout (what a sweep does) lists nothing."""
    from types import SimpleNamespace

    from pytfpol.running.sweep_plan import SweepRun, source_for

    run = _many_checkpoints(tmp_path / "train" / "policy", 150)
    path = run if given == "dir" else tmp_path
    found = layout.detect(path).in_context()
    assert listings.count(str(run)) == 1
    assert [c.step for c in found.checkpoints] == list(range(1, 154))
    assert [c.missing for c in found.checkpoints[150:]] == [
        (f"{run / 'ckpt-151'}.data-*",),
        (f"{run / 'ckpt-152'}.index",),
        (),  # an .index and a file named like data: validation judges it
    ]
    # The same as looking at each checkpoint on its own.
    assert all(c.missing == layout._missing_bundle(Path(c.prefix)) for c in found.checkpoints)
    listings.clear()
    settings = SimpleNamespace(eval=SimpleNamespace(policy=None))
    sweep_run = SweepRun(str(path), found)
    sources = [source_for(sweep_run, c, settings) for c in found.checkpoints[:150]]
    assert listings == []
    assert [s.checkpoint_step for s in sources] == list(range(1, 151))
    assert sources[41] == resolve_policy_source(path, step=42)


def test_listing_a_checkpointer_dir_on_its_own_lists_it_once(tmp_path, listings, monkeypatch):
    run = _many_checkpoints(tmp_path / "run", 120)
    assert len(layout.list_checkpointer_dir(run)) == 123
    assert listings == [str(run)]
    monkeypatch.chdir(tmp_path)
    for form in (run, f"{run}/", "run", "./run/"):  # prefixes as pathlib writes them
        entries = layout.list_checkpointer_dir(form)
        assert [c.prefix for c in entries] == [str(Path(form) / c.name) for c in entries]
    monkeypatch.chdir(run)
    assert layout.list_checkpointer_dir(".")[0].prefix == "ckpt-1"
    listings.clear()
    listings.clear()
    found = layout.detect(run / "ckpt-7")  # one checkpoint, in its directory's context
    assert listings == [str(run)]
    assert found.in_context().given_checkpoint.step == 7
    assert len(found.in_context().checkpoints) == 123
