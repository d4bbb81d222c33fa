"""`make bench`: evaluation throughput of pytfpol vs the bare environment and TF-Agents' own loop.

For CartPole-v1, Acrobot-v1, Pendulum-v1 and HalfCheetah-v5, on the same policies, env, seeds
and episodes:

  bare      the env without a policy (random actions), at the same vectorisation:
            `gym-*`  Gymnasium's own vector env (SyncVectorEnv / make_vec native), autoreset;
            `loop-*` pytfpol's loop and stepper with a numpy stand-in for the policy
  tfa-1     TF-Agents' evaluation as its examples do it: `metric_utils.compute` (PyDriver) with
            `SavedModelPyTFEagerPolicy` on one env (`pytfpol.running.envs.GymnasiumEnvironment`)
  tfa-128   the same over `BatchedPyEnvironment` of 128 envs
  pytfpol   `evaluation.run_episodes` (what `pytfpol eval` runs) at --num-envs 1, 8, 32, 128,
            the default, and the default with --vector async (+ native for CartPole)
  off       pytfpol sync at --num-envs 1, 8, 64 with batch invariance switched off
            (`LoadOptions(batch_invariant=False)`): what `pytfpol.policy.invariance` costs

Policies: the shipped example `examples/cartpole-dqn` when present, and PolicySaver SavedModels
made here with random weights of the env's specs: a small (64, 64) and a wide (256, 256) MLP.
Each env runs in its own child process; configurations are interleaved over repeats and the
medians reported. Start-up is timed in fresh processes: `pytfpol eval` of one short episode vs
importing TF-Agents' policies and loading the SavedModel; peak RSS from `os.wait4`.

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
EXAMPLE = REPO / "examples" / "cartpole-dqn"

# Per env: episodes for the batched configurations, episodes for the one-env ones (same seeds,
# a prefix), and the episode cap (the same for every configuration of that env).
ENVS = {
    "CartPole-v1": {"episodes": 256, "few": 8, "tfa_few": 2, "max_steps": 100},
    "Acrobot-v1": {"episodes": 128, "few": 4, "tfa_few": 2, "max_steps": 60},
    "Pendulum-v1": {"episodes": 128, "few": 4, "tfa_few": 2, "max_steps": 60},
    "HalfCheetah-v5": {"episodes": 64, "few": 2, "tfa_few": 1, "max_steps": 100},
}
# Batch sizes at which pytfpol also runs with batch invariance off (LoadOptions(batch_invariant=
# False): no padding to 16 rows, the session's default intra-op threads), to show its cost.
INVARIANCE_NUM_ENVS = (1, 8, 64)
NUM_ENVS = (1, 8, 32, 128)
TFA_BATCH = 128
SEED = 0
NOTE = """
Reading the figures. A `session.run` costs about the same for 1 row as for 128 (0.3-0.8 ms
here, more under load), so pytfpol's rate grows with `--num-envs` until the environment
dominates. Against the bare env the policy call is the whole gap: with a slow env (Acrobot,
~150 us a step) pytfpol reaches 0.8x from 32 envs; with fast ones (CartPole ~25 us, and
Gymnasium's native CartPole ~1.5 us a step at 128 envs) one call per batch step still costs
more than the steps it serves, and only overlapping inference with stepping (two half-batches,
`session.run` in a thread while the other half steps) or a cheaper call (`make_callable`,
single-threaded session) would close it. `async` pays a pipe round trip
per worker per step and only helps envs much slower than that on free cores. Random-weight
CartPole policies fail in ~10 steps, so reset (seeding) costs weigh on their rows.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--envs", default=",".join(ENVS))
    parser.add_argument("--no-readme", action="store_true", help="do not write bench/README.md")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--make-policies", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if args.make_policies:
        return make_policies(Path(args.make_policies))
    if args.worker:
        return worker(json.loads(args.worker))

    started = time.perf_counter()
    env_ids = [e for e in args.envs.split(",") if e]
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
        startup = measure_startup(policy_dir / "CartPole-v1--small", Path(tmp), args.repeats)
    elapsed = time.perf_counter() - started
    text = render(rows, startup, args.repeats, elapsed)
    print(text)
    if not args.no_readme:
        write_section(text)


# ---------------------------------------------------------------------------------------------
# Policies with random weights, written by TF-Agents' PolicySaver (in their own process)


def make_policies(out: Path) -> None:
    sys.path.insert(0, str(REPO))
    from pytfpol.quiet_tf import import_tf

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
    from pytfpol.quiet_tf import import_tf

    import_tf()
    import gymnasium as gym
    import numpy as np
    from tf_agents.environments import batched_py_environment
    from tf_agents.eval import metric_utils
    from tf_agents.metrics import py_metrics
    from tf_agents.policies import py_tf_eager_policy
    from tf_agents.trajectories import policy_step

    from pytfpol.config import default_num_envs
    from pytfpol.formats.sources import resolve_policy_source
    from pytfpol.policy.loading import LoadOptions, load_policy
    from pytfpol.running import evaluation, vector
    from pytfpol.running.env_spec import EnvSpec
    from pytfpol.running.envs import GymnasiumEnvironment

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

    def run_loop(policy, mode: str, n: int, count: int) -> dict:
        step = stepper(mode, n)
        start = time.perf_counter()
        results = evaluation.run_episodes(policy, step, count, SEED)
        seconds = time.perf_counter() - start
        return _rate(sum(r.length for r in results), count, seconds)

    def bare_gym(mode: str, n: int, count: int) -> dict:
        vectorization = "vector_entry_point" if mode == "native" else "sync"
        env = gym.make_vec(
            env_id, num_envs=n, vectorization_mode=vectorization, max_episode_steps=max_steps
        )
        rng = np.random.default_rng(0)
        pool = [env.action_space.sample() for _ in range(64)]
        env.action_space.seed(0)
        env.reset(seed=SEED)
        done_episodes = steps = 0
        start = time.perf_counter()
        while done_episodes < count:
            _, _, terminated, truncated, _ = env.step(pool[int(rng.integers(64))])
            steps += n
            done_episodes += int(np.count_nonzero(terminated | truncated))
        seconds = time.perf_counter() - start
        env.close()
        return _rate(steps, done_episodes, seconds)

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

    # Load everything first (not timed): pytfpol graphs per batch size, TF-Agents eager policies.
    loaded, tfa_policies = {}, {}
    batches = sorted({*NUM_ENVS, default_sync, default_async} & set(range(1, episodes + 1)))
    for name, path in job["policies"].items():
        source = resolve_policy_source(path)
        for n in batches:
            loaded[name, n] = load_policy(source, LoadOptions(batch_size=n))
        for n in set(INVARIANCE_NUM_ENVS) & set(batches):
            loaded[name, n, "variant"] = load_policy(
                source, LoadOptions(batch_size=n, batch_invariant=False)
            )
        for batch in (1, TFA_BATCH):
            tfa_policies[path, batch] = py_tf_eager_policy.SavedModelPyTFEagerPolicy(
                path, load_specs_from_pbtxt=True, batch_time_steps=batch == 1
            )
    like = next(iter(loaded.values())).py_policy

    configs = []  # (group, policy name, label, n, thunk)
    for n in sorted({*NUM_ENVS, default_sync}):
        count = few if n == 1 else episodes
        label = "default" if n == default_sync else str(n)
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
        for n in (32, 128):
            configs.append(
                ("bare", "-", f"gym-native {n}", n, lambda n=n: bare_gym("native", n, episodes))
            )
            configs.append(
                (
                    "bare",
                    "-",
                    f"loop-native {n}",
                    n,
                    lambda n=n: run_loop(NoPolicy(like, n), "native", n, episodes),
                )
            )
    for name, path in job["policies"].items():
        for n in sorted({*NUM_ENVS, default_sync} & set(batches)):
            count = few if n == 1 else episodes
            label = f"sync {n}" + (" (default)" if n == default_sync else "")
            policy = loaded[name, n].py_policy
            session = loaded[name, n].session
            configs.append(
                (
                    "pytfpol",
                    name,
                    label,
                    n,
                    lambda p=policy, s=session, n=n, c=count: _in(s, run_loop, p, "sync", n, c),
                )
            )
        n = default_async
        configs.append(
            (
                "pytfpol",
                name,
                f"async {n}",
                n,
                lambda p=loaded[name, n].py_policy, s=loaded[name, n].session, n=n: _in(
                    s, run_loop, p, "async", n, episodes
                ),
            )
        )
        if native:
            for n in (32, 128):
                configs.append(
                    (
                        "pytfpol",
                        name,
                        f"native {n}",
                        n,
                        lambda p=loaded[name, n].py_policy, s=loaded[name, n].session, n=n: _in(
                            s, run_loop, p, "native", n, episodes
                        ),
                    )
                )
        for n in sorted(set(INVARIANCE_NUM_ENVS) & set(batches)):
            count = few if n == 1 else episodes
            variant = loaded[name, n, "variant"]
            configs.append(
                (
                    "not-invariant",
                    name,
                    f"sync {n}",
                    n,
                    lambda p=variant.py_policy, s=variant.session, n=n, c=count: _in(
                        s, run_loop, p, "sync", n, c
                    ),
                )
            )
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

    samples: dict = {}
    for repeat in range(job["repeats"]):  # interleaved: every configuration once per repeat
        for group, name, label, n, thunk in configs:
            samples.setdefault((group, name, label, n), []).append(thunk())
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


def _in(session, function, *args):
    with session.as_default():
        return function(*args)


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


def render(rows: list, startup: dict, repeats: int, elapsed: float) -> str:
    cpu = _cpu_model()
    lines = [
        SECTION,
        "",
        f"Measured {dt.datetime.now().strftime('%Y-%m-%d %H:%M')} by `make bench` ({elapsed:.0f} s) on "
        f"{platform.node()}: {cpu}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f} at the end, Python {platform.python_version()}. Medians of "
        f"{repeats} interleaved repeats. Seeds {SEED}+i; "
        + "; ".join(
            f"{e}: {c['episodes']} episodes (one-env rows: the first {c['few']}, TF-Agents "
            f"one-env the first {c['tfa_few']}), capped at {c['max_steps']} steps"
            for e, c in ENVS.items()
        )
        + ". Policies other than `example` have random weights (greedy), so CartPole episodes "
        "are short; the trained `example` runs every episode to the cap.",
        "",
        *NOTE.strip().splitlines(),
        "",
    ]
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
        for name in dict.fromkeys(r["policy"] for r in env_rows if r["group"] != "bare"):
            mine = [r for r in env_rows if r["policy"] == name]
            tfa1 = next(r for r in mine if r["config"] == "1 env")
            tfab = next(r for r in mine if r["config"].startswith("batched"))
            for r in mine:
                if r["group"] == "not-invariant":
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
        lines += _invariance_cost(env_rows)
        peak = max(r["worker_peak_rss_mb"] for r in env_rows)
        lines += [
            "",
            f"Peak RSS of this env's benchmark process (all policies loaded): {peak} MB.",
            "",
        ]
    lines += ["### start-up (CartPole-v1, small policy; fresh processes)", ""]
    lines += ["| what | seconds | peak RSS MB |", "|---|---:|---:|"]
    for what, s in startup.items():
        lines.append(f"| {what} | {s['seconds']:.2f} | {s['peak_rss_mb']:.0f} |")
    (a, b) = startup.values()
    lines += [
        "",
        f"Ratio pytfpol / TF-Agents: time {a['seconds'] / b['seconds']:.2f}x, peak RSS "
        f"{a['peak_rss_mb'] / b['peak_rss_mb']:.2f}x.",
        "",
    ]
    return "\n".join(lines)


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
        on = next(
            r
            for r in env_rows
            if r["group"] == "pytfpol"
            and r["policy"] == off["policy"]
            and r["num_envs"] == off["num_envs"]
            and r["config"].startswith("sync")
        )
        lines.append(
            f"| {off['policy']} | {off['num_envs']} | {on['steps_per_s']:,.0f} | "
            f"{off['steps_per_s']:,.0f} | {_ratio(on, off)} |"
        )
    return lines


def _ratio(row: dict, base) -> str:
    if not base:
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


def write_section(text: str) -> None:
    """Replace (or append) our section of bench/README.md; other sections stay as they are."""
    current = README.read_text() if README.exists() else "# Benchmarks\n"
    start = current.find(SECTION)
    if start < 0:
        new = current.rstrip("\n") + "\n\n" + text.rstrip("\n") + "\n"
    else:
        end = current.find("\n## ", start + len(SECTION))
        tail = current[end:] if end >= 0 else ""
        new = current[:start] + text.rstrip("\n") + "\n" + tail
    README.write_text(new)


if __name__ == "__main__":
    main()
