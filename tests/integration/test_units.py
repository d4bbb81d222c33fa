"""Units of work, the worker, the in-process runner and merging results (issue 16).

A worker builds a policy graph once and restores each unit's checkpoint into it: restoring
checkpoint B into a graph built for A must give exactly a fresh run of B — weights, train step and
NumpyState normalisation statistics included. Real TF-Agents artifacts, real envs.
"""

from __future__ import annotations

import dataclasses
import pickle
import shutil

import numpy as np
import pytest

from pytfpol.policy.quiet_tf import import_tf

tf = import_tf()

from pytfpol.errors import RunError  # noqa: E402
from pytfpol.formats import validation  # noqa: E402
from pytfpol.formats.sources import resolve_policy_source  # noqa: E402
from pytfpol.running.env_spec import EnvSpec  # noqa: E402
from pytfpol.running.plan import policy_config_for  # noqa: E402
from pytfpol.running.runners import InProcessRunner  # noqa: E402
from pytfpol.running.units import (  # noqa: E402
    EpisodeRecord,
    RunOptions,
    Unit,
    UnitResult,
    merge,
    split,
)
from pytfpol.running.worker import PolicyWorker  # noqa: E402
from pytfpol.settings import EvalSettings  # noqa: E402
from tests.helpers import countdown_env  # noqa: E402
from tests.helpers.artifacts_checkpointer import NORMALIZED_ENV_KWARGS  # noqa: E402
from tests.helpers.repo import run_counting_opens  # noqa: E402

OPTIONS = RunOptions(num_envs=3)


NORMALIZATION = (
    "[network]\ntype = 'q_network'\nfc_layer_params = []\n"
    "[normalization]\nmean = 'obs_norm/mean'\nstd = 'obs_norm/std'\n"
)


def units_of(path, env: EnvSpec, steps, config=None, episodes: int = 6, seed: int = 10):
    """(unit, its validated inputs) per checkpoint step."""
    units = []
    for step in steps:
        source = resolve_policy_source(path, step=step)
        checked = validation.validate(source)
        settings = EvalSettings(str(path), env.env_id, episodes=episodes, config=config)
        config_ = policy_config_for(settings, source, checked)
        units.append((Unit(source, env, 0, episodes, seed, OPTIONS, config_), checked))
    return units


def outcomes(result: UnitResult) -> list[tuple]:
    assert result.error is None, result.error
    return [(r.index, r.seed, r.return_, r.length) for r in result.records]


def fresh(unit: Unit, checked) -> UnitResult:
    worker = PolicyWorker(unit, checked)
    try:
        return worker.run(unit, checked)
    finally:
        worker.close()


CASES = {
    # a Learner root: one SavedModel graph, policy checkpoints 5 and 9 (other weights)
    "learner": (lambda a: a / "learner" / "policies", EnvSpec("CartPole-v1"), (5, 9)),
    # a Checkpointer dir rebuilt from a config: ckpt-10 and ckpt-20 (other weights)
    "checkpointer": (
        lambda a: a / "checkpointer" / "dqn_v2" / "train" / "policy",
        EnvSpec("CartPole-v1"),
        (10, 20),
    ),
    # NumpyState normalisation statistics that differ between ckpt-4 and ckpt-8
    "normalized": (
        lambda a: a / "checkpointer" / "normalized_countdown_two_steps",
        EnvSpec(countdown_env.ENV_ID, NORMALIZED_ENV_KWARGS),
        (4, 8),
    ),
}


@pytest.fixture(scope="module")
def normalization_config(tmp_path_factory):
    path = tmp_path_factory.mktemp("config") / "normalized.toml"
    path.write_text(NORMALIZATION)
    return str(path)


def case_units(artifacts, case: str, normalization_config: str):
    path, env, steps = CASES[case]
    config = normalization_config if case == "normalized" else None
    return units_of(path(artifacts), env, steps, config=config), steps


def first_weights(loaded) -> np.ndarray:
    """The value in the graph of the policy's first kernel (2-D float variable)."""
    variables = loaded.graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)
    kernel = next(v for v in variables if v.shape.rank == 2)
    return loaded.session.run(kernel)


@pytest.mark.parametrize("case", list(CASES))
def test_restoring_b_into_a_graph_built_for_a_is_a_fresh_run_of_b(
    artifacts, normalization_config, case
):
    ((a, a_checked), (b, b_checked)), steps = case_units(artifacts, case, normalization_config)
    worker = PolicyWorker(b, b_checked)
    try:
        expected_b = worker.run(b, b_checked)
        weights_b = first_weights(worker.loaded)
    finally:
        worker.close()
    worker = PolicyWorker(a, a_checked)
    try:
        result_a = worker.run(a, a_checked)
        weights_a = first_weights(worker.loaded)
        operations = len(worker.loaded.graph.get_operations())
        result_b = worker.run(b, b_checked)
        restored_b = first_weights(worker.loaded)
        again_a = worker.run(a, a_checked)
        assert len(worker.loaded.graph.get_operations()) == operations  # restore ops reused
    finally:
        worker.close()
    assert outcomes(result_b) == outcomes(expected_b)
    assert result_b.train_step == expected_b.train_step == steps[1]
    assert (restored_b == weights_b).all()
    assert outcomes(again_a) == outcomes(result_a) and again_a.train_step == steps[0]
    if case != "normalized":  # its two checkpoints differ in their statistics only (below)
        assert not (weights_a == weights_b).all()


