"""Unit tests for envs.py: spaces to specs, spec checks, batching and the PyEnvironment adapter.

Pure numpy/Gymnasium; specs are built directly with TF-Agents' array_spec, no policy is built.
"""

from __future__ import annotations

import pickle

import gymnasium as gym
import numpy as np
import pytest
import tensorflow as tf
from gymnasium import spaces
from tf_agents.specs import array_spec
from tf_agents.trajectories import time_step as ts

from pytfpol.errors import EXIT_INPUT, InputError, SpecMismatchError, UsageError
from pytfpol.running.env_spec import EnvSpec
from pytfpol.running.envs import (
    ActionUnbatcher,
    GymnasiumEnvironment,
    ObservationBatcher,
    check_specs,
    describe_spec,
    flatten_with_paths,
    space_to_spec,
)

Bounded = array_spec.BoundedArraySpec
Unbounded = array_spec.ArraySpec


def assert_spec(spec, shape, dtype, minimum, maximum, name=None):
    assert type(spec) is Bounded
    assert spec.shape == shape
    assert spec.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(
        np.broadcast_to(spec.minimum, shape), np.broadcast_to(minimum, shape)
    )
    np.testing.assert_array_equal(
        np.broadcast_to(spec.maximum, shape), np.broadcast_to(maximum, shape)
    )
    if name is not None:
        assert spec.name == name


# ---------------------------------------------------------------------------------------------
# space_to_spec


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_box_uniform_bounds(dtype):
    """A Box with scalar bounds keeps shape, dtype and bounds."""
    spec = space_to_spec(spaces.Box(-2.0, 3.0, (3, 2), dtype))
    assert_spec(spec, (3, 2), dtype, -2.0, 3.0, name="observation")


def test_box_per_element_bounds():
    """Per-element bounds survive element by element."""
    low, high = np.array([0.0, -1.0, -5.0]), np.array([1.0, 2.0, 5.0])
    spec = space_to_spec(spaces.Box(low, high, dtype=np.float64), "action")
    assert_spec(spec, (3,), np.float64, low, high, name="action")
    np.testing.assert_array_equal(spec.minimum, low)


def test_box_uint8_image():
    """An image Box stays uint8 in [0, 255]."""
    spec = space_to_spec(spaces.Box(0, 255, (4, 4, 3), np.uint8))
    assert_spec(spec, (4, 4, 3), np.uint8, 0, 255)


def test_box_infinite_bounds_become_dtype_extremes():
    """Infinite Box bounds map to the dtype's extremes (how TF-Agents stores them)."""
    spec = space_to_spec(spaces.Box(-np.inf, np.inf, (2,), np.float32))
    assert_spec(spec, (2,), np.float32, np.finfo(np.float32).min, np.finfo(np.float32).max)


def test_discrete():
    """Discrete(n) is an int64 scalar in [0, n-1]."""
    assert_spec(space_to_spec(spaces.Discrete(2), "action"), (), np.int64, 0, 1, name="action")


def test_discrete_with_start():
    """Discrete(3, start=-1) is an int64 scalar in [-1, 1]."""
    assert_spec(space_to_spec(spaces.Discrete(3, start=-1)), (), np.int64, -1, 1)


def test_multi_discrete():
    """MultiDiscrete([2, 3]) is int64 (2,) in [0, 0]..[1, 2]."""
    spec = space_to_spec(spaces.MultiDiscrete([2, 3]))
    assert_spec(spec, (2,), np.int64, [0, 0], [1, 2])


def test_multi_discrete_with_start():
    """MultiDiscrete with start shifts both bounds."""
    spec = space_to_spec(spaces.MultiDiscrete([2, 3, 4], start=[1, -1, 10]))
    assert_spec(spec, (3,), np.int64, [1, -1, 10], [2, 1, 13])


def test_multi_discrete_2d():
    """A 2-D MultiDiscrete keeps its shape."""
    spec = space_to_spec(spaces.MultiDiscrete(np.array([[2, 3], [4, 5]])))
    assert_spec(spec, (2, 2), np.int64, 0, [[1, 2], [3, 4]])


@pytest.mark.parametrize("n, shape", [(4, (4,)), ([2, 3], (2, 3))])
def test_multi_binary(n, shape):
    """MultiBinary is int8 of its shape in [0, 1]."""
    assert_spec(space_to_spec(spaces.MultiBinary(n)), shape, np.int8, 0, 1)


def test_dict_space():
    """A Dict gives a dict of specs named by path."""
    space = spaces.Dict({"pos": spaces.Box(-1, 1, (2,)), "id": spaces.Discrete(5)})
    spec = space_to_spec(space)
    assert set(spec) == {"pos", "id"}
    assert_spec(spec["pos"], (2,), np.float32, -1, 1, name="observation/pos")
    assert_spec(spec["id"], (), np.int64, 0, 4, name="observation/id")


def test_tuple_space():
    """A Tuple gives a tuple of specs named by index."""
    spec = space_to_spec(spaces.Tuple((spaces.Discrete(2), spaces.Box(0, 1, (1,)))), "action")
    assert isinstance(spec, tuple) and len(spec) == 2
    assert_spec(spec[0], (), np.int64, 0, 1, name="action/0")
    assert_spec(spec[1], (1,), np.float32, 0, 1, name="action/1")


def test_nested_dict_in_tuple():
    """Nests compose: a Dict inside a Tuple inside a Dict."""
    space = spaces.Dict(
        {
            "t": spaces.Tuple(
                (spaces.MultiBinary(2), spaces.Dict({"x": spaces.Box(0, 9, (1,), np.float64)}))
            )
        }
    )
    spec = space_to_spec(space)
    assert_spec(spec["t"][0], (2,), np.int8, 0, 1, name="observation/t/0")
    assert_spec(spec["t"][1]["x"], (1,), np.float64, 0, 9, name="observation/t/1/x")


