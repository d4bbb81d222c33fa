"""Gymnasium adapter: spaces to TF-Agents array specs, spec checks, and batch conversion.

TF-Agents 0.19.0 has no Gymnasium wrapper; this module is ours. It knows Gymnasium and TF-Agents'
spec types, nothing about files or terminals. The checks follow Gymnasium's own env checker: small
named functions whose messages say what was expected and what was found.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

from pytfpol.policy.quiet_tf import prepare_environment

prepare_environment()  # SDL's audio driver and TensorFlow's thread pools, before their imports

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
from gymnasium import spaces  # noqa: E402
from tf_agents.environments import py_environment  # noqa: E402
from tf_agents.specs import array_spec  # noqa: E402
from tf_agents.trajectories import time_step as ts  # noqa: E402

from pytfpol.errors import InputError, SpecMismatchError  # noqa: E402

# ---------------------------------------------------------------------------------------------
# Spaces -> specs


def space_to_spec(space: spaces.Space, name: str = "observation") -> Any:
    """The TF-Agents ArraySpec nest that describes `space`."""
    if isinstance(space, spaces.Box):
        return array_spec.BoundedArraySpec(
            space.shape, space.dtype, _compact(space.low), _compact(space.high), name=name
        )
    if isinstance(space, spaces.Discrete):
        start = int(np.asarray(space.start))
        return array_spec.BoundedArraySpec(
            (), space.dtype, start, start + int(np.asarray(space.n)) - 1, name=name
        )
    if isinstance(space, spaces.MultiDiscrete):
        low = np.asarray(space.start, dtype=space.dtype)
        return array_spec.BoundedArraySpec(
            space.shape, space.dtype, _compact(low), _compact(low + space.nvec - 1), name=name
        )
    if isinstance(space, spaces.MultiBinary):
        return array_spec.BoundedArraySpec(space.shape, space.dtype, 0, 1, name=name)
    if isinstance(space, spaces.Dict):
        return {key: space_to_spec(sub, f"{name}/{key}") for key, sub in space.spaces.items()}
    if isinstance(space, spaces.Tuple):
        return tuple(space_to_spec(sub, f"{name}/{i}") for i, sub in enumerate(space.spaces))
    raise InputError(
        f"{name} space {space} is not supported",
        "pytfpol handles Box, Discrete, MultiDiscrete, MultiBinary, Dict and Tuple spaces",
    )


def _compact(bound: np.ndarray) -> Any:
    """A scalar when every element of a bound is equal (keeps specs and messages short)."""
    bound = np.asarray(bound)
    if bound.size and np.all(bound == bound.flat[0]):
        return bound.dtype.type(bound.flat[0])
    return bound


def flatten_with_paths(nest: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Leaves of a dict/tuple/list nest with readable paths, in `tf.nest` order (sorted keys)."""
    if isinstance(nest, dict):
        items = [(str(k), nest[k]) for k in sorted(nest)]
    elif isinstance(nest, (tuple, list)) and not hasattr(nest, "_fields"):
        items = [(str(i), v) for i, v in enumerate(nest)]
    else:
        return [(prefix, nest)]
    out: list[tuple[str, Any]] = []
    for key, value in items:
        out.extend(flatten_with_paths(value, f"{prefix}/{key}" if prefix else key))
    return out


def tensor_specs(env_specs: dict[str, Any]) -> tuple[Any, Any]:
    """(time_step_spec, action_spec) as TensorSpecs, to build a policy for this env."""
    from tf_agents.specs import tensor_spec

    observation = tensor_spec.from_spec(env_specs["observation"])
    return ts.time_step_spec(observation), tensor_spec.from_spec(env_specs["action"])


# ---------------------------------------------------------------------------------------------
# Checking env specs against policy specs


SPEC_CELL_WIDTH = 44  # two cells and a leaf path fit a 100-column terminal


