#!/usr/bin/env python
"""`python bench/native_bench.py [N ...]`: pytfpol's loop with `--vector native` against the bare
native CartPole vector env, at small and medium N, interleaved repeats, medians.

Issue 15's target is 0.5x of the bare native env "at the smallest N where it can be reached";
`make bench` covers 32-2048 envs, this script the small end (default 8, 16, 32, 128) with more
repeats, in one process: the shipped example policy (every episode runs to the 100-step cap), the
bare env stepping random actions with its own autoreset, as in `bench/run.py`.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pytfpol.policy.quiet_tf import import_tf  # noqa: E402

import_tf()

from bench.run import bare_vector_env  # noqa: E402
from pytfpol.formats.sources import resolve_policy_source  # noqa: E402
from pytfpol.policy.loading import LoadOptions, load_policy  # noqa: E402
from pytfpol.running import evaluation, vector  # noqa: E402
from pytfpol.running.env_spec import EnvSpec  # noqa: E402

EXAMPLE = REPO / "examples" / "cartpole-dqn"
MAX_STEPS = 100
REPEATS = 5


def pytfpol(loaded, stepper, episodes: int) -> float:
    """Steps per second of pytfpol's loop (seeded resets, exactly `episodes` episodes)."""
    start = time.perf_counter()
    with loaded.session.as_default():
        results = evaluation.run_episodes(loaded.py_policy, stepper, episodes, 0)
    return sum(r.length for r in results) / (time.perf_counter() - start)


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [8, 16, 32, 128]
    spec = EnvSpec("CartPole-v1", {}, MAX_STEPS)
    print("| envs | bare native steps/s | pytfpol native steps/s | ratio |")
    print("|---:|---:|---:|---:|")
    for n in sizes:
        loaded = load_policy(resolve_policy_source(str(EXAMPLE)), LoadOptions(batch_size=n))
        stepper = vector.make_stepper("native", spec, n)
        episodes = max(64, 8 * n)
        ours, theirs = [], []
        for _ in range(REPEATS):
            theirs.append(
                bare_vector_env("CartPole-v1", "native", n, episodes, MAX_STEPS)["steps_per_s"]
            )
            ours.append(pytfpol(loaded, stepper, episodes))
        a, b = statistics.median(ours), statistics.median(theirs)
        print(f"| {n} | {b:,.0f} | {a:,.0f} | **{a / b:.2f}x** |", flush=True)
        stepper.close()
        loaded.close()


if __name__ == "__main__":
    main()