@pytest.mark.parametrize(
    "space",
    [
        spaces.Text(5),
        spaces.Graph(node_space=spaces.Box(0, 1, (2,)), edge_space=None),
        spaces.Sequence(spaces.Discrete(2)),
        spaces.Tuple((spaces.Discrete(2), spaces.Text(3))),
    ],
    ids=["text", "graph", "sequence", "tuple-with-text"],
)
def test_unsupported_spaces_raise_input_error(space):
    """Spaces without a fixed-shape array spec are an InputError (exit 3) with a hint."""
    with pytest.raises(InputError) as info:
        space_to_spec(space)
    assert info.value.exit_code == EXIT_INPUT
    assert "not supported" in info.value.message
    assert "Box" in info.value.hint


# ---------------------------------------------------------------------------------------------
# flatten_with_paths


def test_flatten_with_paths_sorted_keys_like_tf_nest():
    """Leaves come in tf.nest order (sorted dict keys, tuple order) with slash paths."""
    nest = {"b": (1, {"z": 2, "a": 3}), "a": 4, "c": [5, 6]}
    flat = flatten_with_paths(nest, "obs")
    assert flat == [
        ("obs/a", 4),
        ("obs/b/0", 1),
        ("obs/b/1/a", 3),
        ("obs/b/1/z", 2),
        ("obs/c/0", 5),
        ("obs/c/1", 6),
    ]
    assert [v for _, v in flat] == tf.nest.flatten(nest)


def test_flatten_with_paths_leaf_and_no_prefix():
    """A single leaf is one entry with the prefix as path; no prefix gives bare paths."""
    leaf = np.zeros(3)
    assert flatten_with_paths(leaf, "observation") == [("observation", leaf)]
    assert flatten_with_paths({"y": 1, "x": (2,)}) == [("x/0", 2), ("y", 1)]


def test_flatten_with_paths_space_spec_order_matches_tf_nest():
    """The spec of an unsorted Dict space flattens like tf.nest flattens it."""
    space = spaces.Dict({"zeta": spaces.Discrete(2), "alpha": spaces.Box(0, 1, (1,))})
    spec = space_to_spec(space)
    assert [p for p, _ in flatten_with_paths(spec, "o")] == ["o/alpha", "o/zeta"]
    assert [s.name for _, s in flatten_with_paths(spec)] == [s.name for s in tf.nest.flatten(spec)]


# ---------------------------------------------------------------------------------------------
# check_specs


def specs(observation, action):
    return {"observation": observation, "action": action}


def env_specs(observation_space, action_space):
    return specs(
        space_to_spec(observation_space, "observation"), space_to_spec(action_space, "action")
    )


CARTPOLE_OBS = spaces.Box(-4.8, 4.8, (4,), np.float32)


def mismatch(env, policy) -> SpecMismatchError:
    with pytest.raises(SpecMismatchError) as info:
        check_specs("Env-v0", "/runs/policy", env, policy)
    error = info.value
    assert isinstance(error, InputError) and error.exit_code == EXIT_INPUT
    assert "\n" not in error.message
    assert error.message.startswith("policy /runs/policy does not fit env Env-v0: ")
    assert error.hint
    assert error.path == "/runs/policy"
    return error


def fits(env, policy) -> None:
    assert check_specs("Env-v0", "/runs/policy", env, policy) == []


def test_identical_specs_pass():
    """The env's own specs fit; no warnings."""
    env = env_specs(CARTPOLE_OBS, spaces.Discrete(2))
    fits(env, env_specs(CARTPOLE_OBS, spaces.Discrete(2)))


def test_identical_nested_specs_pass():
    """Dict/Tuple nests with the same leaves fit."""
    obs = spaces.Dict({"a": spaces.Box(0, 1, (2,)), "b": spaces.Tuple((spaces.Discrete(3),))})
    act = spaces.Dict({"move": spaces.Box(-1, 1, (2,)), "fire": spaces.Discrete(2)})
    fits(env_specs(obs, act), env_specs(obs, act))


def test_observation_shape_mismatch():
    """Shape (4,) vs (3,): refused; the message names the path and both shapes."""
    error = mismatch(
        env_specs(CARTPOLE_OBS, spaces.Discrete(2)),
        env_specs(spaces.Box(-1, 1, (3,)), spaces.Discrete(2)),
    )
    assert "observation: shape (4,) (env) vs (3,) (policy)" in error.message


def test_action_count_mismatch():
    """Discrete(2) policy on a Discrete(3) env: refused, naming both action ranges."""
    error = mismatch(
        env_specs(CARTPOLE_OBS, spaces.Discrete(3)),
        env_specs(CARTPOLE_OBS, spaces.Discrete(2)),
    )
    assert "action: the policy chooses among actions [0, 1], the env has [0, 2]" in error.message


def test_action_start_mismatch():
    """Same count but shifted start (Discrete(3) vs Discrete(3, start=-1)): refused."""
    mismatch(
        env_specs(CARTPOLE_OBS, spaces.Discrete(3, start=-1)),
        env_specs(CARTPOLE_OBS, spaces.Discrete(3)),
    )


def test_integer_action_dtype_width_does_not_matter():
    """An int32 Discrete policy fits an int64 Discrete env with the same range."""
    env = env_specs(CARTPOLE_OBS, spaces.Discrete(2))
    fits(env, specs(env["observation"], Bounded((), np.int32, 0, 1)))