def test_the_normalisation_statistics_travel_with_the_checkpoint(artifacts, normalization_config):
    """Step 8's statistics make it right only when action 0 is rewarded (see the artifact);
    with step 4's statistics left in the graph it would score every step."""
    ((a, a_checked), (b, b_checked)), _ = case_units(artifacts, "normalized", normalization_config)
    worker = PolicyWorker(a, a_checked)
    try:
        perfect = worker.run(a, a_checked)
        restored = worker.run(b, b_checked)
    finally:
        worker.close()
    assert all(r.return_ == r.length for r in perfect.records)
    assert any(r.return_ < r.length for r in restored.records)


def test_the_runner_keeps_one_worker_per_graph_and_runs_blocks_of_episodes(artifacts):
    """Blocks of episodes of two checkpoints, run in any order, merge into what one unit per
    checkpoint gives; units of one graph share one worker."""
    path, env, steps = CASES["learner"]
    whole = {
        step: (unit, checked)
        for step, (unit, checked) in zip(steps, units_of(path(artifacts), env, steps))
    }
    blocks = [
        (dataclasses.replace(unit, first=first, count=count), checked)
        for unit, checked in whole.values()
        for first, count in split(unit.count, 4)
    ]
    with InProcessRunner() as runner:
        results = [runner.run(unit, checked) for unit, checked in reversed(blocks)]
        worker = runner.worker_for(*whole[steps[0]])
        assert all(runner.worker_for(unit, checked) is worker for unit, checked in blocks)
        singles = {step: runner.run(*whole[step]) for step in steps}
    expected = [(step, i) for step in steps for i in range(6)]
    merged = merge(results, expected)
    for step in steps:
        assert [merged[step, i] for i in range(6)] == singles[step].records


def test_a_unit_is_a_small_picklable_value(artifacts):
    path, env, steps = CASES["checkpointer"]
    unit, _ = units_of(path(artifacts), env, steps[:1])[0]
    assert pickle.loads(pickle.dumps(unit)) == unit
    assert len(pickle.dumps(unit)) < 20_000
    assert unit.indices == range(0, 6) and unit.step == 10


def record(index: int) -> EpisodeRecord:
    return EpisodeRecord(index, 100 + index, 1.0, 3, True, False)


def result_of(unit: Unit, indices, step: int = 7) -> UnitResult:
    return UnitResult(unit, [record(i) for i in indices], train_step=step)


@pytest.fixture
def unit(artifacts) -> Unit:
    source = resolve_policy_source(artifacts / "countdown_sm")
    return Unit(source, EnvSpec(countdown_env.ENV_ID), 0, 4, 100, OPTIONS)


def test_merge_orders_records_by_step_and_index(unit):
    merged = merge([result_of(unit, [2, 3]), result_of(unit, [0, 1])], [(7, i) for i in range(4)])
    assert list(merged) == [(7, 0), (7, 1), (7, 2), (7, 3)]
    assert [r.index for r in merged.values()] == [0, 1, 2, 3]


def test_merge_refuses_a_gap(unit):
    with pytest.raises(RunError, match="episode 2 of step 7 is missing"):
        merge([result_of(unit, [0, 1]), result_of(unit, [3])], [(7, i) for i in range(4)])


def test_merge_refuses_a_duplicate(unit):
    with pytest.raises(RunError, match="episode 1 of step 7 was run twice"):
        merge([result_of(unit, [0, 1]), result_of(unit, [1, 2, 3])], [(7, i) for i in range(4)])


def test_merge_refuses_what_was_not_asked_for(unit):
    with pytest.raises(RunError, match="episode 4 of step 7 was not asked for"):
        merge([result_of(unit, range(5))], [(7, i) for i in range(4)])


def test_split_covers_every_episode_once():
    assert split(10, 4) == [(0, 4), (4, 4), (8, 2)]
    assert split(10, None) == [(0, 10)]
    assert split(3, 8) == [(0, 3)]


# ---------------------------------------------------------------------------------------------
# Each file read once


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace (Debian's strace)")
@pytest.mark.parametrize(
    "target, files",
    [
        (
            lambda a: a / "learner" / "policies",
            (
                "greedy_policy/variables/variables.index",
                "greedy_policy/variables/variables.data-00000-of-00001",
                "checkpoints/policy_checkpoint_0000000009/variables/variables.index",
                "checkpoints/policy_checkpoint_0000000009/variables/variables.data-00000-of-00001",
            ),
        ),
        (
            lambda a: a / "checkpointer" / "dqn_v2" / "train" / "policy",
            ("ckpt-20.index", "ckpt-20.data-00000-of-00001"),
        ),
    ],
    ids=["learner", "checkpointer"],
)
def test_an_eval_opens_each_input_checkpoint_file_once(artifacts, tmp_path, target, files):
    """Validation reads each checkpoint file once and keeps what it read; the policy's variables
    are assigned from it, so TensorFlow opens none of them (strace counts every open of the
    process and its children, TensorFlow's C++ included)."""
    root = target(artifacts)
    log = tmp_path / "strace.log"
    result, opened = run_counting_opens(
        ["eval", str(root), "--env", "CartPole-v1", "--episodes", "3", "--out",
         str(tmp_path / "out"), "-q"],
        log,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for name in files:
        assert opened.count(str(root / name)) == 1, (name, opened.count(str(root / name)))
