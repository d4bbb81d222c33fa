"""Scale is a benchmark too: costs per checkpoint and per episode as the counts grow, so that
superlinear growth shows at once (issue 26).

    python bench/scale_bench.py [--checkpoints 10,100,1000,10000] [--episodes 1000,10000,100000]
                                [--repeats 3] [--no-readme]

  sweep     `pytfpol sweep RUN --episodes 1 --max-episode-steps 5` of a generated
            common.Checkpointer run of N distinct checkpoints (one real DQN v2 checkpoint
            written by TF-Agents' Checkpointer, then copied N times with `tf.raw_ops.SaveV2`,
            each with its own global_step, so each has its own content and journal key);
            the cost per checkpoint is (wall(N) - wall(smallest N)) / (N - smallest N), beside
            wall(N) / N
  newest    `pytfpol eval RUN` (picks the newest checkpoint) of the same runs, minus the same
            eval of a 6-checkpoint run
  episodes  `pytfpol eval` of E five-step episodes (CartPole, --max-episode-steps 5): the
            report's `timing` says how long the episode loop took; wall - loop - start-up (the
            same eval of 10 episodes, minus its loop) is the cost beyond the loop, per episode

Every figure is a median of --repeats fresh processes, run interleaved; results go to stdout
and, unless --no-readme, into bench/README.md's "scale" section.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

REPO = Path(__file__).resolve().parents[1]
README = REPO / "bench" / "README.md"
SECTION = "## scale"
CONFIG = str(REPO / "configs" / "tf-agents-dqn-v2-cartpole.toml")
COMMON = ["--env", "CartPole-v1", "--config", CONFIG, "--max-episode-steps", "5", "-q"]

sys.path.insert(0, str(REPO))

# Kept with the figures: what these cases cost before issue 26, and where the time goes now
# (cProfile, 2026-12-06, one process at a time, not by each run of this script).
NOTES = [
    "Before (issue 26, same cases): a sweep cost 24 ms a checkpoint at 100 checkpoints and "
    "323 ms at 600 (13.7x; 1,000 checkpoints 829 s in all): `layout._missing_bundle` listed the "
    "run directory once per checkpoint per checkpoint (160,800 `listdir` at 400). 50,000 "
    "five-step episodes cost 42.5 s beyond a 3.5 s loop (100,000: 178 s beyond 8 s): scipy's "
    "BCa jackknife is quadratic in the episodes. `eval` of a directory of 4,000 checkpoints "
    "+12.5 s over 6. `inspect A --diff B` of two 400 MB checkpoints: 26.6 s beyond start-up "
    "(318x `cat`), peak RSS 5.5 GB (`.tolist()` and a Python `max` over 100M values; here, "
    "under a load of 9, it measured 126 s and 5.9 GB).",
    "Now: each directory is listed once per `detect` and a sweep resolves every checkpoint from "
    "its run's listing; prefixes are joined as text (pathlib cost 50 µs a checkpoint: 2 s at "
    "10,000). Intervals: scipy's bootstrap distribution with the jackknife of the mean and the "
    "IQM in closed form (the same intervals), and above 5,000 episodes normal intervals (docs/"
    "statistics.md). Reports' JSON: one line per episode (the indenting encoder is pure Python: "
    "0.85 s of 50,000 episodes, now 0.35 s). `--diff` compares tensors in 8 MB pieces.",
    "Picking the newest of 10,000 checkpoints: wall times of whole evals differ by +-1 s from "
    "one run to the next on this shared machine (a second check, 5 interleaved pairs at load 7: "
    "differences of -3.6 to +3.9 s), so the part that grows with the checkpoints was timed in "
    "process: `resolve_policy_source` (one listing, the selection) takes 0.13 s at 10,000 "
    "checkpoints and 0.3 ms at 6 (medians of 7, load 7).",
    "Where a sweep's marginal ~13 ms a checkpoint goes (cProfile of 400 checkpoints, 1 episode "
    "each, per checkpoint): the journal 9 ms, of which 7.6 ms are its two `fsync` (each result is "
    "durable as soon as it is known: results/journal.py), TensorBoard's three summaries 3.6 ms, "
    "the statistics 1.7 ms, validating the files 1.5 ms, the episode 1.3 ms, the restore 0.8 ms. "
    "Its fixed cost (TensorFlow's import, the graph) is why s / checkpoint falls with N. "
    "Beyond the loop at 100,000 episodes: building the episode records and the report, "
    "episodes.csv and stats.json (~0.3 s each), the `--json` copy on stdout, the output "
    "checkpoint's arrays; at 1,000 and 10,000 episodes mostly the bootstrap's 10,000 "
    "resamples (10,000 x n values per statistic).",
]


def write_runs(out: Path, sizes: list[int]) -> dict[int, Path]:
    """A Checkpointer run per size (in a child process: TensorFlow stays out of this one)."""
    runs = {n: out / f"run-{n}" for n in sizes}
    job = json.dumps({str(n): str(path) for n, path in runs.items()})
    subprocess.run(
        [sys.executable, __file__, "--write-runs", job],
        check=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        stdout=subprocess.DEVNULL,
    )
    return runs


def _write_runs_here(job: str) -> None:
    """One real checkpoint by TF-Agents' Checkpointer, then N copies of its tensors, each with
    its own global_step (`tf.raw_ops.SaveV2`: no object graph is built per copy)."""
    import tensorflow as tf
    from tf_agents.utils import common

    from tests.helpers.artifacts_checkpointer import dqn_v2_policy

    runs = {int(n): Path(p) for n, p in json.loads(job).items()}
    template = Path(tempfile.mkdtemp(prefix="pytfpol-scale-template-"))
    policy, _ = dqn_v2_policy()
    global_step = tf.Variable(1, dtype=tf.int64)
    common.Checkpointer(ckpt_dir=str(template), policy=policy, global_step=global_step).save(1)
    reader = tf.train.load_checkpoint(str(template / "ckpt-1"))
    names = sorted(reader.get_variable_to_shape_map())
    step_name = next(n for n in names if n.startswith("global_step/"))
    tensors = [tf.constant(reader.get_tensor(n)) for n in names]
    step_index = names.index(step_name)
    for n, directory in runs.items():
        directory.mkdir(parents=True)
        for step in range(1, n + 1):
            tensors[step_index] = tf.constant(step, tf.int64)
            tf.raw_ops.SaveV2(
                prefix=str(directory / f"ckpt-{step}"),
                tensor_names=names,
                shape_and_slices=[""] * len(names),
                tensors=tensors,
            )
        (directory / "checkpoint").write_text(
            f'model_checkpoint_path: "ckpt-{n}"\nall_model_checkpoint_paths: "ckpt-{n}"\n'
        )
    shutil.rmtree(template)


def timed(args: list[str], json_out: bool = True) -> tuple[float, dict, float]:
    """Wall time of `pytfpol ARGS [--json]` in a fresh process, its JSON report, and its peak
    RSS in MB (`os.wait4`)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "NO_COLOR": "1"}
    command = [sys.executable, "-m", "pytfpol", *args, *(["--json"] if json_out else [])]
    return _run(command, env)