def test_float_vs_integer_action_kind():
    """A continuous policy cannot drive a discrete env, nor the reverse."""
    env = env_specs(CARTPOLE_OBS, spaces.Discrete(2))
    error = mismatch(env, specs(env["observation"], Bounded((), np.float32, 0.0, 1.0)))
    assert "the policy emits float actions, the env takes integer actions" in error.message
    env = env_specs(CARTPOLE_OBS, spaces.Box(-1, 1, ()))
    error = mismatch(env, specs(env["observation"], Bounded((), np.int64, -1, 1)))
    assert "the policy emits integer actions, the env takes float actions" in error.message


def test_continuous_policy_range_wider_than_env_refused():
    """Policy actions in [-2, 2] on an env taking [-1, 1]: refused."""
    env = env_specs(CARTPOLE_OBS, spaces.Box(-1, 1, (2,)))
    error = mismatch(env, specs(env["observation"], Bounded((2,), np.float32, -2.0, 2.0)))
    assert "action: policy range [-2, 2] exceeds the env's [-1, 1]" in error.message


def test_continuous_policy_range_wider_on_one_element_refused():
    """Per-element bounds are compared element by element."""
    env = env_specs(CARTPOLE_OBS, spaces.Box(np.float32([-1.0, 0.0]), np.float32([1.0, 5.0])))
    policy = Bounded((2,), np.float32, [-1.0, -0.5], [1.0, 5.0])
    mismatch(env, specs(env["observation"], policy))


def test_continuous_policy_range_narrower_allowed():
    """Policy actions in [-0.5, 0.5] on an env taking [-1, 1]: fine."""
    env = env_specs(CARTPOLE_OBS, spaces.Box(-1, 1, (2,)))
    fits(env, specs(env["observation"], Bounded((2,), np.float32, -0.5, 0.5)))


def test_continuous_action_float32_rounding_of_same_bounds_allowed():
    """A float32 policy saved from a float64 env has the env's bounds rounded: still fits."""
    assert float(np.float32(-100.3)) < -100.3  # rounds outward
    env = env_specs(CARTPOLE_OBS, spaces.Box(-100.3, 0.5, (1,), np.float64))
    fits(env, specs(env["observation"], Bounded((1,), np.float32, -100.3, 0.5)))


def test_continuous_action_unbounded_on_both_sides_fits():
    """Float64 env actions in (-inf, inf) fit a float32 policy whose range is infinite too."""
    env = env_specs(CARTPOLE_OBS, spaces.Box(-np.inf, np.inf, (2,), np.float64))
    fits(env, specs(env["observation"], Bounded((2,), np.float32, -np.inf, np.inf)))


def test_float64_env_observation_to_float32_policy_allowed():
    """Float64 observations go to a float32 policy (the precision it was trained with)."""
    env = env_specs(spaces.Box(-4.8, 4.8, (4,), np.float64), spaces.Discrete(2))
    fits(env, env_specs(CARTPOLE_OBS, spaces.Discrete(2)))


def test_float64_unbounded_observation_to_float32_unbounded_policy_allowed():
    """(-inf, inf) float64 obs (e.g. MuJoCo) fit a float32 policy with infinite bounds."""
    env = env_specs(spaces.Box(-np.inf, np.inf, (3,), np.float64), spaces.Discrete(2))
    policy = env_specs(spaces.Box(-np.inf, np.inf, (3,), np.float32), spaces.Discrete(2))
    fits(env, policy)


def test_float64_observation_with_float32_rounded_policy_bounds_allowed():
    """Policy bounds that are the env's float64 bounds rounded to float32 still fit."""
    assert float(np.float32(-100.2)) > -100.2  # rounds inward
    env = env_specs(spaces.Box(-100.2, 0.5, (2,), np.float64), spaces.Discrete(2))
    fits(env, env_specs(spaces.Box(-100.2, 0.5, (2,), np.float32), spaces.Discrete(2)))


def test_float_observation_to_int_policy_refused():
    """Float observations would be truncated by an integer policy: refused."""
    env = env_specs(spaces.Box(0, 10, (2,), np.float32), spaces.Discrete(2))
    policy = specs(Bounded((2,), np.int64, 0, 10), env["action"])
    error = mismatch(env, policy)
    assert (
        "observation: float32 observations would be truncated to the policy's int64"
        in error.message
    )


def test_int64_observation_with_small_bounds_to_int32_allowed():
    """Discrete(10) observations (int64) fit an int32 policy: the values fit exactly."""
    env = env_specs(spaces.Discrete(10), spaces.Discrete(2))
    fits(env, specs(Bounded((), np.int32, 0, 9), env["action"]))


def test_int64_observation_with_large_bounds_to_int32_refused():
    """int64 observations beyond int32's range would be truncated: refused."""
    env = env_specs(spaces.MultiDiscrete([2**40, 2]), spaces.Discrete(2))
    mismatch(env, specs(Unbounded((2,), np.int32), env["action"]))


def test_int64_observation_to_float32_policy_depends_on_range():
    """Integers convert to float32 exactly up to 2**24; beyond that they are refused."""
    fits(
        env_specs(spaces.Discrete(500), spaces.Discrete(2)),
        specs(Unbounded((), np.float32), Bounded((), np.int64, 0, 1)),
    )
    mismatch(
        env_specs(spaces.Discrete(2**25), spaces.Discrete(2)),
        specs(Unbounded((), np.float32), Bounded((), np.int64, 0, 1)),
    )


def test_uint8_observation_to_float32_policy_allowed():
    """uint8 images fit a float32 policy."""
    env = env_specs(spaces.Box(0, 255, (4, 4, 3), np.uint8), spaces.Discrete(2))
    fits(env, specs(Bounded((4, 4, 3), np.float32, 0.0, 255.0), env["action"]))


