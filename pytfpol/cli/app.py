"""The `pytfpol` command: parse options, call `pytfpol.api`, print, map errors to exit codes.

Importing this module does not import TensorFlow (nor rich, nor Gymnasium): `pytfpol --help`
answers at once. Click's own parsing errors are printed in pytfpol's style (`error:` / `hint:`,
exit 2) like every other error.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Optional

import click
from click import _textwrap

from pytfpol import __version__
from pytfpol.code_from_data import ALLOW_CODE_HELP
from pytfpol.errors import (
    EXIT_GATE,
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_OUTPUT,
    EXIT_RUNTIME,
    EXIT_TERMINATED,
    EXIT_USAGE,
    PytfpolError,
    Terminated,
    one_line,
)

EVAL_EXIT_CODES = f"""\b
Exit codes:
  {EXIT_OK}    ok
  {EXIT_GATE}    a gate failed (--gate, --min-return), or compare found a regression
  {EXIT_USAGE}    usage or config error, or an option that means nothing for the input;
       a factory named by a config found on disk, without --allow-code
  {EXIT_INPUT}    input error: missing, corrupt or incompatible policy, checkpoint or env
  {EXIT_RUNTIME}    the environment or the policy failed while running, or --timeout
  {EXIT_OUTPUT}    output error: not writable, disk full, in use, or holds other results
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C); completed episodes are written
  {EXIT_TERMINATED}  terminated (SIGTERM); completed episodes are written
"""

INSPECT_EXIT_CODES = f"""\b
Exit codes:
  {EXIT_OK}    ok
  {EXIT_USAGE}    usage error (an option or array name that does not apply)
  {EXIT_INPUT}    input error: missing or corrupt file
  {EXIT_OUTPUT}    --export could not be written
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C)
"""

COMPARE_EXIT_CODES = f"""\b
Exit codes:
  {EXIT_OK}    ok: the candidate is not significantly worse (beyond --margin)
  {EXIT_GATE}    the candidate is significantly worse than the baseline
  {EXIT_USAGE}    usage error, or runs of different environments
  {EXIT_INPUT}    input error: a report or policy that cannot be read
  {EXIT_RUNTIME}    with --env: an evaluation failed while running
  {EXIT_OUTPUT}    output error (--out, --junit, --plot)
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C)
  {EXIT_TERMINATED}  terminated (SIGTERM)
"""

REPLAY_EXIT_CODES = f"""\b
Exit codes:
  {EXIT_OK}    ok: the episode replayed exactly (return and length as recorded)
  {EXIT_USAGE}    usage error (an episode that did not run, a --video name that is not .mp4/.gif;
       a module stats.json names, without --allow-code)
  {EXIT_INPUT}    input error: no report, or a policy file changed or gone since the evaluation
  {EXIT_RUNTIME}    the replay differs from the recording (named both), or it failed while running
  {EXIT_OUTPUT}    --video or --trajectory could not be written
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C)
"""

REPLAY_EXAMPLES = """\b
Examples:
  pytfpol replay runs/ci --episode 37 --video ep37.mp4     # CI says episode 37 failed
  pytfpol replay runs/ci --episode worst --trajectory worst.npz
"""

CONFIGS_EXIT_CODES = f"""\b
Exit codes:
  {EXIT_OK}    ok
  {EXIT_INPUT}    a shipped config cannot be read
"""

SWEEP_EXAMPLES = """\b
Examples:
  pytfpol sweep train/policies --env CartPole-v1 --episodes 20
  pytfpol sweep train/policy --env Pendulum-v1 --every 5 --select iqm_return
  pytfpol sweep seed0/policies seed1/policies --env CartPole-v1   # runs
  pytfpol sweep train/policies --env CartPole-v1 --watch --watch-timeout 600
  pytfpol sweep train/policies --env CartPole-v1 --backend ray --actors 8
