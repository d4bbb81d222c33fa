"""What a sweep costs per checkpoint, next to a shell loop of `pytfpol eval --step N`.

    python bench/sweep_bench.py [RUN] [--episodes 5] [--max-episode-steps 100] [--repeats 3]
                                [--only-tiny] [--baseline CHECKOUT]

RUN defaults to the shipped example run `examples/cartpole-dqn-run` (9 Learner checkpoints). Each
repeat times, as fresh processes, interleaved:

  sweep     `pytfpol sweep RUN` over all K checkpoints (no confirmation of the best)
  rerun     the same sweep into the same --out again: every result comes from the journal
  eval-1    one `pytfpol eval RUN --step N` (the newest checkpoint)
  loop      K `pytfpol eval RUN --step N`, one per checkpoint, as a shell loop would
  import    `python -c "import tensorflow, tf_agents"`: the re-run's reference (issue 26: a
            re-run with nothing new is answered from the journal without TensorFlow, <= 0.3x)
  tiny-6    `pytfpol sweep` of a generated common.Checkpointer run of 6 tiny checkpoints
            (bench/scale_bench.py's), one five-step episode each, with its confirmation
  tiny-eval `pytfpol eval` of the same run (its newest checkpoint): tiny-6's reference
            (issue 26: <= 1.1x)

and reports the medians, the marginal cost of one more checkpoint in a sweep
((sweep - eval-1) / (K - 1)) next to the cost of one eval process, and loop / sweep. The
overhead beyond a checkpoint's episodes is read from sweep.json (`seconds`: validating its files
and restoring its weights into the graph, per checkpoint) and set against the start-up of one
`pytfpol eval` (its wall time minus its episodes' `run_seconds`): the target is under 5 %.
Results go to stdout and, unless --no-readme, into bench/README.md's "sweep" section.

--only-tiny times only tiny-6 and tiny-eval (and prints them; README untouched). --baseline
CHECKOUT also times those two with the pytfpol of another checkout (e.g. `git archive main`
unpacked), interleaved with this one's: before and after in the same run, at the same load.
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

REPO = Path(__file__).resolve().parents[1]
README = REPO / "bench" / "README.md"
SECTION = "## sweep"
DEFAULT_RUN = REPO / "examples" / "cartpole-dqn-run"

sys.path.insert(0, str(REPO))

from bench.scale_bench import CONFIG, write_runs  # noqa: E402

TINY = ["--env", "CartPole-v1", "--config", CONFIG, "--max-episode-steps", "5", "-q"]


def timed(args: list[str], command: tuple = ("-m", "pytfpol"), root: Path = REPO) -> float:
    """Wall seconds of `python COMMAND ARGS` run in `root` (whose pytfpol it imports)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "NO_COLOR": "1", "PYTHONPATH": str(root)}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, *command, *args],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=root,
    )
    return time.perf_counter() - started


def time_tiny(times: dict, tiny: Path, scratch: Path, label: str, root: Path) -> None:
    """tiny-6 (the sweep) and tiny-eval (its newest) once each, with `root`'s pytfpol."""
    tiny_common = [*TINY, "--episodes", "1"]
    out6 = ["--out", str(scratch / f"tiny{label}-{len(times['tiny-6' + label])}")]
    times["tiny-6" + label].append(timed(["sweep", str(tiny), *tiny_common, *out6], root=root))
    out1 = ["--out", str(scratch / f"tiny-eval{label}-{len(times['tiny-eval' + label])}")]
    times["tiny-eval" + label].append(timed(["eval", str(tiny), *tiny_common, *out1], root=root))


