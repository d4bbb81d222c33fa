"""What `--backend ray` costs on this machine, next to the local backend, and per unit of work.

    python bench/ray_bench.py [RUN] [--episodes 8] [--max-episode-steps 100] [--repeats 3]

RUN defaults to the shipped example run `examples/cartpole-dqn-run` (9 Learner checkpoints). The
bench starts one local Ray cluster (2 CPUs, no dashboard, on 127.0.0.1) and times, as fresh
processes, interleaved, `pytfpol sweep RUN` over all K checkpoints (E episodes each, no
confirmation):

  local        --backend local
  ray-start    --backend ray --actors 2, starting its own Ray instance (what a first try costs)
  ray-big      --backend ray --actors 2 on the running cluster, one unit per checkpoint (K units)
  ray-small    the same with --unit-episodes 1 (K*E units)
  local-small  --backend local --unit-episodes 1: the same units in one process, so that
               ray-small's seconds per unit on its actor minus these is the actor's own cost
               per unit (fetching its inputs from its caches, Ray's call, returning records)

and reports the medians, ray / local, the driver's cost of one more unit
((ray-small - ray-big) / (K*E - K)), and, from the reports, the actors' own time per unit (restore
and episodes) for both unit sizes. Results go to stdout and, unless --no-readme, into
bench/README.md's "ray" section.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # the bench's Ray on 127.0.0.1 only

REPO = Path(__file__).resolve().parents[1]
README = REPO / "bench" / "README.md"
SECTION = "## ray"
DEFAULT_RUN = REPO / "examples" / "cartpole-dqn-run"

sys.path.insert(0, str(REPO))


def timed(args: list[str], env: dict) -> tuple[float, dict]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytfpol", *args, "--json"],
        check=True,
        capture_output=True,
        text=True,
        env={**env, "TF_CPP_MIN_LOG_LEVEL": "3", "NO_COLOR": "1"},
        cwd=REPO,
    )
    return time.perf_counter() - started, json.loads(result.stdout)


def unit_seconds(document: dict) -> float:
    """The median of the actors' (or the local worker's) seconds per unit of the sweep."""
    return statistics.median(u["seconds"] for u in document["backend"]["units"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?", default=str(DEFAULT_RUN))
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--episodes", type=int, default=8)
    parser.add_argument("--max-episode-steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args()

    import ray

    from pytfpol.formats import layout

    k = len([c for c in layout.detect(args.run).in_context().checkpoints if c.complete])
    e = args.episodes
    common = [
        "sweep", args.run, "--env", args.env, "--episodes", str(e),
        "--max-episode-steps", str(args.max_episode_steps), "--confirm-episodes", "0", "-q",
    ]  # fmt: skip
    started = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    address = ray.get_runtime_context().gcs_address
    alone = {k_: v for k_, v in os.environ.items() if k_ != "RAY_ADDRESS"}
    joined = {**alone, "RAY_ADDRESS": address}
    ray_args = ["--backend", "ray", "--actors", "2"]
    runs = {
        "local": ([], alone),
        "ray-start": (ray_args, alone),
        "ray-big": (ray_args, joined),
        "ray-small": ([*ray_args, "--unit-episodes", "1"], joined),
        "local-small": (["--unit-episodes", "1"], alone),
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    per_unit: dict[str, list[float]] = {name: [] for name in runs}
    returns: dict[str, list] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="pytfpol-ray-bench-") as scratch:
            for repeat in range(args.repeats):
                for name, (extra, env) in runs.items():
                    out = Path(scratch) / f"{name}-{repeat}"
                    seconds, document = timed([*common, *extra, "--out", str(out)], env)
                    times[name].append(seconds)
                    per_unit[name].append(unit_seconds(document))
                    returns[name] = [
                        [x["return"] for x in entry["episodes"]]
                        for entry in document["checkpoints"]
                    ]
                    print(f"repeat {repeat} {name:10s} {seconds:7.2f} s", flush=True)
    finally:
        ray.shutdown()
    assert all(r == returns["local"] for r in returns.values()), "backends disagree"
    total = time.perf_counter() - started

    med = {name: statistics.median(values) for name, values in times.items()}
    unit = {name: statistics.median(values) for name, values in per_unit.items()}
    extra_units = k * e - k
    per_extra = (med["ray-small"] - med["ray-big"]) / extra_units
    rows = [
        ("local", f"`--backend local` ({k} units of {e} episodes)"),
        ("ray-start", f"`--backend ray --actors 2`, starting its own Ray ({k} units)"),
        ("ray-big", f"`--backend ray --actors 2` on a running cluster ({k} units)"),
        ("ray-small", f"the same, `--unit-episodes 1` ({k * e} units)"),
        ("local-small", f"`--backend local --unit-episodes 1` ({k * e} units)"),
    ]
    lines = [
        SECTION,
        "",
        "`python bench/ray_bench.py` (in `make bench`): `pytfpol sweep` of the shipped example "
        "run on the local backend and on a Ray cluster on this machine, each a fresh process, "
        "interleaved (see the script's docstring).",
        "",
        f"Measured {dt.datetime.now():%Y-%m-%d %H:%M} ({total:.0f} s) on {platform.node()}: "
        f"{os.cpu_count()} CPUs shared with other work, load average "
        f"{os.getloadavg()[0]:.1f} at the end, Python {platform.python_version()}. Medians of "
        f"{args.repeats} repeats; {k} checkpoints x {e} episodes of {args.env} capped at "
        f"{args.max_episode_steps} steps (the trained policy runs each to the cap); per-episode "
        "returns identical on every backend (checked).",
        "",
        "| run | median | / local | median seconds per unit on its worker |",
        "|---|---|---|---|",
    ]
    for name, label in rows:
        lines.append(
            f"| {label} | {med[name]:.2f} s | {med[name] / med['local']:.2f} | {unit[name]:.3f} s |"
        )
    lines += [
        "",
        f"One more unit costs the Ray driver **{per_extra * 1000:.0f} ms** "
        f"((ray-small - ray-big) / {extra_units}); on its actor a {e}-episode unit takes "
        f"{unit['ray-big'] * 1000:.0f} ms and a 1-episode unit {unit['ray-small'] * 1000:.0f} ms "
        f"(restoring the checkpoint, running, returning records), "
        f"{(unit['ray-small'] - unit['local-small']) * 1000:.1f} ms more than the same unit "
        "in the local process. Starting a Ray instance and "
        f"its actors costs {med['ray-start'] - med['ray-big']:.1f} s more than joining a running "
        "one. On one 2-CPU machine Ray cannot beat the local backend: each actor imports "
        "TensorFlow and builds the graph, on the same two cores (the driver imports neither "
        "when it loads no policy itself: no confirmation, no --video-best). "
        "`docs/scale-out.md` turns these figures into an estimate for a cluster.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_readme:
        current = README.read_text()
        if SECTION in current:
            head, _, tail = current.partition(SECTION)
            rest = tail.split("\n## ", 1)
            tail = "\n## " + rest[1] if len(rest) > 1 else ""
            current = head + text + tail
        else:
            current = current.rstrip("\n") + "\n\n" + text
        README.write_text(current)


if __name__ == "__main__":
    main()
