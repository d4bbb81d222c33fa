"""A re-run of a finished sweep (or a `--watch` poll) with nothing new is answered from the
journal without TensorFlow: the re-run runs in a child process in which importing TensorFlow
or TF-Agents raises ImportError. What it writes is what a re-run that evaluates wrote: the
checkpoints' entries, the best's confirmation (OUT/best kept byte for byte), the gates and the
exit code. A kept output that is not what OUT's output set recorded is made again.

The run is the shipped example Learner run (examples/cartpole-dqn-run), two checkpoints, a few
short episodes.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pytfpol.cli import main
from pytfpol.commands.sweep.reuse import curve_key
from pytfpol.formats import layout
from pytfpol.results import sweep_report
from tests.helpers.repo import REPO

LEARNER_RUN = REPO / "examples" / "cartpole-dqn-run"
# The child: importing these modules is impossible there; then `python -m pytfpol`.
BLOCKING = """
import runpy, sys

class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ImportError("this process may not import " + name)
        return None

sys.meta_path.insert(0, Blocked())
sys.argv = ["pytfpol", *sys.argv[1:]]
runpy.run_module("pytfpol", run_name="__main__", alter_sys=True)
"""
WITHOUT_TENSORFLOW = BLOCKING.format(blocked=("tensorflow", "tf_agents"))
# A re-run with nothing new draws no curve.png either (matplotlib: most of what it costs).
NOTHING_TO_DO = BLOCKING.format(blocked=("tensorflow", "tf_agents", "matplotlib"))
VOLATILE = {"created", "timing", "backend"}  # the backend's units: what this process ran


def sweep_args(out: Path, *more: str) -> list[str]:
    return [
        "sweep", str(LEARNER_RUN), "--env", "CartPole-v1", "--episodes", "2",
        "--max-episode-steps", "20", "--last", "2", "--confirm-episodes", "2",
        "--out", str(out), *more,
    ]  # fmt: skip


def first_sweep(out: Path, *more: str, code: int = 0) -> dict:
    result = CliRunner().invoke(main, [*sweep_args(out, *more), "--json"])
    assert result.exit_code == code, result.output
    return json.loads((out / layout.SWEEP_JSON).read_text())


def rerun_without_tensorflow(
    out: Path, *more: str, child: str = WITHOUT_TENSORFLOW
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", child, *sweep_args(out, *more)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )


def same_sweep(first: dict, again: dict) -> None:
    """The same document, but for when it was made and that every entry came from the journal."""
    assert all(e["reused"] for e in again["checkpoints"])
    for entry in first["checkpoints"]:
        entry["reused"] = True
    assert {k: v for k, v in again.items() if k not in VOLATILE} == {
        k: v for k, v in first.items() if k not in VOLATILE
    }
    assert again["backend"]["name"] == first["backend"]["name"] == "local"


def test_a_rerun_with_nothing_new_imports_no_tensorflow_and_writes_the_same(tmp_path):
    out = tmp_path / "out"
    gate = ("--gate", "mean_return>=1000")  # fails: exit 1, both times
    first = first_sweep(out, *gate, code=1)
    best = (out / layout.BEST_DIR / "stats.json").read_bytes()
    curve = (out / layout.CURVE_PNG).read_bytes()
    rerun = rerun_without_tensorflow(out, *gate, child=NOTHING_TO_DO)
    assert rerun.returncode == 1, rerun.stderr
    assert "may not import" not in rerun.stderr
    again = json.loads((out / layout.SWEEP_JSON).read_text())
    assert again["gates"] == first["gates"] and not again["passed"]
    assert again["best"]["confirmation"] == first["best"]["confirmation"] is not None
    same_sweep(first, again)
    assert (out / layout.BEST_DIR / "stats.json").read_bytes() == best
    assert (out / layout.CURVE_PNG).read_bytes() == curve
    assert "from the journal" in rerun.stdout


def test_a_watch_poll_with_nothing_new_imports_no_tensorflow(tmp_path):
    out = tmp_path / "out"
    watch = ("--watch", "--watch-timeout", "0.1", "--poll", "0.1")
    first = first_sweep(out, *watch)
    rerun = rerun_without_tensorflow(out, *watch, child=NOTHING_TO_DO)
    assert rerun.returncode == 0, rerun.stderr
    same_sweep(first, json.loads((out / layout.SWEEP_JSON).read_text()))


def test_a_kept_output_is_made_again_when_out_does_not_hold_what_it_recorded(tmp_path):
    out = tmp_path / "out"
    first_sweep(out)
    episodes = out / layout.BEST_DIR / "episodes.csv"
    original = episodes.read_bytes()
    episodes.unlink()  # gone from OUT: OUT/best cannot be kept
    rerun = rerun_without_tensorflow(out)
    assert rerun.returncode != 0 and "may not import tensorflow" in rerun.stderr
    again = first_sweep(out)  # with TensorFlow: the confirmation runs again
    assert episodes.read_bytes() == original
    assert again["best"]["confirmation"]["episodes"] == 2
    (out / layout.CURVE_PNG).unlink()  # drawn again (matplotlib), the rest kept
    assert rerun_without_tensorflow(out).returncode == 0
    assert (out / layout.CURVE_PNG).is_file()
    more = first_sweep(out, "--confirm-episodes", "3")  # another confirmation: not kept
    assert more["best"]["confirmation"]["episodes"] == 3
    # The journal knows the 2-episode confirmation, but OUT/best now holds the other one.
    back = first_sweep(out)
    assert back["best"]["confirmation"]["episodes"] == 2


def test_the_curve_is_kept_only_for_the_same_document():
    document = {
        "created": "now", "timing": {"seconds": 1.0}, "backend": {"units": [1]},
        "best": {"value": 1.0}, "output": {"dir": "out"},
        "checkpoints": [{"step": 1, "summary": {"mean_return": 1.0}, "reused": False,
                         "seconds": {"validate": 0.1}}],
    }  # fmt: skip
    key = curve_key(document)
    again = {**document, "created": "later", "timing": {}, "backend": {"units": []}}
    again["checkpoints"] = [{**document["checkpoints"][0], "reused": True, "seconds": None}]
    assert curve_key(again) == key
    other = {**document, "checkpoints": [{**again["checkpoints"][0], "summary": {}}]}
    assert curve_key(other) != key
    assert curve_key({**document, "best": {"value": 2.0}}) != key
    assert curve_key({**document, "output": {"dir": "elsewhere"}}) != key


def event_records(logdir: Path) -> list:
    """Every event of the one file in `logdir` but its wall time and writer, serialized."""
    from tensorboard.compat.proto import event_pb2

    (path,) = logdir.glob("events.out.tfevents.*.v2")
    data, records, at = path.read_bytes(), [], 0
    while at < len(data):
        (size,) = struct.unpack("<Q", data[at : at + 8])
        event = event_pb2.Event.FromString(data[at + 12 : at + 12 + size])
        event.ClearField("wall_time")
        event.ClearField("source_metadata")
        records.append(event.SerializeToString())
        at += 16 + size
    return records


@pytest.mark.parametrize("returns", [[1.0, 2.5, 2.5, 9.75, -3.0], [4.0, 4.0], [7.0], []])
def test_the_event_files_hold_the_records_tf_summary_writes(tmp_path, returns):
    """The same events, byte for byte but for the wall times, as `tf.summary` writes."""
    from pytfpol.policy.quiet_tf import import_tf

    tf = import_tf()
    entries = [
        {"run": 0, "step": step, "error": None, "episodes": [{"return": r} for r in returns],
         "summary": {"mean_return": 1.1 * step, "mean_length": 2.0 / 3.0}}
        for step in (0, 10, 2**40)
    ]  # fmt: skip
    sweep_report.write_entries(tmp_path / "ours", entries, ["run"])
    writer = tf.summary.create_file_writer(str(tmp_path / "tf"))
    with writer.as_default():
        for entry in entries:
            step = entry["step"]
            tf.summary.scalar(sweep_report.TAG_RETURN, entry["summary"]["mean_return"], step=step)
            tf.summary.scalar(sweep_report.TAG_LENGTH, entry["summary"]["mean_length"], step=step)
            if returns:
                tf.summary.histogram(sweep_report.TAG_HISTOGRAM, np.asarray(returns), step=step)
    writer.close()
    assert event_records(tmp_path / "ours") == event_records(tmp_path / "tf")