"""

SWEEP_EXIT_CODES = f"""\b
Exit codes:
  {EXIT_OK}    ok
  {EXIT_GATE}    a gate on the best checkpoint failed (--gate, --min-return)
  {EXIT_USAGE}    usage or config error, or an option that means nothing for the input;
       a factory named by a config found on disk, without --allow-code
  {EXIT_INPUT}    input error, or a checkpoint could not be evaluated (the others were)
  {EXIT_RUNTIME}    the environment or the policy failed while running
  {EXIT_OUTPUT}    output error: not writable, disk full, in use, or holds other results
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C); the checkpoints evaluated are written
  {EXIT_TERMINATED}  terminated (SIGTERM); the checkpoints evaluated are written
"""

INPUT_KINDS = """\b
POLICY is any of:
  a PolicySaver SavedModel directory (saved_model.pb)
  a Learner policies/ root, a SavedModel in it, or the training dir above it
  a common.Checkpointer directory (ckpt-<step>.index), or one ckpt-<step>
  a train_eval dir whose train/policy/ is a Checkpointer directory
  PPO's policy_saved_model/ folder of policy_<step>/ SavedModels
  an output directory of pytfpol eval
"""

EVAL_EXAMPLES = """\b
Examples:
  pytfpol eval examples/cartpole-dqn --env CartPole-v1 --episodes 20
  pytfpol eval train/policies --env CartPole-v1 --step 20000 --json
  pytfpol eval train/policy --env Pendulum-v1 --config tf-agents-sac-v2-actor
  pytfpol eval POLICY --env CartPole-v1 --min-return 475 -q   # a CI gate
  pytfpol eval POLICY --env BreakoutNoFrameskip-v4 --wrapper tf-agents-atari
  pytfpol eval POLICY --env CartPole-v1 --backend ray --ray-address HEAD:6379
"""

INSPECT_EXAMPLES = """\b
Examples:
  pytfpol inspect train/policy
  pytfpol inspect train/policy --step 30 --array obs_norm/mean
  pytfpol inspect train/policy/ckpt-10 --diff train/policy/ckpt-20
"""

# Option sections of `pytfpol eval --help`, in order; options not listed go under "Other".
EVAL_SECTIONS = {
    "Input": (
        "policy",
        "step",
        "checkpoint",
        "config_path",
        "allow_code",
        "allow_partial",
        "trusted_sha256",
    ),
    "Environment": ("env_id", "env_kwargs", "max_episode_steps", "wrappers"),
    "Run": (
        "episodes",
        "seed",
        "stochastic",
        "num_envs",
        "vector",
        "pipeline_groups",
        "timeout",
        "backend",
        "ray_address",
        "actors",
        "unit_episodes",
        "shared_path",
    ),
    "Output": ("out", "overwrite", "as_json", "plot", "junit_path", "verbose", "quiet"),
    "Recording": ("video", "video_indices", "video_format", "save_trajectories", "dataset"),
    "Gate": ("gate_expressions", "min_return", "success_threshold"),
}


class _WholeWords(_textwrap.TextWrapper):
    """Help text wrapped between words only: `pytfpol-runs` or `TF-Agents` never split."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs["break_on_hyphens"] = False
        super().__init__(*args, **kwargs)


_textwrap.TextWrapper = _WholeWords  # what click.formatting.wrap_text builds its wrapper from


class SectionedCommand(click.Command):
    """A command whose --help lists its options in sections (input, environment, ...)."""

    sections: dict = {}

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        records: dict[str, list] = {name: [] for name in (*self.sections, "Other")}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx) if isinstance(param, click.Option) else None
            if record is None:
                continue
            section = next(
                (name for name, members in self.sections.items() if param.name in members),
                "Other",
            )
            records[section].append(record)
        for name, rows in records.items():
            if rows:
                with formatter.section(f"{name} options"):
                    formatter.write_dl(rows)


class EvalCommand(SectionedCommand):
    sections = EVAL_SECTIONS


class SweepCommand(SectionedCommand):
    sections = {
        **EVAL_SECTIONS,
        "Checkpoints": ("steps", "every", "last", "watch", "watch_timeout", "poll_seconds"),
        "Best": ("select", "confirm_episodes", "video_best", "video_format"),
        "Output": (*EVAL_SECTIONS["Output"], "tensorboard"),
    }