def test_env_observation_range_wider_than_policy_refused():
    """Env observations in [-10, 10] for a policy bounded to [-4.8, 4.8]: refused."""
    env = env_specs(spaces.Box(-10, 10, (4,), np.float32), spaces.Discrete(2))
    error = mismatch(env, env_specs(CARTPOLE_OBS, spaces.Discrete(2)))
    assert "observation: env range [-10, 10] exceeds the policy's [-4.8, 4.8]" in error.message


def test_env_observation_range_narrower_than_policy_allowed():
    """Env observations inside the policy's range fit."""
    env = env_specs(spaces.Box(-1, 1, (4,), np.float32), spaces.Discrete(2))
    fits(env, env_specs(CARTPOLE_OBS, spaces.Discrete(2)))


def test_env_observation_unbounded_vs_bounded_policy_refused():
    """Unbounded env observations cannot be promised to fit a bounded policy."""
    env = env_specs(spaces.Box(-np.inf, np.inf, (4,), np.float32), spaces.Discrete(2))
    mismatch(env, env_specs(CARTPOLE_OBS, spaces.Discrete(2)))


def test_unbounded_policy_array_spec_accepts_same_shape_and_kind():
    """A plain ArraySpec policy accepts any range of the same shape and dtype kind."""
    env = env_specs(spaces.Box(-np.inf, np.inf, (4,), np.float64), spaces.Box(-3, 7, (2,)))
    fits(env, specs(Unbounded((4,), np.float32), Unbounded((2,), np.float32)))
    env = env_specs(spaces.Box(-1e6, 1e6, (4,), np.float32), spaces.Discrete(5))
    fits(env, specs(Unbounded((4,), np.float32), Unbounded((), np.int64)))


def test_unbounded_policy_array_spec_still_checks_shape_and_kind():
    """A plain ArraySpec does not hide a shape or kind mismatch."""
    env = env_specs(spaces.Box(-1, 1, (4,), np.float32), spaces.Discrete(2))
    mismatch(env, specs(Unbounded((5,), np.float32), env["action"]))
    mismatch(env, specs(env["observation"], Unbounded((), np.float32)))


def test_dict_structure_difference_missing_key():
    """A policy without one of the env's Dict keys: refused, naming both key lists."""
    env = env_specs(
        spaces.Dict({"a": spaces.Box(0, 1, (2,)), "b": spaces.Discrete(3)}), spaces.Discrete(2)
    )
    policy = env_specs(spaces.Dict({"a": spaces.Box(0, 1, (2,))}), spaces.Discrete(2))
    error = mismatch(env, policy)
    assert (
        "observation structure differs: policy has ['observation/a'], "
        "env has ['observation/a', 'observation/b']" in error.message
    )


def test_dict_vs_single_and_dict_vs_tuple_structure():
    """A dict where a single array (or a tuple) is expected: refused."""
    single = env_specs(CARTPOLE_OBS, spaces.Discrete(2))
    nested = env_specs(spaces.Dict({"x": CARTPOLE_OBS}), spaces.Discrete(2))
    assert "structure differs" in mismatch(single, nested).message
    as_tuple = env_specs(spaces.Tuple((CARTPOLE_OBS,)), spaces.Discrete(2))
    assert "structure differs" in mismatch(nested, as_tuple).message


def test_dict_leaf_difference_names_the_path():
    """Within the same Dict structure, a bad leaf is named by its path."""
    env = env_specs(
        spaces.Dict({"a": spaces.Box(0, 1, (2,)), "b": spaces.Discrete(3)}), spaces.Discrete(2)
    )
    policy = env_specs(
        spaces.Dict({"a": spaces.Box(0, 1, (2,)), "b": spaces.Box(0, 2, (1,))}), spaces.Discrete(2)
    )
    assert "observation/b: shape () (env) vs (1,) (policy)" in mismatch(env, policy).message


def test_mismatch_message_names_the_first_problem_and_counts_the_rest():
    """Several problems: one line with the first (observation before action) and a count."""
    env = env_specs(spaces.Box(-1, 1, (4,)), spaces.Discrete(3))
    policy = env_specs(spaces.Box(-1, 1, (3,)), spaces.Discrete(2))
    error = mismatch(env, policy)
    assert error.message.endswith("(and 1 more)")
    assert "observation: shape (4,)" in error.message
    assert "action" not in error.message.split("(and")[0].split("fit env Env-v0: ")[1]


def test_mismatch_details_side_by_side_table():
    """`.details` holds a table: a header with policy/env columns, one aligned row per leaf."""
    env = env_specs(
        spaces.Dict({"pos": spaces.Box(-1, 1, (2,)), "id": spaces.Discrete(3)}),
        spaces.Discrete(3),
    )
    policy = env_specs(
        spaces.Dict({"pos": spaces.Box(-1, 1, (2,)), "id": spaces.Discrete(3)}),
        spaces.Discrete(2),
    )
    error = mismatch(env, policy)
    lines = error.details.splitlines()
    header = lines[0]
    assert header.split() == ["policy", "env"]
    policy_col, env_col = header.index("policy"), header.index("env")
    assert policy_col < env_col
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == {"observation/id", "observation/pos", "action"}
    assert len(lines) == 4
    for line in lines[1:]:
        assert line[policy_col - 1] == " " and line[policy_col] != " "
        assert line[env_col - 1] == " " and line[env_col] != " "
    action = rows["action"]
    assert action[policy_col:env_col].strip() == "int64 () in [0, 1]"
    assert action[env_col:] == "int64 () in [0, 2]"
    assert rows["observation/pos"][env_col:] == "float32 (2,) in [-1, 1]"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unbounded_float_spaces_read_unbounded(dtype):
    """Gymnasium's -inf/inf, which TF-Agents stores as the largest float, read `unbounded` (or
    `inf` for one side), not +-1.798e+308."""
    name = np.dtype(dtype).name
    assert describe_spec(space_to_spec(spaces.Box(-np.inf, np.inf, (17,), dtype))) == (
        f"{name} (17,) unbounded"
    )
    assert describe_spec(space_to_spec(spaces.Box(0.0, np.inf, (2,), dtype))) == (
        f"{name} (2,) in [0, inf]"
    )
    per_element = spaces.Box(np.array([-4.8, -np.inf]), np.array([4.8, np.inf]), dtype=dtype)
    assert describe_spec(space_to_spec(per_element)) == f"{name} (2,) in [-4.8,-inf]..[4.8,inf]"