def describe_spec(spec: Any) -> str:
    """`float32 (4,) in [-4.8, 4.8]`: one leaf, short enough for a side-by-side table that fits
    100 columns. Float bounds at the type's limits (Gymnasium's -inf/inf, stored by TF-Agents as
    the largest float) read `unbounded`, or `-inf`/`inf` when only one side is; per-element
    bounds read `[a,b]..[c,d]`, or their extremes when there are more than 4."""
    text = f"{np.dtype(spec.dtype).name} {tuple(spec.shape)}"
    if isinstance(spec, array_spec.BoundedArraySpec):
        if is_unbounded(spec.minimum) and is_unbounded(spec.maximum):
            return text + " unbounded"
        low, high = np.asarray(spec.minimum), np.asarray(spec.maximum)
        if np.unique(low).size <= 1 and np.unique(high).size <= 1:
            text += f" in [{_fmt_number(low.flat[0])}, {_fmt_number(high.flat[0])}]"
        elif low.size <= 4 and high.size <= 4:
            text += f" in {_fmt_list(low)}..{_fmt_list(high)}"
        else:
            text += f" within [{_fmt_number(low.min())}, {_fmt_number(high.max())}] per element"
    return text if len(text) <= SPEC_CELL_WIDTH else text[: SPEC_CELL_WIDTH - 3] + "..."


def _fmt_bound(bound: Any) -> str:
    """One bound: a number, or `[a,b,...]` for per-element bounds."""
    arr = np.asarray(bound)
    if arr.ndim == 0:
        return _fmt_number(arr)
    return _fmt_list(arr)


def _fmt_list(bound: np.ndarray) -> str:
    return "[" + ",".join(_fmt_number(v) for v in bound.ravel()) + "]"


def is_unbounded(bound: Any) -> bool:
    """Every element of a float bound is infinite or beyond float32's largest value."""
    arr = np.asarray(bound)
    return arr.dtype.kind == "f" and bool(np.all(np.abs(arr) >= np.finfo(np.float32).max))


def _fmt_number(value: Any) -> str:
    value = np.asarray(value)
    if value.dtype.kind != "f":
        return str(value)
    if is_unbounded(value):
        return "inf" if value > 0 else "-inf"
    return f"{float(value):.4g}"


def check_specs(
    env_id: str, policy_path: str, env_specs: dict[str, Any], policy_specs: dict[str, Any]
) -> list[str]:
    """Refuse an env whose observation or action specs do not fit the policy.

    `env_specs` and `policy_specs` map "observation" and "action" to spec nests. Returns the
    warnings worth showing (none today); raises SpecMismatchError with a side-by-side table.
    """
    problems: list[str] = []
    rows: list[tuple[str, str, str]] = []
    for role in ("observation", "action"):
        env_leaves = flatten_with_paths(env_specs[role], role)
        policy_leaves = flatten_with_paths(policy_specs[role], role)
        env_paths = [p for p, _ in env_leaves]
        policy_paths = [p for p, _ in policy_leaves]
        if env_paths != policy_paths:
            problems.append(
                f"{role} structure differs: policy has {policy_paths}, env has {env_paths}"
            )
            rows.extend((p, describe_spec(s), "") for p, s in policy_leaves)
            rows.extend((p, "", describe_spec(s)) for p, s in env_leaves)
            continue
        check = check_observation_leaf if role == "observation" else check_action_leaf
        for (path, env_leaf), (_, policy_leaf) in zip(env_leaves, policy_leaves):
            rows.append((path, describe_spec(policy_leaf), describe_spec(env_leaf)))
            problem = check(env_leaf, policy_leaf)
            if problem:
                problems.append(f"{path}: {problem}")
    if problems:
        raise SpecMismatchError(
            f"policy {policy_path} does not fit env {env_id}: {problems[0]}"
            + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
            _atari_hint(policy_specs["observation"])
            or "evaluate on the environment the policy was trained on, or pass the --env-kwargs "
            "that give it the same spaces",
            path=policy_path,
            details=_side_by_side(rows),
        )
    return []


ATARI_FRAMES = ((84, 84, 4), np.dtype(np.uint8))  # what TF-Agents' suite_atari gives


def _atari_hint(policy_observation: Any) -> Optional[str]:
    """For a policy that takes TF-Agents' Atari frames: the preset that makes them."""
    leaves = flatten_with_paths(policy_observation, "observation")
    if len(leaves) == 1 and (tuple(leaves[0][1].shape), np.dtype(leaves[0][1].dtype)) == (
        ATARI_FRAMES
    ):
        return (
            "the policy takes TF-Agents' Atari frames ((84, 84, 4) uint8, as suite_atari with "
            "FrameStack4 gives them): add --wrapper tf-agents-atari, on an id that does not "
            "skip frames itself (e.g. --env BreakoutNoFrameskip-v4)"
        )
    return None


