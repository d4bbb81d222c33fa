"""Issue 26's start-up row: `pytfpol eval` of one short episode against a minimal TF-Agents script
doing the same (import, load the SavedModel, make the env, run one episode), fresh processes,
interleaved, medians of wall time and peak RSS (`os.wait4`).

The TF-Agents script: `SavedModelPyTFEagerPolicy` of the shipped example `examples/cartpole-dqn`,
a Gymnasium CartPole-v1 capped at 20 steps, reset with seed 0, `policy.action` on TF-Agents
`TimeStep`s until the episode ends. `pytfpol eval` does that and validates the files, checks the
specs, writes its outputs (report, statistics, the policy and evaluation checkpoints).

    python bench/startup_bench.py [--repeats 3] [--no-readme]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from run import EXAMPLE, _header, _timed, publish  # noqa: E402

SECTION = "## start-up to the first episode (issue 26)"
GOALS = {"seconds": 0.8, "peak_rss_mb": 1.0}
MAX_STEPS = 20
TF_AGENTS_SCRIPT = """
import sys
import gymnasium as gym
import numpy as np
import tensorflow_probability  # noqa: F401 - as TF-Agents' policies need it
from tf_agents.policies import py_tf_eager_policy
from tf_agents.trajectories import time_step as ts

policy = py_tf_eager_policy.SavedModelPyTFEagerPolicy(sys.argv[1], load_specs_from_pbtxt=True)
env = gym.make("CartPole-v1", max_episode_steps=int(sys.argv[2]))
observation, _ = env.reset(seed=0)
step = ts.restart(np.asarray(observation, np.float32))
while True:
    action = policy.action(step).action
    observation, reward, terminated, truncated, _ = env.step(int(action))
    if terminated or truncated:
        break
    step = ts.transition(np.asarray(observation, np.float32), np.float32(reward))
"""
PYTFPOL = "pytfpol eval, 1 episode"
TF_AGENTS = "TF-Agents script, 1 episode"


def measure(repeats: int, tmp: Path) -> dict:
    pytfpol = [
        sys.executable, "-m", "pytfpol", "eval", str(EXAMPLE), "--env", "CartPole-v1",
        "--episodes", "1", "--max-episode-steps", str(MAX_STEPS), "-q", "--out",
    ]  # fmt: skip
    tf_agents = [sys.executable, "-c", TF_AGENTS_SCRIPT, str(EXAMPLE), str(MAX_STEPS)]
    samples: dict = {PYTFPOL: [], TF_AGENTS: []}
    for r in range(repeats):
        samples[PYTFPOL].append(_timed([*pytfpol, str(tmp / f"startup-{r}")]))
        samples[TF_AGENTS].append(_timed(tf_agents))
    return {
        name: {
            "seconds": statistics.median(s for s, _ in runs),
            "peak_rss_mb": statistics.median(m for _, m in runs),
        }
        for name, runs in samples.items()
    }


def render(m: dict, args, elapsed: float, loads: list) -> str:
    lines = [
        SECTION,
        "",
        _header(args.repeats, elapsed, loads),
        "",
        "`python bench/startup_bench.py` (in `make bench`): fresh processes, interleaved; "
        f"CartPole-v1 capped at {MAX_STEPS} steps, the shipped example policy. The TF-Agents "
        "script imports TF-Agents, loads the SavedModel (`SavedModelPyTFEagerPolicy`), makes "
        "the env and runs one episode; `pytfpol eval` also validates the files and writes its "
        "outputs.",
        "",
        "| what | seconds | peak RSS MB |",
        "|---|---:|---:|",
    ]
    for name, row in m.items():
        lines.append(f"| {name} | {row['seconds']:.2f} | {row['peak_rss_mb']:.0f} |")
    cells = []
    for key, label in (("seconds", "time"), ("peak_rss_mb", "peak RSS")):
        ratio = m[PYTFPOL][key] / m[TF_AGENTS][key]
        mark = f"**{ratio:.2f}x**" if ratio <= GOALS[key] else f"{ratio:.2f}x"
        cells.append(f"{label} {mark} (goal <= {GOALS[key]}x)")
    lines += ["", "Ratio pytfpol / TF-Agents: " + ", ".join(cells) + ".", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args()
    begun = time.perf_counter()
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="pytfpol-bench-startup-") as tmp:
        medians = measure(args.repeats, Path(tmp))
    loads.append(os.getloadavg()[0])
    text = render(medians, args, time.perf_counter() - begun, loads)
    publish(SECTION, text, args.no_readme)


if __name__ == "__main__":
    main()
