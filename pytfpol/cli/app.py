"""The `pytfpol` command group: global options, the commands (each loaded from its own module
when it is asked for), and Click's errors mapped to pytfpol's exit codes.

Importing this module does not import TensorFlow (nor rich, nor Gymnasium): `pytfpol --help`
answers at once. Click's own parsing errors are printed in pytfpol's style (`error:` / `hint:`,
exit 2) like every other error; a command's own errors are mapped by `runner.run_command`.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, Optional

import click

from pytfpol import __version__
from pytfpol.cli.help import EVAL_EXIT_CODES, HelpContext, PytfpolCommand
from pytfpol.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE

# Each command's name, and the module under pytfpol.cli whose `command` it is.
COMMAND_MODULES = {
    "compare": "compare_command",
    "configs": "configs_command",
    "eval": "eval_command",
    "inspect": "inspect_command",
    "replay": "replay_command",
    "sweep": "sweep_command",
}

# What a required option is for, said when it is missing (Click says only its name).
REQUIRED_OPTIONS = {
    "--env": "the Gymnasium id to evaluate in, e.g. --env CartPole-v1",
}


class PytfpolGroup(click.Group):
    """pytfpol's commands, each imported when named (or when --help lists them); Click's own
    usage errors printed as pytfpol's: `error:` and `hint:` lines, exit 2."""

    context_class = HelpContext
    command_class = PytfpolCommand

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> Optional[click.Command]:
        module = COMMAND_MODULES.get(cmd_name)
        if module is None:
            return None
        command = importlib.import_module(f"pytfpol.cli.{module}").command
        assert isinstance(command, click.Command)
        return command

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except click.UsageError as exc:
            _click_error(exc)
            sys.exit(EXIT_USAGE)
        except click.ClickException as exc:
            _click_error(exc)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        if isinstance(result, int) and result:  # pragma: no cover - commands exit themselves
            sys.exit(result)
        sys.exit(EXIT_OK)


def _click_error(exc: click.ClickException) -> None:
    """`error: --episodes 0: must be in the range x>=1`, as pytfpol's own errors read."""
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else "pytfpol"
    message = exc.format_message()
    if isinstance(exc, click.MissingParameter) and isinstance(exc.param, click.Option):
        option = exc.param.opts[0]
        message = f"{option} is required" + (
            f": {REQUIRED_OPTIONS[option]}" if option in REQUIRED_OPTIONS else ""
        )
    elif isinstance(exc, click.BadParameter) and isinstance(exc.param, click.Option):
        message = f"{exc.param.opts[0]} {exc.message}"
    click.echo(f"error: {' '.join(message.split())}", err=True)
    click.echo(f"hint: see `{command} --help`", err=True)


def _version_text() -> str:
    """pytfpol's version and the stack's, read from package metadata (no import of TF)."""
    from importlib import metadata

    def version(*names: str) -> str:
        for name in names:
            try:
                return metadata.version(name)
            except metadata.PackageNotFoundError:
                continue
        return "not installed"

    stack = ", ".join(
        f"{label} {version(*names)}"
        for label, names in (
            ("TensorFlow", ("tensorflow-cpu", "tensorflow", "tensorflow-gpu")),
            ("TF-Agents", ("tf-agents",)),
            ("Gymnasium", ("gymnasium",)),
        )
    )
    return f"pytfpol {__version__} ({stack}, Python {sys.version.split()[0]})"


def _print_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    click.echo(_version_text())
    ctx.exit(EXIT_OK)


@click.group(
    cls=PytfpolGroup,
    help="Evaluate TF-Agents policies on Gymnasium environments.\n\n" + EVAL_EXIT_CODES,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the versions of pytfpol, TensorFlow, TF-Agents and Gymnasium.",
)
def main() -> None:
    pass


if __name__ == "__main__":  # pragma: no cover
    main()