class PytfpolGroup(click.Group):
    """Click's own usage errors printed as pytfpol's: `error:` and `hint:` lines, exit 2."""

    def main(self, *args, **kwargs):
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
    command = exc.ctx.command_path if getattr(exc, "ctx", None) else "pytfpol"
    message = exc.format_message()
    if isinstance(exc, click.BadParameter) and isinstance(exc.param, click.Option):
        message = f"{exc.param.opts[0]} {exc.message}"
    click.echo(f"error: {' '.join(message.split())}", err=True)
    click.echo(f"hint: see `{command} --help`", err=True)


class _Range:
    """Click's range types, failing with `VALUE: must be ...` (see `_click_error`)."""

    def convert(self, value, param, ctx):
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter:
            kind = "an integer" if isinstance(self, click.IntRange) else "a number"
            raise click.BadParameter(
                f"{value}: must be {kind} in the range {self._describe_range()}",
                ctx=ctx,
                param=param,
            ) from None


class IntRange(_Range, click.IntRange):
    pass


class FloatRange(_Range, click.FloatRange):
    pass


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


def _print_version(ctx: click.Context, param, value: bool) -> None:
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


def _options(*decorators):
    """Apply a group of click options (shared by `eval` and `sweep`) in the order given."""

    def apply(function):
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


ALLOW_CODE_OPTION = click.option("--allow-code", is_flag=True, help=ALLOW_CODE_HELP)

