"""`pytfpol eval POLICY`: parse the options, call `evaluate`, print the report and the notes on
how the policy was rebuilt, then apply the gates (exit 1)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from pytfpol.cli.help import EVAL_EXAMPLES, EVAL_EXIT_CODES, INPUT_KINDS, EvalCommand, epilog
from pytfpol.cli.options import (
    RUN_OPTIONS,
    TENSORBOARD_OPTION,
    VIDEO_FORMAT_OPTION,
    FloatRange,
    IntRange,
    eval_settings,
)
from pytfpol.cli.runner import check_summary_target, run_command, show_document, shown

if TYPE_CHECKING:
    from pytfpol.results.documents import EvalReport


@click.command(
    "eval",
    cls=EvalCommand,
    epilog=epilog(INPUT_KINDS, EVAL_EXAMPLES, EVAL_EXIT_CODES),
    short_help="Run seeded episodes of a saved policy; write stats.json and episodes.csv.",
)
@click.argument("policy_dir", metavar="POLICY", type=click.Path(path_type=str))
@RUN_OPTIONS
@click.option("--plot", is_flag=True, help="Also write OUT/returns.png.")
@TENSORBOARD_OPTION
@click.option(
    "--step",
    type=IntRange(min=0),
    help="The checkpoint at this train step (ckpt-N, policy_checkpoint_N, policy_N); "
    "default: the newest complete one.",
)
@click.option(
    "--checkpoint",
    type=click.Path(path_type=str),
    help="One checkpoint by path: a ckpt-<step> prefix of a Checkpointer directory, or a "
    "policy_checkpoint_<step> directory of a Learner root.",
)
@click.option(
    "--timeout",
    type=FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Stop the whole run (loading included) after this long: exit 4, completed episodes "
    "are written, marked incomplete.",
)
@click.option(
    "--video",
    type=IntRange(min=1),
    metavar="N",
    help="Record the first N episodes as OUT/videos/episode-<index>.mp4 (rendered in an env "
    "of their own: results do not change).",
)
@click.option(
    "--video-episodes",
    "video_indices",
    metavar="I,J,...",
    help="Record these episodes (indices from 0) instead of the first N.",
)
@VIDEO_FORMAT_OPTION
@click.option(
    "--save-trajectories",
    is_flag=True,
    help="Write every episode's observations, actions, rewards, flags and policy info to "
    "OUT/trajectories/episode-<index>.npz.",
)
@click.option(
    "--dataset",
    metavar="NAME",
    help="Also export the episodes as the Minari dataset NAME, e.g. cartpole/dqn-eval-v0 "
    "(needs pytfpol[minari]).",
)
def command(policy_dir: str, **options) -> None:
    """Evaluate POLICY on --env for --episodes seeded episodes.

    Writes stats.json, episodes.csv and a new checkpoint into --out. Options that mean
    nothing for the kind of POLICY given are refused (exit 2), never ignored.
    """
    run_command(lambda: _evaluate(policy_dir, options), options["verbose"])


def _evaluate(policy_dir: str, options: dict) -> None:
    from pytfpol import api
    from pytfpol.cli import console, tables
    from pytfpol.settings import video_episodes

    as_json, quiet = options["as_json"], options["quiet"]
    check_summary_target(options["summary_path"], options["out"])
    settings = eval_settings(
        policy_dir,
        options,
        checkpoint=options["checkpoint"],
        step=options["step"],
        timeout=options["timeout"],
        plot=options["plot"],
        video=video_episodes(options["video"], options["video_indices"], options["episodes"]),
        video_format=options["video_format"],
        save_trajectories=options["save_trajectories"],
        dataset=options["dataset"],
        tensorboard=options["tensorboard"],
    )
    progress = console.EpisodeProgress(console.stderr_console(), quiet=quiet)
    report = shown(
        lambda: progress.around(lambda: api.evaluate(settings, progress=progress)),
        lambda document: show_document(document, as_json, quiet, tables.print_eval_table),
        options["junit_path"],
        options["summary_path"],
    )
    if not quiet:
        _print_inference_notes(report)
    for sentence in report.policy["lost"]:
        console.print_note(f"warning: --allow-partial: {sentence}")
    api.check_gates(report)


def _print_inference_notes(report: EvalReport) -> None:
    """Without --config: what was inferred from the checkpoint, and what was assumed."""
    from pytfpol.cli import console

    policy = report.policy
    if not policy["inferred"]:
        return
    console.print_note(
        f"note: no --config: inferred {policy['architecture']} from the "
        "checkpoint's variables; the config is saved in "
        f"{report.output['dir']}/checkpoint/pytfpol-policy.toml"
    )
    for assumption in policy["assumed"]:
        console.print_note(f"note: assumed {assumption}")