def _side_by_side(rows: Sequence[tuple[str, str, str]]) -> str:
    header = ("", "policy", "env")
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(3)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in (header, *rows)
    ]
    return "\n".join(lines)


def check_observation_leaf(env: Any, policy: Any) -> Optional[str]:
    """Shape must match; dtype must convert without truncation; env range within the policy's."""
    if tuple(env.shape) != tuple(policy.shape):
        return f"shape {tuple(env.shape)} (env) vs {tuple(policy.shape)} (policy)"
    cast_problem = _cast_problem(env, np.dtype(policy.dtype))
    if cast_problem:
        return cast_problem
    bounded = array_spec.BoundedArraySpec
    if isinstance(policy, bounded) and isinstance(env, bounded) and not _within(env, policy):
        return (
            f"env range [{_fmt_bound(env.minimum)}, {_fmt_bound(env.maximum)}] exceeds "
            f"the policy's [{_fmt_bound(policy.minimum)}, {_fmt_bound(policy.maximum)}]"
        )
    return None


def check_action_leaf(env: Any, policy: Any) -> Optional[str]:
    """Shape and kind (integer/float) must match; discrete ranges must be equal; continuous
    policy ranges must lie within the env's."""
    if tuple(env.shape) != tuple(policy.shape):
        return f"shape {tuple(env.shape)} (env) vs {tuple(policy.shape)} (policy)"
    env_kind, policy_kind = _kind(env.dtype), _kind(policy.dtype)
    if env_kind != policy_kind:
        return f"the policy emits {policy_kind} actions, the env takes {env_kind} actions"
    if not isinstance(policy, array_spec.BoundedArraySpec):
        return None
    if not isinstance(env, array_spec.BoundedArraySpec):
        return None
    if policy_kind == "integer":
        p_low, p_high = (
            _broadcast(policy.minimum, policy.shape),
            _broadcast(policy.maximum, policy.shape),
        )
        e_low, e_high = _broadcast(env.minimum, env.shape), _broadcast(env.maximum, env.shape)
        if not (np.array_equal(p_low, e_low) and np.array_equal(p_high, e_high)):
            return (
                f"the policy chooses among actions [{_fmt_bound(policy.minimum)}, "
                f"{_fmt_bound(policy.maximum)}], the env has [{_fmt_bound(env.minimum)}, "
                f"{_fmt_bound(env.maximum)}]"
            )
        return None
    if not _within(policy, env):
        return (
            f"policy range [{_fmt_bound(policy.minimum)}, {_fmt_bound(policy.maximum)}] exceeds "
            f"the env's [{_fmt_bound(env.minimum)}, {_fmt_bound(env.maximum)}]"
        )
    return None


def _kind(dtype: Any) -> str:
    return "float" if np.dtype(dtype).kind == "f" else "integer"


def _broadcast(bound: Any, shape: Sequence[int]) -> np.ndarray:
    return np.broadcast_to(np.asarray(bound, dtype=np.float64), tuple(shape))


def _range(spec: Any) -> tuple[np.ndarray, np.ndarray]:
    """A bounded spec's bounds as float64 arrays of its shape. TF-Agents stores infinite float
    bounds as the dtype's extremes; those mean unbounded here, whatever the float width."""
    low, high = _broadcast(spec.minimum, spec.shape), _broadcast(spec.maximum, spec.shape)
    if np.dtype(spec.dtype).kind == "f":
        info = np.finfo(spec.dtype)
        low, high = (
            np.where(low <= info.min, -np.inf, low),
            np.where(high >= info.max, np.inf, high),
        )
    return low, high