RUN_OPTIONS = _options(
    click.option(
        "--env",
        "env_id",
        required=True,
        metavar="ID",
        help="Gymnasium environment id, module:ID, FILE.json (a Gymnasium EnvSpec: what "
        "env.spec.to_json() writes) or module:function returning a TF-Agents PyEnvironment.",
    ),
    click.option(
        "--episodes",
        default=10,
        show_default=True,
        type=IntRange(min=1),
        help="Number of episodes (per checkpoint, for a sweep).",
    ),
    click.option(
        "--seed",
        default=0,
        show_default=True,
        type=IntRange(min=0, max=2**32 - 1),
        help="Episode i is reset with seed S+i.",
    ),
    click.option(
        "--out",
        type=click.Path(path_type=str),
        help="Output directory (default: a new directory under ./pytfpol-runs/).",
    ),
    click.option(
        "--overwrite",
        is_flag=True,
        help="Write into an --out that holds other files or another policy's results.",
    ),
    click.option(
        "--json", "as_json", is_flag=True, help="Print the report as JSON on stdout (nothing else)."
    ),
    click.option(
        "--min-return", type=float, help="Exit 1 when the mean return is below this: a CI gate."
    ),
    click.option(
        "--gate",
        "gate_expressions",
        multiple=True,
        metavar="EXPR",
        help="A CI gate STATISTIC OP NUMBER on any summary statistic, e.g. 'iqm_return>=450', "
        "'mean_return_ci_low>=400', 'success_rate>=0.9' (OP: >= > <= <); repeatable; exit 1 "
        "listing every failing gate.",
    ),
    click.option(
        "--success-threshold",
        type=float,
        metavar="X",
        help="An episode succeeds when its return is at least X (default: the env's "
        "info['is_success'], if it reports one): gives success_rate.",
    ),
    click.option(
        "--junit",
        "junit_path",
        type=click.Path(path_type=str),
        metavar="FILE",
        help="Write the gates as JUnit XML test cases to FILE (for CI test reports).",
    ),
    click.option(
        "--policy",
        type=click.Choice(["greedy", "collect", "policy"]),
        help="Which SavedModel of a Learner policies/ root (default: greedy).",
    ),
    click.option(
        "--env-kwargs",
        multiple=True,
        metavar="KWARGS",
        help="Arguments for gymnasium.make: a JSON object or key=value pairs (repeatable).",
    ),
    click.option(
        "--max-episode-steps",
        type=IntRange(min=1),
        help="Truncate episodes after this many steps.",
    ),
    click.option(
        "--wrapper",
        "wrappers",
        multiple=True,
        metavar="NAME[:K=V,...]",
        help="Wrap the env with a Gymnasium wrapper by name (ClipReward, FrameStackObservation, "
        "AtariPreprocessing, ...; repeatable, applied in order), or a preset: tf-agents-atari "
        "(what TF-Agents' suite_atari builds: 84x84x4 uint8 frames, frame skip 4).",
    ),
    click.option(
        "--config",
        "config_path",
        type=click.Path(path_type=str),
        metavar="NAME|FILE",
        help="Policy config that rebuilds a Checkpointer directory's policy: the name of a "
        "shipped config (`pytfpol configs` lists them) or a TOML file.",
    ),
    ALLOW_CODE_OPTION,
    click.option(
        "--allow-partial",
        is_flag=True,
        help="Checkpointer directories: restore the variables that match the config; say what "
        "the others were and what leaving them out means.",
    ),
    click.option(
        "--stochastic",
        is_flag=True,
        help="Sample actions from the policy's distribution, seeded per episode (S+i and the "
        "step), instead of the greedy mode.",
    ),
    click.option(
        "--num-envs",
        type=IntRange(min=1),
        help="Environments run side by side, one policy call for all (default: "
        "min(episodes, 64); async 32 per CPU; native 256).",
    ),
    click.option(
        "--vector",
        type=click.Choice(["sync", "async", "native"]),
        default="sync",
        show_default=True,
        help="How the environments run: in this process, in worker processes (slow envs), or "
        "the env's own vectorised implementation (CartPole). Results are the same.",
    ),
    click.option(
        "--pipeline-groups",
        "pipeline_groups",
        type=IntRange(min=1),
        help="Split the environments into this many groups, one policy call each, computed in a "
        "worker thread while the other groups step (default: 1). Results are the same.",
    ),
    click.option(
        "--trusted-sha256",
        "trusted_sha256",
        multiple=True,
        metavar="HEX",
        help="Load a SavedModel only if the sha256 of its saved_model.pb is one of these "
        "(repeatable): a SavedModel is a program.",
    ),
    click.option(
        "--backend",
        type=click.Choice(["local", "ray"]),
        default="local",
        show_default=True,
        help="Who runs the episodes: this process, or actors of a Ray cluster (needs "
        "pytfpol[ray]). Results are the same.",
    ),
    click.option(
        "--ray-address",
        metavar="ADDRESS",
        help="With --backend ray: the cluster's head, e.g. HOST:6379 (default: RAY_ADDRESS; "
        "neither: a Ray instance started on this machine for the run).",
    ),
    click.option(
        "--actors",
        type=IntRange(min=1),
        metavar="N",
        help="With --backend ray: how many actors (one CPU each) run units (default: one per "
        "CPU of the cluster).",
    ),
    click.option(
        "--unit-episodes",
        type=IntRange(min=1),
        metavar="K",
        help="Episodes per unit of work (default: all of a checkpoint's locally; with Ray "
        "about two units per actor, at least 8 episodes each). Results are the same.",
    ),
    click.option(
        "--shared-path",
        is_flag=True,
        help="With --backend ray: the policy files are at the same path on every node (a "
        "shared filesystem): ship their digests, not their bytes.",
    ),
    click.option("-v", "--verbose", is_flag=True, help="Show tracebacks and TensorFlow's logs."),
    click.option("-q", "--quiet", is_flag=True, help="No progress bar and no table."),
)


VIDEO_FORMAT_OPTION = click.option(
    "--video-format",
    type=click.Choice(["mp4", "gif"]),
    default="mp4",
    show_default=True,
    help="mp4 (imageio-ffmpeg, frames padded to multiples of 16) or gif (no ffmpeg).",
)


