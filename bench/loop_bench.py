"""Issue 26's loop rows: `pytfpol eval`'s loop at --num-envs 1 and 8 on CartPole-v1 against the
bare `SyncVectorEnv` of as many envs, with where each batch step's time goes.

In one process, interleaved over repeats (medians): the bare Gymnasium `SyncVectorEnv(n)`
stepping random actions with its own autoreset, and `evaluation.run_episodes` (what `pytfpol
eval` runs) with the shipped example policy (`examples/cartpole-dqn`, which runs every episode to
the cap) on a sync stepper of n envs. The breakdown times the same loop with its stepper's `step`
and `reset` and its policy call wrapped in timers: the rest is pytfpol's own loop.

    python bench/loop_bench.py [--repeats 9] [--episodes 20] [--no-readme]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from run import (  # noqa: E402
    EXAMPLE,
    SEED,
    _header,
    _in,
    _TimedCall,
    _TimedStepper,
    bare_vector_env,
    publish,
)

SECTION = "## loop overhead (issue 26)"
NUM_ENVS = (1, 8)
GOALS = {1: 0.30, 8: 0.70}
MAX_STEPS = 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args()
    begun = time.perf_counter()
    loads = [os.getloadavg()[0]]
    results = measure(args.repeats, args.episodes)
    loads.append(os.getloadavg()[0])
    text = render(results, args, time.perf_counter() - begun, loads)
    publish(SECTION, text, args.no_readme)


def measure(repeats: int, episodes: int) -> dict:
    from pytfpol.formats.sources import resolve_policy_source
    from pytfpol.policy import batch_call as batch_call_module
    from pytfpol.policy.loading import LoadOptions, load_policy
    from pytfpol.running import evaluation, vector
    from pytfpol.running.env_spec import EnvSpec

    factory = EnvSpec("CartPole-v1", {}, MAX_STEPS)
    source = resolve_policy_source(str(EXAMPLE))
    loaded = {n: load_policy(source, LoadOptions(batch_size=n)) for n in NUM_ENVS}
    steppers = {n: vector.make_stepper("sync", factory, n) for n in NUM_ENVS}
    samples: dict = {}

    def add(key, value) -> None:
        samples.setdefault(key, []).append(value)

    def run(n: int, parts=None) -> tuple:
        entry, stepper = loaded[n], steppers[n]
        if parts is not None:
            stepper = _TimedStepper(stepper, parts)
        start, cpu = time.perf_counter(), time.thread_time()
        records = _in(
            entry.session, evaluation.run_episodes, entry.py_policy, stepper, episodes, SEED
        )
        cpu, seconds = time.thread_time() - cpu, time.perf_counter() - start
        steps = sum(r.length for r in records)
        return steps / seconds, steps, cpu

    for n in NUM_ENVS:  # warm-up: the session callables, the envs
        run(n)
    original = evaluation.batch_call
    for _ in range(repeats):
        for n in NUM_ENVS:
            bare = bare_vector_env("CartPole-v1", "sync", n, episodes * 9, MAX_STEPS)
            add(("bare", n), bare["steps_per_s"])
            add(("bare_cpu", n), bare["cpu_s"] / bare["steps"] * n * 1e6)  # us per batch step
            rate, _, cpu = run(n)
            add(("pytfpol", n), rate)
            add(("cpu_env", n), env_cpu(steppers[n], n))
            add(("cpu_call", n), call_cpu(loaded[n], n))
            parts = {"step": 0.0, "reset": 0.0, "call": 0.0, "calls": 0}
            evaluation.batch_call = lambda *a, parts=parts, **k: _TimedCall(
                batch_call_module.batch_call(*a, **k), parts
            )
            try:
                start = time.perf_counter()
                _, steps, _ = run(n, parts)
                total = time.perf_counter() - start
            finally:
                evaluation.batch_call = original
            calls = parts["calls"]
            add(("total", n), total / calls * 1e6)
            for part in ("step", "reset", "call"):
                add((part, n), parts[part] / calls * 1e6)
            add(("rest", n), (total - parts["step"] - parts["reset"] - parts["call"]) / calls * 1e6)
            add(("cpu_total", n), cpu / calls * 1e6)
            add(("cpu_ratio", n), samples["bare_cpu", n][-1] / samples["cpu_total", n][-1])
            add(("cpu_rest", n), cpu / calls * 1e6 - samples["cpu_env", n][-1])
            samples["cpu_rest", n][-1] -= samples["cpu_call", n][-1]
    return {key: statistics.median(values) for key, values in samples.items()}


def env_cpu(stepper, n: int, count: int = 2000) -> float:
    """CPU us of one `stepper.step` of all n slots alone (random actions; resets not counted)."""
    import numpy as np

    rng, slots, spent, done = np.random.default_rng(0), np.arange(n), 0.0, 0
    stepper.reset(slots, SEED + slots)
    while done < count:
        actions = rng.integers(0, 2, size=n)
        start = time.thread_time()
        _, _, terminated, truncated, _, _ = stepper.step(slots, actions)
        spent += time.thread_time() - start
        done += 1
        ended = np.flatnonzero(terminated | truncated)
        if ended.size:
            stepper.reset(ended, SEED + ended)
    return spent / count * 1e6


def call_cpu(entry, n: int, count: int = 2000) -> float:
    """CPU us of one policy call (`batch_call`) alone, on the loop's arrays."""
    import numpy as np

    from pytfpol.policy.batch_call import batch_call

    with entry.session.as_default():
        call = batch_call(entry.py_policy, n)
        step = [
            np.ones(n, np.int32),
            np.zeros(n, np.float32),
            np.ones(n, np.float32),
            np.zeros((n, 4), np.float32),
        ]
        state = call.initial_state()
        call(step, state)
        start = time.thread_time()
        for _ in range(count):
            call(step, state)
        return (time.thread_time() - start) / count * 1e6


