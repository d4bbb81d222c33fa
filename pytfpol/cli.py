"""The `pytfpol` command: parse options, call `pytfpol.api`, print, map errors to exit codes.

Importing this module does not import TensorFlow (nor rich): `pytfpol --help` answers at once.
"""

from __future__ import annotations

import os
import sys
from typing import Optional

import click

from pytfpol import __version__
from pytfpol.errors import (
    EXIT_GATE,
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_OUTPUT,
    EXIT_RUNTIME,
    EXIT_USAGE,
    PytfpolError,
)

EXIT_CODES_HELP = f"""\b
Exit codes:
  {EXIT_OK}    ok
  {EXIT_GATE}    a gate failed (--min-return)
  {EXIT_USAGE}    usage or config error
  {EXIT_INPUT}    input error: missing, corrupt or incompatible policy, checkpoint or env
  {EXIT_RUNTIME}    the environment or the policy failed while running
  {EXIT_OUTPUT}    output error: not writable, disk full, in use by another run
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C); completed episodes are written
"""


@click.group(
    help="Evaluate TF-Agents policies on Gymnasium environments.\n\n" + EXIT_CODES_HELP,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="pytfpol")
def main() -> None:
    pass


@main.command(
    "eval",
    epilog=EXIT_CODES_HELP,
    short_help="Run seeded episodes of a saved policy; write stats.json and episodes.csv.",
)
@click.argument("policy_dir", type=click.Path(path_type=str))
@click.option("--env", "env_id", required=True, help="Gymnasium environment id, e.g. CartPole-v1.")
@click.option("--episodes", default=10, show_default=True, type=int, help="Number of episodes.")
@click.option(
    "--seed", default=0, show_default=True, type=int, help="Episode i is reset with seed S+i."
)
@click.option(
    "--out",
    type=click.Path(path_type=str),
    help="Output directory (default: a new directory under ./pytfpol-runs/).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the report as JSON on stdout (nothing else)."
)
@click.option(
    "--min-return", type=float, help="Exit 1 when the mean return is below this: a CI gate."
)
@click.option(
    "--policy",
    type=click.Choice(["greedy", "collect", "policy"]),
    default="greedy",
    show_default=True,
    help="Which SavedModel of a Learner policies/ root to evaluate.",
)
@click.option(
    "--checkpoint",
    type=click.Path(path_type=str),
    help="A policies/checkpoints/policy_checkpoint_<step> to apply (default: the newest).",
)
@click.option(
    "--env-kwargs",
    multiple=True,
    help="Arguments for gymnasium.make: a JSON object or key=value pairs (repeatable).",
)
@click.option("--max-episode-steps", type=int, help="Truncate episodes after this many steps.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=str),
    help="Policy config (TOML, see configs/) to rebuild the network of a Checkpointer directory.",
)
@click.option(
    "--step", type=int, help="Which ckpt-<step> of a Checkpointer directory (default: newest)."
)
@click.option(
    "--allow-partial",
    is_flag=True,
    help="Restore the variables that match the config; list the checkpoint's others.",
)
@click.option(
    "--stochastic",
    is_flag=True,
    help="Sample actions from the policy's distribution, seeded per episode (S+i and the step), "
    "instead of the greedy mode.",
)
@click.option(
    "--num-envs",
    type=int,
    help="Environments run side by side, one policy call for all (default: min(episodes, 64); "
    "async 32 per CPU; native 256).",
)
@click.option(
    "--vector",
    type=click.Choice(["sync", "async", "native"]),
    default="sync",
    show_default=True,
    help="How the environments run: in this process, in worker processes (slow envs), or the "
    "env's own vectorised implementation (CartPole). Results are the same.",
)
@click.option(
    "--timeout",
    type=float,
    metavar="SECONDS",
    help="Stop the whole run (loading included) after this long: exit 4, completed episodes "
    "are written, marked incomplete.",
)
@click.option(
    "--trusted-sha256",
    "trusted_sha256",
    multiple=True,
    metavar="HEX",
    help="Load a SavedModel only if the sha256 of its saved_model.pb is one of these "
    "(repeatable): a SavedModel is a program.",
)
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks and TensorFlow's logs.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no table.")
def eval_command(
    policy_dir: str,
    env_id: str,
    episodes: int,
    seed: int,
    out: Optional[str],
    as_json: bool,
    min_return: Optional[float],
    policy: str,
    checkpoint: Optional[str],
    env_kwargs: tuple,
    max_episode_steps: Optional[int],
    config_path: Optional[str],
    step: Optional[int],
    allow_partial: bool,
    stochastic: bool,
    num_envs: Optional[int],
    vector: str,
    timeout: Optional[float],
    trusted_sha256: tuple,
    verbose: bool,
    quiet: bool,
) -> None:
    """Evaluate the policy in POLICY_DIR on --env for --episodes seeded episodes.

    POLICY_DIR is a PolicySaver SavedModel directory or a Learner policies/ root (the
    greedy_policy SavedModel with the newest checkpoint applied, by default).
    """

    def run() -> None:
        from pytfpol import api, reporting
        from pytfpol.config import EvalSettings, parse_env_kwargs

        settings = EvalSettings(
            policy_path=policy_dir,
            env_id=env_id,
            episodes=episodes,
            seed=seed,
            env_kwargs=parse_env_kwargs(env_kwargs),
            max_episode_steps=max_episode_steps,
            policy=policy,
            checkpoint=checkpoint,
            num_envs=num_envs,
            out=out,
            min_return=min_return,
            config=config_path,
            step=step,
            allow_partial=allow_partial,
            stochastic=stochastic,
            vector=vector,
            timeout=timeout,
            trusted_sha256=trusted_sha256,
        )
        progress = None if quiet else reporting.EpisodeProgress(reporting.stderr_console())
        try:
            report = api.evaluate(settings, progress=progress)
        except PytfpolError as exc:
            partial = getattr(exc, "report", None)
            if partial is not None:
                _show(partial, as_json, quiet)
            raise
        _show(report, as_json, quiet)
        if report["policy"]["inferred"] and not quiet:
            reporting.print_note(
                f"note: no --config: inferred {report['policy']['architecture']} from the "
                "checkpoint's variables (activation assumed relu); the config is saved in "
                f"{report['output']['dir']}/checkpoint/pytfpol-policy.toml"
            )
        if report["policy"]["unmatched"]:
            reporting.print_note(
                "warning: --allow-partial: not restored: "
                + ", ".join(report["policy"]["unmatched"])
            )
        api.check_gates(report)

    _run_command(run, verbose)