def _eval_settings(policy_path: str, options: dict, **extra):
    """EvalSettings from the options of RUN_OPTIONS (and `extra`: eval's own)."""
    from pytfpol.settings import EvalSettings, parse_env_kwargs

    return EvalSettings(
        policy_path=policy_path,
        env_id=options["env_id"],
        episodes=options["episodes"],
        seed=options["seed"],
        env_kwargs=parse_env_kwargs(options["env_kwargs"]),
        max_episode_steps=options["max_episode_steps"],
        wrappers=options["wrappers"],
        policy=options["policy"],
        num_envs=options["num_envs"],
        out=options["out"],
        min_return=options["min_return"],
        config=options["config_path"],
        allow_partial=options["allow_partial"],
        stochastic=options["stochastic"],
        vector=options["vector"],
        pipeline_groups=options["pipeline_groups"],
        trusted_sha256=options["trusted_sha256"],
        overwrite=options["overwrite"],
        gates=options["gate_expressions"],
        success_threshold=options["success_threshold"],
        backend=options["backend"],
        ray_address=options["ray_address"],
        actors=options["actors"],
        unit_episodes=options["unit_episodes"],
        shared_path=options["shared_path"],
        allow_code=options["allow_code"],
        **extra,
    )


@main.command(
    "eval",
    cls=EvalCommand,
    epilog=INPUT_KINDS + "\n" + EVAL_EXAMPLES + "\n" + EVAL_EXIT_CODES,
    short_help="Run seeded episodes of a saved policy; write stats.json and episodes.csv.",
)
@click.argument("policy_dir", metavar="POLICY", type=click.Path(path_type=str))
@RUN_OPTIONS
@click.option("--plot", is_flag=True, help="Also write OUT/returns.png.")
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
def eval_command(policy_dir: str, **options) -> None:
    """Evaluate POLICY on --env for --episodes seeded episodes.

    Writes stats.json, episodes.csv and a new checkpoint into --out. Options that mean
    nothing for the kind of POLICY given are refused (exit 2), never ignored.
    """
    as_json, quiet, junit_path = options["as_json"], options["quiet"], options["junit_path"]

    def run() -> None:
        from pytfpol import api
        from pytfpol.cli import console as reporting
        from pytfpol.settings import video_episodes

        settings = _eval_settings(
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
        )
        progress = reporting.EpisodeProgress(reporting.stderr_console(), quiet=quiet)
        report = _shown(
            lambda: api.evaluate(settings, progress=progress),
            lambda document: _show(document, as_json, quiet),
            junit_path,
        )
        if report["policy"]["inferred"] and not quiet:
            reporting.print_note(
                f"note: no --config: inferred {report['policy']['architecture']} from the "
                "checkpoint's variables; the config is saved in "
                f"{report['output']['dir']}/checkpoint/pytfpol-policy.toml"
            )
            for assumption in report["policy"]["assumed"]:
                reporting.print_note(f"note: assumed {assumption}")
        for sentence in report["policy"]["lost"]:
            reporting.print_note(f"warning: --allow-partial: {sentence}")
        api.check_gates(report)

    _run_command(run, options["verbose"])


