"""No code from data: the one rule deciding whether pytfpol may import a module a name points at.

Code runs only when the command line asks for it: `--env module:ID`, `--config FILE` whose config
holds `factory = "module:function"`, or `--allow-code`. A name read from a file found on disk (a
config bundled with a checkpoint, the env id or config a stats.json recorded, an env spec's entry
point) never imports its module by itself: without `--allow-code` it is refused (exit 2) before
anything is imported, naming the file, the key and the fix. Every place that turns a
`module:name` reference into an import asks `check_import` first. No TensorFlow, no Gymnasium.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from pytfpol.errors import UsageError

ALLOW_CODE = "--allow-code"
ALLOW_CODE_HELP = (
    "Import the modules that files found on disk name (a factory in a bundled "
    "pytfpol-policy.toml, a recorded module:ID env id): they run code. Without it, only names "
    "given on the command line (--env module:ID, --config FILE) are imported."
)


@dataclass(frozen=True)
class NamedBy:
    """Where a `module:name` reference was read: an option of the command line, or a key of a
    file (`source` its path). `instead` says how to give it on the command line instead."""

    source: str
    key: str = ""
    command_line: bool = False
    instead: str = ""


def on_command_line(option: str) -> NamedBy:
    """A reference the user typed: importing it is what they asked for."""
    return NamedBy(option, command_line=True)


def in_file(path: object, key: str, instead: str = "") -> NamedBy:
    """A reference read from the file `path` under `key`: data, not a request to run code."""
    return NamedBy(str(path), key, instead=instead)


def module_of(reference: str) -> Optional[str]:
    """The module a `module:name` reference (a factory, an env id, an entry point) imports;
    None when it names none (`CartPole-v1`)."""
    module, sep, _ = reference.partition(":")
    return module if sep else None


def may_import(reference: str, named_by: NamedBy, allow_code: bool) -> bool:
    """Whether the module `reference` names may be imported: named on the command line, or
    `--allow-code` given (a reference naming no module imports nothing)."""
    return module_of(reference) is None or named_by.command_line or allow_code


def check_import(reference: str, named_by: NamedBy, allow_code: bool) -> None:
    """Refuse (exit 2) to import the module of a reference a file named, unless allowed."""
    if may_import(reference, named_by, allow_code):
        return
    instead = f", or {named_by.instead}" if named_by.instead else ""
    raise UsageError(
        f"{named_by.source}: {named_by.key} = {reference!r} would import module "
        f"{module_of(reference)!r}; pytfpol runs no code a file names: pass {ALLOW_CODE} if you "
        f"trust it{instead}",
        f"a file found on disk is data; code runs only when the command line asks "
        f"({ALLOW_CODE}, --env module:ID, --config FILE)",
        path=named_by.source,
    )
