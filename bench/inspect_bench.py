"""How long `pytfpol inspect` takes next to a bare `python -c "import tensorflow"`.

    python bench/inspect_bench.py [PATH] [--repeats N]

PATH defaults to the shipped example SavedModel `examples/cartpole-dqn`. Both commands run as
fresh processes, interleaved (inspect, import, inspect, ...) so that machine load affects both
alike; the medians and their ratio are printed. Inspect reads the checkpoint format itself and
never imports TensorFlow, so the ratio is expected to be well below 1.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PATH = REPO / "examples" / "cartpole-dqn"


def timed(command: list[str]) -> float:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "NO_COLOR": "1"}
    started = time.perf_counter()
    subprocess.run(
        command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=str(DEFAULT_PATH))
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    if not Path(args.path).exists():
        sys.exit(
            f"{args.path}: not found (train it with `make train-example`, or give a PolicySaver dir)"
        )
    inspect = [sys.executable, "-m", "pytfpol", "inspect", args.path]
    import_tf = [sys.executable, "-c", "import tensorflow"]
    timed(inspect), timed(import_tf)  # warm the file cache; not counted
    inspect_times, import_times = [], []
    for _ in range(args.repeats):
        inspect_times.append(timed(inspect))
        import_times.append(timed(import_tf))
    inspect_median = statistics.median(inspect_times)
    import_median = statistics.median(import_times)
    print(f"path: {args.path}")
    print(f"repeats: {args.repeats} (interleaved), cpus: {os.cpu_count()}")
    print(f"pytfpol inspect          median {inspect_median:.3f} s  (min {min(inspect_times):.3f})")
    print(
        f"python -c 'import tensorflow'  median {import_median:.3f} s  (min {min(import_times):.3f})"
    )
    print(f"ratio inspect / import tensorflow: {inspect_median / import_median:.2f}")


if __name__ == "__main__":
    main()
