"""The GitHub Action's evaluation step (action.yml): `pytfpol eval`, then `compare` with a baseline.

Inputs come in environment variables, never in the script text, so no input value is ever read
by a shell: gates are split on newlines and `;`, extra arguments with `shlex`, and every word
goes to pytfpol as one argument. Outputs (mean, iqm, passed, verdict, report, exit-code) are
written to $GITHUB_OUTPUT whenever this run wrote a report, before the step exits with
pytfpol's exit code (1: a gate failed or the candidate is worse; 2: usage; ...).

Run by the Python that has pytfpol installed; stdlib only. PYTFPOL_COMMAND overrides how pytfpol
is started (a shell-like word list, default: this Python with `-m pytfpol`).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Optional

USAGE_EXIT = 2  # pytfpol's exit code for a usage or configuration error


class UsageError(Exception):
    """An input the action cannot turn into a pytfpol command line."""


def split_gates(text: str) -> list[str]:
    """One `--gate EXPR` per non-empty line or `;`-separated item."""
    items = text.replace(";", "\n").splitlines()
    return [item.strip() for item in items if item.strip()]


def split_extra_args(text: str) -> list[str]:
    """Shell-like words, never executed: quotes group, `;` and `$(...)` are plain characters."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise UsageError(f"extra-args: {exc}") from None
    if any(word == "--out" or word.startswith("--out=") for word in words):
        raise UsageError("extra-args: set the output directory with the `out` input, not --out")
    return words


def pytfpol_command() -> list[str]:
    """How pytfpol is started: PYTFPOL_COMMAND's words, or this Python's `-m pytfpol`."""
    given = os.environ.get("PYTFPOL_COMMAND", "")
    return shlex.split(given) if given else [sys.executable, "-m", "pytfpol"]


def eval_arguments(env: dict[str, str]) -> list[str]:
    """The `pytfpol eval` arguments the inputs ask for."""
    for name in ("PYTFPOL_POLICY", "PYTFPOL_ENV"):
        if not env.get(name, "").strip():
            raise UsageError(f"the input {name[8:].lower()} is required")
    arguments = ["eval", env["PYTFPOL_POLICY"], "--env", env["PYTFPOL_ENV"]]
    arguments += ["--episodes", env.get("PYTFPOL_EPISODES") or "20"]
    arguments += ["--seed", env.get("PYTFPOL_SEED") or "0", "--out", output_dir(env)]
    for gate in split_gates(env.get("PYTFPOL_GATES", "")):
        arguments += ["--gate", gate]
    return arguments + split_extra_args(env.get("PYTFPOL_EXTRA_ARGS", ""))


def output_dir(env: dict[str, str]) -> str:
    return env.get("PYTFPOL_OUT") or "pytfpol-runs/action"


def report_signature(stats: Path) -> Optional[tuple[int, int]]:
    """What tells a report written by this run from one already there (inode, mtime)."""
    try:
        status = stats.stat()
    except FileNotFoundError:
        return None
    return status.st_ino, status.st_mtime_ns


def compare(command: list[str], baseline: str, out: str) -> tuple[int, dict]:
    """`pytfpol compare BASELINE OUT --json`: its exit code and result (empty when it failed)."""
    done = subprocess.run([*command, "compare", baseline, out, "--json"], stdout=subprocess.PIPE)
    try:
        result = json.loads(done.stdout) if done.stdout.strip() else {}
    except json.JSONDecodeError:
        result = {}
    if result:
        difference = {k: shown(v) for k, v in result["difference"].items()}
        print(f"compare with {baseline}: {result['verdict']} ({result['statistic']} difference "
              f"{difference['difference']}, interval [{difference['ci_low']}, "
              f"{difference['ci_high']}], margin {shown(result['margin'])})", flush=True)  # fmt: skip
    return done.returncode, result


def shown(value: object) -> str:
    """A number as a log line shows it; anything else (null: not finite) as it is."""
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return f"{value:.4g}" if is_number else str(value)


def number(value: object) -> str:
    """A statistic as an output: JSON's number, empty when it has none (not finite)."""
    return "" if value is None else json.dumps(value)


def write_outputs(outputs: dict[str, str]) -> None:
    """Append to $GITHUB_OUTPUT in the delimiter form, so no value can add an output line."""
    path = os.environ.get("GITHUB_OUTPUT")
    lines = []
    for name, value in outputs.items():
        delimiter = f"pytfpol-{uuid.uuid4().hex}"
        lines.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
        print(f"output {name}={value}", flush=True)
    if path:
        with open(path, "a", encoding="utf-8") as file:
            file.write("".join(lines))


def outputs_of(stats_path: Path, code: int, verdict: str) -> dict[str, str]:
    report = json.loads(stats_path.read_text(encoding="utf-8"))
    summary = report.get("summary") or {}
    return {
        "mean": number(summary.get("mean_return")),
        "iqm": number(summary.get("iqm_return")),
        "passed": "true" if report.get("passed") else "false",
        "verdict": verdict,
        "report": str(stats_path.resolve()),
        "exit-code": str(code),
    }


def run(env: dict[str, str]) -> int:
    """Evaluate, compare with the baseline when one is given, write the outputs; the exit code."""
    try:
        arguments = eval_arguments(env)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        write_outputs({"exit-code": str(USAGE_EXIT)})
        return USAGE_EXIT
    command, out = pytfpol_command(), output_dir(env)
    stats = Path(out) / "stats.json"
    before = report_signature(stats)
    print("pytfpol " + shlex.join(arguments), flush=True)
    code = subprocess.run([*command, *arguments]).returncode
    if report_signature(stats) in (None, before):  # this run wrote no report
        write_outputs({"exit-code": str(code)})
        return code
    verdict = ""
    if env.get("PYTFPOL_BASELINE", "").strip():
        compared, result = compare(command, env["PYTFPOL_BASELINE"], out)
        verdict = str(result.get("verdict", ""))
        code = code or compared
    write_outputs(outputs_of(stats, code, verdict))
    return code


if __name__ == "__main__":
    sys.exit(run(dict(os.environ)))
