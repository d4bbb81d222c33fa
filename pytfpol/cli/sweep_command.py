"""`pytfpol sweep RUN...`: parse the options, call `sweep`, print the curve table, then apply
the gates on the best checkpoint (exit 1)."""

from __future__ import annotations

import click

from pytfpol.cli.help import SWEEP_EXAMPLES, SWEEP_EXIT_CODES, SweepCommand, epilog
from pytfpol.cli.options import (
    RUN_OPTIONS,
    TENSORBOARD_OPTION,
    VIDEO_FORMAT_OPTION,
    FloatRange,
    IntRange,
    eval_settings,
)
from pytfpol.cli.runner import check_summary_target, run_command, show_document, shown


@click.command(
    "sweep",
    cls=SweepCommand,
    epilog=epilog(SWEEP_EXAMPLES, SWEEP_EXIT_CODES),
    short_help="Evaluate every checkpoint of a training run on the same seeds: curve, best.",
)
@click.argument("paths", metavar="RUN...", nargs=-1, required=True, type=click.Path(path_type=str))
@RUN_OPTIONS
@click.option(
    "--steps",
    metavar="A:B",
    help="Only the checkpoints with train steps from A to B (inclusive; either may be left out).",
)
@click.option(
    "--every",
    type=IntRange(min=1),
    metavar="K",
    help="Every K-th checkpoint, from the oldest (of those there at the start: --watch "
    "evaluates every new one).",
)
@click.option(
    "--last",
    type=IntRange(min=1),
    metavar="N",
    help="Only the newest N checkpoints (of those there at the start).",
)
@click.option(
    "--select",
    default="mean_return",
    show_default=True,
    metavar="STATISTIC",
    help="The summary statistic whose highest value picks the best checkpoint.",
)
@click.option(
    "--confirm-episodes",
    type=IntRange(min=0),
    metavar="M",
    help="Re-evaluate the best checkpoint on M fresh seeds (default: --episodes; 0: don't).",
)
@TENSORBOARD_OPTION
@click.option(
    "--watch",
    is_flag=True,
    help="Keep evaluating new checkpoints as they appear (a RUN not there yet is waited for); "
    "Ctrl-C while waiting for one ends the watch and finishes the sweep (best, outputs) as "
    "usual.",
)
@click.option(
    "--watch-timeout",
    type=FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="With --watch: stop after this long without a new checkpoint, or without RUN "
    "appearing (exit 3) (default: never).",
)
@click.option(
    "--poll",
    "poll_seconds",
    default=5.0,
    show_default=True,
    type=FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="With --watch: how often the directories are listed.",
)
@click.option(
    "--video-best",
    is_flag=True,
    help="Also record the best checkpoint's median episode (of its fresh-seed re-evaluation) "
    "as OUT/videos/best-step-<step>-episode-<index>.mp4.",
)
@VIDEO_FORMAT_OPTION
def command(paths: tuple, **options) -> None:
    """Evaluate every checkpoint of one or more training runs (RUN: a Learner policies/ root or
    the train dir above it, a common.Checkpointer directory, PPO's policy_saved_model/; one RUN
    per training seed) on the same seeds, as `pytfpol eval --step N` would.

    Writes sweep.json, curve.csv, episodes.csv, curve.png, TensorBoard event files and the best
    checkpoint, re-evaluated on fresh seeds, as OUT/best/. Running the same sweep into the same
    --out again evaluates only the checkpoints it has not.
    """
    run_command(lambda: _sweep(paths, options), options["verbose"])


def _sweep(paths: tuple, options: dict) -> None:
    from pytfpol import api
    from pytfpol.cli import console, tables
    from pytfpol.settings import SweepSettings, parse_steps

    as_json, quiet = options["as_json"], options["quiet"]
    check_summary_target(options["summary_path"], options["out"])
    settings = SweepSettings(
        paths=paths,
        eval=eval_settings(paths[0], options, video_format=options["video_format"]),
        steps=parse_steps(options["steps"]),
        every=options["every"],
        last=options["last"],
        select=options["select"],
        confirm_episodes=options["confirm_episodes"],
        tensorboard=options["tensorboard"],
        watch=options["watch"],
        watch_timeout=options["watch_timeout"],
        poll_seconds=options["poll_seconds"],
        video_best=options["video_best"],
    )
    progress = console.EpisodeProgress(console.stderr_console(), quiet=quiet)
    document = shown(
        lambda: progress.around(lambda: api.sweep(settings, progress=progress)),
        lambda document: show_document(document, as_json, quiet, tables.print_sweep_table),
        options["junit_path"],
        options["summary_path"],
    )
    api.check_gates(document)
