"""`make bench`: evaluation throughput of pytfpol vs the bare environment and TF-Agents' own loop,
and checkpoint validation vs reading the files.

For CartPole-v1, Acrobot-v1, Pendulum-v1 and HalfCheetah-v5, on the same policies, env, seeds
and episodes:

  bare      the env without a policy (random actions), at the same vectorisation:
            `gym-*`  Gymnasium's own vector env (SyncVectorEnv / make_vec native), autoreset;
            `loop-*` pytfpol's loop and stepper with a numpy stand-in for the policy
  tfa-1     TF-Agents' evaluation as its examples do it: `metric_utils.compute` (PyDriver) with
            `SavedModelPyTFEagerPolicy` on one env (`pytfpol.running.envs.GymnasiumEnvironment`)
  tfa-128   the same over `BatchedPyEnvironment` of 128 envs
  pytfpol   `evaluation.run_episodes` (what `pytfpol eval` runs) at --num-envs 1 to 256 in one
            group, 32 to 256 in two pipelined groups (--pipeline-groups 2), the async default,
            and for CartPole --vector native at 32 to 2048 envs
  off       pytfpol sync at --num-envs 1, 8, 64 with batch invariance switched off
            (`LoadOptions(batch_invariant=False)`): what `pytfpol.policy.invariance` costs
  calls     one policy call per batch size: TF-Agents' `PyTFPolicy.action` vs pytfpol's
            `batch_call` (the same graph through one C++ callable); for CartPole also the
            session's thread pools (one intra-op thread or TensorFlow's default; ops in the
            calling thread or an inter-op pool)

Policies: the shipped example `examples/cartpole-dqn` when present, and PolicySaver SavedModels
made here with random weights of the env's specs: a small (64, 64) and a wide (256, 256) MLP.
Each env runs in its own child process; configurations are interleaved over repeats and the
medians reported. Start-up is timed in fresh processes: `pytfpol eval` of one short episode vs
importing TF-Agents' policies and loading the SavedModel; peak RSS from `os.wait4`. Checkpoint
validation: `bench/validation_bench.py`.

    python bench/run.py [--repeats 3] [--envs CartPole-v1,...] [--no-readme]
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "bench" / "README.md"
SECTION = "## eval throughput"
VALIDATION_SECTION = "## checkpoint validation"
# Where a 1-episode eval's start-up goes; measured 2026-12-01 (wall clock and RSS of its parts,
# wrappers around them, one process at a time), not by each run of this script.
STARTUP_NOTES = [
    "Where it goes (measured 2026-12-01 by timing the parts of one such eval, and its RSS after "
    "each). Time: importing TensorFlow, TFP and TF-Agents ~2.3 s, the same modules TF-Agents' "
    "own load imports; pytfpol imports them with the cyclic garbage collector off and then "
    "freezes them (`pytfpol.quiet_tf.heavy_imports`): before, full collections walked the "
    "imported objects 7 times during the eval, 1.1 s in all (TF-Agents' command pays 0.8 s of "
    "them), which made pytfpol 1.2-1.4x TF-Agents. The rest: loading the policy ~0.2 s, the "
    "episode 0.05 s, writing the output checkpoints 0.1 s, `scipy.stats` 0.13 s. Memory: after "
    "the imports 514 MB (TF-Agents: 504 MB: pytfpol's own modules, Gymnasium, rich); loading "
    "+20 MB (TF-Agents' load: +23 MB); the episode (env, policy callable) +11 MB; the output "
    "checkpoints (two checkpoint writes in graph mode) +12 MB; `scipy.stats` +20 MB. The last "
    "two are what `pytfpol eval` promises (a checkpoint in OUT; statistics with bootstrap "
    "intervals from 5 episodes, which scipy computes), so the memory target (1.03x) is missed "
    "by about them.",
]
EARLIER = "## earlier figures"  # new sections go before the kept earlier figures
EXAMPLE = REPO / "examples" / "cartpole-dqn"

# Per env: episodes for the batched configurations, episodes for the one-env ones (same seeds,
# a prefix), and the episode cap (the same for every configuration of that env).
ENVS = {
    "CartPole-v1": {"episodes": 256, "few": 8, "tfa_few": 2, "max_steps": 100},
    "Acrobot-v1": {"episodes": 128, "few": 4, "tfa_few": 2, "max_steps": 60},
    "Pendulum-v1": {"episodes": 128, "few": 4, "tfa_few": 2, "max_steps": 60},
    "HalfCheetah-v5": {"episodes": 64, "few": 2, "tfa_few": 1, "max_steps": 100},
}
NUM_ENVS = (1, 8, 32, 64, 128, 256)
PIPELINED = (32, 64, 128, 256)  # run again in 2 groups (--pipeline-groups 2)
NATIVE_NUM_ENVS = (32, 128, 256, 512, 2048)  # CartPole's native vector env; episodes >= 2 per env
# Batch sizes at which pytfpol also runs with batch invariance off (LoadOptions(batch_invariant=
# False): no padding to 16 rows, the session's default intra-op threads), to show its cost.
INVARIANCE_NUM_ENVS = (1, 8, 64)
CALL_BATCHES = (16, 32, 64, 128, 256)
POOL_BATCHES = (16, 64, 256, 1024, 2048)  # thread pools, CartPole only
POOLS = {  # label: (intra-op threads, inter-op threads); 0 = TensorFlow's default, -1 = caller
    "1 intra, caller's thread (pytfpol)": (1, -1),
    "1 intra, inter-op pool": (1, 0),
    "default intra, caller's thread": (0, -1),
    "TensorFlow's defaults": (0, 0),
}
PROFILE_NUM_ENVS = (32, 64)
TFA_BATCH = 128
SEED = 0
NOTE = """
Reading the figures. Since issue 15 the loop calls the policy's graph through one C++ callable
(`pytfpol.policy.batch_call`: the PyTFPolicy's own placeholders and fetches, ops run in the
calling thread): a call costs ~15-45 us for the 64x64 MLPs up to 256 rows (up to 0.2 ms for
256x256) instead of 0.1-0.3 ms through `PyTFPolicy.action` (table "one policy call"), so the
policy is no longer what limits pytfpol against the bare env from 32 envs up: the env steps are
(table "one batch step, part by part"). Two things the bare `SyncVectorEnv` does not do weigh where
episodes are short (random-weight CartPole policies fail in ~9 steps): pytfpol resets every
episode with its own seed (`reset(seed=S+i)`, ~15 us for CartPole against ~3.5 us for the bare
env's unseeded autoreset) and runs exactly the episodes asked for, so envs idle while the last
ones finish (column "env steps / call"). `sync N g2` splits the N envs into two groups whose
policy calls run in a worker thread while the other group steps (--pipeline-groups 2): with a
call this cheap there is little left to hide, and on this shared 2-core machine the second core
is often busy, so one group is the default. `async` pays a pipe round trip per worker per step
and only helps envs much slower than that on free cores. `native` (CartPole's numpy vector env)
resets each slot with its own seed too (`np_random(seed)`, ~10 us per episode), which the bare
native env (autoreset from one shared generator) does not; at 2048 envs the policy call on one
intra-op thread costs about as much as the env step. The machine is shared: ratios between rows
move by 10-30 % from run to run.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--envs", default=",".join(ENVS))
    parser.add_argument("--no-readme", action="store_true", help="do not write bench/README.md")
    parser.add_argument("--no-validation", action="store_true", help="skip checkpoint validation")
    parser.add_argument("--save", metavar="JSON", help="also write the measurements here")
    parser.add_argument("--render", metavar="JSON", help="only render measurements saved before")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--make-policies", help=argparse.SUPPRESS)
    parser.add_argument("--startup", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if args.make_policies:
        return make_policies(Path(args.make_policies))
    if args.worker:
        return worker(json.loads(args.worker))
    if args.startup:
        job = json.loads(args.startup)
        startup = measure_startup(Path(job["policy"]), Path(job["tmp"]), job["repeats"])
        return print("STARTUP " + json.dumps(startup))

    if args.render:
        saved = json.loads(Path(args.render).read_text())
        return report(saved, args)
    started = time.perf_counter()
    loads = [os.getloadavg()[0]]
    env_ids = [e for e in args.envs.split(",") if e]
    validation_rows: list = []
    if not args.no_validation:
        print("# checkpoint validation", file=sys.stderr, flush=True)
        # In a child: validation keeps every value (~1 GB), and the peak RSS `wait4` reports for
        # a child counts the memory of the process it was forked from.
        validation_rows = run_child(
            [
                sys.executable,
                str(Path(__file__).with_name("validation_bench.py")),
                "--json",
                "--repeats",
                str(max(9, args.repeats)),
            ]
        )
    with tempfile.TemporaryDirectory(prefix="pytfpol-bench-") as tmp:
        policy_dir = Path(tmp) / "policies"
        subprocess.run(
            [sys.executable, __file__, "--make-policies", str(policy_dir)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        rows = []
        for env_id in env_ids:
            policies = {
                p.name.split("--")[1]: str(p) for p in sorted(policy_dir.glob(f"{env_id}--*"))
            }
            if env_id == "CartPole-v1" and (EXAMPLE / "saved_model.pb").exists():
                policies = {"example": str(EXAMPLE), **policies}
            job = {"env_id": env_id, "policies": policies, "repeats": args.repeats, **ENVS[env_id]}
            print(f"# {env_id}: {', '.join(policies)}", file=sys.stderr, flush=True)
            rows += run_child([sys.executable, __file__, "--worker", json.dumps(job)])
            loads.append(os.getloadavg()[0])
        startup = startup_in_child(
            policy_dir / "CartPole-v1--small", Path(tmp), max(7, args.repeats)
        )
    loads.append(os.getloadavg()[0])
    saved = {
        "rows": rows,
        "startup": startup,
        "validation": validation_rows,
        "header": _header(args.repeats, time.perf_counter() - started, loads),
        "repeats": args.repeats,
    }
    if args.save:
        Path(args.save).write_text(json.dumps(saved))
    report(saved, args)


def report(saved: dict, args) -> None:
    """Print the sections and write them into bench/README.md (unless --no-readme)."""
    text = render(saved["rows"], saved["startup"], saved["header"])
    print(text)
    sections = {SECTION: text}
    if saved["validation"]:
        sections[VALIDATION_SECTION] = render_validation(
            saved["validation"], saved["header"], saved["repeats"]
        )
        print(sections[VALIDATION_SECTION])
    if not args.no_readme:
        for title, body in sections.items():
            write_section(title, body)


def _header(repeats: int, elapsed: float, loads: list) -> str:
    return (
        f"Measured {dt.datetime.now().strftime('%Y-%m-%d %H:%M')} by `make bench` "
        f"({elapsed:.0f} s) on {platform.node()}: {_cpu_model()}, {os.cpu_count()} CPUs, load "
        f"average (1 min) {min(loads):.1f}-{max(loads):.1f} during the run (the machine is "
        f"shared with other jobs), Python {platform.python_version()}. Medians of {repeats} "
        "interleaved repeats."
    )


# ---------------------------------------------------------------------------------------------
# Policies with random weights, written by TF-Agents' PolicySaver (in their own process)


def make_policies(out: Path) -> None:
    sys.path.insert(0, str(REPO))
    from pytfpol.policy.quiet_tf import import_tf

    tf = import_tf()
    import gymnasium as gym
    from tf_agents.networks import actor_distribution_network, q_network
    from tf_agents.policies import actor_policy, greedy_policy, policy_saver, q_policy
    from tf_agents.specs import tensor_spec
    from tf_agents.trajectories import time_step as ts

    from pytfpol.running.envs import space_to_spec

    tf.random.set_seed(0)
    for env_id in ENVS:
        env = gym.make(env_id)
        observation = tensor_spec.from_spec(space_to_spec(env.observation_space, "observation"))
        action = tensor_spec.from_spec(space_to_spec(env.action_space, "action"))
        time_step_spec = ts.time_step_spec(observation)
        for name, layers in (("small", (64, 64)), ("wide", (256, 256))):
            if isinstance(env.action_space, gym.spaces.Discrete):
                net = q_network.QNetwork(observation, action, fc_layer_params=layers)
                policy = q_policy.QPolicy(time_step_spec, action, net)
            else:
                net = actor_distribution_network.ActorDistributionNetwork(
                    observation, action, fc_layer_params=layers
                )
                policy = actor_policy.ActorPolicy(time_step_spec, action, net)
            policy_saver.PolicySaver(greedy_policy.GreedyPolicy(policy), batch_size=None).save(
                str(out / f"{env_id}--{name}")
            )


# ---------------------------------------------------------------------------------------------
# One env's measurements, in a child process


def worker(job: dict) -> None:
    sys.path.insert(0, str(REPO))
    from pytfpol.policy.quiet_tf import import_tf

    tf = import_tf()
    import gymnasium as gym
    import numpy as np
    from tf_agents.environments import batched_py_environment
    from tf_agents.eval import metric_utils
    from tf_agents.metrics import py_metrics
    from tf_agents.policies import py_tf_eager_policy
    from tf_agents.trajectories import policy_step
    from tf_agents.trajectories import time_step as ts

    from pytfpol.formats.sources import resolve_policy_source
    from pytfpol.policy import batch_call, invariance
    from pytfpol.policy.loading import LoadOptions, load_policy
    from pytfpol.running import evaluation, vector
    from pytfpol.running.env_spec import EnvSpec
    from pytfpol.running.envs import GymnasiumEnvironment
    from pytfpol.settings import default_num_envs

    env_id, episodes, few = job["env_id"], job["episodes"], job["few"]
    max_steps = job["max_steps"]
    factory = EnvSpec(env_id, {}, max_steps)
    default_sync = min(episodes, default_num_envs("sync"))
    default_async = min(episodes, default_num_envs("async"))
    native = env_id == "CartPole-v1"
    steppers: dict = {}

    def stepper(mode: str, n: int):
        if (mode, n) not in steppers:
            steppers[mode, n] = vector.make_stepper(mode, factory, n)
        return steppers[mode, n]

    class NoPolicy:
        """The policy's specs and random actions from numpy: pytfpol's loop minus TF."""

        def __init__(self, like, n: int) -> None:
            self.time_step_spec, self.action_spec = like.time_step_spec, like.action_spec
            spec, rng = like.action_spec, np.random.default_rng(0)
            low, high = np.broadcast_arrays(spec.minimum, spec.maximum)
            if np.dtype(spec.dtype).kind == "f":
                pool = rng.uniform(low, high, size=(64, n, *spec.shape))
            else:
                pool = rng.integers(low, high + 1, size=(64, n, *spec.shape))
            self._pool = itertools.cycle(pool.astype(spec.dtype))

        def get_initial_state(self, n):
            return ()

        def action(self, time_step, state):
            return policy_step.PolicyStep(next(self._pool), (), ())

    def run_loop(policy, mode: str, n: int, count: int, groups: int = 1) -> dict:
        step = stepper(mode, n)
        start = time.perf_counter()
        results = evaluation.run_episodes(policy, step, count, SEED, groups=groups)
        seconds = time.perf_counter() - start
        return _rate(sum(r.length for r in results), count, seconds)

    def bare_gym(mode: str, n: int, count: int) -> dict:
        return bare_vector_env(env_id, mode, n, count, max_steps)

    def tf_agents(policy_dir: str, batch: int, count: int) -> dict:
        if batch == 1:
            environment = GymnasiumEnvironment(
                gym.make(env_id, max_episode_steps=max_steps), seeds=itertools.count(SEED)
            )
        else:
            environment = batched_py_environment.BatchedPyEnvironment(
                [
                    GymnasiumEnvironment(
                        gym.make(env_id, max_episode_steps=max_steps),
                        seeds=itertools.count(SEED + k, batch),
                    )
                    for k in range(batch)
                ]
            )
        policy = tfa_policies[policy_dir, batch]
        metrics = [py_metrics.EnvironmentSteps(), py_metrics.NumberOfEpisodes()]
        start = time.perf_counter()
        metric_utils.compute(metrics, environment, policy, count)
        seconds = time.perf_counter() - start
        environment.close()
        return _rate(int(metrics[0].result()), int(metrics[1].result()), seconds)

    def native_count(n: int) -> int:
        return max(episodes, 2 * n)

    # Load everything first (not timed): pytfpol graphs per batch size, TF-Agents eager policies.
    sync_sizes = sorted({*NUM_ENVS, default_sync} & set(range(1, episodes + 1)))
    pipelined = [n for n in PIPELINED if n <= episodes]
    batches = {*sync_sizes, default_async, *(-(-n // 2) for n in pipelined), *CALL_BATCHES}
    if native:
        batches |= set(NATIVE_NUM_ENVS)
    loaded, tfa_policies = {}, {}
    for name, path in job["policies"].items():
        source = resolve_policy_source(path)
        for n in sorted(batches):
            loaded[name, n] = load_policy(source, LoadOptions(batch_size=n))
        for n in set(INVARIANCE_NUM_ENVS) & set(sync_sizes):
            loaded[name, n, "variant"] = load_policy(
                source, LoadOptions(batch_size=n, batch_invariant=False)
            )
        for batch in (1, TFA_BATCH):
            tfa_policies[path, batch] = py_tf_eager_policy.SavedModelPyTFEagerPolicy(
                path, load_specs_from_pbtxt=True, batch_time_steps=batch == 1
            )
    like = next(iter(loaded.values())).py_policy

    def pytfpol(name: str, n: int, mode: str, count: int, groups: int = 1, key=None):
        entry = loaded[key or (name, -(-n // groups))]
        return lambda: _in(entry.session, run_loop, entry.py_policy, mode, n, count, groups)

    configs = []  # (group, policy name, label, n, thunk)
    for n in sync_sizes:
        count = few if n == 1 else episodes
        configs.append(
            ("bare", "-", f"gym-sync {n}", n, lambda n=n, c=count: bare_gym("sync", n, c))
        )
        configs.append(
            (
                "bare",
                "-",
                f"loop-sync {n}",
                n,
                lambda n=n, c=count: run_loop(NoPolicy(like, n), "sync", n, c),
            )
        )
    configs.append(
        (
            "bare",
            "-",
            f"loop-async {default_async}",
            default_async,
            lambda: run_loop(NoPolicy(like, default_async), "async", default_async, episodes),
        )
    )
    if native:
        for n in NATIVE_NUM_ENVS:
            c = native_count(n)
            configs.append(
                ("bare", "-", f"gym-native {n}", n, lambda n=n, c=c: bare_gym("native", n, c))
            )
            configs.append(
                (
                    "bare",
                    "-",
                    f"loop-native {n}",
                    n,
                    lambda n=n, c=c: run_loop(NoPolicy(like, n), "native", n, c),
                )
            )
    for name, path in job["policies"].items():
        for n in sync_sizes:
            count = few if n == 1 else episodes
            label = f"sync {n}" + (" (default)" if n == default_sync else "")
            configs.append(("pytfpol", name, label, n, pytfpol(name, n, "sync", count)))
        for n in pipelined:
            configs.append(
                ("pytfpol", name, f"sync {n} g2", n, pytfpol(name, n, "sync", episodes, 2))
            )
        n = default_async
        configs.append(("pytfpol", name, f"async {n}", n, pytfpol(name, n, "async", episodes)))
        if native:
            for n in NATIVE_NUM_ENVS:
                configs.append(
                    ("pytfpol", name, f"native {n}", n, pytfpol(name, n, "native", native_count(n)))
                )
        for n in sorted(set(INVARIANCE_NUM_ENVS) & set(sync_sizes)):
            count = few if n == 1 else episodes
            thunk = pytfpol(name, n, "sync", count, key=(name, n, "variant"))
            configs.append(("not-invariant", name, f"sync {n}", n, thunk))
        configs.append(
            ("tf-agents", name, "1 env", 1, lambda p=path: tf_agents(p, 1, job["tfa_few"]))
        )
        configs.append(
            (
                "tf-agents",
                name,
                f"batched {TFA_BATCH}",
                TFA_BATCH,
                lambda p=path: tf_agents(p, TFA_BATCH, TFA_BATCH),
            )
        )

    # One batch step, part by part: the loop run with the stepper and the policy call timed.
    def profiled(name: str, n: int) -> dict:
        entry = loaded[name, n]
        parts = {"step": 0.0, "reset": 0.0, "call": 0.0, "calls": 0}
        real_stepper = stepper("sync", n)
        timed = _TimedStepper(real_stepper, parts)
        made = evaluation.batch_call

        def timed_batch_call(policy, size, with_info=False):
            return _TimedCall(made(policy, size, with_info), parts)

        evaluation.batch_call = timed_batch_call
        try:
            start = time.perf_counter()
            with entry.session.as_default():
                results = evaluation.run_episodes(entry.py_policy, timed, episodes, SEED)
            total = time.perf_counter() - start
        finally:
            evaluation.batch_call = made
        calls = max(1, parts["calls"])
        return {
            "total_us": total / calls * 1e6,
            "step_us": parts["step"] / calls * 1e6,
            "reset_us": parts["reset"] / calls * 1e6,
            "call_us": parts["call"] / calls * 1e6,
            "episodes_per_call": len(results) / calls,
            "steps_per_call": sum(r.length for r in results) / calls,
        }

    profile_configs = [
        (name, n, lambda name=name, n=n: profiled(name, n))
        for name in job["policies"]
        for n in PROFILE_NUM_ENVS
        if n in sync_sizes
    ]

    # One policy call, as the loop makes it (batch_call) and through PyTFPolicy.action.
    def observations(spec, n: int, rng) -> list:
        return [rng.normal(size=(n, *s.shape)).astype(s.dtype) for s in tf.nest.flatten(spec)]

    def call_thunks(entry, n: int) -> dict:
        spec = entry.py_policy.time_step_spec
        rng = np.random.default_rng(0)
        leaves = [
            np.full(n, ts.StepType.MID, np.int32),
            np.zeros(n, np.float32),
            np.ones(n, np.float32),
            *observations(spec.observation, n, rng),
        ]
        time_step = tf.nest.pack_sequence_as(spec, leaves)
        call = batch_call.batch_call(entry.py_policy, n)
        state = call.initial_state()
        py_state = entry.py_policy.get_initial_state(n)
        return {
            "PyTFPolicy.action": lambda: entry.py_policy.action(time_step, py_state),
            "batch_call": lambda: call(leaves, state),
        }

    call_configs = []  # (policy, label, batch, thunk)
    for name in job["policies"]:
        for n in sorted({*CALL_BATCHES, *PROFILE_NUM_ENVS} & batches):
            for label, thunk in call_thunks(loaded[name, n], n).items():
                call_configs.append((name, label, n, thunk))
    pool_loaded = []
    if native:  # thread pools: sessions made with each configuration
        for name in [p for p in ("example", "wide") if p in job["policies"]]:
            source = resolve_policy_source(job["policies"][name])
            for label, (intra, inter) in POOLS.items():
                for n in POOL_BATCHES:
                    entry = _load_with_pools(
                        tf,
                        invariance,
                        batch_call,
                        load_policy,
                        LoadOptions,
                        source,
                        n,
                        intra,
                        inter,
                    )
                    pool_loaded.append(entry)
                    thunk = call_thunks(entry, n)["batch_call"]
                    call_configs.append((name, f"pool: {label}", n, thunk))

    samples: dict = {}
    call_samples: dict = {}
    profile_samples: dict = {}
    for repeat in range(job["repeats"]):  # interleaved: every configuration once per repeat
        for group, name, label, n, thunk in configs:
            samples.setdefault((group, name, label, n), []).append(thunk())
        for name, label, n, thunk in call_configs:
            call_samples.setdefault((name, label, n), []).append(_time_call(thunk))
        for name, n, thunk in profile_configs:
            profile_samples.setdefault((name, n), []).append(thunk())
        print(f"#   repeat {repeat + 1}/{job['repeats']} done", file=sys.stderr, flush=True)
    for stepper_ in steppers.values():
        stepper_.close()
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for (group, name, label, n), runs in samples.items():
        row = {
            "env": env_id,
            "group": group,
            "policy": name,
            "config": label,
            "num_envs": n,
            "steps_per_s": statistics.median(r["steps_per_s"] for r in runs),
            "episodes_per_s": statistics.median(r["episodes_per_s"] for r in runs),
            "steps": runs[0]["steps"],
            "episodes": runs[0]["episodes"],
            "worker_peak_rss_mb": round(peak),
        }
        print("ROW " + json.dumps(row), flush=True)
    for (name, n), runs in profile_samples.items():
        row = {"env": env_id, "group": "profile", "policy": name, "config": "sync", "num_envs": n}
        row.update({k: statistics.median(r[k] for r in runs) for k in runs[0]})
        print("ROW " + json.dumps(row), flush=True)
    for (name, label, n), runs in call_samples.items():
        row = {
            "env": env_id,
            "group": "call",
            "policy": name,
            "config": label,
            "num_envs": n,
            "us_per_call": statistics.median(runs),
        }
        print("ROW " + json.dumps(row), flush=True)


class _TimedStepper:
    """A stepper whose `step` and `reset` add their seconds to `parts` (for the profile)."""

    def __init__(self, stepper, parts: dict) -> None:
        self._stepper, self._parts = stepper, parts
        self.num_envs = stepper.num_envs
        self.observation_space = stepper.observation_space
        self.action_space = stepper.action_space
        self.steps_every_slot = stepper.steps_every_slot
        self.metrics = stepper.metrics

    def step(self, slots, actions):
        start = time.perf_counter()
        try:
            return self._stepper.step(slots, actions)
        finally:
            self._parts["step"] += time.perf_counter() - start

    def reset(self, slots, seeds):
        start = time.perf_counter()
        try:
            return self._stepper.reset(slots, seeds)
        finally:
            self._parts["reset"] += time.perf_counter() - start


class _TimedCall:
    """A `batch_call` whose calls add their seconds and count to `parts`."""

    def __init__(self, call, parts: dict) -> None:
        self._call, self._parts = call, parts
        self.keyed, self.batch_size = call.keyed, call.batch_size

    def initial_state(self):
        return self._call.initial_state()

    def __call__(self, *args):
        start = time.perf_counter()
        try:
            return self._call(*args)
        finally:
            self._parts["call"] += time.perf_counter() - start
            self._parts["calls"] += 1


def _load_with_pools(tf, invariance, batch_call, load_policy, options, source, n, intra, inter):
    """The policy loaded into a session with these thread pools (padding as shipped)."""
    saved = invariance.session_config, batch_call.INTER_OP_THREADS
    invariance.session_config = lambda: tf.compat.v1.ConfigProto(intra_op_parallelism_threads=intra)
    batch_call.INTER_OP_THREADS = inter
    try:
        return load_policy(source, options(batch_size=n))
    finally:
        invariance.session_config, batch_call.INTER_OP_THREADS = saved


def _time_call(thunk, seconds: float = 0.05) -> float:
    """Median microseconds of one call over ~`seconds`, after a warm-up."""
    for _ in range(10):
        thunk()
    times = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(times) < 20:
        start = time.perf_counter()
        thunk()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def _in(session, function, *args):
    with session.as_default():
        return function(*args)


def bare_vector_env(env_id: str, mode: str, n: int, count: int, max_steps: int) -> dict:
    """The bare Gymnasium vector env (`sync`, or `native`: the id's `vector_entry_point`) stepping
    random actions with its own autoreset until `count` episodes ended: what pytfpol is compared
    with."""
    import gymnasium as gym
    import numpy as np

    vectorization = "vector_entry_point" if mode == "native" else "sync"
    env = gym.make_vec(
        env_id, num_envs=n, vectorization_mode=vectorization, max_episode_steps=max_steps
    )
    rng = np.random.default_rng(0)
    pool = [env.action_space.sample() for _ in range(64)]
    env.action_space.seed(0)
    env.reset(seed=SEED)
    done_episodes = steps = 0
    start, cpu = time.perf_counter(), time.thread_time()
    while done_episodes < count:
        _, _, terminated, truncated, _ = env.step(pool[int(rng.integers(64))])
        steps += n
        done_episodes += int(np.count_nonzero(terminated | truncated))
    seconds, cpu = time.perf_counter() - start, time.thread_time() - cpu
    env.close()
    return {**_rate(steps, done_episodes, seconds), "cpu_s": cpu}


def _rate(steps: int, episodes: int, seconds: float) -> dict:
    return {
        "steps": steps,
        "episodes": episodes,
        "steps_per_s": steps / seconds,
        "episodes_per_s": episodes / seconds,
    }


def run_child(command: list) -> list:
    process = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
    return [json.loads(line[4:]) for line in process.stdout.splitlines() if line.startswith("ROW ")]


# ---------------------------------------------------------------------------------------------
# Start-up: fresh processes, wall time and peak RSS


def startup_in_child(policy: Path, tmp: Path, repeats: int) -> dict:
    """`measure_startup` run by a fresh process: a child's peak RSS (`wait4`) starts from the
    memory of the process it was forked from, and this one holds the validation benchmark's
    arrays (~1 GB)."""
    job = json.dumps({"policy": str(policy), "tmp": str(tmp), "repeats": repeats})
    process = subprocess.run(
        [sys.executable, __file__, "--startup", job], stdout=subprocess.PIPE, text=True, check=True
    )
    line = next(x for x in process.stdout.splitlines() if x.startswith("STARTUP "))
    return json.loads(line[len("STARTUP ") :])


def measure_startup(policy: Path, tmp: Path, repeats: int) -> dict:
    pytfpol_eval = [
        sys.executable, "-m", "pytfpol", "eval", str(policy), "--env", "CartPole-v1",
        "--episodes", "1", "--max-episode-steps", "20", "-q", "--out",
    ]  # fmt: skip
    tfa_load = [
        sys.executable,
        "-c",
        "import tensorflow_probability\n"
        "from tf_agents.policies import py_tf_eager_policy\n"
        f"py_tf_eager_policy.SavedModelPyTFEagerPolicy({str(policy)!r}, load_specs_from_pbtxt=True)",
    ]
    samples: dict = {"pytfpol eval, 1 short episode": [], "TF-Agents import + load": []}
    for r in range(repeats):
        samples["pytfpol eval, 1 short episode"].append(
            _timed([*pytfpol_eval, str(tmp / f"startup-{r}")])
        )
        samples["TF-Agents import + load"].append(_timed(tfa_load))
    return {
        k: {
            "seconds": statistics.median(s for s, _ in v),
            "peak_rss_mb": statistics.median(m for _, m in v),
        }
        for k, v in samples.items()
    }


def _timed(command: list) -> tuple[float, float]:
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed ({status}): {' '.join(command)}")
    return seconds, usage.ru_maxrss / 1024


# ---------------------------------------------------------------------------------------------
# Report


def render(rows: list, startup: dict, header: str) -> str:
    lines = [
        SECTION,
        "",
        header
        + " Seeds "
        + f"{SEED}+i; "
        + "; ".join(
            f"{e}: {c['episodes']} episodes (one-env rows: the first {c['few']}, TF-Agents "
            f"one-env the first {c['tfa_few']}), capped at {c['max_steps']} steps"
            for e, c in ENVS.items()
        )
        + "; native rows run max(episodes, 2 x envs) episodes. Policies other than `example` "
        "have random weights (greedy), so CartPole episodes are short; the trained `example` "
        "runs every episode to the cap. `sync N g2`: N envs in two pipelined groups.",
        "",
        *NOTE.strip().splitlines(),
        "",
    ]
    lines += _targets(rows)
    for env_id in dict.fromkeys(r["env"] for r in rows):
        env_rows = [r for r in rows if r["env"] == env_id]
        bare = {r["config"]: r for r in env_rows if r["group"] == "bare"}
        lines += [f"### {env_id}", "", "bare environment, random actions (no policy):", ""]
        lines += ["| vectorisation | steps/s | episodes/s |", "|---|---:|---:|"]
        for r in bare.values():
            lines.append(
                f"| {r['config']} | {r['steps_per_s']:,.0f} | {r['episodes_per_s']:,.1f} |"
            )
        lines += [
            "",
            "| policy | run | steps/s | episodes/s | / bare gym | / bare loop | / TF-Agents 1 env "
            "| / TF-Agents batched 128 |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for name in dict.fromkeys(r["policy"] for r in env_rows if r["group"] == "pytfpol"):
            mine = [r for r in env_rows if r["policy"] == name]
            tfa1 = next(r for r in mine if r["config"] == "1 env")
            tfab = next(r for r in mine if r["config"].startswith("batched"))
            for r in mine:
                if r["group"] in ("not-invariant", "call", "profile"):
                    continue
                if r["group"] == "tf-agents":
                    lines.append(
                        f"| {name} | TF-Agents {r['config']} | {r['steps_per_s']:,.0f} | "
                        f"{r['episodes_per_s']:,.1f} | | | | |"
                    )
                    continue
                mode, n = r["config"].split()[0], r["num_envs"]
                gym_bare = bare.get(f"gym-{mode} {n}")
                loop_bare = bare.get(f"loop-{mode} {n}")
                lines.append(
                    f"| {name} | pytfpol {r['config']} | {r['steps_per_s']:,.0f} | "
                    f"{r['episodes_per_s']:,.1f} | {_ratio(r, gym_bare)} | {_ratio(r, loop_bare)} | "
                    f"{_ratio(r, tfa1)} | {_ratio(r, tfab) if n == TFA_BATCH or 'default' in r['config'] else ''} |"
                )
        lines += _pipelining(env_rows)
        lines += _invariance_cost(env_rows)
        lines += _calls(env_rows)
        lines += _profile(env_rows)
        lines += _pools(env_rows)
        peak = max(r.get("worker_peak_rss_mb", 0) for r in env_rows)
        lines += [
            "",
            f"Peak RSS of this env's benchmark process (all policies loaded): {peak} MB.",
            "",
        ]
    lines += [
        "### start-up (CartPole-v1, small policy; fresh processes, 7 interleaved repeats)",
        "",
    ]
    lines += ["| what | seconds | peak RSS MB |", "|---|---:|---:|"]
    for what, s in startup.items():
        lines.append(f"| {what} | {s['seconds']:.2f} | {s['peak_rss_mb']:.0f} |")
    (a, b) = startup.values()
    lines += [
        "",
        f"Ratio pytfpol / TF-Agents: time {a['seconds'] / b['seconds']:.2f}x, peak RSS "
        f"{a['peak_rss_mb'] / b['peak_rss_mb']:.2f}x.",
        "",
        *STARTUP_NOTES,
        "",
    ]
    return "\n".join(lines)


def _find(rows: list, **where):
    return next((r for r in rows if all(r.get(k) == v for k, v in where.items())), None)


def _one_group(rows: list, policy: str, n: int):
    """pytfpol sync at `n` envs in one group."""
    return next(
        (
            r
            for r in rows
            if r["group"] == "pytfpol"
            and r["policy"] == policy
            and r["num_envs"] == n
            and r["config"].startswith("sync")
            and not r["config"].endswith(" g2")
        ),
        None,
    )


def _targets(rows: list) -> list:
    """Issue 15's targets, read off this run: pytfpol / bare SyncVectorEnv from 32 envs up
    (the best of one and two groups), and native / bare native."""
    lines = [
        "### targets",
        "",
        "pytfpol sync / bare `SyncVectorEnv` (target >= 0.8x from 32 envs up); in brackets the "
        "run that gave it (1 or 2 groups):",
        "",
        "| env | policy | " + " | ".join(f"{n} envs" for n in PIPELINED) + " |",
        "|---|---|" + "---:|" * len(PIPELINED),
    ]
    for env_id in dict.fromkeys(r["env"] for r in rows):
        env_rows = [r for r in rows if r["env"] == env_id]
        for name in dict.fromkeys(r["policy"] for r in env_rows if r["group"] == "pytfpol"):
            cells = []
            for n in PIPELINED:
                bare = _find(env_rows, group="bare", config=f"gym-sync {n}")
                runs = [
                    r
                    for r in env_rows
                    if r["group"] == "pytfpol"
                    and r["policy"] == name
                    and r["num_envs"] == n
                    and r["config"].startswith("sync")
                ]
                if not bare or not runs:
                    cells.append("")
                    continue
                best = max(runs, key=lambda r: r["steps_per_s"])
                groups = "2" if best["config"].endswith("g2") else "1"
                ratio = best["steps_per_s"] / bare["steps_per_s"]
                mark = "**" if ratio >= 0.8 else ""
                cells.append(f"{mark}{ratio:.2f}x{mark} ({groups})")
            lines.append(f"| {env_id} | {name} | " + " | ".join(cells) + " |")
    native_rows = [r for r in rows if r["config"].startswith(("native", "gym-native"))]
    if native_rows:
        lines += [
            "",
            "pytfpol --vector native / bare native CartPole vector env (target >= 0.5x):",
            "",
            "| policy | " + " | ".join(f"{n} envs" for n in NATIVE_NUM_ENVS) + " |",
            "|---|" + "---:|" * len(NATIVE_NUM_ENVS),
        ]
        for name in dict.fromkeys(r["policy"] for r in native_rows if r["group"] == "pytfpol"):
            cells = []
            for n in NATIVE_NUM_ENVS:
                mine = _find(native_rows, policy=name, config=f"native {n}")
                bare = _find(native_rows, config=f"gym-native {n}")
                cells.append(_ratio(mine, bare) if mine else "")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def _pipelining(env_rows: list) -> list:
    two = [r for r in env_rows if r["group"] == "pytfpol" and r["config"].endswith(" g2")]
    if not two:
        return []
    lines = [
        "",
        "one group vs two pipelined groups (--pipeline-groups 2), pytfpol sync steps/s:",
        "",
        "| policy | num_envs | 1 group | 2 groups | 2 / 1 |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in two:
        one = _one_group(env_rows, r["policy"], r["num_envs"]) or {}
        lines.append(
            f"| {r['policy']} | {r['num_envs']} | {one.get('steps_per_s', 0):,.0f} | "
            f"{r['steps_per_s']:,.0f} | {_ratio(r, one)} |"
        )
    return lines


def _invariance_cost(env_rows: list) -> list:
    """What batch invariance costs: pytfpol sync as shipped vs with it switched off."""
    before = [r for r in env_rows if r["group"] == "not-invariant"]
    if not before:
        return []
    lines = [
        "",
        "batch invariance (pytfpol.policy.invariance) on vs off, pytfpol sync:",
        "",
        "| policy | num_envs | steps/s on | steps/s off | on / off |",
        "|---|---:|---:|---:|---:|",
    ]
    for off in before:
        on = _one_group(env_rows, off["policy"], off["num_envs"])
        lines.append(
            f"| {off['policy']} | {off['num_envs']} | {on['steps_per_s']:,.0f} | "
            f"{off['steps_per_s']:,.0f} | {_ratio(on, off)} |"
        )
    return lines


def _calls(env_rows: list) -> list:
    calls = [r for r in env_rows if r["group"] == "call" and not r["config"].startswith("pool")]
    if not calls:
        return []
    sizes = sorted({r["num_envs"] for r in calls})
    lines = [
        "",
        "one policy call (us, median): TF-Agents' `PyTFPolicy.action` vs pytfpol's `batch_call` "
        "(the same graph and session):",
        "",
        "| policy | call | " + " | ".join(f"batch {n}" for n in sizes) + " |",
        "|---|---|" + "---:|" * len(sizes),
    ]
    for name in dict.fromkeys(r["policy"] for r in calls):
        for label in ("PyTFPolicy.action", "batch_call"):
            cells = [
                _find(calls, policy=name, config=label, num_envs=n) or {"us_per_call": None}
                for n in sizes
            ]
            lines.append(
                f"| {name} | {label} | "
                + " | ".join(
                    f"{c['us_per_call']:.0f}" if c["us_per_call"] is not None else "" for c in cells
                )
                + " |"
            )
    return lines


def _profile(env_rows: list) -> list:
    """One batch step of pytfpol sync (one group), part by part, timed inside the run."""
    rows = [r for r in env_rows if r["group"] == "profile"]
    if not rows:
        return []
    lines = [
        "",
        "one batch step, part by part (us per batch step, i.e. per policy call; pytfpol sync, one "
        "group, timed inside the run): env step = `Stepper.step` of the active envs; env reset = "
        "`reset(seed=S+i)` of the episodes started; policy call = `batch_call`; rest = the "
        "loop's own work (observation and action checks, writing the batch arrays, state "
        "resets, results). The bare `SyncVectorEnv` step is for the same number of envs "
        "(random actions, its own autoreset without seeds):",
        "",
        "| policy | num_envs | env steps / call | episodes / call | total | env step | env reset | "
        "policy call | rest | bare gym step |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        gym_ = _find(env_rows, group="bare", config=f"gym-sync {r['num_envs']}")
        bare = f"{r['num_envs'] / gym_['steps_per_s'] * 1e6:.0f}" if gym_ else ""
        rest = r["total_us"] - r["step_us"] - r["reset_us"] - r["call_us"]
        lines.append(
            f"| {r['policy']} | {r['num_envs']} | {r['steps_per_call']:.1f} | "
            f"{r['episodes_per_call']:.2f} | {r['total_us']:.0f} | {r['step_us']:.0f} | "
            f"{r['reset_us']:.0f} | {r['call_us']:.0f} | {rest:.0f} | {bare} |"
        )
    return lines


def _pools(env_rows: list) -> list:
    pools = [r for r in env_rows if r["group"] == "call" and r["config"].startswith("pool: ")]
    if not pools:
        return []
    sizes = sorted({r["num_envs"] for r in pools})
    lines = [
        "",
        "session thread pools, one `batch_call` (us, median; batches padded to 16 rows as "
        "shipped). One intra-op thread is also what batch invariance needs:",
        "",
        "| policy | threads | " + " | ".join(f"batch {n}" for n in sizes) + " |",
        "|---|---|" + "---:|" * len(sizes),
    ]
    for name in dict.fromkeys(r["policy"] for r in pools):
        for label in POOLS:
            cells = [_find(pools, policy=name, config=f"pool: {label}", num_envs=n) for n in sizes]
            lines.append(
                f"| {name} | {label} | "
                + " | ".join(f"{c['us_per_call']:.0f}" if c else "" for c in cells)
                + " |"
            )
    return lines


def render_validation(rows: list, header: str, repeats: int) -> str:
    import validation_bench

    lines = [
        VALIDATION_SECTION,
        "",
        header.replace(f"Medians of {repeats} interleaved", "Medians of interleaved"),
        "",
        "Every checkpoint TensorFlow will read is validated first (`pytfpol.formats.validation`:"
        " each tensor's CRC32C, non-finite floats, NumPy payloads), and every value it read is "
        "kept: pytfpol assigns the variables to the graph itself, TensorFlow never opens the "
        "files. Checkpoints written by TensorFlow (`tf.train.Checkpoint`, float32 variables of "
        "at most 16 MiB, random normal values) in a temporary directory, from the page cache; "
        "target: validation at most 2x `cat`. `pytfpol eval` also hashes every file (sha256, "
        "the report's `policy.files`): column validation + sha256.",
        "",
        *validation_bench.render(rows, max(9, repeats)),
        "",
    ]
    return "\n".join(lines)


def _ratio(row, base) -> str:
    if not base or not row:
        return ""
    return f"{row['steps_per_s'] / base['steps_per_s']:.2f}x"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def publish(section: str, text: str, no_readme: bool) -> None:
    """Print a bench's section of bench/README.md, and write it there unless --no-readme."""
    print(text)
    if not no_readme:
        write_section(section, text)


def write_section(title: str, text: str) -> None:
    """Replace (or insert, before the earlier figures) one section of bench/README.md; other
    sections stay as they are."""
    current = README.read_text() if README.exists() else "# Benchmarks\n"
    lines = current.split("\n")
    try:
        start = lines.index(title)
    except ValueError:
        start = None
    if start is None:
        earlier = next((i for i, line in enumerate(lines) if line.startswith(EARLIER)), None)
        if earlier is None:
            new = current.rstrip("\n") + "\n\n" + text.rstrip("\n") + "\n"
        else:
            new = "\n".join([*lines[:earlier], text.rstrip("\n"), "", *lines[earlier:]])
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        tail = lines[end:]
        new = "\n".join([*lines[:start], text.rstrip("\n"), *([""] + tail if tail else [])])
    README.write_text(new if new.endswith("\n") else new + "\n")


if __name__ == "__main__":
    main()
