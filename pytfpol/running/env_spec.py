"""Which Gymnasium environment a run makes, and making it with errors a user can act on.

`EnvSpec` is the one description of an environment in pytfpol: an id, `gymnasium.make` keyword
arguments and a step limit, the wrappers applied over it (`--wrapper`, presets), or a whole
Gymnasium EnvSpec read from a file (`--env FILE.json`), or a `module:function` returning a
TF-Agents PyEnvironment. It is small and picklable, so worker processes make their own envs
from it. `resolve_env` builds it from the command line; `preflight` makes the env once before
TensorFlow is imported, so a mistyped id or keyword argument is reported in a fraction of a
second, and records what was made (`env.spec.to_json()`: id, kwargs, step limit, every wrapper
with its kwargs) for the report, from which replay, compare and `--env FILE.json` rebuild it.
No TensorFlow here.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib.util
import json
import pickle
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from pytfpol.policy.quiet_tf import prepare_environment

prepare_environment()  # before Gymnasium (pygame's SDL) and, later, TensorFlow are imported

import gymnasium as gym  # noqa: E402

from pytfpol.errors import InputError, RunError, UsageError, one_line  # noqa: E402
from pytfpol.running import py_environments  # noqa: E402
from pytfpol.running.wrappers import (  # noqa: E402
    refuse_code_from_data,
    resolve_wrappers,
    time_limit,
)

SPEC_FILE_SUFFIX = ".json"
MAX_SPEC_FILE_BYTES = 1 << 20


@dataclass(frozen=True)
class EnvSpec:
    """A Gymnasium env id with its `gymnasium.make` arguments."""

    env_id: str
    kwargs: dict = field(default_factory=dict)
    max_episode_steps: Optional[int] = None
    registered: Any = None  # the EnvSpec registered in the driver, for worker processes
    wrappers: tuple = ()  # wrappers.Wrapper values, applied in order over the made env
    spec_json: Optional[str] = None  # a whole Gymnasium EnvSpec (checked): what is made
    factory: bool = False  # env_id is module:function returning a TF-Agents PyEnvironment

    @property
    def plain(self) -> bool:
        """An id with kwargs only: what an env id's own vectorised implementation can run."""
        return not (self.wrappers or self.spec_json or self.factory)

    def make(self) -> gym.Env:
        """The env, then its wrappers in order."""
        env = self._make_base()
        try:
            for wrapper in self.wrappers:
                env = wrapper.apply(env)
        except BaseException:
            env.close()
            raise
        return env

    def _make_base(self) -> gym.Env:
        """`gymnasium.make` (or the PyEnvironment factory), its errors turned into pytfpol's
        (with Gymnasium's hint kept)."""
        if self.factory:
            return py_environments.make(self.env_id, dict(self.kwargs))
        target: gym.envs.registration.EnvSpec | str
        if self.spec_json is not None:
            target = gym.envs.registration.EnvSpec.from_json(self.spec_json)
        else:
            target = self.registered or self.env_id
            register_known_providers(self.env_id)
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
        if self.registered is not None or self.spec_json is not None or self.factory:
            return self
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
    recorded: Optional[dict] = None  # the env as Gymnasium records it (EnvSpec JSON), if it can


