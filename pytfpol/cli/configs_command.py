"""`pytfpol configs`: list the shipped policy configs."""

from __future__ import annotations

import click

from pytfpol.cli.help import CONFIGS_EXIT_CODES, PytfpolCommand
from pytfpol.cli.options import JSON_DOCUMENT_HELP, json_option, verbose_option
from pytfpol.cli.runner import print_result, run_command


@click.command(
    "configs",
    cls=PytfpolCommand,
    epilog=CONFIGS_EXIT_CODES,
    short_help="List the shipped policy configs (names for --config) and what each rebuilds.",
)
@json_option(JSON_DOCUMENT_HELP)
@verbose_option()
def command(as_json: bool, verbose: bool) -> None:
    """List the policy configs shipped with pytfpol: `eval --config NAME` takes these names.

    Each rebuilds the policy a TF-Agents example script (or agent with TF-Agents' own network
    defaults) saves in a common.Checkpointer directory. Copy one and edit it for other sizes.
    """

    def run() -> None:
        from pytfpol import api
        from pytfpol.cli import inspect_tables

        print_result(api.configs(), as_json, inspect_tables.print_configs)

    run_command(run, verbose)
