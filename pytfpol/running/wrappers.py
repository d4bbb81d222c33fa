"""`--wrapper NAME[:key=value,...]`: Gymnasium's wrappers by name, TF-Agents' presets, and which
entry points an env spec may name.

A wrapper is recorded as Gymnasium records it (`WrapperSpec`: name, entry point, kwargs), so the
env a run made is written in the report as `env.spec.to_json()` and rebuilt from it by
`gymnasium.make(EnvSpec.from_json(...))`. Two wrappers of pytfpol's own make that true where
Gymnasium's would not be:

- `ChannelsLast`: moves a leading stack axis last (`FrameStackObservation` gives `(4, 84, 84)`,
  TF-Agents' `FrameStack4` gives `(84, 84, 4)`). `TransformObservation` with a lambda would do the
  same, but a lambda cannot be recorded.
- `RecordedTimeLimit`: Gymnasium's `TimeLimit`, recorded where it stands. Gymnasium records a
  `TimeLimit` as the env's `max_episode_steps`, which `make` applies first, under every other
  wrapper: after a frame-skipping wrapper that counts frames, not agent steps.

No TensorFlow here; worker processes import it to rebuild recorded envs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, cast

from pytfpol.policy.quiet_tf import prepare_environment

prepare_environment()

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
from gymnasium import spaces  # noqa: E402
from gymnasium.utils import RecordConstructorArgs  # noqa: E402

from pytfpol.code_from_data import check_import, in_file, module_of  # noqa: E402
from pytfpol.errors import UsageError  # noqa: E402

TF_AGENTS_ATARI = "tf-agents-atari"
PRESETS = (TF_AGENTS_ATARI,)
# Entry points of wrappers an env spec file may name without importing anything new.
OWN_WRAPPERS_MODULE = __name__
SAFE_WRAPPER_MODULES = ("gymnasium.wrappers", OWN_WRAPPERS_MODULE)


@dataclass(frozen=True)
class Wrapper:
    """One wrapper as Gymnasium records it: its name, `module:Class` entry point and kwargs."""

    name: str
    entry_point: str
    kwargs: dict = field(default_factory=dict)

    def apply(self, env: gym.Env) -> gym.Env:
        """Wrap `env`; the wrapper's own errors become a UsageError naming it (exit 2)."""
        # `module:Class` of a wrapper, loaded the way Gymnasium loads env creators (whose type
        # says env creator, hence the cast).
        cls = cast(Callable[..., gym.Env], gym.envs.registration.load_env_creator(self.entry_point))
        try:
            return cls(env, **self.kwargs)
        except Exception as exc:  # noqa: BLE001 - wrapper constructors raise anything
            from pytfpol.errors import one_line

            raise UsageError(
                f"--wrapper {self.name}: {type(exc).__name__}: {one_line(exc)}",
                "check the wrapper's keyword arguments and the env it wraps "
                "(e.g. AtariPreprocessing needs an env that does not skip frames itself: "
                "a NoFrameskip id, or frameskip=1)",
            ) from exc


class ChannelsLast(gym.ObservationWrapper, RecordConstructorArgs):
    """A Box observation with its leading axis moved last: a `(4, 84, 84)` frame stack becomes
    TF-Agents' `(84, 84, 4)`. Recordable (no lambda)."""

    def __init__(self, env: gym.Env) -> None:
        RecordConstructorArgs.__init__(self)
        gym.ObservationWrapper.__init__(self, env)
        space = env.observation_space
        if not isinstance(space, spaces.Box) or len(space.shape) < 2:
            raise ValueError(f"needs a Box observation of 2 or more axes, got {space}")
        self.observation_space = spaces.Box(
            np.moveaxis(space.low, 0, -1),
            np.moveaxis(space.high, 0, -1),
            dtype=space.low.dtype.type,
        )

    def observation(self, observation: Any) -> np.ndarray:
        return np.ascontiguousarray(np.moveaxis(observation, 0, -1))


class RecordedTimeLimit(gym.wrappers.TimeLimit):
    """Gymnasium's `TimeLimit`, recorded as a wrapper in its place (see the module docstring)."""

    # The generic recording, not TimeLimit's max_episode_steps. Gymnasium types `spec` as an
    # attribute of Env while its wrappers define it as a property: mypy sees Wrapper's property
    # as a function here.
    spec = gym.Wrapper.spec  # type: ignore[assignment]