def preflight(spec: EnvSpec) -> Preflight:
    """Make the env once (no TensorFlow needed): errors surface at once, and the id Gymnasium
    really made (`CartPole` -> `CartPole-v1`), its warnings (without colour codes) and the whole
    env as Gymnasium records it are kept."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        env = spec.make()
    notes = tuple(dict.fromkeys(one_line(w.message) for w in caught))
    made = getattr(env, "spec", None)
    made_id = made.id if made is not None and getattr(made, "id", None) else spec.env_id
    module, sep, _ = spec.env_id.rpartition(":")
    if sep and ":" not in made_id:  # keep `module:`: the id is made again where it is imported
        made_id = f"{module}:{made_id}"
    recorded, why_not = record_env(env, spec)
    if why_not:
        notes = (*notes, why_not)
    return Preflight(env, made_id, notes, recorded)


def record_env(env: gym.Env, spec: EnvSpec) -> tuple[Optional[dict], Optional[str]]:
    """(the env's Gymnasium EnvSpec as a JSON object, None) or (None, why it cannot be
    recorded): a PyEnvironment has no Gymnasium spec; a wrapper that does not record its
    constructor arguments, or whose arguments are not JSON (a lambda), cannot be written."""
    if spec.factory:
        return None, None  # the report's id (module:function) is the whole description
    gym_spec = getattr(env, "spec", None)
    if gym_spec is None:
        return None, f"the env {spec.env_id} has no Gymnasium spec: the report cannot record it"
    unrecorded = [w.name for w in gym_spec.additional_wrappers if w.kwargs is None]
    try:
        if unrecorded:
            raise ValueError(f"wrapper {unrecorded[0]} does not record its arguments")
        if callable(gym_spec.entry_point):  # registered with a class: recorded by its name
            gym_spec = dataclasses.replace(gym_spec, entry_point=entry_point_name(gym_spec))
        return json.loads(gym_spec.to_json()), None
    except Exception as exc:  # noqa: BLE001 - lambdas, numpy arrays, objects in kwargs
        return None, (
            f"the env cannot be recorded as a Gymnasium EnvSpec ({one_line(exc)}): replay, "
            "compare and --env FILE.json cannot rebuild it from the report"
        )


def entry_point_name(gym_spec: Any) -> Any:
    """An entry point as `module:name` (a registered class is named by its module and name)."""
    entry = gym_spec.entry_point
    if callable(entry) and hasattr(entry, "__module__") and hasattr(entry, "__qualname__"):
        return f"{entry.__module__}:{entry.__qualname__}"
    return entry


def register_known_providers(env_id: str) -> None:
    """Register the Atari envs (ale-py, pytfpol[atari]) when an id is not registered yet and
    ale-py is installed: Gymnasium 1.x no longer imports it by itself. ale-py is a package the
    user installed for this, never a module named by a file."""
    name = env_id.rpartition(":")[2]
    if ":" in env_id or name in gym.registry:
        return
    if importlib.util.find_spec("ale_py") is None:
        return
    import ale_py

    gym.register_envs(ale_py)
    try:  # its banner and per-env notices are not the user's business
        ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)
    except Exception:  # noqa: BLE001 - cosmetic; never fail on it
        pass


def resolve_env(
    env_id: str,
    kwargs: dict,
    max_episode_steps: Optional[int] = None,
    wrappers: tuple = (),
    spec_json: Optional[str] = None,
    allow_code: bool = False,
) -> EnvSpec:
    """The EnvSpec a run makes from --env (an id, module:ID, module:function or FILE.json, or a
    recorded spec given as `spec_json`), --env-kwargs, --max-episode-steps and --wrapper.

    A preset takes over the step limit: the env's own (registered) limit, or --max-episode-steps,
    is applied outside the preset, in agent steps, as TF-Agents' suite_atari does."""
    source = "the recorded env spec"
    if spec_json is None and env_id.endswith(SPEC_FILE_SUFFIX):
        spec_json, source = read_spec_file(env_id), env_id
    if spec_json is not None:
        gym_spec = parse_spec(spec_json, source)
        if source != env_id:
            import_env_module(env_id)
        register_known_providers(gym_spec.id)
        known = gym.registry.get(gym_spec.id)
        registered = entry_point_name(known) if known else None
        refuse_code_from_data(source, gym_spec, registered, allow_code)
        chain, preset = resolve_wrappers(tuple(wrappers), max_episode_steps)
        limit = None if preset else max_episode_steps
        return EnvSpec(gym_spec.id, dict(kwargs), limit, wrappers=chain, spec_json=spec_json)
    if py_environments.factory_of(env_id) is not None:
        chain, _ = resolve_wrappers(tuple(wrappers), None)
        if max_episode_steps is not None:
            chain = (*chain, time_limit(max_episode_steps))
        return EnvSpec(env_id, dict(kwargs), None, wrappers=chain, factory=True)
    chain, preset = resolve_wrappers(tuple(wrappers), None)
    if not preset:
        return EnvSpec(env_id, dict(kwargs), max_episode_steps, wrappers=chain)
    registered = _registered(env_id)
    limit = max_episode_steps or registered.max_episode_steps
    chain, _ = resolve_wrappers(tuple(wrappers), limit)
    base = dataclasses.replace(registered, max_episode_steps=None)
    return EnvSpec(env_id, dict(kwargs), None, registered=base, wrappers=chain)


def import_env_module(env_id: str) -> None:
    """Import the module of a `module:ID` env id, which registers its envs (what
    `gymnasium.make("module:ID")` does): the id the command line gave, or the id recorded for
    that run when a report's env spec is rebuilt."""
    module, sep, _ = env_id.rpartition(":")
    if not sep:
        return
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise InputError(
            f"--env {env_id}: cannot import module {module!r} to register it ({one_line(exc)})",
            "install the package that provides the environment; a module of your own must "
            "be importable from the current directory or PYTHONPATH",
        ) from exc


def _registered(env_id: str) -> Any:
    """The registered Gymnasium EnvSpec of `env_id` (its module imported for module:ID)."""
    register_known_providers(env_id)
    import_env_module(env_id)
    name = env_id.rpartition(":")[2]
    try:
        return gym.spec(name)
    except gym.error.Error as exc:
        raise InputError(
            f"--env {env_id}: no such Gymnasium environment ({one_line(exc)})",
            f"{suggest_env_ids(name)}; Atari ids need ale-py: pip install pytfpol[atari]",
        ) from exc


def read_spec_file(path: str) -> str:
    """The text of an env spec file (`--env FILE.json`), at most 1 MiB; InputError naming it."""
    file = Path(path)
    try:
        if not file.is_file():
            raise FileNotFoundError("no such file")
        if file.stat().st_size > MAX_SPEC_FILE_BYTES:
            raise ValueError(f"larger than {MAX_SPEC_FILE_BYTES} bytes")
        return file.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise InputError(
            f"--env {path}: cannot read the env spec ({one_line(exc)})",
            "give a Gymnasium EnvSpec JSON file (what env.spec.to_json() writes)",
            path=path,
        ) from exc


def parse_spec(text: str, source: str) -> Any:
    """A Gymnasium EnvSpec from its JSON (nothing imported yet); InputError naming `source`."""
    try:
        return gym.envs.registration.EnvSpec.from_json(text)
    except Exception as exc:  # noqa: BLE001 - JSON and missing-field errors alike
        raise InputError(
            f"{source}: not a Gymnasium EnvSpec JSON ({type(exc).__name__}: {one_line(exc)})",
            "write it with env.spec.to_json(): id, entry_point, kwargs, max_episode_steps, "
            "additional_wrappers, ...",
            path=source,
        ) from exc


def suggest_env_ids(env_id: str) -> str:
    known = list(gym.registry.keys())
    lowered = {k.lower(): k for k in known}
    close = difflib.get_close_matches(env_id, known, n=3, cutoff=0.6)
    if env_id.lower() in lowered and lowered[env_id.lower()] not in close:
        close.insert(0, lowered[env_id.lower()])
    if close:
        return "did you mean: " + ", ".join(close) + "?"
    return "list the registered ids with: python -c 'import gymnasium; gymnasium.pprint_registry()'"