def render(m: dict, args, elapsed: float, loads: list) -> str:
    lines = [
        SECTION,
        "",
        _header(args.repeats, elapsed, loads),
        "",
        f"`python bench/loop_bench.py` (in `make bench`): the shipped example policy on CartPole-v1"
        f" ({args.episodes} episodes capped at {MAX_STEPS} steps, seeds {SEED}+i) in pytfpol's loop"
        " against the bare `SyncVectorEnv` of as many envs (random actions, its own autoreset),"
        " interleaved in one process; then the same loop with its env steps, resets and policy"
        " calls timed (us per batch step; rest: pytfpol's own work).",
        "",
        "| num_envs | bare steps/s | pytfpol steps/s | ratio | goal | total | env step | env reset"
        " | policy call | rest |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    _speed_rows(m, lines)
    lines += [
        "",
        "CPU time of the loop's thread (`time.thread_time`, little affected by other jobs: the "
        "session runs its ops in the calling thread) per batch step, against the bare "
        "`SyncVectorEnv`'s per step of all its envs (ratio: bare / pytfpol, the same goal), and "
        "of the env step (`Stepper.step`) and the policy call each timed alone in a loop of its "
        "own: rest is the loop's own work (and its resets, ~1 per 200 steps).",
        "",
        "| num_envs | bare CPU us per step | pytfpol CPU us per batch step | CPU ratio | env step"
        " alone | policy call alone | rest |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in NUM_ENVS:
        ratio = m["cpu_ratio", n]
        mark = f"**{ratio:.2f}x**" if ratio >= GOALS[n] else f"{ratio:.2f}x"
        lines.append(
            f"| {n} | {m['bare_cpu', n]:.1f} | {m['cpu_total', n]:.1f} | {mark}"
            f" | {m['cpu_env', n]:.1f} | {m['cpu_call', n]:.1f} | {m['cpu_rest', n]:.1f} |"
        )
    return "\n".join(lines) + "\n"


def _speed_rows(m: dict, lines: list) -> None:
    for n in NUM_ENVS:
        ratio = m["pytfpol", n] / m["bare", n]
        mark = f"**{ratio:.2f}x**" if ratio >= GOALS[n] else f"{ratio:.2f}x"
        lines.append(
            f"| {n} | {m['bare', n]:,.0f} | {m['pytfpol', n]:,.0f} | {mark} | >= {GOALS[n]:.2f}x"
            f" | {m['total', n]:.1f} | {m['step', n]:.1f} | {m['reset', n]:.1f}"
            f" | {m['call', n]:.1f} | {m['rest', n]:.1f} |"
        )


if __name__ == "__main__":
    main()
