"""`--backend ray`: sweeps and evaluations on a real Ray cluster give the local run's results.

One real local Ray cluster is started for the session (2 CPUs, no dashboard, a small object
store, on 127.0.0.1) and every Ray process it started is checked gone at the end; CLI runs in
child processes join it through RAY_ADDRESS, in-process runs use it directly. No mocks: the
actors import TensorFlow, build the example Learner run's graph and run CartPole episodes.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

# Read by Ray when it is imported: "0" makes the nodes it starts use 127.0.0.1, not the machine's
# network address (Ray's default on macOS and Windows). Set before anything imports Ray.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
ray = pytest.importorskip("ray")

pytestmark = pytest.mark.ray

from pytfpol import api  # noqa: E402
from pytfpol.errors import InputError, RunError, UsageError  # noqa: E402
from pytfpol.formats import validation  # noqa: E402
from pytfpol.formats.sources import resolve_policy_source  # noqa: E402
from pytfpol.running import shipping  # noqa: E402
from pytfpol.running.ray_runner import redact  # noqa: E402
from pytfpol.settings import EvalSettings, SweepSettings  # noqa: E402
from tests.helpers.repo import EXAMPLE_POLICY, REPO, run_cli, run_counting_opens  # noqa: E402

LEARNER_RUN = REPO / "examples" / "cartpole-dqn-run"
# Small but real: the newest 3 checkpoints, 6 episodes each capped at 60 steps, the best
# confirmed on 3 fresh seeds.
SWEEP = {"last": 3, "confirm_episodes": 3}
EPISODES, STEPS = 6, 60


@pytest.fixture(scope="session")
def cluster():
    """A real local Ray cluster for the session; afterwards, none of its processes remain."""
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=96 * 1024 * 1024,
        logging_level="ERROR",
        log_to_driver=False,
    )
    node = ray._private.worker._global_node
    started = [info.process.pid for infos in node.all_processes.values() for info in infos]
    address = ray.get_runtime_context().gcs_address
    assert address.startswith("127.0.0.1:"), address
    workers: set[int] = set()
    yield {"address": address, "workers": workers}
    ray.shutdown()
    left = set(started) | workers
    for _ in range(100):
        left = {pid for pid in left if _running(pid)}
        if not left:
            break
        time.sleep(0.1)
    assert not left, f"Ray processes still running after shutdown: {sorted(left)}"


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def sweep_settings(out: Path, **backend) -> SweepSettings:
    return SweepSettings(
        paths=(str(LEARNER_RUN),),
        eval=EvalSettings(
            str(LEARNER_RUN),
            "CartPole-v1",
            episodes=EPISODES,
            seed=3,
            max_episode_steps=STEPS,
            out=str(out),
            **backend,
        ),
        **SWEEP,
    )


def outcome(document: dict) -> dict:
    """Everything of a sweep that must not depend on the backend."""
    return {
        "entries": [
            (e["step"], e["train_step"], e["complete"], e["error"], e["episodes"], e["summary"])
            for e in document["checkpoints"]
        ],
        "best": {k: v for k, v in document["best"].items() if k != "output"},
    }


def record_workers(cluster, document: dict) -> None:
    cluster["workers"].update(u["pid"] for u in document["backend"]["units"] if u["pid"])


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("ray") / "local"
    return api.sweep(sweep_settings(out))


# ------------------------------------------------------------------------- identical results


@pytest.mark.parametrize("actors, unit_episodes", [(1, 4), (2, 2)])
def test_sweep_on_ray_equals_the_local_sweep(cluster, local_sweep, tmp_path, actors, unit_episodes):
    out = tmp_path / "ray"
    document = api.sweep(
        sweep_settings(out, backend="ray", actors=actors, unit_episodes=unit_episodes)
    )
    record_workers(cluster, document)
    assert document["complete"] and document["passed"]
    assert [e["step"] for e in document["checkpoints"]] == [12288, 14336, 15360]
    assert outcome(document) == outcome(local_sweep)
    local_out = Path(local_sweep["output"]["dir"])
    for name in ("curve.csv", "episodes.csv"):
        assert (out / name).read_bytes() == (local_out / name).read_bytes()
    best = json.loads((out / "best" / "stats.json").read_text())
    local_best = json.loads((local_out / "best" / "stats.json").read_text())
    assert best["episodes"] == local_best["episodes"]
    assert [e["seed"] for e in best["episodes"]] == [3 + EPISODES + i for i in range(3)]

    backend = document["backend"]
    assert backend["name"] == "ray" and backend["actors"] == actors
    assert backend["unit_episodes"] == unit_episodes
    sweep_units = [u for u in backend["units"] if u["run"] == 0]
    blocks = [(first, min(unit_episodes, EPISODES - first)) for first in range(0, 6, unit_episodes)]
    assert sorted((u["step"], u["first"], u["count"]) for u in sweep_units) == [
        (step, first, count) for step in (12288, 14336, 15360) for first, count in blocks
    ]
    assert all(u["host"] and u["attempts"] == 1 for u in backend["units"])
    assert len({u["pid"] for u in backend["units"]}) <= actors
    local_units = local_sweep["backend"]["units"]
    assert local_sweep["backend"]["name"] == "local"
    assert [(u["first"], u["count"]) for u in local_units if u["run"] == 0] == [(0, 6)] * 3


def test_eval_on_ray_equals_the_local_eval(cluster, tmp_path):
    def evaluate(name: str, **backend) -> dict:
        settings = EvalSettings(
            str(EXAMPLE_POLICY),
            "CartPole-v1",
            episodes=11,
            seed=5,
            max_episode_steps=STEPS,
            out=str(tmp_path / name),
            **backend,
        )
        return api.evaluate(settings)

    local = evaluate("local")
    remote = evaluate("ray", backend="ray", actors=2, unit_episodes=4)
    record_workers(cluster, remote)
    assert remote["episodes"] == local["episodes"]
    assert remote["summary"] == local["summary"]
    assert remote["complete"] and remote["policy"]["files"] == local["policy"]["files"]
    assert (tmp_path / "ray" / "checkpoint").is_dir()
    assert [(u["first"], u["count"]) for u in remote["backend"]["units"]] == [
        (0, 4),
        (4, 4),
        (8, 3),
    ]
    assert remote["backend"]["address"] == "this process's Ray"


def test_metrics_on_ray_equal_the_local_eval(cluster, tmp_path):
    """--metric on Ray: the actors' episode records carry each metric's value (issue 27.9)."""
    from tests.helpers import countdown_env

    def evaluate(name: str, **backend) -> dict:
        settings = EvalSettings(
            str(EXAMPLE_POLICY),
            f"tests.helpers.countdown_env:{countdown_env.INFO_CARTPOLE_ID}",
            episodes=5,
            seed=5,
            max_episode_steps=STEPS,
            out=str(tmp_path / name),
            metrics=("info.t",),
            **backend,
        )
        return api.evaluate(settings)

    local = evaluate("local")
    remote = evaluate("ray", backend="ray", actors=2, unit_episodes=2)
    record_workers(cluster, remote)
    sums = [e["length"] * (e["length"] + 1) / 2 for e in local["episodes"]]
    assert [e["metrics"]["info.t"] for e in remote["episodes"]] == sums
    assert remote["episodes"] == local["episodes"] and remote["summary"] == local["summary"]


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace (Debian's strace)")
@pytest.mark.parametrize("command", ["eval", "sweep"])
def test_the_driver_opens_each_checkpoint_file_once(cluster, tmp_path, command):
    """On Ray the driver validates each checkpoint file and ships the very bytes it read and
    hashed: it opens each once (strace counts every open of the driver and its children; the
    actors belong to the cluster)."""
    if command == "eval":
        root, args = EXAMPLE_POLICY, ["--episodes", "4"]
        names = ["variables/variables.index", "variables/variables.data-00000-of-00001"]
    else:
        root, args = LEARNER_RUN / "policies", ["--episodes", "2", "--last", "2"]
        names = [
            f"{d}/variables/variables.{e}"
            for d in (
                "greedy_policy",
                "checkpoints/policy_checkpoint_0000014336",
                "checkpoints/policy_checkpoint_0000015360",
            )
            for e in ("index", "data-00000-of-00001")
        ]
    log, out = tmp_path / "strace.log", tmp_path / "out"
    result, opened = run_counting_opens(
        [command, str(root), "--env", "CartPole-v1", "--max-episode-steps", "20",
         "--out", str(out), "--json", "--backend", "ray", "--actors", "1", *args],
        log, env={**os.environ, "RAY_ADDRESS": cluster["address"], "NO_COLOR": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    record_workers(cluster, document)
    assert document["backend"]["name"] == "ray" and document["backend"]["units"]
    counts = {name: opened.count(str(root / name)) for name in names}
    assert counts == dict.fromkeys(names, 1)


def test_a_ray_driver_that_loads_no_policy_imports_no_tensorflow(cluster, tmp_path):
    """A sweep on Ray without a confirmation: its driver plans, validates, ships, collects and
    writes every output (TensorBoard events included) in a process that cannot import
    TensorFlow; the actors import it (issue 26: two cores are not shared with a third import)."""
    from tests.integration.test_sweep_rerun import WITHOUT_TENSORFLOW

    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_TENSORFLOW, "sweep", str(LEARNER_RUN), "--env",
         "CartPole-v1", "--episodes", "2", "--max-episode-steps", "20", "--last", "2",
         "--confirm-episodes", "0", "--out", str(out), "--json", "--backend", "ray",
         "--actors", "1"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env={**os.environ, "RAY_ADDRESS": cluster["address"], "NO_COLOR": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    record_workers(cluster, document)
    assert document["backend"]["name"] == "ray" and len(document["backend"]["units"]) == 2
    assert all(e["complete"] and not e["reused"] for e in document["checkpoints"])
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))


def test_a_checkpointer_sweep_on_ray_equals_the_local_sweep(cluster, artifacts, tmp_path):
    """A Checkpointer directory: no graph on disk, the network rebuilt on each actor from the
    config (shipped in the unit), each ckpt-<step> shipped and restored into it."""
    policy = artifacts / "checkpointer" / "dqn_v2_run" / "train" / "policy"
    config = str(REPO / "configs" / "tf-agents-dqn-v2-cartpole.toml")

    def sweep(name: str, **backend) -> dict:
        settings = SweepSettings(
            paths=(str(policy),),
            eval=EvalSettings(
                str(policy), "CartPole-v1", episodes=5, seed=1, config=config,
                max_episode_steps=STEPS, out=str(tmp_path / name), **backend,
            ),
            confirm_episodes=2,
        )  # fmt: skip
        return api.sweep(settings)

    local = sweep("local")
    remote = sweep("ray", backend="ray", actors=2, unit_episodes=2)
    record_workers(cluster, remote)
    assert [e["step"] for e in remote["checkpoints"]] == [10, 20, 30]
    assert outcome(remote) == outcome(local)
    assert len(remote["backend"]["units"]) == 3 * 3 + 1


# ------------------------------------------------------------------------------- faults


def _actor_running_a_unit() -> int | None:
    """The pid of a process of this machine executing UnitActor.run (Ray's process title)."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            title = Path(entry.path, "cmdline").read_bytes().split(b"\0")[0]
        except OSError:
            continue
        if title.startswith(b"ray::UnitActor.run"):
            return int(entry.name)
    return None


@pytest.mark.slow
def test_a_worker_killed_mid_sweep_changes_nothing(cluster, local_sweep, tmp_path):
    out = tmp_path / "killed"
    command = [
        sys.executable, "-m", "pytfpol", "sweep", str(LEARNER_RUN), "--env", "CartPole-v1",
        "--episodes", str(EPISODES), "--seed", "3", "--max-episode-steps", str(STEPS),
        "--last", "3", "--confirm-episodes", "3", "--out", str(out), "--json",
        "--backend", "ray", "--actors", "2", "--unit-episodes", "2",
    ]  # fmt: skip
    env = {**os.environ, "RAY_ADDRESS": cluster["address"], "NO_COLOR": "1"}
    child = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and child.poll() is None and time.monotonic() < deadline:
        killed = _actor_running_a_unit()
        if killed is None:
            time.sleep(0.02)
    assert killed is not None, "no actor was seen running a unit"
    os.kill(killed, signal.SIGKILL)
    stdout, stderr = child.communicate(timeout=300)
    assert child.returncode == 0, stderr
    document = json.loads(stdout)
    record_workers(cluster, document)
    assert outcome(document) == outcome(local_sweep)
    units = document["backend"]["units"]
    assert max(u["attempts"] for u in units) == 2  # the unit it ran was run again, once
    keys = [(u["step"], u["first"]) for u in units if u["run"] == 0]
    assert len(keys) == len(set(keys)) == 9  # no unit lost or counted twice
    assert killed not in {u["pid"] for u in units}
    assert document["backend"]["address"] == cluster["address"]


@pytest.mark.slow
def test_a_bad_checkpoint_fails_as_locally_without_retries(cluster, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(LEARNER_RUN, run)
    damaged = next(
        (run / "policies" / "checkpoints" / "policy_checkpoint_0000014336").rglob("*.data-*")
    )
    damaged.write_bytes(damaged.read_bytes()[:-7] + b"garbage")
    common = [
        "sweep", str(run), "--env", "CartPole-v1", "--last", "3", "--episodes", "4",
        "--max-episode-steps", str(STEPS), "--confirm-episodes", "0", "--json",
    ]  # fmt: skip
    local = run_cli(*common, "--out", str(tmp_path / "local"))
    env = {**os.environ, "RAY_ADDRESS": cluster["address"]}
    started = time.monotonic()
    remote = subprocess.run(
        [sys.executable, "-m", "pytfpol", *common, "--out", str(tmp_path / "ray"),
         "--backend", "ray", "--actors", "1"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert time.monotonic() - started < 240
    assert local.returncode == remote.returncode == 3, remote.stderr
    error = remote.stderr.splitlines()[-2]
    assert error == local.stderr.splitlines()[-2]
    assert error.startswith("error: 1 of 3 checkpoints could not be evaluated, e.g. step 14336: ")
    assert str(damaged) in remote.stderr
    document, expected = json.loads(remote.stdout), json.loads(local.stdout)
    record_workers(cluster, document)
    assert outcome(document) == outcome(expected)
    assert all(u["attempts"] == 1 for u in document["backend"]["units"])


def test_a_file_that_differs_on_the_worker_is_an_input_error_not_retried(cluster, tmp_path):
    """--shared-path: the worker validates the files where they are and compares digests; a
    file that changed after the driver validated it is an input error (exit 3), run once."""
    from pytfpol.running.env_spec import EnvSpec
    from pytfpol.running.ray_runner import RayRunner
    from pytfpol.running.units import RunOptions, Unit

    run = tmp_path / "run"
    shutil.copytree(LEARNER_RUN, run)
    source = resolve_policy_source(run, step=15360)
    checked = validation.validate(source)
    # changed after validation into another valid checkpoint (the one of step 14336), so that
    # validation alone does not notice: only the digests tell
    data = next(Path(source.checkpoint_prefix).parent.glob("variables.data-*"))
    other = run / "policies" / "checkpoints" / "policy_checkpoint_0000014336" / "variables"
    for name in ("variables.index", data.name):
        shutil.copy(other / name, data.parent / name)
    unit = Unit(source, EnvSpec("CartPole-v1", {}, 20), 0, 2, 0, RunOptions(num_envs=2))
    runner = RayRunner(actors=1, shared=True)
    try:
        runner.submit(unit, checked, tag="u")
        done = None
        while done is None:
            done = runner.next_result(poll=1)
        cluster["workers"].update(p for p in [done.where.get("pid")] if p)
    finally:
        runner.close()
    assert done.attempts == 1 and done.result.records == []
    assert isinstance(done.result.error, InputError) and done.result.error.exit_code == 3
    assert done.result.error.message.startswith(
        f"{data}: differs on this worker from the file the driver validated (sha256 "
    )


# ------------------------------------------------------------------------------- stopping


@pytest.mark.slow
def test_sigterm_cancels_the_units_and_writes_what_completed(cluster, local_sweep, tmp_path):
    out = tmp_path / "stopped"
    command = [
        sys.executable, "-m", "pytfpol", "sweep", str(LEARNER_RUN), "--env", "CartPole-v1",
        "--episodes", str(EPISODES), "--seed", "3", "--max-episode-steps", str(STEPS),
        "--out", str(out), "--json", "--backend", "ray", "--actors", "1", "--unit-episodes", "3",
    ]  # fmt: skip
    env = {**os.environ, "RAY_ADDRESS": cluster["address"], "NO_COLOR": "1"}
    child = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    journal = out / "journal"
    deadline = time.monotonic() + 120
    while child.poll() is None and time.monotonic() < deadline:
        if journal.is_dir() and len(list(journal.glob("*.json"))) >= 2:
            break
        time.sleep(0.05)
    child.send_signal(signal.SIGTERM)
    stdout, stderr = child.communicate(timeout=120)
    assert child.returncode == 143, stderr
    document = json.loads(stdout)
    record_workers(cluster, document)
    assert not document["complete"]
    assert document["error"]["exit_code"] == 143
    done = {e["step"]: e for e in document["checkpoints"]}
    assert 2 <= len(done) < 9
    expected = {e["step"]: e for e in local_sweep["checkpoints"]}
    for step in set(done) & set(expected):
        assert done[step]["episodes"] == expected[step]["episodes"]
    assert json.loads((out / "sweep.json").read_text())["complete"] is False
    for _ in range(50):  # its actors were stopped
        if _actor_running_a_unit() is None:
            break
        time.sleep(0.1)
    assert _actor_running_a_unit() is None


def test_timeout_on_ray_stops_the_units_and_writes_what_completed(cluster, tmp_path):
    # 200,000 episodes cannot finish in 4 s on any machine (2,000 did, on CI's faster one).
    settings = EvalSettings(
        str(EXAMPLE_POLICY), "CartPole-v1", episodes=200_000, out=str(tmp_path / "t"),
        timeout=4, backend="ray", actors=2, unit_episodes=100,
    )  # fmt: skip
    started = time.monotonic()
    with pytest.raises(RunError) as caught:
        api.evaluate(settings)
    assert time.monotonic() - started < 4 + 10  # the actors are stopped, not waited for
    assert caught.value.exit_code == 4
    assert caught.value.message.startswith("--timeout 4s reached after ")
    report = json.loads((tmp_path / "t" / "stats.json").read_text())
    assert not report["complete"] and report["error"]["exit_code"] == 4
    done = report["backend"]["units"]
    cluster["workers"].update(u["pid"] for u in done if u["pid"])
    indices = sorted(e["index"] for e in report["episodes"])
    assert indices == sorted(i for u in done for i in range(u["first"], u["first"] + 100))
    assert all(e["seed"] == e["index"] for e in report["episodes"])


# ------------------------------------------------------------------------ no cluster needed


def test_options_of_ray_mean_nothing_locally_and_recording_is_refused_on_ray():
    for extra, message in (
        ({"actors": 2}, "--actors: has no meaning with --backend local"),
        ({"ray_address": "h:6379"}, "--ray-address: has no meaning with --backend local"),
        ({"shared_path": True}, "--shared-path: has no meaning with --backend local"),
        ({"backend": "ray", "video": (0,)}, "--video: recording runs in this process only"),
        ({"backend": "ray", "save_trajectories": True}, "--save-trajectories: recording"),
        ({"backend": "spark"}, "--backend 'spark': unknown"),
    ):
        with pytest.raises(UsageError) as caught:
            EvalSettings("p", "CartPole-v1", **extra)
        assert caught.value.message.startswith(message), caught.value.message
    result = run_cli("eval", str(EXAMPLE_POLICY), "--env", "CartPole-v1", "--actors", "2")
    assert result.returncode == 2
    assert "error: --actors: has no meaning with --backend local" in result.stderr


def test_importing_the_cli_and_help_do_not_import_ray():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from pytfpol.cli import main\n"
        "for args in (['eval', '--help'], ['sweep', '--help']):\n"
        "    result = CliRunner().invoke(main, args)\n"
        "    assert result.exit_code == 0 and '--backend' in result.output, result.output\n"
        "assert 'ray' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_shipped_bytes_are_checked_before_they_are_written(tmp_path):
    source = resolve_policy_source(LEARNER_RUN, step=15360)
    checked = validation.validate(source)
    shipment = shipping.describe(source, checked)
    assert [files.root for files in shipment.sets] == [
        source.saved_model_dir,
        os.path.dirname(source.checkpoint_prefix),
    ]
    payload = shipping.read_payload(shipment.checkpoint)
    name = next(iter(payload))
    damaged = {**payload, name: payload[name][:-1] + b"x"}
    with pytest.raises(InputError) as caught:
        shipping.materialize(shipment.checkpoint, damaged, tmp_path / "cache")
    path = os.path.join(shipment.checkpoint.root, name)
    assert caught.value.message.startswith(f"{path}: arrived damaged (sha256 ")
    assert not any((tmp_path / "cache").iterdir())  # nothing half-written is left
    local = shipping.materialize(shipment.checkpoint, payload, tmp_path / "cache")
    roots = [source.saved_model_dir, local]
    moved = shipping.localize(source, shipment, roots)
    assert moved.checkpoint_prefix == os.path.join(local, "variables")
    again = validation.validate(moved)
    shipping.check_validated(shipment, shipping.local_shipment(shipment, roots), again)
    assert dataclasses.replace(moved, checkpoint_prefix=source.checkpoint_prefix) == source


def test_addresses_are_recorded_without_credentials():
    assert redact("ray://alice:s3cret@head.example:10001") == "ray://head.example:10001"
    assert redact("10.0.0.5:6379") == "10.0.0.5:6379"
    assert redact("http://u:p@h:8265/?token=abc") == "http://h:8265/"
    assert redact("HEAD:6379") == "HEAD:6379"
    assert redact(None) is None