def _within(inner: Any, outer: Any) -> bool:
    """`inner`'s range inside `outer`'s (same shapes), allowing float32 rounding of the bounds."""
    (low, high), (outer_low, outer_high) = _range(inner), _range(outer)

    def at_most(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return (a <= b) | np.isclose(a, b, rtol=1e-6, atol=1e-6)

    return bool(np.all(at_most(outer_low, low)) and np.all(at_most(high, outer_high)))


def _cast_problem(env: Any, target: np.dtype) -> Optional[str]:
    """Why converting env values to `target` would lose information, or None when it would not."""
    source = np.dtype(env.dtype)
    if source == target or np.can_cast(source, target, "safe"):
        return None
    if source.kind == "f" and target.kind == "f":
        return None  # float64 -> float32: the precision the policy was trained with
    if (
        source.kind in "biu"
        and target.kind in "iuf"
        and isinstance(env, array_spec.BoundedArraySpec)
    ):
        low, high = np.min(env.minimum), np.max(env.maximum)
        if target.kind == "f":
            exact = 2 ** (np.finfo(target).nmant + 1)
            if -exact <= low and high <= exact:
                return None
        elif np.iinfo(target).min <= low and high <= np.iinfo(target).max:
            return None
    return f"{source.name} observations would be truncated to the policy's {target.name}"


# ---------------------------------------------------------------------------------------------
# Batches: env rows -> policy arrays, policy arrays -> env actions


class ObservationBatcher:
    """Stacks per-env observations into the policy's observation nest and dtypes."""

    def __init__(self, policy_observation_spec: Any) -> None:
        self._spec = policy_observation_spec
        leaves = flatten_with_paths(policy_observation_spec, "observation")
        self._paths = [p for p, _ in leaves]
        self._dtypes = [np.dtype(s.dtype) for _, s in leaves]
        self._single = len(leaves) == 1 and not isinstance(
            policy_observation_spec, (dict, tuple, list)
        )

    def __call__(self, rows: Sequence[Any]) -> Any:
        if self._single:
            return np.asarray(rows, dtype=self._dtypes[0])
        flat_rows = [_flatten_like(self._spec, row) for row in rows]
        columns = [
            np.asarray([r[i] for r in flat_rows], dtype=dtype)
            for i, dtype in enumerate(self._dtypes)
        ]
        return _pack_like(self._spec, iter(columns))

    def one(self, row: Any) -> Any:
        """A single observation converted like a batch of one, without the batch dimension."""
        batch = self([row])
        if self._single:
            return batch[0]
        return _pack_like(self._spec, iter(leaf[0] for leaf in _leaves(batch)))

    def non_finite(self, batch: Any, rows: Sequence[int]) -> Optional[tuple[int, str]]:
        """(row, path) of the first NaN/inf observation among `rows`, or None."""
        for path, leaf in zip(self._paths, _leaves(batch)):
            if leaf.dtype.kind != "f":
                continue
            bad = ~np.isfinite(leaf[rows].reshape(len(rows), -1)).all(axis=1)
            if bad.any():
                return rows[int(np.argmax(bad))], path
        return None


class ActionUnbatcher:
    """Checks a batch of policy actions against the spec and splits it into env actions."""

    def __init__(self, policy_action_spec: Any, action_space: spaces.Space) -> None:
        self._leaves = flatten_with_paths(policy_action_spec, "action")
        self._space = action_space
        self._single = len(self._leaves) == 1 and not isinstance(
            policy_action_spec, (dict, tuple, list)
        )
        self._convert = _action_converter(action_space)

    def check(self, batch: Any, rows: Sequence[int]) -> Optional[tuple[int, str]]:
        """(row, description) of the first out-of-spec action among `rows`, or None."""
        for (path, spec), leaf in zip(self._leaves, _leaves(batch)):
            values = np.asarray(leaf)[rows]
            flat = values.reshape(len(rows), -1)
            bad = np.zeros(len(rows), dtype=bool)
            if flat.dtype.kind == "f":
                bad |= ~np.isfinite(flat).all(axis=1)
            if isinstance(spec, array_spec.BoundedArraySpec):
                low = _broadcast(spec.minimum, spec.shape).reshape(1, -1)
                high = _broadcast(spec.maximum, spec.shape).reshape(1, -1)
                with np.errstate(invalid="ignore"):
                    bad |= ((flat < low) | (flat > high)).any(axis=1)
            if bad.any():
                i = int(np.argmax(bad))
                return rows[i], f"{path} = {values[i].tolist()} is outside {describe_spec(spec)}"
        return None

    def row(self, batch: Any, i: int) -> Any:
        """The env action for row `i`."""
        if self._single:
            return self._convert(batch[i])
        return self._convert(
            _pack_like(self._space_nest(), iter(leaf[i] for leaf in _leaves(batch)))
        )

    def _space_nest(self):
        return _space_structure(self._space)


def _space_structure(space: spaces.Space) -> Any:
    if isinstance(space, spaces.Dict):
        return {k: _space_structure(s) for k, s in space.spaces.items()}
    if isinstance(space, spaces.Tuple):
        return tuple(_space_structure(s) for s in space.spaces)
    return None


def _action_converter(space: spaces.Space) -> Callable[[Any], Any]:
    if isinstance(space, spaces.Discrete):
        return int
    if isinstance(space, (spaces.Box, spaces.MultiDiscrete, spaces.MultiBinary)):
        dtype = space.dtype
        return lambda a: np.asarray(a, dtype=dtype)
    if isinstance(space, spaces.Dict):
        convs = {k: _action_converter(s) for k, s in space.spaces.items()}
        return lambda a: {k: convs[k](a[k]) for k in convs}
    if isinstance(space, spaces.Tuple):
        parts = [_action_converter(s) for s in space.spaces]
        return lambda a: tuple(c(v) for c, v in zip(parts, a))
    raise InputError(f"action space {space} is not supported", "see the supported spaces")


def _flatten_like(structure: Any, value: Any) -> list[Any]:
    """Leaves of `value` along `structure`'s dict/tuple nest: a list inside a leaf stays whole."""
    if isinstance(structure, dict):
        return [leaf for k in sorted(structure) for leaf in _flatten_like(structure[k], value[k])]
    if isinstance(structure, (tuple, list)) and not hasattr(structure, "_fields"):
        return [leaf for s, v in zip(structure, value) for leaf in _flatten_like(s, v)]
    return [value]


def _leaves(nest: Any) -> list[Any]:
    return [v for _, v in flatten_with_paths(nest)]


def _pack_like(structure: Any, leaves: Iterator[Any]) -> Any:
    """Fill `structure` (a dict/tuple nest; leaves may be anything) with `leaves` in order."""
    if isinstance(structure, dict):
        return {k: _pack_like(structure[k], leaves) for k in sorted(structure)}
    if isinstance(structure, (tuple, list)) and not hasattr(structure, "_fields"):
        return type(structure)(_pack_like(v, leaves) for v in structure)
    return next(leaves)


# ---------------------------------------------------------------------------------------------
# A TF-Agents PyEnvironment over a Gymnasium env (for TF-Agents' own drivers and metrics)


class GymnasiumEnvironment(py_environment.PyEnvironment):
    """A Gymnasium env as a TF-Agents `PyEnvironment`, reset with a chosen seed per episode.

    `terminated` ends an episode with discount 0 (`ts.termination`), `truncated` with discount 1
    (`ts.truncation`). Episode k (counting resets) is reset with `seeds[k]`.
    """

    def __init__(self, env: gym.Env, seeds: Optional[Iterable[int]] = None) -> None:
        super().__init__(handle_auto_reset=True)
        self._env = env
        self._seeds = iter(seeds) if seeds is not None else itertools.count(0)
        self._observation_spec = space_to_spec(env.observation_space, "observation")
        self._action_spec = space_to_spec(env.action_space, "action")
        self._batcher = ObservationBatcher(self._observation_spec)
        self._to_env_action = _action_converter(env.action_space)

    def observation_spec(self):
        return self._observation_spec

    def action_spec(self):
        return self._action_spec

    @property
    def gym_env(self) -> gym.Env:
        return self._env

    def _reset(self):
        obs, _ = self._env.reset(seed=int(next(self._seeds)))
        return ts.restart(self._batcher.one(obs))

    def _step(self, action):
        obs, reward, terminated, truncated, _ = self._env.step(self._to_env_action(action))
        observation = self._batcher.one(obs)
        reward = np.asarray(reward, dtype=np.float32)
        if terminated:
            return ts.termination(observation, reward)
        if truncated:
            return ts.truncation(observation, reward)
        return ts.transition(observation, reward)

    def close(self) -> None:
        self._env.close()