def test_mismatch_table_says_unbounded():
    env = env_specs(spaces.Box(-np.inf, np.inf, (17,), np.float64), spaces.Box(-1, 1, (6,)))
    policy = env_specs(spaces.Box(-np.inf, np.inf, (27,), np.float64), spaces.Box(-1, 1, (6,)))
    row = next(line for line in mismatch(env, policy).details.splitlines()[1:])
    assert row.split(None, 1)[1].split() == [
        "float64", "(27,)", "unbounded", "float64", "(17,)", "unbounded",
    ]  # fmt: skip


def test_mismatch_details_for_structure_difference_lists_both_sides():
    """A structure difference lists policy-only and env-only leaves in their own columns."""
    env = env_specs(
        spaces.Dict({"a": spaces.Discrete(2), "b": spaces.Discrete(3)}), spaces.Discrete(2)
    )
    policy = env_specs(spaces.Dict({"a": spaces.Discrete(2)}), spaces.Discrete(2))
    lines = mismatch(env, policy).details.splitlines()
    env_col = lines[0].index("env")
    b_rows = [line for line in lines if line.startswith("observation/b")]
    assert len(b_rows) == 1
    assert b_rows[0][env_col:] == "int64 () in [0, 2]"
    assert b_rows[0][:env_col].split() == ["observation/b"]


# ---------------------------------------------------------------------------------------------
# ObservationBatcher


def test_observation_batcher_single_box_converts_dtype():
    """Rows of float64 arrays become one float32 batch of the policy's dtype."""
    batcher = ObservationBatcher(Bounded((3,), np.float32, -1.0, 1.0))
    rows = [np.array([0.1, 0.2, 0.3]), np.array([1.0, -1.0, 0.0])]
    batch = batcher(rows)
    assert batch.dtype == np.float32 and batch.shape == (2, 3)
    np.testing.assert_array_equal(batch, np.array(rows, dtype=np.float32))


def test_observation_batcher_discrete_rows():
    """Scalar int observations batch to shape (n,) in the policy's integer dtype."""
    batch = ObservationBatcher(Bounded((), np.int32, 0, 9))([np.int64(3), 7, np.int64(0)])
    assert batch.dtype == np.int32
    np.testing.assert_array_equal(batch, [3, 7, 0])


def test_observation_batcher_dict_nest():
    """Dict rows (any key order) become a dict of stacked, converted columns."""
    spec = {"pos": Bounded((2,), np.float32, -1.0, 1.0), "id": Bounded((), np.int32, 0, 9)}
    batcher = ObservationBatcher(spec)
    rows = [
        {"pos": np.array([0.5, -0.5]), "id": np.int64(4)},
        {"id": np.int64(2), "pos": np.array([1.0, 0.0])},
    ]
    batch = batcher(rows)
    assert isinstance(batch, dict) and set(batch) == {"pos", "id"}
    assert batch["pos"].dtype == np.float32 and batch["pos"].shape == (2, 2)
    assert batch["id"].dtype == np.int32
    np.testing.assert_array_equal(batch["pos"], [[0.5, -0.5], [1.0, 0.0]])
    np.testing.assert_array_equal(batch["id"], [4, 2])


def test_observation_batcher_dict_rows_with_list_leaves():
    """A list inside a dict observation is one leaf, not a nest to split (no misalignment)."""
    spec = {"pos": Bounded((2,), np.float32, -1.0, 1.0), "id": Bounded((), np.int32, 0, 9)}
    batch = ObservationBatcher(spec)([{"pos": [0.5, -0.5], "id": 4}, {"pos": [1.0, 0.0], "id": 2}])
    np.testing.assert_array_equal(batch["pos"], [[0.5, -0.5], [1.0, 0.0]])
    np.testing.assert_array_equal(batch["id"], [4, 2])


def test_observation_batcher_single_key_dict_stays_a_dict():
    """A one-leaf Dict spec is still a dict nest, not a bare array."""
    batch = ObservationBatcher({"x": Bounded((1,), np.float32, 0.0, 1.0)})([{"x": [0.5]}])
    assert isinstance(batch, dict)
    assert batch["x"].shape == (1, 1) and batch["x"].dtype == np.float32


def test_observation_batcher_tuple_with_dict_nest():
    """Tuple rows holding a dict keep that nest in the batch."""
    spec = (Bounded((), np.int64, 0, 1), {"x": Bounded((1,), np.float32, 0.0, 1.0)})
    env_space = spaces.Tuple((spaces.Discrete(2), spaces.Dict({"x": spaces.Box(0, 1, (1,))})))
    rows = [env_space.sample() for _ in range(3)]
    batch = ObservationBatcher(spec)(rows)
    assert isinstance(batch, tuple) and isinstance(batch[1], dict)
    np.testing.assert_array_equal(batch[0], [r[0] for r in rows])
    assert batch[0].dtype == np.int64
    assert batch[1]["x"].shape == (3, 1) and batch[1]["x"].dtype == np.float32
    np.testing.assert_array_equal(batch[1]["x"][:, 0], [r[1]["x"][0] for r in rows])


