"""Why a continuous action depended on the batch size, and what removes it: a minimal reproduction.

    python bench/determinism_repro.py [--kernels-only] [--repeats N]

Prints markdown tables (the findings in bench/README.md "batch invariance" come from here).

Part 1, kernels: one op in a graph-mode session, its input a placeholder with a static batch (as
`PyTFPolicy` builds it). The same 64 rows are computed in batches of 1, 2, 3, 8, 33 and 64, at two
offsets so that each row sits at several positions; a cell counts the rows whose output differs
in any bit from the batch-64 result. Columns: the session as TensorFlow makes it, one intra-op
thread, batches padded to a multiple of 16 rows (copies of row 0), and both.

Part 2, policies: real TF-Agents policies written by PolicySaver (tests/helpers/artifacts_determinism.py:
SAC's MLP actor, an LSTM actor, a conv actor on images), loaded by pytfpol's own loading path,
three steps with the policy state carried; the same four variants (pytfpol's is "both"), and the
median time of one policy call at each batch size.

Part 3, sampling: the median time of one call of SAC's actor rebuilt from a Checkpointer directory
(configs/tf-agents-sac-v2-actor.toml), greedy vs `--stochastic` (per-row stateless sampling).

Each part runs in a fresh process with oneDNN off (TF_ENABLE_ONEDNN_OPTS=0, what pytfpol sets) and
on (TensorFlow's default on x86 Linux): the variable must be set before TensorFlow is imported.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
BATCHES = (1, 2, 3, 8, 33, 64)
ROWS = 64
OFFSETS = (0, 5)
VARIANTS = ("as made", "1 thread", "padded", "both")
POLICIES = ("cheetah_sac_sm", "cheetah_rnn_sm", "pixels_conv_sm")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kernels-only", action="store_true")
    parser.add_argument("--repeats", type=int, default=20, help="timed calls per cell")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        job = json.loads(args.child)
        part = job["part"]
        if part == "kernels":
            rows = kernels()
        elif part == "policies":
            rows = policies(Path(job["dir"]), job["repeats"])
        else:
            rows = sampling_cost(Path(job["dir"]), job["repeats"])
        print("ROWS " + json.dumps(rows))
        return
    with tempfile.TemporaryDirectory(prefix="pytfpol-repro-") as tmp:
        parts = ["kernels"]
        if not args.kernels_only:
            parts += ["policies", "sampling"]
            subprocess.run(
                [sys.executable, str(REPO / "tests" / "helpers" / "artifacts_determinism.py"), tmp],
                check=True,
                stdout=subprocess.DEVNULL,
                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
            )
        for part in parts:
            for onednn in ("0", "1") if part != "sampling" else ("0",):
                job = {"part": part, "dir": tmp, "repeats": args.repeats}
                env = {
                    **os.environ,
                    "TF_ENABLE_ONEDNN_OPTS": onednn,
                    "TF_CPP_MIN_LOG_LEVEL": "3",
                    # Per-session intra-op pools (as pytfpol sets it), so that each session's
                    # own thread count applies; the variable is read at the first session.
                    "TF_OVERRIDE_GLOBAL_THREADPOOL": "1",
                }
                out = subprocess.run(
                    [sys.executable, __file__, "--child", json.dumps(job)],
                    check=True,
                    stdout=subprocess.PIPE,
                    text=True,
                    env=env,
                ).stdout
                rows = json.loads(out.split("ROWS ", 1)[1])
                print(render(part, onednn, rows), flush=True)


def render(part: str, onednn: str, rows: list) -> str:
    if part == "sampling":
        lines = ["#### sampling cost (ms per policy call, median)", ""]
        lines += ["| policy | " + " | ".join(f"batch {b}" for b in BATCHES) + " |"]
        lines += ["|---|" + "---:|" * len(BATCHES)]
        for row in rows:
            lines.append(
                f"| {row['case']} | "
                + " | ".join(f"{row['ms'][str(b)]:.2f}" for b in BATCHES)
                + " |"
            )
        return "\n".join([*lines, ""])
    title = f"{part}, oneDNN {'on' if onednn == '1' else 'off'}"
    head = "rows differing from batch 64, at batch " + " / ".join(str(b) for b in BATCHES)
    lines = [f"#### {title}", "", f"| case | {' | '.join(VARIANTS)} |", "|---|" + "---|" * 4]
    for row in rows:
        cells = []
        for variant in VARIANTS:
            cell = row[variant]
            text = " / ".join(str(cell["differ"][str(b)]) for b in BATCHES)
            if "ms" in cell:
                text += "<br>ms per call: " + " / ".join(
                    f"{cell['ms'][str(b)]:.2f}" for b in BATCHES
                )
            cells.append(text)
        lines.append(f"| {row['case']} | {' | '.join(cells)} |")
    return "\n".join([*lines, "", f"({head}; {2 * ROWS} row placements per batch size)", ""])


# ---------------------------------------------------------------------------------------------
# Part 1: single ops


def kernels() -> list:
    import tensorflow as tf

    rng = np.random.default_rng(0)

    def dense(k, n):
        w = (rng.normal(size=(k, n)) / np.sqrt(k)).astype(np.float32)
        b = rng.normal(size=n).astype(np.float32)
        return (k,), lambda x: tf.nn.relu(tf.matmul(x, w) + b)

    def conv():
        f = rng.normal(size=(3, 3, 3, 8)).astype(np.float32) / 5
        return (24, 24, 3), lambda x: tf.nn.relu(tf.nn.conv2d(x, f, 2, "VALID"))

    cases = {
        "MatMul+BiasAdd+Relu 17x256": dense(17, 256),
        "MatMul+BiasAdd+Relu 256x256": dense(256, 256),
        "MatMul+BiasAdd+Relu 2048x256": dense(2048, 256),
        "MatMul+BiasAdd+Relu 3136x512": dense(3136, 512),
        "Exp on (batch, 6)": ((6,), tf.exp),
        "Sigmoid on (batch, 6)": ((6,), tf.sigmoid),
        "Conv2D 3x3/2 on 24x24x3": conv(),
    }
    out = []
    for case, (shape, fn) in cases.items():
        x = rng.normal(size=(ROWS, *shape)).astype(np.float32)
        row = {"case": case}
        for variant in VARIANTS:
            threads = 1 if variant in ("1 thread", "both") else 0
            pad = variant in ("padded", "both")
            results = {}
            for batch in BATCHES:
                fed = -(-batch // 16) * 16 if pad else batch
                graph = tf.Graph()
                with graph.as_default():
                    placeholder = tf.compat.v1.placeholder(tf.float32, (fed, *shape))
                    y = fn(placeholder)
                config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=threads)
                with tf.compat.v1.Session(graph=graph, config=config) as session:
                    results[batch] = _placements(
                        lambda rows_, s=session, p=placeholder, y=y, fed=fed, x=x: s.run(
                            y, {p: _pad(x[rows_], fed)}
                        )[: len(rows_)],
                        batch,
                    )
            row[variant] = {"differ": _differ(results)}
        out.append(row)
    return out


def _pad(batch: np.ndarray, rows: int) -> np.ndarray:
    return np.concatenate([batch, np.repeat(batch[:1], rows - len(batch), axis=0)])


def _placements(compute, batch: int) -> np.ndarray:
    """Output per (offset, row): every row computed inside batches of `batch` rows."""
    results = []
    for offset in OFFSETS:
        first = None
        for start in range(0, ROWS, batch):
            rows = (offset + np.arange(start, min(start + batch, ROWS))) % ROWS
            value = compute(rows)
            if first is None:
                first = np.empty((ROWS, *value.shape[1:]), value.dtype)
            first[rows] = value
        results.append(first)
    return np.stack(results)


def _differ(results: dict) -> dict:
    reference = results[64][0]
    return {
        str(b): int((r != reference).reshape(len(OFFSETS) * ROWS, -1).any(axis=1).sum())
        for b, r in results.items()
    }


# ---------------------------------------------------------------------------------------------
# Part 2: policies through pytfpol's loading path


def policies(directory: Path, repeats: int) -> list:
    sys.path.insert(0, str(REPO))
    from pytfpol.policy.quiet_tf import import_tf

    tf = import_tf()
    from tf_agents.trajectories import time_step as ts

    from pytfpol.formats.sources import resolve_policy_source
    from pytfpol.policy import invariance, loading

    rng = np.random.default_rng(1)
    out = []
    for name in POLICIES:
        source = resolve_policy_source(str(directory / name))
        row = {"case": name}
        observations = None
        for variant in VARIANTS:
            results, ms = {}, {}
            for batch in BATCHES:
                with _variant(variant, invariance, tf):
                    loaded = loading.load_policy(
                        source, loading.LoadOptions(batch_size=batch, batch_invariant=True)
                    )
                policy = loaded.py_policy
                spec = loaded.observation_spec
                if observations is None:
                    observations = (
                        rng.integers(0, 256, size=(ROWS, *spec.shape)).astype(spec.dtype)
                        if np.dtype(spec.dtype).kind == "u"
                        else rng.normal(size=(ROWS, *spec.shape)).astype(spec.dtype)
                    )

                def time_step(rows, t, observations=observations):
                    n = len(rows)
                    step_type = np.full(n, ts.StepType.FIRST if t == 0 else ts.StepType.MID)
                    return ts.TimeStep(
                        step_type.astype(np.int32),
                        np.zeros(n, np.float32),
                        np.ones(n, np.float32),
                        observations[(rows + 7 * t) % ROWS],
                    )

                def three_steps(rows, policy=policy, batch=batch):
                    real = len(rows)  # the last batch is filled up with copies of its first row
                    rows = np.concatenate([rows, np.repeat(rows[:1], batch - real)])
                    state, actions = policy.get_initial_state(batch), []
                    for t in range(3):
                        step = policy.action(time_step(rows, t), state)
                        state = step.state
                        actions.append(step.action)
                    return np.stack(actions, axis=1)[:real]

                with loaded.session.as_default():
                    results[batch] = _placements(three_steps, batch)
                    ms[str(batch)] = _time_call(policy, time_step(np.arange(batch), 1), repeats)
                loaded.close()
            row[variant] = {"differ": _differ(results), "ms": ms}
        out.append(row)
    return out


def sampling_cost(directory: Path, repeats: int) -> list:
    sys.path.insert(0, str(REPO))
    from pytfpol.policy.quiet_tf import import_tf

    import_tf()
    import gymnasium as gym
    from tf_agents.trajectories import time_step as ts

    from pytfpol.formats.sources import resolve_policy_source
    from pytfpol.policy import loading
    from pytfpol.policy.policy_config import load_policy_config
    from pytfpol.running import envs

    env = gym.make("HalfCheetah-v5")
    specs = envs.tensor_specs(
        {
            "observation": envs.space_to_spec(env.observation_space, "observation"),
            "action": envs.space_to_spec(env.action_space, "action"),
        }
    )
    config = load_policy_config(REPO / "configs" / "tf-agents-sac-v2-actor.toml")
    source = resolve_policy_source(str(directory / "cheetah_sac_ckpt"))
    rng = np.random.default_rng(1)
    out = []
    for stochastic in (False, True):
        ms = {}
        for batch in BATCHES:
            options = loading.LoadOptions(batch, config=config, stochastic=stochastic, seed=0)
            loaded = loading.load_policy(source, options, specs)
            step = ts.TimeStep(
                np.ones(batch, np.int32),
                np.zeros(batch, np.float32),
                np.ones(batch, np.float32),
                rng.normal(size=(batch, 17)),
            )
            if stochastic:
                loaded.py_policy.set_episode_keys(np.arange(batch), np.zeros(batch))
            with loaded.session.as_default():
                ms[str(batch)] = _time_call(loaded.py_policy, step, repeats)
            loaded.close()
        out.append({"case": "SAC actor, " + ("--stochastic" if stochastic else "greedy"), "ms": ms})
    return out


@contextlib.contextmanager
def _variant(variant: str, invariance, tf):
    """pytfpol's loading with one or both of its measures switched off."""
    saved = invariance.compute_batch, invariance.session_config
    if variant in ("as made", "1 thread"):
        invariance.compute_batch = lambda n: n
    if variant in ("as made", "padded"):
        invariance.session_config = lambda: tf.compat.v1.ConfigProto()
    try:
        yield
    finally:
        invariance.compute_batch, invariance.session_config = saved


def _time_call(policy, time_step, repeats: int) -> float:
    state = policy.get_initial_state(time_step.step_type.shape[0])
    policy.action(time_step, state)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        policy.action(time_step, state)
        samples.append((time.perf_counter() - start) * 1e3)
    return statistics.median(samples)


if __name__ == "__main__":
    main()