def _run(
    command: list[str], env: Optional[dict] = None, capture: bool = True
) -> tuple[float, dict, float]:
    started = time.perf_counter()
    with tempfile.TemporaryFile() as stdout:
        child = subprocess.Popen(
            command,
            stdout=stdout if capture else subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=REPO,
        )
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        if child.returncode != 0:
            raise SystemExit(f"{' '.join(command)}: exit {child.returncode}")
        stdout.seek(0)
        text = stdout.read()
    report = json.loads(text) if text.strip().startswith(b"{") else {}
    return wall, report, usage.ru_maxrss / 1024


def write_diff_pair(out: Path, megabytes: int) -> tuple[Path, Path, Path]:
    """Two checkpoints of one float32 tensor of `megabytes` MB that differ (one in every 1,000
    values, a NaN, an inf) and a tiny one for the start-up (in a child process)."""
    code = f"""
import numpy as np, tensorflow as tf
n = {megabytes} * (1 << 20) // 4
a = np.random.default_rng(0).standard_normal(n, dtype=np.float32)
b = a.copy(); b[::1000] += 0.5; b[12345] = np.nan; b[777] = np.inf
for name, value in (("a", a), ("b", b), ("tiny", a[:10])):
    tf.raw_ops.SaveV2(prefix="{out}/" + name + "/ckpt-1",
        tensor_names=["big/.ATTRIBUTES/VARIABLE_VALUE"], shape_and_slices=[""],
        tensors=[tf.constant(value)])
"""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    for name in ("a", "b", "tiny"):
        (out / name).mkdir(parents=True)
    subprocess.run([sys.executable, "-c", code], check=True, env=env, stdout=subprocess.DEVNULL)
    return out / "a" / "ckpt-1", out / "b" / "ckpt-1", out / "tiny" / "ckpt-1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", default="10,100,1000,10000")
    parser.add_argument("--episodes", default="1000,10000,100000")
    parser.add_argument("--diff-mb", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-readme", action="store_true")
    parser.add_argument("--write-runs", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write_runs:
        return _write_runs_here(args.write_runs)
    sizes = sorted({6, *(int(n) for n in args.checkpoints.split(",") if n)})
    episode_counts = sorted({10, *(int(n) for n in args.episodes.split(",") if n)})
    started = time.time()
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="pytfpol-scale-bench-") as scratch:
        scratch = Path(scratch)
        runs = write_runs(scratch, sizes)
        pair = write_diff_pair(scratch / "diff", args.diff_mb) if args.diff_mb else None
        sweep: dict[int, list] = {n: [] for n in sizes if n != 6}
        newest: dict[int, list] = {n: [] for n in sizes}
        episodes: dict[int, list] = {e: [] for e in episode_counts}
        diff: dict[str, list] = {"diff": [], "start": [], "cat": []}
        for repeat in range(args.repeats):
            for n in sizes:
                out = scratch / f"eval-{n}-{repeat}"
                newest[n].append(timed(["eval", str(runs[n]), *COMMON, "--episodes", "1",
                                        "--out", str(out)])[0])  # fmt: skip
                if n in sweep:
                    out = scratch / f"sweep-{n}-{repeat}"
                    sweep[n].append(timed(["sweep", str(runs[n]), *COMMON, "--episodes", "1",
                                           "--confirm-episodes", "0", "--out", str(out)])[0])  # fmt: skip
                    shutil.rmtree(out)
            for e in episode_counts:
                out = scratch / f"episodes-{e}-{repeat}"
                wall, report, _ = timed(["eval", str(runs[6]), *COMMON, "--episodes", str(e),
                                         "--out", str(out)])  # fmt: skip
                episodes[e].append((wall, report["timing"]))
            if pair is not None:
                a, b, tiny = pair
                data = [f"{p}.data-00000-of-00001" for p in (a, b)]
                diff["cat"].append(_run(["cat", *data], capture=False)[::2])
                diff["diff"].append(timed(["inspect", str(a), "--diff", str(b)])[::2])
                diff["start"].append(timed(["inspect", str(tiny)])[::2])
            loads.append(os.getloadavg()[0])
    results = summarize(sweep, newest, episodes, diff)
    text = render(results, args, time.time() - started, loads)
    from bench.run import publish

    publish(SECTION, text, args.no_readme)


def summarize(sweep: dict, newest: dict, episodes: dict, diff: dict) -> dict:
    """Medians, and the costs per checkpoint and per episode derived from them."""
    median = statistics.median
    sizes = sorted(sweep)
    reference = 100 if 100 in sweep else sizes[0]
    sweep_rows = []
    for n in sizes:
        wall = median(sweep[n])
        marginal = (wall - median(sweep[sizes[0]])) / (n - sizes[0]) if n != sizes[0] else None
        sweep_rows.append({"n": n, "wall": wall, "per": wall / n, "marginal": marginal})
    per_reference = next(r["per"] for r in sweep_rows if r["n"] == reference)
    for row in sweep_rows:
        row["ratio"] = row["per"] / per_reference
    base = median(newest[6])
    newest_rows = [
        {"n": n, "wall": median(t), "extra": median(t) - base} for n, t in newest.items()
    ]
    startup = median(w - t["run_seconds"] for w, t in episodes[min(episodes)])
    episode_rows = []
    for e, runs in sorted(episodes.items()):
        beyond = median(w - t["run_seconds"] - startup for w, t in runs)
        episode_rows.append(
            {
                "episodes": e,
                "wall": median(w for w, _ in runs),
                "loop": median(t["run_seconds"] for _, t in runs),
                "reported": median(t.get("wall_seconds") or 0.0 for _, t in runs),
                "beyond": beyond,
                "per": beyond / e,
            }
        )
    diff_row = None
    if diff["diff"]:
        wall = {k: median(w for w, _ in v) for k, v in diff.items()}
        diff_row = {
            **wall,
            "beyond": wall["diff"] - wall["start"],
            "ratio": (wall["diff"] - wall["start"]) / wall["cat"],
            "rss": max(r for _, r in diff["diff"]),
        }
    return {
        "sweep": sweep_rows,
        "reference": reference,
        "newest": newest_rows,
        "episodes": episode_rows,
        "diff": diff_row,
    }


def render(results: dict, args, elapsed: float, loads: list) -> str:
    from bench.run import _cpu_model

    lines = [
        SECTION,
        "",
        f"`python bench/scale_bench.py`, {dt.date.today()}, {_cpu_model()} ({os.cpu_count()} "
        f"CPUs), Python {platform.python_version()}; medians of {args.repeats} fresh processes "
        f"each; load average {min(loads):.1f}-{max(loads):.1f} while it ran; {elapsed:.0f} s.",
        "",
        "Sweep of a generated common.Checkpointer run, 1 five-step CartPole episode a checkpoint "
        f"(ratio: the cost per checkpoint over that at {results['reference']}):",
        "",
        "| checkpoints | wall s | s / checkpoint | ratio | marginal s / checkpoint |",
        "|---:|---:|---:|---:|---:|",
    ]
    for r in results["sweep"]:
        marginal = "" if r["marginal"] is None else f"{r['marginal'] * 1e3:.1f} ms"
        lines.append(
            f"| {r['n']:,} | {r['wall']:.1f} | {r['per'] * 1e3:.1f} ms | {r['ratio']:.2f} | "
            f"{marginal} |"
        )
    lines += [
        "",
        "`pytfpol eval RUN` (picks the newest checkpoint), over the same eval of 6 checkpoints:",
        "",
        "| checkpoints | wall s | extra s |",
        "|---:|---:|---:|",
    ]
    lines += [f"| {r['n']:,} | {r['wall']:.2f} | {r['extra']:+.2f} |" for r in results["newest"]]
    lines += [
        "",
        "`pytfpol eval` of E five-step CartPole episodes: wall, the episode loop "
        "(`timing.run_seconds`), the report's `timing.wall_seconds`, and what is beyond the loop "
        "and the start-up (wall - loop - the same of 10 episodes):",
        "",
        "| episodes | wall s | loop s | wall_seconds | beyond the loop s | beyond, µs / episode |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['episodes']:,} | {r['wall']:.1f} | {r['loop']:.1f} | {r['reported']:.1f} | "
        f"{r['beyond']:.2f} | {r['per'] * 1e6:.0f} |"
        for r in results["episodes"]
    ]
    d = results["diff"]
    if d is not None:
        lines += [
            "",
            f"`pytfpol inspect A --diff B` of two {args.diff_mb} MB checkpoints (one float32 "
            "tensor each) vs `cat` of both data files; start-up = `pytfpol inspect` of a tiny "
            "checkpoint:",
            "",
            "| diff s | start-up s | beyond start-up s | cat s | beyond / cat | peak RSS MB |",
            "|---:|---:|---:|---:|---:|---:|",
            f"| {d['diff']:.2f} | {d['start']:.2f} | {d['beyond']:.2f} | {d['cat']:.2f} | "
            f"{d['ratio']:.1f} | {d['rss']:.0f} |",
        ]
    for note in NOTES:
        lines += ["", note]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
