"""Which Gymnasium environment a run makes, and making it with errors a user can act on.

`EnvSpec` is the one description of an environment in pytfpol: an id, `gymnasium.make` keyword
arguments and a step limit. It is small and picklable, so worker processes make their own envs
from it. No TensorFlow here: `preflight` makes the env once before TensorFlow is imported, so a
mistyped id or keyword argument is reported in a fraction of a second.
"""

from __future__ import annotations

import dataclasses
import difflib
import pickle
import warnings
from dataclasses import dataclass, field
from typing import Any, Optional

from pytfpol.policy.quiet_tf import prepare_environment

prepare_environment()  # before Gymnasium (pygame's SDL) and, later, TensorFlow are imported

import gymnasium as gym  # noqa: E402

from pytfpol.errors import InputError, RunError, UsageError, one_line  # noqa: E402


@dataclass(frozen=True)
class EnvSpec:
    """A Gymnasium env id with its `gymnasium.make` arguments."""

    env_id: str
    kwargs: dict = field(default_factory=dict)
    max_episode_steps: Optional[int] = None
    registered: Any = None  # the EnvSpec registered in the driver, for worker processes

    def make(self) -> gym.Env:
        """`gymnasium.make`, its errors turned into pytfpol's (with Gymnasium's hint kept)."""
        target = self.registered or self.env_id
        try:
            return gym.make(target, max_episode_steps=self.max_episode_steps, **self.kwargs)
        except gym.error.DeprecatedEnv as exc:
            raise InputError(
                f"--env {self.env_id}: {one_line(exc)}", "use the newer version it names"
            ) from exc
        except gym.error.NamespaceNotFound as exc:
            raise InputError(
                f"--env {self.env_id}: {one_line(exc)}",
                "install the package that registers that namespace (e.g. ale-py for ALE/), "
                "or import it with --env module:ID",
            ) from exc
        except gym.error.UnregisteredEnv as exc:
            raise InputError(
                f"--env {self.env_id}: no such Gymnasium environment",
                f"{suggest_env_ids(self.env_id)} (Gymnasium: {one_line(exc)})",
            ) from exc
        except ModuleNotFoundError as exc:
            # Gymnasium re-raises a failed `module:Env-v0` import without the module's name.
            module = exc.name or getattr(exc.__cause__, "name", None) or self.env_id.split(":")[0]
            raise InputError(
                f"--env {self.env_id}: cannot import module {module!r} to register it",
                "install the package that provides the environment; a module of your own must "
                "be importable from the current directory or PYTHONPATH",
            ) from exc
        except gym.error.DependencyNotInstalled as exc:
            raise InputError(
                f"--env {self.env_id}: {one_line(exc)}", "install what it names"
            ) from exc
        except TypeError as exc:
            raise UsageError(
                f"--env-kwargs: {self.env_id} does not accept {sorted(self.kwargs)} "
                f"({one_line(exc)})",
                "check the keyword arguments of the environment's constructor",
            ) from exc
        except Exception as exc:  # noqa: BLE001 - env constructors raise anything
            raise RunError(
                f"--env {self.env_id}: creating the environment failed "
                f"({type(exc).__name__}: {one_line(exc)})",
                "check --env-kwargs and the environment's own requirements",
            ) from exc

    def for_workers(self) -> EnvSpec:
        """A copy carrying the EnvSpec registered in this process, when it pickles (its entry
        point a class or a string): worker processes then make an env registered at run time."""
        try:
            registered = gym.spec(self.env_id.split(":")[-1])
            pickle.dumps(registered)
        except Exception:  # noqa: BLE001 - not registered here, or not picklable: use the id
            return self
        return dataclasses.replace(self, registered=registered)

    def __call__(self) -> gym.Env:
        return self.make()


@dataclass(frozen=True)
class Preflight:
    """What making the env once told: the env itself, the id really made, Gymnasium's notes."""

    env: gym.Env
    made_id: str
    notes: tuple[str, ...]


def preflight(spec: EnvSpec) -> Preflight:
    """Make the env once (no TensorFlow needed): errors surface at once, and the id Gymnasium
    really made (`CartPole` -> `CartPole-v1`) and its warnings are recorded, without colour codes."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        env = spec.make()
    notes = tuple(dict.fromkeys(one_line(w.message) for w in caught))
    made = getattr(env, "spec", None)
    made_id = made.id if made is not None and getattr(made, "id", None) else spec.env_id
    module, sep, _ = spec.env_id.rpartition(":")
    if sep and ":" not in made_id:  # keep `module:`: the id is made again where it is imported
        made_id = f"{module}:{made_id}"
    return Preflight(env, made_id, notes)


def suggest_env_ids(env_id: str) -> str:
    known = list(gym.registry.keys())
    lowered = {k.lower(): k for k in known}
    close = difflib.get_close_matches(env_id, known, n=3, cutoff=0.6)
    if env_id.lower() in lowered and lowered[env_id.lower()] not in close:
        close.insert(0, lowered[env_id.lower()])
    if close:
        return "did you mean: " + ", ".join(close) + "?"
    return "list the registered ids with: python -c 'import gymnasium; gymnasium.pprint_registry()'"