@main.command(
    "sweep",
    cls=SweepCommand,
    epilog=SWEEP_EXAMPLES + "\n" + SWEEP_EXIT_CODES,
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
@click.option(
    "--tensorboard",
    type=click.Path(path_type=str),
    metavar="DIR",
    help="Write TensorBoard event files here (default: OUT/tensorboard); e.g. "
    "TRAIN_DIR/eval_pytfpol overlays them on training's curves.",
)
@click.option(
    "--watch",
    is_flag=True,
    help="Keep evaluating new checkpoints as they appear; Ctrl-C while waiting for one ends "
    "the watch and finishes the sweep (best, outputs) as usual.",
)
@click.option(
    "--watch-timeout",
    type=FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="With --watch: stop after this long without a new checkpoint (default: never).",
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
def sweep_command(paths: tuple, **options) -> None:
    """Evaluate every checkpoint of one or more training runs (RUN: a Learner policies/ root or
    the train dir above it, a common.Checkpointer directory, PPO's policy_saved_model/; one RUN
    per training seed) on the same seeds, as `pytfpol eval --step N` would.

    Writes sweep.json, curve.csv, episodes.csv, curve.png, TensorBoard event files and the best
    checkpoint, re-evaluated on fresh seeds, as OUT/best/. Running the same sweep into the same
    --out again evaluates only the checkpoints it has not.
    """
    as_json, quiet, junit_path = options["as_json"], options["quiet"], options["junit_path"]

    def run() -> None:
        from pytfpol import api
        from pytfpol.cli import console as reporting
        from pytfpol.settings import SweepSettings, parse_steps

        settings = SweepSettings(
            paths=paths,
            eval=_eval_settings(paths[0], options, video_format=options["video_format"]),
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
        progress = reporting.EpisodeProgress(reporting.stderr_console(), quiet=quiet)
        document = _shown(
            lambda: api.sweep(settings, progress=progress),
            lambda document: _show_sweep(document, as_json, quiet),
            junit_path,
        )
        api.check_gates(document)

    _run_command(run, options["verbose"])


def _shown(run, show, junit_path: Optional[str]) -> dict:
    """`run()`'s report, shown and written as JUnit; also the report an error carries (an
    incomplete run, failed checkpoints) before the error goes on to set the exit code."""
    try:
        document = run()
    except PytfpolError as exc:
        if exc.report is not None:
            show(exc.report)
            _write_junit(junit_path, exc.report, "eval")
        raise
    show(document)
    _write_junit(junit_path, document, "eval")
    return document


def _show_sweep(document: dict, as_json: bool, quiet: bool) -> None:
    from pytfpol.cli import console as reporting

    if as_json:
        reporting.print_json(document)
    elif not quiet:
        reporting.print_sweep_table(document)


@main.command(
    "inspect",
    cls=SectionedCommand,
    epilog=INSPECT_EXAMPLES + "\n" + INSPECT_EXIT_CODES,
    short_help="Show the arrays, variables, specs and steps saved in a checkpoint or policy.",
)
@click.argument("path", type=click.Path(path_type=str))
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON document on stdout (nothing else)."
)
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
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks.")
def inspect_command(
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
        from pytfpol.cli import console as reporting

        if export is not None:
            result = api.export_npz(path, export, arrays, step)
            _print_result(result, as_json, reporting.print_export_summary)
        elif diff_with is not None:
            _print_result(api.inspect(path, step, diff=diff_with), as_json, reporting.print_diff)
        elif arrays:
            results = [api.inspect(path, step, array=name) for name in arrays]
            reporting.print_arrays(results, as_json=as_json, full=full)
        else:
            _print_result(api.inspect(path, step), as_json, reporting.print_inspect_report)

    _run_command(run, verbose)


@main.command(
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
    type=IntRange(min=0, max=2**32 - 1),
    help="Seeds the bootstrap; with --env, episode i of both policies is reset with seed S+i.",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the result as JSON on stdout (nothing else)."
)
@click.option(
    "--junit",
    "junit_path",
    type=click.Path(path_type=str),
    metavar="FILE",
    help="Write the verdict as a JUnit XML test case to FILE.",
)
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(path_type=str),
    metavar="FILE.png",
    help="Draw both return distributions and the interval of the difference.",
)
@click.option(
    "--env",
    "env_id",
    help="BASELINE and CANDIDATE are policies: evaluate both on this env and the same seeds "
    "first (into --out/baseline and --out/candidate).",
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
@click.option("--env-kwargs", multiple=True, help="With --env: as for eval.")
@click.option("--max-episode-steps", type=IntRange(min=1), help="With --env: as for eval.")
@click.option(
    "--wrapper",
    "wrappers",
    multiple=True,
    metavar="NAME[:K=V,...]",
    help="With --env: as for eval.",
)
@click.option("--num-envs", type=IntRange(min=1), help="With --env: as for eval.")
@click.option(
    "--vector",
    type=click.Choice(["sync", "async", "native"]),
    default="sync",
    show_default=True,
    help="With --env: as for eval.",
)
@ALLOW_CODE_OPTION
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no table.")
def compare_command(
    baseline: str,
    candidate: str,
    statistic: str,
    margin: float,
    alpha: float,
    seed: int,
    as_json: bool,
    junit_path: Optional[str],
    plot_path: Optional[str],
    env_id: Optional[str],
    episodes: int,
    out: Optional[str],
    baseline_checkpoint: Optional[str],
    candidate_checkpoint: Optional[str],
    env_kwargs: tuple,
    max_episode_steps: Optional[int],
    wrappers: tuple,
    num_envs: Optional[int],
    vector: str,
    allow_code: bool,
    verbose: bool,
    quiet: bool,
) -> None:
    """Compare CANDIDATE with BASELINE: exit 1 when the candidate is significantly worse.

    \b
    BASELINE and CANDIDATE are output directories of `pytfpol eval` (or their stats.json);
    with --env they are policy directories, evaluated first on the same seeds.
    Runs on the same env and seeds are compared paired (episode by episode).
    """

    def run() -> None:
        from pytfpol.cli import console as reporting
        from pytfpol.commands import compare
        from pytfpol.results import files

        eval_only = {
            "--out": out,
            "--baseline-checkpoint": baseline_checkpoint,
            "--candidate-checkpoint": candidate_checkpoint,
            "--env-kwargs": env_kwargs or None,
            "--max-episode-steps": max_episode_steps,
            "--wrapper": wrappers or None,
            "--num-envs": num_envs,
            "--allow-code": allow_code or None,
        }
        given = [name for name, value in eval_only.items() if value is not None]
        if env_id is None and given:
            from pytfpol.errors import UsageError

            raise UsageError(
                f"{', '.join(given)}: only with --env (evaluating two policies first)",
                "to compare two eval outputs, drop them; to evaluate two policies, add --env",
            )
        if env_id is not None:
            from pytfpol.settings import parse_env_kwargs

            target = out or str(files.default_run_dir(env_id, "compare"))
            base_report, cand_report = compare.evaluate_both(
                baseline,
                candidate,
                target,
                baseline_checkpoint=baseline_checkpoint,
                candidate_checkpoint=candidate_checkpoint,
                progress_factory=lambda: reporting.EpisodeProgress(
                    reporting.stderr_console(), quiet=quiet
                ),
                env_id=env_id,
                episodes=episodes,
                seed=seed,
                env_kwargs=parse_env_kwargs(env_kwargs),
                max_episode_steps=max_episode_steps,
                wrappers=wrappers,
                num_envs=num_envs,
                vector=vector,
                allow_code=allow_code,
            )
        else:
            base_report = compare.load_report(baseline)
            cand_report = compare.load_report(candidate)
        result = compare.compare_reports(
            base_report, cand_report, statistic=statistic, margin=margin, alpha=alpha, seed=seed
        )
        if plot_path is not None:
            from pytfpol.results import plots

            plots.write_compare_plot(
                result,
                compare.returns_of(base_report),
                compare.returns_of(cand_report),
                plot_path,
            )
            result["plot"] = plot_path
        for warning in result["warnings"]:
            reporting.print_note(f"warning: {warning}")
        if as_json:
            reporting.print_json(result)
        elif not quiet:
            reporting.print_compare_table(result)
        _write_junit(junit_path, result, "compare")
        if not result["passed"]:
            from pytfpol.errors import GateFailed

            d = result["difference"]
            raise GateFailed(
                f"the candidate is worse: {statistic} {d['candidate']:g} vs {d['baseline']:g}, "
                f"difference {d['difference']:g}, {d['confidence_level']:.0%} interval "
                f"[{d['ci_low']:g}, {d['ci_high']:g}] entirely below "
                + (f"-margin ({-margin:g})" if margin else "0"),
                f"candidate {result['candidate']['report']}; baseline "
                f"{result['baseline']['report']}",
            )

    _run_command(run, verbose)


@main.command(
    "replay",
    cls=SectionedCommand,
    epilog=REPLAY_EXAMPLES + "\n" + REPLAY_EXIT_CODES,
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
    "--json", "as_json", is_flag=True, help="Print the result as JSON on stdout (nothing else)."
)
@click.option(
    "--env",
    "env_id",
    metavar="ID",
    help="The env id stats.json recorded, given again: a module:ID id is then imported as "
    "asked (replay refuses any other id).",
)
@ALLOW_CODE_OPTION
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no table.")
def replay_command(
    out: str,
    episode: str,
    video: Optional[str],
    trajectory: Optional[str],
    as_json: bool,
    env_id: Optional[str],
    allow_code: bool,
    verbose: bool,
    quiet: bool,
) -> None:
    """Replay one episode of the evaluation in OUT (an output directory of `pytfpol eval`).

    Episode K is run alone with its seed S+K, from the policy files, checkpoint, env, kwargs
    and step limit stats.json recorded (refused when a policy file changed since); its return
    and length must equal the recorded ones (exit 4 otherwise: something is not deterministic).
    """

    def run() -> None:
        from pytfpol.cli import console as reporting
        from pytfpol.commands import replay

        progress = reporting.EpisodeProgress(reporting.stderr_console(), quiet=quiet)
        try:
            result = replay.replay(
                out,
                episode,
                video=video,
                trajectory=trajectory,
                progress=progress,
                allow_code=allow_code,
                env_id=env_id,
            )
        except PytfpolError as exc:
            if exc.report is not None:
                _print_result(exc.report, as_json, reporting.print_replay)
            raise
        if as_json:
            reporting.print_json(result)
        elif not quiet:
            reporting.print_replay(result)

    _run_command(run, verbose)


@main.command(
    "configs",
    epilog=CONFIGS_EXIT_CODES,
    short_help="List the shipped policy configs (names for --config) and what each rebuilds.",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON document on stdout (nothing else)."
)
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks.")
def configs_command(as_json: bool, verbose: bool) -> None:
    """List the policy configs shipped with pytfpol: `eval --config NAME` takes these names.

    Each rebuilds the policy a TF-Agents example script (or agent with TF-Agents' own network
    defaults) saves in a common.Checkpointer directory. Copy one and edit it for other sizes.
    """

    def run() -> None:
        from pytfpol import api
        from pytfpol.cli import console as reporting

        _print_result(api.configs(), as_json, reporting.print_configs)

    _run_command(run, verbose)


def _write_junit(path: Optional[str], result: dict, command: str) -> None:
    if path is None:
        return
    from pytfpol.results import documents, junit

    suite = (
        junit.suite_for(documents.as_document(result))
        if command == "eval"
        else junit.compare_suite(result)
    )
    junit.write(path, [suite])


def _print_result(result: dict, as_json: bool, print_table) -> None:
    from pytfpol.cli import console as reporting

    if as_json:
        reporting.print_json(result)
    else:
        print_table(result)


def _show(report: dict, as_json: bool, quiet: bool) -> None:
    from pytfpol.cli import console as reporting

    if as_json:
        reporting.print_json(report)
    elif not quiet:
        reporting.print_eval_table(report)


def _run_command(body, verbose: bool) -> None:
    """Run a command body; turn every failure into its message and exit code."""
    from pytfpol.policy.quiet_tf import silence

    if not verbose:
        silence()
    _safe_streams()
    warnings.showwarning = _one_line_warning
    _working_directory_importable()
    try:
        body()
    except PytfpolError as exc:
        _report_error(exc, verbose)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt as exc:
        _report_error(exc, verbose)
        sys.exit(EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, exit 4
        _report_error(exc, verbose)
        sys.exit(EXIT_RUNTIME)


def _safe_streams() -> None:
    """Never fail on a character the terminal's encoding lacks (PYTHONIOENCODING=ascii)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="replace")
        except (AttributeError, ValueError):  # not a TextIOWrapper (e.g. a test runner's)
            pass


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Python warnings (Gymnasium's among them) as one plain `warning:` line on stderr, without
    the source line or colour codes."""
    sys.stderr.write(f"warning: {one_line(message)}\n")


def _working_directory_importable() -> None:
    """`--env module:ID` and config factories import modules from the working directory, as
    under `python -m pytfpol` (whose import path starts with it; the console script's starts with
    its own bin/). Appended, so a module there never shadows an installed package."""
    cwd = os.getcwd()
    if "" not in sys.path and cwd not in sys.path:
        sys.path.append(cwd)


def _report_error(exc: BaseException, verbose: bool) -> None:
    from pytfpol.cli import console as reporting

    if isinstance(exc, KeyboardInterrupt):
        reporting.print_note("terminated" if isinstance(exc, Terminated) else "interrupted")
        return
    reporting.print_error(exc, verbose)


if __name__ == "__main__":  # pragma: no cover
    main()
