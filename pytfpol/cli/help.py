"""How `--help` reads: whole-word wrapping, option sections, exit-code tables, examples.

Everything here uses Click's supported extension points (a `HelpFormatter` subclass given to a
`Context` subclass, a `Command` subclass): no Click internals are patched. The exit codes and
their meanings come from `pytfpol.errors.EXIT_CODES`; a command words a code for itself.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Optional

import click

from pytfpol.errors import (
    EXIT_CODES,
    EXIT_GATE,
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_OUTPUT,
    EXIT_RUNTIME,
    EXIT_TERMINATED,
    EXIT_USAGE,
)

# A hyphen Python's textwrap never breaks at: help text is wrapped with hyphens swapped for it,
# so `pytfpol-runs` or `TF-Agents` never split, then swapped back.
_UNBREAKABLE_HYPHEN = "\u2011"


def _unbreakable(text: str) -> str:
    return text.replace("-", _UNBREAKABLE_HYPHEN)


class WholeWordsFormatter(click.HelpFormatter):
    """Click's help formatter, wrapping between words only (never at a hyphen)."""

    def write_usage(self, prog: str, args: str = "", prefix: Optional[str] = None) -> None:
        super().write_usage(_unbreakable(prog), _unbreakable(args), prefix)

    def write_text(self, text: str) -> None:
        super().write_text(_unbreakable(text))

    def write_dl(
        self, rows: Iterable[tuple[str, str]], col_max: int = 30, col_spacing: int = 2
    ) -> None:
        super().write_dl([(key, _unbreakable(value)) for key, value in rows], col_max, col_spacing)

    def getvalue(self) -> str:
        return super().getvalue().replace(_UNBREAKABLE_HYPHEN, "-")


class HelpContext(click.Context):
    """A context whose help is formatted by `WholeWordsFormatter`."""

    formatter_class = WholeWordsFormatter


class PytfpolCommand(click.Command):
    """Every pytfpol command: its help wrapped between whole words."""

    context_class = HelpContext


class SectionedCommand(PytfpolCommand):
    """A command whose --help lists its options in sections (input, environment, ...)."""

    sections: Mapping[str, Iterable[str]] = {}

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        records: dict[str, list] = {name: [] for name in (*self.sections, "Other")}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx) if isinstance(param, click.Option) else None
            if record is not None:
                records[self._section_of(param.name or "")].append(record)
        for name, rows in records.items():
            if rows:
                with formatter.section(f"{name} options"):
                    formatter.write_dl(rows)

    def _section_of(self, name: str) -> str:
        return next((title for title, names in self.sections.items() if name in names), "Other")


# Option sections of `pytfpol eval --help`, in order; options not listed go under "Other".
EVAL_SECTIONS: dict[str, tuple[str, ...]] = {
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
    "Output": (
        "out",
        "overwrite",
        "as_json",
        "plot",
        "tensorboard",
        "junit_path",
        "verbose",
        "quiet",
    ),
    "Recording": ("video", "video_indices", "video_format", "save_trajectories", "dataset"),
    "Gate": ("gate_expressions", "min_return", "success_threshold", "metrics"),
}

SWEEP_SECTIONS: dict[str, tuple[str, ...]] = {
    **EVAL_SECTIONS,
    "Checkpoints": ("steps", "every", "last", "watch", "watch_timeout", "poll_seconds"),
    "Best": ("select", "confirm_episodes", "video_best", "video_format"),
}


class EvalCommand(SectionedCommand):
    sections = EVAL_SECTIONS


class SweepCommand(SectionedCommand):
    sections = SWEEP_SECTIONS


def exit_code_table(meanings: Mapping[int, Optional[str]]) -> str:
    """An `Exit codes:` paragraph: each code with its meaning for a command (None: the meaning
    `pytfpol.errors.EXIT_CODES` gives it); continuation lines indented under the meaning."""
    lines = ["\b", "Exit codes:"]
    for code, meaning in meanings.items():
        first, *more = (meaning if meaning is not None else EXIT_CODES[code]).split("\n")
        lines.append(f"  {code:<4} {first}")
        lines += [f"       {line}" for line in more]
    return "\n".join(lines) + "\n"