def test_observation_batcher_one_single():
    """one(): a single converted observation without batch dimension."""
    obs = ObservationBatcher(Bounded((2,), np.float32, 0.0, 1.0)).one(np.array([0.25, 0.5]))
    assert obs.shape == (2,) and obs.dtype == np.float32
    np.testing.assert_array_equal(obs, [0.25, 0.5])


def test_observation_batcher_one_nested():
    """one() on a nest keeps the nest, drops the batch dimension, converts the dtypes."""
    spec = {"b": (Bounded((), np.int32, 0, 9),), "a": Bounded((2,), np.float32, 0.0, 1.0)}
    obs = ObservationBatcher(spec).one({"a": np.array([0.1, 0.2]), "b": (np.int64(7),)})
    assert set(obs) == {"a", "b"} and isinstance(obs["b"], tuple)
    assert obs["a"].shape == (2,) and obs["a"].dtype == np.float32
    assert obs["b"][0].shape == () and obs["b"][0].dtype == np.int32 and obs["b"][0] == 7


def test_observation_batcher_non_finite_only_among_active_rows():
    """non_finite names the first NaN/inf row among the given rows; others are ignored."""
    batcher = ObservationBatcher(Bounded((2,), np.float32, -1.0, 1.0))
    batch = batcher([[0, 0], [np.inf, 0], [0, 0], [0, np.nan]])
    assert batcher.non_finite(batch, [0, 2]) is None
    assert batcher.non_finite(batch, [2, 3]) == (3, "observation")
    assert batcher.non_finite(batch, [0, 1, 3]) == (1, "observation")
    assert batcher.non_finite(batch, [3]) == (3, "observation")


def test_observation_batcher_non_finite_in_nest_names_the_path():
    """In a nest the path of the bad leaf is given; integer leaves are skipped."""
    spec = {"pos": Bounded((2,), np.float32, -1.0, 1.0), "id": Bounded((), np.int64, 0, 9)}
    batcher = ObservationBatcher(spec)
    rows = [{"pos": [0, 0], "id": 1}, {"pos": [0, 0], "id": 2}, {"pos": [np.nan, 0], "id": 3}]
    batch = batcher(rows)
    assert batcher.non_finite(batch, [0, 1]) is None
    assert batcher.non_finite(batch, [1, 2]) == (2, "observation/pos")


# ---------------------------------------------------------------------------------------------
# ActionUnbatcher


def test_action_unbatcher_discrete_check_only_active_rows():
    """Out-of-range integer actions are flagged only among the active rows."""
    space = spaces.Discrete(2)
    unbatcher = ActionUnbatcher(space_to_spec(space, "action"), space)
    batch = np.array([0, 1, 5, -1], dtype=np.int64)
    assert unbatcher.check(batch, [0, 1]) is None
    row, what = unbatcher.check(batch, [1, 2, 3])
    assert row == 2
    assert what == "action = 5 is outside int64 () in [0, 1]"
    assert unbatcher.check(batch, [3])[0] == 3


def test_action_unbatcher_discrete_with_start():
    """Discrete(3, start=-1): -1..1 are fine, -2 and 2 are not; rows give plain ints."""
    space = spaces.Discrete(3, start=-1)
    unbatcher = ActionUnbatcher(space_to_spec(space, "action"), space)
    batch = np.array([-1, 0, 1, 2, -2], dtype=np.int64)
    assert unbatcher.check(batch, [0, 1, 2]) is None
    assert unbatcher.check(batch, [3])[0] == 3
    assert unbatcher.check(batch, [4])[0] == 4
    action = unbatcher.row(batch, 0)
    assert type(action) is int and action == -1
    assert space.contains(action)


def test_action_unbatcher_discrete_row_is_int():
    """A Discrete env gets a Python int (from an int32 or int64 policy batch)."""
    space = spaces.Discrete(4)
    unbatcher = ActionUnbatcher(Bounded((), np.int32, 0, 3), space)
    action = unbatcher.row(np.array([3, 1], dtype=np.int32), 1)
    assert type(action) is int and action == 1


def test_action_unbatcher_box_check_nan_and_above_max_only_active():
    """NaN and above-max float actions are flagged only among the active rows."""
    space = spaces.Box(-1, 1, (2,), np.float64)
    unbatcher = ActionUnbatcher(Bounded((2,), np.float32, -1.0, 1.0), space)
    batch = np.array([[0, 0], [np.nan, 0], [0.5, 1.5], [1, -1]], dtype=np.float32)
    assert unbatcher.check(batch, [0, 3]) is None
    row, what = unbatcher.check(batch, [0, 1])
    assert row == 1 and "nan" in what
    row, what = unbatcher.check(batch, [2, 3])
    assert row == 2 and what.startswith("action = [0.5, 1.5] is outside float32 (2,)")
    assert unbatcher.check(batch, [3, 2])[0] == 2


def test_action_unbatcher_box_infinite_flagged_even_if_unbounded():
    """An infinite action is bad even for an unbounded policy spec."""
    space = spaces.Box(-np.inf, np.inf, (1,), np.float32)
    unbatcher = ActionUnbatcher(Unbounded((1,), np.float32), space)
    batch = np.array([[0.0], [np.inf]], dtype=np.float32)
    assert unbatcher.check(batch, [0]) is None
    assert unbatcher.check(batch, [0, 1])[0] == 1


