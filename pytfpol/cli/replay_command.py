"""`pytfpol replay OUT`: run one episode of a past evaluation again and print both outcomes."""

from __future__ import annotations

from typing import Optional

import click

from pytfpol.cli.help import REPLAY_EXAMPLES, REPLAY_EXIT_CODES, SectionedCommand, epilog
from pytfpol.cli.options import (
    ALLOW_CODE_OPTION,
    QUIET_OPTION,
    json_option,
    verbose_option,
)
from pytfpol.cli.runner import print_result, run_command, show_document
from pytfpol.errors import PytfpolError


@click.command(
    "replay",
    cls=SectionedCommand,
    epilog=epilog(REPLAY_EXAMPLES, REPLAY_EXIT_CODES),
    short_help="Run one episode of a past evaluation again, exactly; check it; video it.",
)
@click.argument("out", metavar="OUT", type=click.Path(path_type=str))
@click.option(
    "--episode",
    default="worst",
    show_default=True,
    metavar="K|worst|best|median",
    help="The episode: its index, or the one with the lowest / highest / median return.",
)
@click.option(
    "--video",
    type=click.Path(path_type=str),
    metavar="FILE",
    help="Write the episode's video to FILE (.mp4, or .gif).",
)
@click.option(
    "--trajectory",
    type=click.Path(path_type=str),
    metavar="FILE.npz",
    help="Write its observations, actions, rewards, flags and policy info to FILE.npz.",
)
@click.option(
    "--step",
    type=click.IntRange(min=0),
    metavar="N",
    help="OUT is a sweep's: replay an episode of its checkpoint of train step N (without "
    "--step, replay lists the steps it can replay).",
)
@click.option(
    "--run",
    "run_index",
    type=click.IntRange(min=0),
    metavar="I",
    help="With --step, of a sweep of several runs: the run (its index in sweep.json's runs).",
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace an existing --video or --trajectory file (else refused, exit 5).",
)
@json_option("Print the result as JSON on stdout (nothing else).")
@click.option(
    "--env",
    "env_id",
    metavar="ID",
    help="The env id stats.json recorded, given again: a module:ID id is then imported as "
    "asked (replay refuses any other id).",
)
@ALLOW_CODE_OPTION
@verbose_option()
@QUIET_OPTION
def command(
    out: str,
    episode: str,
    video: Optional[str],
    trajectory: Optional[str],
    step: Optional[int],
    run_index: Optional[int],
    overwrite: bool,
    as_json: bool,
    env_id: Optional[str],
    allow_code: bool,
    verbose: bool,
    quiet: bool,
) -> None:
    """Replay one episode of the evaluation in OUT (an output directory of `pytfpol eval`,
    or of `pytfpol sweep` with --step N, or a sweep's best/).

    Episode K is run alone with its seed S+K, from the policy files, checkpoint, env, kwargs
    and step limit stats.json (sweep.json) recorded (refused when a policy file changed since);
    its return and length must equal the recorded ones (exit 4 otherwise: something is not
    deterministic).
    """

    def run() -> None:
        from pytfpol.cli import console, tables
        from pytfpol.commands import replay

        progress = console.EpisodeProgress(console.stderr_console(), quiet=quiet)
        try:
            result = replay.replay(
                out,
                episode,
                video=video,
                trajectory=trajectory,
                progress=progress,
                allow_code=allow_code,
                env_id=env_id,
                step=step,
                run_number=run_index,
                overwrite=overwrite,
            )
        except PytfpolError as exc:
            if exc.report is not None:
                print_result(exc.report, as_json, tables.print_replay)
            raise
        show_document(result, as_json, quiet, tables.print_replay)

    run_command(run, verbose)