@main.command(
    "inspect",
    epilog=EXIT_CODES_HELP,
    short_help="Show the arrays, variables, specs and steps saved in a checkpoint or policy.",
)
@click.argument("path", type=click.Path(path_type=str))
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON document on stdout (nothing else)."
)
@click.option("--step", type=int, help="Inspect the checkpoint at this step (default: newest).")
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

    \b
    PATH is a checkpoint prefix (train_dir/policy/ckpt-30), a Checkpointer directory, a
    PolicySaver SavedModel, a Learner policies/ root, a policy_checkpoint_<step> directory
    or an output directory of `pytfpol eval`. NumpyState arrays are decoded without pickle.
    """

    def run() -> None:
        from pytfpol import api, reporting

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


def _print_result(result: dict, as_json: bool, print_table) -> None:
    from pytfpol import reporting

    if as_json:
        reporting.print_json(result)
    else:
        print_table(result)


def _show(report: dict, as_json: bool, quiet: bool) -> None:
    from pytfpol import reporting

    if as_json:
        reporting.print_json(report)
    elif not quiet:
        reporting.print_eval_table(report)


def _run_command(body, verbose: bool) -> None:
    """Run a command body; turn every failure into its message and exit code."""
    from pytfpol.quiet_tf import silence

    if not verbose:
        silence()
    _working_directory_importable()
    try:
        body()
    except PytfpolError as exc:
        _report_error(exc, verbose)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt as exc:
        _report_error(exc, verbose)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, exit 4
        _report_error(exc, verbose)
        sys.exit(EXIT_RUNTIME)


def _working_directory_importable() -> None:
    """`--env module:ID` and config factories import modules from the working directory, as
    under `python -m pytfpol` (whose import path starts with it; the console script's starts with
    its own bin/). Appended, so a module there never shadows an installed package."""
    cwd = os.getcwd()
    if "" not in sys.path and cwd not in sys.path:
        sys.path.append(cwd)


def _report_error(exc: BaseException, verbose: bool) -> None:
    from pytfpol import reporting

    if isinstance(exc, KeyboardInterrupt):
        reporting.print_note("interrupted")
        return
    reporting.print_error(exc, verbose)


if __name__ == "__main__":  # pragma: no cover
    main()