def test_action_unbatcher_box_row_has_space_dtype():
    """A Box env gets an array of its own dtype and shape."""
    space = spaces.Box(-1, 1, (2,), np.float64)
    unbatcher = ActionUnbatcher(Bounded((2,), np.float32, -1.0, 1.0), space)
    batch = np.array([[0.25, -0.5], [1, 1]], dtype=np.float32)
    action = unbatcher.row(batch, 0)
    assert isinstance(action, np.ndarray)
    assert action.dtype == np.float64 and action.shape == (2,)
    np.testing.assert_array_equal(action, [0.25, -0.5])
    assert space.contains(action)


def test_action_unbatcher_multi_discrete_row():
    """A MultiDiscrete env gets an int64 array."""
    space = spaces.MultiDiscrete([3, 2])
    unbatcher = ActionUnbatcher(Bounded((2,), np.int32, 0, [2, 1]), space)
    batch = np.array([[2, 1], [3, 0]], dtype=np.int32)
    assert unbatcher.check(batch, [0]) is None
    assert unbatcher.check(batch, [0, 1])[0] == 1
    action = unbatcher.row(batch, 0)
    assert action.dtype == np.int64 and space.contains(action)


def test_action_unbatcher_dict_action_space():
    """A Dict action space gets a dict: int for Discrete, array of space dtype for Box."""
    space = spaces.Dict({"move": spaces.Box(-1, 1, (2,), np.float32), "fire": spaces.Discrete(2)})
    unbatcher = ActionUnbatcher(space_to_spec(space, "action"), space)
    batch = {
        "move": np.array([[0.5, -0.5], [2.0, 0.0]], dtype=np.float32),
        "fire": np.array([1, 0], dtype=np.int64),
    }
    action = unbatcher.row(batch, 0)
    assert isinstance(action, dict) and set(action) == {"move", "fire"}
    assert type(action["fire"]) is int and action["fire"] == 1
    assert action["move"].dtype == np.float32
    np.testing.assert_array_equal(action["move"], [0.5, -0.5])
    assert space.contains(action)
    assert unbatcher.check(batch, [0]) is None
    row, what = unbatcher.check(batch, [0, 1])
    assert row == 1 and what.startswith("action/move = [2.0, 0.0] is outside")


def test_action_unbatcher_tuple_action_space():
    """A Tuple action space gets a tuple."""
    space = spaces.Tuple((spaces.Discrete(3), spaces.Box(0, 1, (1,), np.float32)))
    unbatcher = ActionUnbatcher(space_to_spec(space, "action"), space)
    batch = (np.array([2, 0]), np.array([[0.5], [0.25]], dtype=np.float32))
    action = unbatcher.row(batch, 1)
    assert isinstance(action, tuple) and type(action[0]) is int and action[0] == 0
    assert space.contains(action)


# ---------------------------------------------------------------------------------------------
# GymnasiumEnvironment


class Steps(gym.Env):
    """Observation: the step count. Terminates after `terminate_at` steps, truncates after
    `truncate_at`; records reset seeds and actions."""

    def __init__(self, terminate_at=None, truncate_at=None, dtype=np.float64):
        self.observation_space = spaces.Box(0, 100, (1,), dtype)
        self.action_space = spaces.Discrete(2)
        self.terminate_at, self.truncate_at = terminate_at, truncate_at
        self.dtype = dtype
        self.seeds, self.actions = [], []
        self.t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.seeds.append(seed)
        self.t = 0
        return np.array([0], dtype=self.dtype), {}

    def step(self, action):
        self.actions.append(action)
        self.t += 1
        terminated = self.terminate_at is not None and self.t >= self.terminate_at
        truncated = self.truncate_at is not None and self.t >= self.truncate_at
        return np.array([self.t], dtype=self.dtype), float(self.t), terminated, truncated, {}


def test_gymnasium_environment_specs_and_dtypes():
    """Specs come from the spaces; observations have the spec's dtype; rewards float32."""
    env = GymnasiumEnvironment(Steps(terminate_at=3))
    assert_spec(env.observation_spec(), (1,), np.float64, 0, 100)
    assert_spec(env.action_spec(), (), np.int64, 0, 1)
    first = env.reset()
    assert first.step_type == ts.StepType.FIRST
    assert first.observation.dtype == np.float64
    step = env.step(np.int64(1))
    assert step.observation.dtype == env.observation_spec().dtype
    assert step.reward.dtype == np.float32 and step.reward == 1.0
    array_spec.check_arrays_nest(step.observation, env.observation_spec())
    assert env.gym_env.actions == [1] and type(env.gym_env.actions[0]) is int


def test_gymnasium_environment_seeds_per_episode():
    """Episode k is reset with seeds[k], including auto-resets after LAST."""
    inner = Steps(terminate_at=2)
    env = GymnasiumEnvironment(inner, seeds=iter([11, 22, 33]))
    env.reset()
    for _ in range(2):
        env.step(0)
    assert inner.seeds == [11]
    restarted = env.step(0)  # after LAST: auto-reset, the action is not applied
    assert restarted.step_type == ts.StepType.FIRST
    assert inner.seeds == [11, 22]
    assert len(inner.actions) == 2
    env.step(0)
    env.step(0)
    env.step(0)
    assert inner.seeds == [11, 22, 33]


def test_gymnasium_environment_seeds_as_a_list():
    """A list of seeds works like an iterator over it."""
    inner = Steps(terminate_at=1)
    env = GymnasiumEnvironment(inner, seeds=[5, 6, 7])
    env.reset()
    env.step(0)
    env.step(0)
    assert inner.seeds == [5, 6]


def test_gymnasium_environment_default_seeds_count_from_zero():
    """Without seeds, episode k is reset with seed k."""
    inner = Steps(terminate_at=1)
    env = GymnasiumEnvironment(inner)
    env.reset()
    for _ in range(4):
        env.step(0)
    assert inner.seeds == [0, 1, 2]


