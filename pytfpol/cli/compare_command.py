"""`pytfpol compare BASELINE CANDIDATE`: parse the options, call `commands.compare.compare`,
print the verdict, then exit 1 when the candidate is worse."""

from __future__ import annotations

from typing import Optional

import click

from pytfpol.cli.help import COMPARE_EXIT_CODES, SectionedCommand
from pytfpol.cli.options import (
    ALLOW_CODE_OPTION,
    QUIET_OPTION,
    SEED_RANGE,
    IntRange,
    env_group,
    json_option,
    junit_option,
    num_envs_option,
    summary_option,
    vector_option,
    verbose_option,
)
from pytfpol.cli.runner import (
    check_summary_target,
    run_command,
    show_document,
    write_junit,
    write_summaries,
)

AS_FOR_EVAL = "With --env: as for eval."


@click.command(
    "compare",
    cls=SectionedCommand,
    epilog=COMPARE_EXIT_CODES,
    short_help="Is the candidate worse than the baseline? Intervals, p-value, verdict.",
)
@click.argument("baseline", type=click.Path(path_type=str))
@click.argument("candidate", type=click.Path(path_type=str))
@click.option(
    "--statistic",
    type=click.Choice(["iqm_return", "mean_return", "median_return"]),
    default="iqm_return",
    show_default=True,
    help="The statistic whose difference (candidate - baseline) is judged.",
)
@click.option(
    "--margin",
    type=float,
    default=0.0,
    show_default=True,
    help="Non-inferiority margin: fail only when the candidate is worse by more than this.",
)
@click.option(
    "--alpha",
    type=float,
    default=0.05,
    show_default=True,
    help="The interval is (1 - alpha) two-sided; the p-value is compared with alpha.",
)
@click.option(
    "--seed",
    default=0,
    show_default=True,
    type=SEED_RANGE,
    help="Seeds the bootstrap; with --env, episode i of both policies is reset with seed S+i.",
)
@json_option("Print the result as JSON on stdout (nothing else).")
@junit_option("Write the verdict as a JUnit XML test case to FILE.")
@summary_option()
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(path_type=str),
    metavar="FILE.png",
    help="Draw both return distributions and the interval of the difference.",
)
@env_group(
    "BASELINE and CANDIDATE are policies: evaluate both on this env and the same seeds "
    "first (into --out/baseline and --out/candidate).",
    required=False,
    kwargs_help=AS_FOR_EVAL,
    steps_help=AS_FOR_EVAL,
    wrapper_help=AS_FOR_EVAL,
)
@click.option("--episodes", default=20, show_default=True, type=IntRange(min=5), help="With --env.")
@click.option(
    "--out", type=click.Path(path_type=str), help="With --env: where both evaluations go."
)
@click.option(
    "--baseline-checkpoint",
    type=click.Path(path_type=str),
    help="With --env: a policy_checkpoint_<step> to apply to BASELINE.",
)
@click.option(
    "--candidate-checkpoint",
    type=click.Path(path_type=str),
    help="With --env: a policy_checkpoint_<step> to apply to CANDIDATE.",
)
@num_envs_option(AS_FOR_EVAL)
@vector_option(AS_FOR_EVAL)
@ALLOW_CODE_OPTION
@verbose_option()
@QUIET_OPTION
def command(
    baseline: str,
    candidate: str,
    as_json: bool,
    junit_path: Optional[str],
    summary_path: Optional[str],
    plot_path: Optional[str],
    verbose: bool,
    quiet: bool,
    **options,
) -> None:
    """Compare CANDIDATE with BASELINE: exit 1 when the candidate is significantly worse.

    \b
    BASELINE and CANDIDATE are output directories of `pytfpol eval` (or their stats.json);
    with --env they are policy directories, evaluated first on the same seeds.
    Runs on the same env and seeds are compared paired (episode by episode).
    """

    def run() -> None:
        from pytfpol.cli import console, tables
        from pytfpol.commands import compare

        check_summary_target(summary_path, options["out"])
        settings = compare.CompareSettings(baseline, candidate, plot=plot_path, **options)
        comparison = compare.compare(
            settings,
            progress_factory=lambda: console.EpisodeProgress(console.stderr_console(), quiet=quiet),
        )
        for warning in comparison.warnings:
            console.print_note(f"warning: {warning}")
        show_document(comparison.document, as_json, quiet, tables.print_compare_table)
        write_junit(junit_path, comparison.document)
        write_summaries(summary_path, comparison.document)
        compare.check_verdict(comparison.document)

    run_command(run, verbose)
