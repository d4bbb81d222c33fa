"""`--env module:function`: a TF-Agents `PyEnvironment` (e.g. `suite_gym.load(...)`, one of
your own) evaluated through the same loop as a Gymnasium env.

`PyEnvironmentAsGym` shows the PyEnvironment as a Gymnasium env: its array specs as spaces,
`reset(seed=s)` as `seed(s)` then `reset()` (so episode i is reset with seed S+i, as for any
env), a last time step with discount 0 as `terminated`, one with a discount as `truncated`.
An environment whose `seed` raises NotImplementedError (TF-Agents' default) is refused before
any episode: its episodes could not be reproduced from --seed. No TensorFlow is imported here
(the factory's own module imports what it needs); specs are read by duck typing.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any, Optional

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from pytfpol.errors import InputError, one_line

PY_ENVIRONMENT_CLASS = ("tf_agents.environments.py_environment", "PyEnvironment")


def factory_of(env_id: str) -> Optional[Any]:
    """For `module:function`, the function when it is one and `function` is not a Gymnasium id
    the module registered (the module is imported: the command line named it); else None."""
    module_name, sep, name = env_id.rpartition(":")
    if not sep or not module_name or not name.isidentifier():
        return None
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None  # Gymnasium's make names the missing module
    candidate = getattr(module, name, None)
    if not callable(candidate) or name in gym.registry or isinstance(candidate, type):
        return None
    return candidate


def make(env_id: str, kwargs: dict) -> gym.Env:
    """Call the factory `env_id` names (with `kwargs`, but `render_mode`: the adapter's, set by
    --video) and show its PyEnvironment as a Gymnasium env; InputError when it returns
    something else or cannot be seeded."""
    kwargs = dict(kwargs)
    render_mode = kwargs.pop("render_mode", None)
    factory = factory_of(env_id)
    if factory is None:
        raise InputError(
            f"--env {env_id}: not a function returning a TF-Agents PyEnvironment",
            "give module:function, the module importable from the current directory",
        )
    try:
        py_env = factory(**kwargs)
    except Exception as exc:  # noqa: BLE001 - user factories raise anything
        raise InputError(
            f"--env {env_id}: the factory raised {type(exc).__name__}: {one_line(exc)}",
            "check the factory and its --env-kwargs",
        ) from exc
    return PyEnvironmentAsGym(py_env, env_id, render_mode)


def _is_py_environment(value: Any) -> bool:
    module_name, class_name = PY_ENVIRONMENT_CLASS
    module = importlib.import_module(module_name) if hasattr(value, "reset") else None
    return module is not None and isinstance(value, getattr(module, class_name))


class PyEnvironmentAsGym(gym.Env):
    """A TF-Agents PyEnvironment as a Gymnasium env (see the module docstring)."""

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, py_env: Any, name: str, render_mode: Optional[str] = None) -> None:
        if not _is_py_environment(py_env):
            raise InputError(
                f"--env {name}: the factory returned {type(py_env).__name__}, not a TF-Agents "
                "PyEnvironment",
                "return a tf_agents.environments.py_environment.PyEnvironment (for a Gymnasium "
                "env, register it and use --env module:ID)",
            )
        if py_env.batched:
            raise InputError(
                f"--env {name}: the PyEnvironment is batched (batch size {py_env.batch_size})",
                "return one unbatched environment: pytfpol runs --num-envs of them itself",
            )
        self._env = py_env
        self._name = name
        self.render_mode = render_mode
        self.observation_space = spec_to_space(py_env.observation_spec(), name)
        self.action_space = spec_to_space(py_env.action_spec(), name)
        self._action_spec = py_env.action_spec()
        self.seed_episode(0)  # refused here, before any episode, when it cannot be seeded

    def seed_episode(self, seed: int) -> None:
        try:
            with warnings.catch_warnings():  # gym 0.23 calls its own seed() deprecated
                warnings.simplefilter("ignore")
                self._env.seed(int(seed))
        except NotImplementedError as exc:
            raise InputError(
                f"--env {self._name}: {type(self._env).__name__} cannot be seeded "
                f"(seed() raises NotImplementedError: {one_line(exc)}), so its episodes could "
                "not be reproduced from --seed",
                "implement seed(seed) in the environment (TF-Agents' GymWrapper passes it to "
                "the gym env), or evaluate the Gymnasium env it wraps",
            ) from exc

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None):
        super().reset(seed=seed)
        if seed is not None:
            self.seed_episode(seed)
        time_step = self._env.reset()
        return time_step.observation, {}

    def step(self, action: Any):
        time_step = self._env.step(_to_spec(action, self._action_spec))
        last = bool(time_step.is_last())
        terminated = last and float(np.asarray(time_step.discount)) == 0.0
        reward = float(np.asarray(time_step.reward))
        return time_step.observation, reward, terminated, last and not terminated, {}

    def render(self) -> Any:
        return self._env.render("rgb_array")

    def close(self) -> None:
        self._env.close()


def _to_spec(action: Any, spec: Any) -> Any:
    """An action as the PyEnvironment's spec holds it (dtype and shape), nests included."""
    if isinstance(spec, dict):
        return {k: _to_spec(action[k], s) for k, s in spec.items()}
    if isinstance(spec, (tuple, list)):
        return type(spec)(_to_spec(a, s) for a, s in zip(action, spec))
    return np.asarray(action, dtype=spec.dtype).reshape(spec.shape)


def _dtype_range(dtype: np.dtype) -> tuple:
    """(low, high) of a spec without bounds: all floats, or the integer type's range."""
    if dtype.kind == "f":
        return -np.inf, np.inf
    info = np.iinfo(dtype)
    return info.min, info.max


def spec_to_space(spec: Any, name: str) -> spaces.Space:
    """A TF-Agents ArraySpec nest as a Gymnasium space: a scalar bounded integer spec is
    Discrete (its minimum the start), any other spec a Box of its dtype and bounds."""
    if isinstance(spec, dict):
        return spaces.Dict({k: spec_to_space(s, name) for k, s in spec.items()})
    if isinstance(spec, (tuple, list)):
        return spaces.Tuple([spec_to_space(s, name) for s in spec])
    dtype = np.dtype(spec.dtype)
    shape = tuple(spec.shape)
    low, high = getattr(spec, "minimum", None), getattr(spec, "maximum", None)
    if dtype.kind in "iu" and shape == () and low is not None and high is not None:
        start = int(low)
        return spaces.Discrete(int(high) - start + 1, start=start, dtype=dtype.type)
    if low is None or high is None:
        low, high = _dtype_range(dtype)
    try:
        return spaces.Box(
            np.broadcast_to(np.asarray(low, dtype), shape),
            np.broadcast_to(np.asarray(high, dtype), shape),
            shape,
            dtype.type,
        )
    except Exception as exc:  # noqa: BLE001 - a spec Gymnasium cannot hold
        raise InputError(
            f"--env {name}: spec {spec} has no Gymnasium space ({one_line(exc)})",
            "pytfpol evaluates array specs of numeric dtypes (nests of them too)",
        ) from exc