def test_gymnasium_environment_terminated_is_last_with_discount_zero():
    """`terminated` -> LAST with discount 0.0."""
    env = GymnasiumEnvironment(Steps(terminate_at=2))
    env.reset()
    mid = env.step(0)
    assert mid.step_type == ts.StepType.MID and mid.discount == 1.0
    last = env.step(1)
    assert last.step_type == ts.StepType.LAST
    assert last.discount == 0.0 and last.discount.dtype == np.float32
    assert last.reward == 2.0
    np.testing.assert_array_equal(last.observation, [2.0])


def test_gymnasium_environment_truncated_is_last_with_discount_one():
    """`truncated` -> LAST with discount 1.0 (the episode could have gone on)."""
    env = GymnasiumEnvironment(Steps(truncate_at=2))
    env.reset()
    env.step(0)
    last = env.step(0)
    assert last.step_type == ts.StepType.LAST
    assert last.discount == 1.0


def test_gymnasium_environment_terminated_and_truncated_is_termination():
    """Both flags at once: termination wins (discount 0)."""
    env = GymnasiumEnvironment(Steps(terminate_at=2, truncate_at=2))
    env.reset()
    env.step(0)
    last = env.step(0)
    assert last.step_type == ts.StepType.LAST and last.discount == 0.0


def test_gymnasium_environment_time_limit_via_make():
    """gymnasium.make(..., max_episode_steps=3): LAST at step 3 with discount 1."""
    env = GymnasiumEnvironment(gym.make("CartPole-v1", max_episode_steps=3), seeds=[0, 1])
    first = env.reset()
    assert first.observation.dtype == np.float32
    kinds = [env.step(i % 2) for i in range(3)]
    assert [int(k.step_type) for k in kinds] == [1, 1, 2]
    assert kinds[-1].discount == 1.0
    assert env.step(0).step_type == ts.StepType.FIRST
    env.close()


def test_gymnasium_environment_converts_observation_dtype():
    """Observations are converted to the spec's dtype (here a float32 Box returning float64)."""

    class Sloppy(Steps):
        def reset(self, *, seed=None, options=None):
            obs, info = super().reset(seed=seed)
            return obs.astype(np.float64), info

    env = GymnasiumEnvironment(Sloppy(terminate_at=2, dtype=np.float32))
    assert env.reset().observation.dtype == np.float32


def test_gymnasium_environment_is_reproducible():
    """Same seeds, same actions: identical observations and rewards."""

    def rollout():
        env = GymnasiumEnvironment(gym.make("CartPole-v1", max_episode_steps=5), seeds=[3, 4])
        out = [env.reset().observation]
        out += [env.step(1).observation for _ in range(7)]
        env.close()
        return np.stack(out)

    np.testing.assert_array_equal(rollout(), rollout())


# ---------------------------------------------------------------------------------------------
# EnvSpec.make


def test_env_spec_makes_env_with_kwargs_and_is_picklable():
    """A valid id with kwargs makes the env; the source is a picklable value."""
    source = EnvSpec("Pendulum-v1", {"g": 3.0})
    assert pickle.loads(pickle.dumps(source)) == source
    env = source.make()
    assert env.unwrapped.g == 3.0
    env.close()


def test_env_spec_unknown_id_suggests_close_ids():
    """A mistyped id is an InputError whose hint suggests the right spelling first."""
    with pytest.raises(InputError) as info:
        EnvSpec("Cartpole-v1").make()
    error = info.value
    assert error.exit_code == EXIT_INPUT
    assert error.message == "--env Cartpole-v1: no such Gymnasium environment"
    assert error.hint.startswith("did you mean: CartPole-v1")


def test_env_spec_unknown_id_without_close_match_hints_how_to_list():
    """Nothing close: the hint says how to list the registered ids."""
    with pytest.raises(InputError) as info:
        EnvSpec("Zzqxj-v7").make()
    assert "pprint_registry" in info.value.hint


def test_env_spec_deprecated_version_is_input_error():
    """An old version (LunarLander-v2) is an InputError naming the newer one."""
    with pytest.raises(InputError) as info:
        EnvSpec("LunarLander-v2").make()
    assert "LunarLander-v3" in info.value.message
    assert "\n" not in info.value.message


def test_env_spec_missing_module_names_it():
    """`module:Env-v0` with a missing module: InputError naming the module."""
    with pytest.raises(InputError) as info:
        EnvSpec("no_such_pytfpol_module:Env-v0").make()
    assert "'no_such_pytfpol_module'" in info.value.message
    assert "None" not in info.value.message


def test_env_spec_bad_kwargs_is_usage_error():
    """An argument the constructor does not take: UsageError (exit 2) naming it."""
    with pytest.raises(UsageError) as info:
        EnvSpec("CartPole-v1", {"gravity_typo": 1}).make()
    assert info.value.exit_code == 2
    assert "gravity_typo" in info.value.message
    assert "\n" not in info.value.message
    assert info.value.hint


def test_env_spec_max_episode_steps_caps_episodes():
    """max_episode_steps truncates every episode at that many steps."""
    env = EnvSpec("CartPole-v1", max_episode_steps=4).make()
    env.reset(seed=0)
    for i in range(4):
        _, _, terminated, truncated, _ = env.step(i % 2)
        assert not terminated
        assert truncated == (i == 3)
    env.close()


def test_env_spec_default_keeps_registered_limit():
    """No max_episode_steps: the registered limit (500 for CartPole-v1) stays."""
    env = EnvSpec("CartPole-v1").make()
    assert env.spec.max_episode_steps == 500
    env.close()
