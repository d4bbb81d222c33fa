"""Import TensorFlow, TFP and TF-Agents once, with their log noise silenced.

Every module that needs TensorFlow imports it through `import_tf()` so that the C++ log level,
absl's logger, Python warnings and the gym 0.23 banner (which TF-Agents imports) are dealt with
before the first TensorFlow line runs. `pytfpol --help` never gets here.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import sys
import warnings
from types import ModuleType
from typing import Iterator, Optional

from pytfpol.errors import UsageError
from pytfpol.policy import deferred_modules

_NOISY_WARNINGS = (
    "Encoding a StructuredValue",
    "is not a valid tf.function parameter name",
    "`np.bool8` is a deprecated alias",
)


_ERRORS_SILENCED = False


def silence() -> None:
    """Set everything that must be set before TensorFlow is imported, and hide the errors
    TensorFlow logs but recovers from (e.g. a traceback for an unreadable fingerprint.pb): the
    CLI calls this unless -v; pytfpol reports the errors that stop a run itself."""
    global _ERRORS_SILENCED
    _ERRORS_SILENCED = True
    _silence_imports()


# Environment variables read once, when TensorFlow, pygame or SDL start; each is set only when
# the user has not set it.
PROCESS_ENVIRONMENT = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    # Each session gets its own intra-op thread pool sized by its ConfigProto, instead of one
    # process-wide pool sized by whoever created the first device: pytfpol.policy.invariance needs its
    # sessions to compute with one intra-op thread. Read when TensorFlow creates its first device.
    "TF_OVERRIDE_GLOBAL_THREADPOOL": "1",
    "PYGAME_HIDE_SUPPORT_PROMPT": "hide",
    # No audio device is opened (pygame's SDL otherwise prints ALSA errors on machines without
    # sound, e.g. for Box2D envs); read when SDL initialises.
    "SDL_AUDIODRIVER": "dummy",
}


def prepare_environment() -> None:
    """Set what must be set before TensorFlow creates a device and before SDL starts (kept when
    the user has set it). Called by `import_tf` and before `pytfpol.running.envs` imports Gymnasium."""
    for name, value in PROCESS_ENVIRONMENT.items():
        os.environ.setdefault(name, value)


def _silence_imports() -> None:
    prepare_environment()
    for pattern in _NOISY_WARNINGS:
        warnings.filterwarnings("ignore", message=f".*{pattern}.*")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=SyntaxWarning)  # AutoGraph-generated code
    try:  # gym 0.23 prints a notice on import unless its table of notices is empty.
        import gym_notices.notices as gym_notices

        gym_notices.notices.clear()
    except Exception:  # noqa: BLE001 - the banner is cosmetic; never fail on it
        pass


_HEAVY_IMPORTS = 0  # nesting depth of `heavy_imports`
_HEAVY_MODULES = ("tensorflow", "tensorflow_probability", "tf_agents")


@contextlib.contextmanager
def heavy_imports() -> Iterator[None]:
    """Import TensorFlow, TFP, TF-Agents (and what pytfpol builds on them) without the cyclic
    garbage collector, then freeze what was imported.

    Why: importing them creates millions of objects that live as long as the process, and the
    collector walks them all again at every full collection (about seven during the imports and
    the first policy load, 0.02-0.25 s each here, about 1 s in all). Frozen objects
    (`gc.freeze`) are skipped by later collections; the few cycles the imports leave behind are
    kept, as the modules are."""
    global _HEAVY_IMPORTS
    if _HEAVY_IMPORTS == 0 and all(name in sys.modules for name in _HEAVY_MODULES):
        yield  # imported before: nothing new to freeze (later runs' objects stay collectable)
        return
    enabled = gc.isenabled()
    _HEAVY_IMPORTS += 1
    if _HEAVY_IMPORTS == 1:
        gc.disable()
    try:
        with deferred_modules.deferred():
            yield
    except ModuleNotFoundError as exc:
        missing = tensorflow_missing(exc)
        if missing is None:
            raise
        raise missing from exc
    finally:
        _HEAVY_IMPORTS -= 1
        if _HEAVY_IMPORTS == 0:
            gc.freeze()
            if enabled:
                gc.enable()


# What `pip install pytfpol` without an extra lacks, and the line that says how to install it.
INSTALL_TENSORFLOW = (
    "TensorFlow is not installed (pytfpol was installed without its [cpu] or [gpu] extra): "
    "pip install 'pytfpol[cpu]', or 'pytfpol[gpu]' for TensorFlow with GPU support"
)


def tensorflow_missing(exc: BaseException) -> Optional[UsageError]:
    """The usage error (exit 2, one line) for an import that failed because TensorFlow itself is
    not installed; None for any other failure (a TensorFlow that is there but broken among
    them: its own error says more)."""
    if isinstance(exc, ModuleNotFoundError) and exc.name == "tensorflow":
        return UsageError(INSTALL_TENSORFLOW)
    return None


def import_tf() -> ModuleType:
    """Return the `tensorflow` module, imported quietly (with TFP registered for SavedModels)."""
    _silence_imports()
    with heavy_imports():
        import tensorflow as tf

        # SavedModels of TF-Agents policies carry TFP distribution type specs: register them
        # first.
        import tensorflow_probability  # noqa: F401

    tf.get_logger().setLevel(logging.CRITICAL if _ERRORS_SILENCED else logging.ERROR)
    try:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.FATAL if _ERRORS_SILENCED else absl_logging.ERROR)
    except ImportError:  # pragma: no cover - absl comes with TensorFlow
        pass
    return tf