EVAL_EXIT_CODES = exit_code_table(dict.fromkeys(EXIT_CODES))

INSPECT_EXIT_CODES = exit_code_table(
    {
        EXIT_OK: None,
        EXIT_USAGE: "usage error (an option or array name that does not apply)",
        EXIT_INPUT: "input error: missing or corrupt file",
        EXIT_OUTPUT: "--export could not be written",
        EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
    }
)

COMPARE_EXIT_CODES = exit_code_table(
    {
        EXIT_OK: "ok: the candidate is not significantly worse (beyond --margin)",
        EXIT_GATE: "the candidate is significantly worse than the baseline",
        EXIT_USAGE: "usage error, or runs of different environments",
        EXIT_INPUT: "input error: a report or policy that cannot be read",
        EXIT_RUNTIME: "with --env: an evaluation failed while running",
        EXIT_OUTPUT: "output error (--out, --junit, --plot)",
        EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
        EXIT_TERMINATED: "terminated (SIGTERM)",
    }
)

REPLAY_EXIT_CODES = exit_code_table(
    {
        EXIT_OK: "ok: the episode replayed exactly (return and length as recorded)",
        EXIT_USAGE: "usage error (an episode that did not run, a --video name that is not "
        ".mp4/.gif;\na module stats.json names, without --allow-code; a sweep's OUT without "
        "--step: its steps are listed)",
        EXIT_INPUT: "input error: no report, or a policy file (a sweep's checkpoint) changed or "
        "gone since the evaluation",
        EXIT_RUNTIME: "the replay differs from the recording (named both), or it failed while "
        "running",
        EXIT_OUTPUT: "--video or --trajectory exists (without --overwrite) or could not be written",
        EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
    }
)

CONFIGS_EXIT_CODES = exit_code_table({EXIT_OK: None, EXIT_INPUT: "a shipped config cannot be read"})

SWEEP_EXIT_CODES = exit_code_table(
    {
        EXIT_OK: None,
        EXIT_GATE: "a gate on the best checkpoint failed (--gate, --min-return)",
        EXIT_USAGE: None,
        EXIT_INPUT: "input error, or a checkpoint could not be evaluated (the others were)",
        EXIT_RUNTIME: "the environment or the policy failed while running",
        EXIT_OUTPUT: "output error, or --out holds another sweep (other runs or settings: "
        "named) without --overwrite",
        EXIT_INTERRUPTED: "interrupted (Ctrl-C); the checkpoints evaluated are written",
        EXIT_TERMINATED: "terminated (SIGTERM); the checkpoints evaluated are written",
    }
)

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

SWEEP_EXAMPLES = """\b
Examples:
  pytfpol sweep train/policies --env CartPole-v1 --episodes 20
  pytfpol sweep train/policy --env Pendulum-v1 --every 5 --select iqm_return
  pytfpol sweep seed0/policies seed1/policies --env CartPole-v1   # runs
  pytfpol sweep train/policies --env CartPole-v1 --watch --watch-timeout 600
  pytfpol sweep train/policies --env CartPole-v1 --backend ray --actors 8
"""

INSPECT_EXAMPLES = """\b
Examples:
  pytfpol inspect train/policy
  pytfpol inspect train/policy --step 30 --array obs_norm/mean
  pytfpol inspect train/policy/ckpt-10 --diff train/policy/ckpt-20
"""

REPLAY_EXAMPLES = """\b
Examples:
  pytfpol replay runs/ci --episode 37 --video ep37.mp4     # CI says episode 37 failed
  pytfpol replay runs/ci --episode worst --trajectory worst.npz
  pytfpol replay runs/sweep --step 4096 --episode 3        # a sweep's checkpoint
"""


def epilog(*paragraphs: str) -> str:
    """Help paragraphs shown after the options, separated by blank lines."""
    return "\n".join(paragraphs)
