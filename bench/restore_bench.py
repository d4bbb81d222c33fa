"""Issue 26's 400 MB row: pytfpol validating and reading a 400 MB policy into its graph against
TensorFlow's own restore of the same variables from the same files.

A PolicySaver SavedModel of a CartPole Q-network with two hidden layers of 10,240 units (~420 MB
of float32 variables) is written in a temporary directory (in a child process). Then, in one
process, with the policy loaded once (graph built, not timed) and the files in the page cache,
interleaved over repeats (medians):

  pytfpol     `validation.validate(source)` (every tensor's CRC32C and finiteness, each file's
              sha256 for the report) then `LoadedPolicy.restore` (the values validation read,
              assigned through placeholders): what `pytfpol eval` and each checkpoint of a sweep
              do. Timed also part by part, and validation without the sha256.
  TensorFlow  `tf.compat.v1.train.Saver(var_list).restore` of the same variables (by their
              checkpoint keys) from the same prefix into the same session: RestoreV2 + Assign,
              no checksum beyond TensorFlow's own, no hash.

    python bench/restore_bench.py [--repeats 5] [--units 10240] [--no-readme]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from run import _header, publish  # noqa: E402

SECTION = "## validate + read a 400 MB checkpoint (issue 26)"
GOAL = 1.5


def make_policy(out: Path, units: int) -> None:
    """A PolicySaver SavedModel with ~(units^2 * 4) bytes of variables (its own process)."""
    from pytfpol.policy.quiet_tf import import_tf

    import_tf()
    import gymnasium as gym
    from tf_agents.networks import q_network
    from tf_agents.policies import greedy_policy, policy_saver, q_policy
    from tf_agents.specs import tensor_spec
    from tf_agents.trajectories import time_step as ts

    from pytfpol.running.envs import space_to_spec

    env = gym.make("CartPole-v1")
    observation = tensor_spec.from_spec(space_to_spec(env.observation_space, "observation"))
    action = tensor_spec.from_spec(space_to_spec(env.action_space, "action"))
    net = q_network.QNetwork(observation, action, fc_layer_params=(units, units))
    policy = q_policy.QPolicy(ts.time_step_spec(observation), action, net)
    policy_saver.PolicySaver(greedy_policy.GreedyPolicy(policy), batch_size=None).save(str(out))


def measure(policy_dir: Path, repeats: int) -> dict:
    from pytfpol.policy.quiet_tf import import_tf

    tf = import_tf()
    from pytfpol.formats import validation
    from pytfpol.formats.sources import resolve_policy_source
    from pytfpol.policy import checkpoints
    from pytfpol.policy.loading import LoadOptions, load_policy

    source = resolve_policy_source(str(policy_dir))
    prefix = str(policy_dir / "variables" / "variables")
    loaded = load_policy(source, LoadOptions(batch_size=1))
    session = loaded.session
    with session.graph.as_default():
        policy = loaded.checkpoint_objects["policy"]
        variables = checkpoints.variables_by_key(policy._trackable_children())
        saver = tf.compat.v1.train.Saver(var_list=variables)
    size = sum(f.stat().st_size for f in (policy_dir / "variables").iterdir())
    samples: dict = {}

    def timed(what: str, thunk):
        start = time.perf_counter()
        value = thunk()
        samples.setdefault(what, []).append(time.perf_counter() - start)
        return value

    for _ in range(repeats + 1):  # the first round warms the page cache, not kept
        checked = timed("validate", lambda: validation.validate(source))
        timed("assign", lambda checked=checked: loaded.restore(source, checked))
        checked = None  # freed before the next round
        timed("validate_no_sha", lambda: validation.check_bundle(prefix, digests=False))
        with session.graph.as_default():
            timed("tf_restore", lambda: saver.restore(session, prefix))
    for values in samples.values():
        del values[0]
    medians = {what: statistics.median(values) for what, values in samples.items()}
    pytfpol = [v + a for v, a in zip(samples["validate"], samples["assign"])]
    medians["pytfpol"] = statistics.median(pytfpol)
    medians["bytes"] = size
    return medians


def render(m: dict, args, elapsed: float, loads: list) -> str:
    ratio = m["pytfpol"] / m["tf_restore"]
    mark = f"**{ratio:.2f}x**" if ratio <= GOAL else f"{ratio:.2f}x"
    return "\n".join(
        [
            SECTION,
            "",
            _header(args.repeats, elapsed, loads),
            "",
            f"`python bench/restore_bench.py` (in `make bench`): a PolicySaver SavedModel of "
            f"{m['bytes'] / 1e6:,.0f} MB of float32 variables (CartPole Q-network, two hidden "
            f"layers of {args.units:,} units), loaded once, from the page cache; pytfpol "
            "validates it (`validation.validate`: each tensor's CRC32C and finiteness, each "
            "file's sha256) and assigns what it read (`LoadedPolicy.restore`), against "
            "TensorFlow's `Saver.restore` of the same variables from the same files into the "
            f"same session. Goal: pytfpol at most {GOAL}x TensorFlow's restore.",
            "",
            "| what | seconds |",
            "|---|---:|",
            f"| TensorFlow `Saver.restore` | {m['tf_restore']:.3f} |",
            f"| pytfpol validate + read | {m['pytfpol']:.3f} |",
            f"| ratio pytfpol / TensorFlow | {mark} (goal <= {GOAL}x) |",
            f"| of which: validation with sha256 | {m['validate']:.3f} |",
            f"| of which: assigning the values read | {m['assign']:.3f} |",
            f"| validation without sha256 (`check_bundle(digests=False)`) | "
            f"{m['validate_no_sha']:.3f} |",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--units", type=int, default=10240)
    parser.add_argument("--no-readme", action="store_true")
    parser.add_argument("--make", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make:
        make_policy(Path(args.make), args.units)
        return
    begun = time.perf_counter()
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="pytfpol-bench-restore-") as tmp:
        policy_dir = Path(tmp) / "policy"
        subprocess.run(
            [sys.executable, __file__, "--make", str(policy_dir), "--units", str(args.units)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        medians = measure(policy_dir, args.repeats)
    loads.append(os.getloadavg()[0])
    text = render(medians, args, time.perf_counter() - begun, loads)
    publish(SECTION, text, args.no_readme)


if __name__ == "__main__":
    main()