def report_tiny(times: dict, baseline: str | None) -> None:
    """The tiny rows' medians and ratio (and the baseline's), with the load."""
    print(f"{len(times['tiny-6'])} interleaved repeats, load averages {os.getloadavg()}")
    for label, name in (("", "this checkout"), (" (baseline)", baseline)):
        if not times.get("tiny-6" + label):
            continue
        sweep = statistics.median(times["tiny-6" + label])
        one = statistics.median(times["tiny-eval" + label])
        print(
            f"{name}: tiny-6 {sweep:.2f} s, tiny-eval {one:.2f} s, ratio {sweep / one:.2f}x "
            f"(tiny-6 {[round(t, 2) for t in times['tiny-6' + label]]}, tiny-eval "
            f"{[round(t, 2) for t in times['tiny-eval' + label]]})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?", default=str(DEFAULT_RUN))
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--max-episode-steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-readme", action="store_true")
    parser.add_argument("--only-tiny", action="store_true")
    parser.add_argument("--baseline", help="another checkout: its tiny rows too, interleaved")
    args = parser.parse_args()
    if args.only_tiny:
        return only_tiny(args.repeats, args.baseline)

    from pytfpol.formats import layout

    steps = [c.step for c in layout.detect(args.run).in_context().checkpoints if c.complete]
    common = [
        "--env", args.env, "--episodes", str(args.episodes),
        "--max-episode-steps", str(args.max_episode_steps), "-q",
    ]  # fmt: skip
    times: dict[str, list[float]] = {
        "sweep": [], "rerun": [], "eval-1": [], "loop": [], "import": [], "tiny-6": [],
        "tiny-eval": [],
    }  # fmt: skip
    overheads: list[float] = []  # validate + restore of each checkpoint after the first
    startups: list[float] = []  # an eval's wall time minus its episodes'
    with tempfile.TemporaryDirectory(prefix="pytfpol-sweep-bench-") as scratch:
        scratch = Path(scratch)
        tiny = write_runs(scratch, [6])[6]
        for repeat in range(args.repeats):
            out = scratch / f"sweep-{repeat}"
            sweep = ["sweep", args.run, *common, "--confirm-episodes", "0", "--out", str(out)]
            times["sweep"].append(timed(sweep))
            entries = json.loads((out / "sweep.json").read_text())["checkpoints"]
            overheads += [e["seconds"]["validate"] + e["seconds"]["restore"] for e in entries[1:]]
            times["rerun"].append(timed(sweep))
            times["import"].append(timed([], ("-c", "import tensorflow, tf_agents")))
            time_tiny(times, tiny, scratch, "", REPO)
            single = scratch / f"eval-1-{repeat}"
            times["eval-1"].append(
                timed(["eval", args.run, *common, "--step", str(steps[-1]), "--out", str(single)])
            )
            report = json.loads((single / "stats.json").read_text())
            startups.append(times["eval-1"][-1] - report["timing"]["run_seconds"])
            loop = 0.0
            for step in steps:
                target = scratch / f"eval-{repeat}-{step}"
                loop += timed(
                    ["eval", args.run, *common, "--step", str(step), "--out", str(target)]
                )
            times["loop"].append(loop)
            shutil.rmtree(out, ignore_errors=True)
            print(f"repeat {repeat + 1}/{args.repeats}: " + ", ".join(
                f"{name} {values[-1]:.2f} s" for name, values in times.items()
            ), file=sys.stderr)  # fmt: skip

    median = {name: statistics.median(values) for name, values in times.items()}
    overhead, startup = statistics.median(overheads), statistics.median(startups)
    count = len(steps)
    marginal = (median["sweep"] - median["eval-1"]) / max(1, count - 1)
    load = os.getloadavg()[0]
    lines = [
        f"Measured {dt.datetime.now().strftime('%Y-%m-%d %H:%M')} by `python bench/sweep_bench.py`"
        f" on {platform.node()}: {os.cpu_count()} CPUs, load average {load:.1f} at the end, "
        f"Python {platform.python_version()}. Medians of {args.repeats} interleaved repeats; "
        f"run `{os.path.relpath(args.run, REPO)}` ({count} checkpoints), {args.env}, "
        f"{args.episodes} episodes per checkpoint, capped at {args.max_episode_steps} steps.",
        "",
        "| what | median | per checkpoint |",
        "|---|---|---|",
        f"| `pytfpol sweep` ({count} checkpoints) | {median['sweep']:.2f} s | "
        f"{median['sweep'] / count:.2f} s |",
        f"| the same sweep again (all from the journal) | {median['rerun']:.2f} s | |",
        f"| one `pytfpol eval --step N` | {median['eval-1']:.2f} s | {median['eval-1']:.2f} s |",
        f"| loop of {count} `pytfpol eval --step N` | {median['loop']:.2f} s | "
        f"{median['loop'] / count:.2f} s |",
        "",
        "| issue 26 row | median | reference | median | ratio | goal |",
        "|---|---|---|---|---|---|",
        f"| the same sweep again (nothing new) | {median['rerun']:.2f} s | "
        f"`import tensorflow, tf_agents` | {median['import']:.2f} s | "
        f"**{median['rerun'] / median['import']:.2f}x** | <= 0.3x |",
        f"| sweep of 6 tiny checkpoints (1 five-step episode each, confirmed) | "
        f"{median['tiny-6']:.2f} s | `pytfpol eval` of its newest | {median['tiny-eval']:.2f} s | "
        f"**{median['tiny-6'] / median['tiny-eval']:.2f}x** | <= 1.1x |",
        "",
        f"One more checkpoint in a sweep costs **{marginal:.2f} s** (one eval process: "
        f"{median['eval-1']:.2f} s); the loop takes **{median['loop'] / median['sweep']:.1f}x** "
        "as long as the sweep.",
        "",
        f"Overhead beyond its episodes (validating the checkpoint's files, restoring its weights; "
        f"median over {len(overheads)} checkpoints, from sweep.json): **{overhead * 1000:.1f} ms**"
        f", {overhead / startup:.1%} of one `pytfpol eval` start-up ({startup:.2f} s: wall time "
        "minus its episodes). Target: under 5 %.",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_readme:
        write_section(text)


def only_tiny(repeats: int, baseline: str | None) -> None:
    """tiny-6 and tiny-eval only, this checkout's and (interleaved) the baseline's."""
    times: dict[str, list[float]] = {
        "tiny-6": [], "tiny-eval": [], "tiny-6 (baseline)": [], "tiny-eval (baseline)": []
    }  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="pytfpol-sweep-bench-") as scratch:
        tiny = write_runs(Path(scratch), [6])[6]
        for repeat in range(repeats):
            order = [("", REPO)] + ([(" (baseline)", Path(baseline))] if baseline else [])
            for label, root in order[:: 1 if repeat % 2 == 0 else -1]:  # alternating first
                time_tiny(times, tiny, Path(scratch), label, root)
            print(f"repeat {repeat + 1}/{repeats}: " + ", ".join(
                f"{name} {values[-1]:.2f} s" for name, values in times.items() if values
            ), file=sys.stderr)  # fmt: skip
    report_tiny(times, baseline)


def write_section(text: str) -> None:
    """Replace (or append) README's sweep section, up to the next `## ` heading."""
    readme = README.read_text()
    body = (
        f"{SECTION}\n\n`python bench/sweep_bench.py` (also run by `make bench`) times a sweep of "
        "a training run against a shell loop of `pytfpol eval --step N` over the same "
        "checkpoints. A sweep imports TensorFlow and builds the graph once per run, then per "
        "checkpoint validates its files (each read once), assigns the variables and runs the "
        f"episodes.\n\n{text}\n"
    )
    if SECTION in readme:
        start = readme.index(SECTION)
        following = readme.find("\n## ", start + len(SECTION))
        readme = readme[:start] + body + ("" if following < 0 else readme[following:])
    else:
        readme = readme.rstrip("\n") + "\n\n" + body
    README.write_text(readme)


if __name__ == "__main__":
    main()