def tf_agents_atari(max_episode_steps: Optional[int] = None) -> tuple[Wrapper, ...]:
    """What `suite_atari.load(id, gym_env_wrappers=DEFAULT_ATARI_GYM_WRAPPERS_WITH_STACKING)`
    builds over a frame-by-frame ALE env: TF-Agents' AtariPreprocessing defaults (frame skip 4,
    the max of the last two frames, 84x84 grayscale by INTER_AREA, no noop starts, no terminal on
    life loss), FrameStack4 (the reset frame repeated, channels last, uint8) and, when a step
    limit is given, AtariTimeLimit (agent steps, outside the stack)."""
    preset = [
        Wrapper(
            "AtariPreprocessing",
            "gymnasium.wrappers.atari_preprocessing:AtariPreprocessing",
            {
                "noop_max": 0,
                "frame_skip": 4,
                "screen_size": 84,
                "terminal_on_life_loss": False,
                "grayscale_obs": True,
                "grayscale_newaxis": False,
                "scale_obs": False,
            },
        ),
        Wrapper(
            "FrameStackObservation",
            "gymnasium.wrappers.stateful_observation:FrameStackObservation",
            {"stack_size": 4, "padding_type": "reset"},
        ),
        Wrapper("ChannelsLast", f"{OWN_WRAPPERS_MODULE}:ChannelsLast", {}),
    ]
    if max_episode_steps is not None:
        preset.append(time_limit(max_episode_steps))
    return tuple(preset)


def time_limit(max_episode_steps: int) -> Wrapper:
    return Wrapper(
        "RecordedTimeLimit",
        f"{OWN_WRAPPERS_MODULE}:RecordedTimeLimit",
        {"max_episode_steps": int(max_episode_steps)},
    )


def parse_wrapper(text: str) -> Wrapper:
    """`NAME[:key=value,...]` as a Gymnasium wrapper (values parsed as JSON where they can be,
    as for --env-kwargs). `TimeLimit` is recorded in its place (`RecordedTimeLimit`)."""
    from pytfpol.settings import parse_env_kwargs

    name, _, arguments = text.partition(":")
    name = name.strip()
    kwargs = parse_env_kwargs([arguments]) if arguments.strip() else {}
    if name == "TimeLimit":
        if set(kwargs) != {"max_episode_steps"}:
            raise UsageError(
                f"--wrapper {text!r}: TimeLimit takes max_episode_steps=N",
                "e.g. --wrapper TimeLimit:max_episode_steps=1000",
            )
        return dataclasses.replace(time_limit(kwargs["max_episode_steps"]), name="TimeLimit")
    known = [n for n in gym.wrappers.__all__ if n != "vector" and n[:1].isupper()]
    if name not in known:
        import difflib

        close = difflib.get_close_matches(name, known + list(PRESETS), n=3)
        raise UsageError(
            f"--wrapper {name!r}: not one of Gymnasium's wrappers nor a preset",
            (f"did you mean: {', '.join(close)}? " if close else "")
            + f"presets: {', '.join(PRESETS)}; Gymnasium's: {', '.join(known)}",
        )
    cls = getattr(gym.wrappers, name)
    return Wrapper(cls.__name__, f"{cls.__module__}:{cls.__name__}", kwargs)


def resolve_wrappers(
    texts: tuple, max_episode_steps: Optional[int]
) -> tuple[tuple[Wrapper, ...], bool]:
    """The `--wrapper`s in order, presets expanded; and whether a preset took over the step
    limit (then it counts agent steps, outside the preset's frame skip)."""
    wrappers: list[Wrapper] = []
    limit_taken = False
    for text in texts:
        if isinstance(text, Wrapper):
            wrappers.append(text)
        elif text.strip() == TF_AGENTS_ATARI:
            wrappers.extend(tf_agents_atari(max_episode_steps))
            limit_taken = True
        else:
            wrappers.append(parse_wrapper(text))
    return tuple(wrappers), limit_taken


def code_named_by_file(spec: Any, registered_entry_point: Any) -> list[str]:
    """The entry points of a Gymnasium EnvSpec (read from a file) that would import a module
    pytfpol does not already trust: the env's, unless it is Gymnasium's own or the one
    registered for that id; each wrapper's, unless it is one of Gymnasium's or pytfpol's."""
    unsafe = []
    entry = spec.entry_point
    module = module_of(entry) if isinstance(entry, str) else None
    if not (
        (module is not None and (module == "gymnasium" or module.startswith("gymnasium.")))
        or (entry is not None and entry == registered_entry_point)
    ):
        unsafe.append(str(entry))
    for wrapper in spec.additional_wrappers:
        module = module_of(str(wrapper.entry_point)) or ""
        if not any(module == m or module.startswith(m + ".") for m in SAFE_WRAPPER_MODULES):
            unsafe.append(str(wrapper.entry_point))
    return unsafe


def refuse_code_from_data(
    source: str, spec: Any, registered_entry_point: Any, allow_code: bool
) -> None:
    """UsageError (exit 2) when the env spec in `source` names code to import (see
    `code_named_by_file`) and `allow_code` does not allow it: code_from_data's one rule."""
    for entry_point in code_named_by_file(spec, registered_entry_point):
        check_import(entry_point, in_file(source, "entry_point"), allow_code)
