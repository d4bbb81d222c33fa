"""`pytfpol inspect PATH`: what is saved in a checkpoint or policy, its arrays, an export, a diff."""

from __future__ import annotations

from typing import Optional

import click

from pytfpol.cli.help import INSPECT_EXAMPLES, INSPECT_EXIT_CODES, SectionedCommand, epilog
from pytfpol.cli.options import JSON_DOCUMENT_HELP, IntRange, json_option, verbose_option
from pytfpol.cli.runner import print_result, run_command


@click.command(
    "inspect",
    cls=SectionedCommand,
    epilog=epilog(INSPECT_EXAMPLES, INSPECT_EXIT_CODES),
    short_help="Show the arrays, variables, specs and steps saved in a checkpoint or policy.",
)
@click.argument("path", type=click.Path(path_type=str))
@json_option(JSON_DOCUMENT_HELP)
@click.option(
    "--step",
    type=IntRange(min=0),
    help="Inspect the checkpoint at this step (default: newest).",
)
@click.option(
    "--array",
    "arrays",
    multiple=True,
    metavar="NAME",
    help="Print this array's values (a key, or a name without /.ATTRIBUTES/...); repeatable.",
)
@click.option("--full", is_flag=True, help="With --array: print every element (no ...).")
@click.option(
    "--export",
    type=click.Path(path_type=str),
    metavar="FILE.npz",
    help="Write the NumpyState arrays and variables (or the --array ones) to an .npz file.",
)
@click.option("--diff", "diff_with", metavar="B", help="Compare with the checkpoint at B.")
@verbose_option()
def command(
    path: str,
    as_json: bool,
    step: Optional[int],
    arrays: tuple,
    full: bool,
    export: Optional[str],
    diff_with: Optional[str],
    verbose: bool,
) -> None:
    """Show what is saved in PATH, without building the policy or importing TensorFlow.

    PATH is a checkpoint prefix (train_dir/policy/ckpt-30), a Checkpointer directory, a
    PolicySaver SavedModel, a Learner policies/ root, a policy_checkpoint_<step> directory,
    PPO's policy_saved_model/ folder or an output directory of `pytfpol eval`. NumpyState
    arrays are decoded without pickle.
    """

    def run() -> None:
        from pytfpol import api
        from pytfpol.cli import inspect_tables as views

        if export is not None:
            result = api.export_npz(path, export, arrays, step)
            print_result(result, as_json, views.print_export_summary)
        elif diff_with is not None:
            print_result(api.inspect(path, step, diff=diff_with), as_json, views.print_diff)
        elif arrays:
            results = [api.inspect(path, step, array=name) for name in arrays]
            views.print_arrays(results, as_json=as_json, full=full)
        else:
            print_result(api.inspect(path, step), as_json, views.print_inspect_report)

    run_command(run, verbose)
