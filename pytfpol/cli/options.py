"""Options shared between commands, each defined once, in groups a command stacks.

A group is a decorator applying its `click.option`s in order; a command takes the groups that
mean something for it (`@env_group(...)`, `@RUN_OPTIONS` ...). Adding an option to a group adds it
to every command that takes the group. Option *values* are checked by Click (types, ranges)
and, for what Click cannot check, by the library (exit 2 either way).
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

import click

from pytfpol.code_from_data import ALLOW_CODE_HELP
from pytfpol.settings import EvalSettings, parse_env_kwargs

F = TypeVar("F", bound=Callable[..., Any])


class _Range:
    """Click's range types, failing with `VALUE: must be ...` (see `app._click_error`)."""

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


def option_group(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    """Options applied as one decorator, listed in --help in the order given."""

    def apply(function: F) -> F:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


SEED_RANGE = IntRange(min=0, max=2**32 - 1)
VECTOR_CHOICE = click.Choice(["sync", "async", "native"])

ALLOW_CODE_OPTION = click.option("--allow-code", is_flag=True, help=ALLOW_CODE_HELP)


JSON_DOCUMENT_HELP = "Print one JSON document on stdout (nothing else)."


def json_option(
    help_text: str = "Print the report as JSON on stdout (nothing else).",
) -> Callable[[F], F]:
    """--json: the command's document on stdout, and nothing else there."""
    return click.option("--json", "as_json", is_flag=True, help=help_text)


def verbose_option(shows: str = "tracebacks") -> Callable[[F], F]:
    return click.option("-v", "--verbose", is_flag=True, help=f"Show {shows}.")


QUIET_OPTION = click.option("-q", "--quiet", is_flag=True, help="No progress bar and no table.")

TENSORBOARD_OPTION = click.option(
    "--tensorboard",
    type=click.Path(path_type=str),
    metavar="DIR",
    help="Write TensorBoard event files here (default: OUT/tensorboard), at the checkpoint's "
    "train step; e.g. TRAIN_DIR/eval_pytfpol overlays them on training's curves.",
)
VIDEO_FORMAT_OPTION = click.option(
    "--video-format",
    type=click.Choice(["mp4", "gif"]),
    default="mp4",
    show_default=True,
    help="mp4 (imageio-ffmpeg, frames padded to multiples of 16) or gif (no ffmpeg).",
)

JUNIT_OPTION_HELP = "Write the gates as JUnit XML test cases to FILE (for CI test reports)."


def junit_option(help_text: str = JUNIT_OPTION_HELP) -> Callable[[F], F]:
    return click.option(
        "--junit", "junit_path", type=click.Path(path_type=str), metavar="FILE", help=help_text
    )


SUMMARY_OPTION_HELP = (
    "Write a Markdown summary to FILE.md (replacing it): what ran, the statistics, each gate "
    "(GitLab, Buildkite, ...). Also appended to $GITHUB_STEP_SUMMARY whenever that is set."
)


def summary_option(help_text: str = SUMMARY_OPTION_HELP) -> Callable[[F], F]:
    return click.option(
        "--summary",
        "summary_path",
        type=click.Path(path_type=str),
        metavar="FILE.md",
        help=help_text,
    )


def env_group(
    env_help: str = "Gymnasium environment id, module:ID, FILE.json (a Gymnasium EnvSpec: what "
    "env.spec.to_json() writes) or module:function returning a TF-Agents PyEnvironment.",
    *,
    required: bool = True,
    kwargs_help: str = "Arguments for gymnasium.make: a JSON object or key=value pairs "
    "(repeatable).",
    steps_help: str = "Truncate episodes after this many steps.",
    wrapper_help: str = "Wrap the env with a Gymnasium wrapper by name (ClipReward, "
    "FrameStackObservation, AtariPreprocessing, ...; repeatable, applied in order), or a preset: "
    "tf-agents-atari (what TF-Agents' suite_atari builds: 84x84x4 uint8 frames, frame skip 4).",
) -> Callable[[F], F]:
    """The environment an evaluation runs on: --env, --env-kwargs, --max-episode-steps, --wrapper.

    Every command that evaluates a policy (eval, sweep, compare --env) takes this group; an
    option about the environment belongs here, so each of them gets it. `compare` words the
    help for its optional --env.
    """
    return option_group(
        click.option("--env", "env_id", required=required, metavar="ID", help=env_help),
        click.option("--env-kwargs", multiple=True, metavar="KWARGS", help=kwargs_help),
        click.option("--max-episode-steps", type=IntRange(min=1), help=steps_help),
        click.option(
            "--wrapper", "wrappers", multiple=True, metavar="NAME[:K=V,...]", help=wrapper_help
        ),
    )


def num_envs_option(help_text: str) -> Callable[[F], F]:
    return click.option("--num-envs", type=IntRange(min=1), help=help_text)


def vector_option(help_text: str) -> Callable[[F], F]:
    return click.option(
        "--vector", type=VECTOR_CHOICE, default="sync", show_default=True, help=help_text
    )


# What eval and sweep both take: the environment, the run, the gates, the output.
RUN_OPTIONS = option_group(
    env_group(),
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
        type=SEED_RANGE,
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
        help="Write into an --out that holds other files or another policy's results (for a "
        "sweep: another sweep's, other runs or settings).",
    ),
    json_option(),
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
        "--metric",
        "metrics",
        multiple=True,
        metavar="info.KEY[:AGG]",
        help="Also measure the number the env reports as info[KEY] at each step, aggregated per "
        "episode (AGG: sum (default), last, max, mean): reported with the return's statistics "
        "as info.KEY_mean, info.KEY_iqm, ... (gates too, e.g. --gate 'info.KEY_mean>=3'); "
        "repeatable.",
    ),
    junit_option(),
    summary_option(),
    click.option(
        "--policy",
        type=click.Choice(["greedy", "collect", "policy"]),
        help="Which SavedModel of a Learner policies/ root (default: greedy).",
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
    num_envs_option(
        "Environments run side by side, one policy call for all (default: "
        "min(episodes, 64); async 32 per CPU; native 256)."
    ),
    vector_option(
        "How the environments run: in this process, in worker processes (slow envs), or "
        "the env's own vectorised implementation (CartPole). Results are the same."
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
    verbose_option("tracebacks and TensorFlow's logs"),
    QUIET_OPTION,
)


def eval_settings(policy_path: str, options: dict, **extra: Any) -> EvalSettings:
    """EvalSettings from the values of RUN_OPTIONS (and `extra`: a command's own)."""
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
        metrics=options["metrics"],
        backend=options["backend"],
        ray_address=options["ray_address"],
        actors=options["actors"],
        unit_episodes=options["unit_episodes"],
        shared_path=options["shared_path"],
        allow_code=options["allow_code"],
        **extra,
    )
