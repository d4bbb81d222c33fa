"""What scale must not cost (issue 26), as behaviour: the report's JSON text and the wall time it
states. Speed itself is measured by `make bench` (bench/scale_bench.py), never asserted here."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time

import pytest

from pytfpol.results import files, json_text
from tests.helpers import countdown_env
from tests.helpers.repo import REPO

NESTED = {
    "schema_version": 2,
    "empty": {"list": [], "dict": {}},
    "summary": {"mean": 1.5, "none": None, "flag": True, "text": 'é "q"\n'},
    "episodes": [{"index": i, "return": i / 3, "success": None} for i in range(4)],
    "mixed": [1, "two", [3, {"four": [4]}], {"five": {"deep": 5}}],
    "keys": {1: "int", 2.5: "float", None: "none", False: "bool"},
}


def test_report_json_is_indented_json_with_one_line_per_episode():
    """The same value as json.dumps, laid out as `json.dumps(indent=2)` but for the objects of
    scalars inside arrays (each episode), which take one line each."""
    text = json_text.dumps(NESTED)
    assert json.loads(text) == json.loads(json.dumps(NESTED))
    lines = text.splitlines()
    for episode in NESTED["episodes"]:
        assert f"    {json.dumps(episode)}," in lines or f"    {json.dumps(episode)}" in lines
    without_flat = {k: v for k, v in NESTED.items() if k != "episodes"}
    without_flat["mixed"] = without_flat["mixed"][:3]  # {"five": {...}} is not flat: indented
    assert json_text.dumps(without_flat) == json.dumps(without_flat, indent=2)
    assert json_text.dumps([]) == "[]" and json_text.dumps("x") == '"x"'


def test_report_json_refuses_what_json_refuses():
    with pytest.raises(ValueError):
        files.report_json({"episodes": [{"return": math.nan}]})
    assert json.loads(json_text.dumps({"r": [math.inf]})) == {"r": [math.inf]}  # --json allows it
    with pytest.raises(TypeError):
        json_text.dumps({(1, 2): "tuple key"})


def test_wall_seconds_is_the_whole_process_from_its_start(artifacts, tmp_path):
    """`timing.wall_seconds` counts from the process's start, before any import: here the
    process notes the time and sleeps 2 s before pytfpol is imported, and the wall time reaches
    back past that (to within the time it takes to write stats.json, < 1 s); it ends before
    the process does."""
    code = (
        "import pathlib, runpy, sys, time\n"
        "pathlib.Path(sys.argv.pop(1)).write_text(repr(time.time()))\n"
        "time.sleep(2.0)\n"
        "runpy.run_module('pytfpol', run_name='__main__')\n"
    )
    started_file = tmp_path / "started"
    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable, "-c", code, str(started_file), "eval", str(artifacts / "countdown_sm"),
            "--env", countdown_env.CLI_ENV_ID, "--episodes", "2", "--out", str(tmp_path / "out"),
            "--json",
        ],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env={**os.environ, "NO_COLOR": "1", "TF_CPP_MIN_LOG_LEVEL": "3"},
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    timing = json.loads(done.stdout)["timing"]
    stats_json = tmp_path / "out" / "stats.json"
    up_to_the_report = stats_json.stat().st_mtime - float(started_file.read_text())
    assert timing["wall_seconds"] >= up_to_the_report - 1.0 >= 1.0
    assert timing["wall_seconds"] >= timing["load_seconds"] + timing["run_seconds"]
    assert timing["wall_seconds"] <= elapsed
    assert json.loads(stats_json.read_text())["timing"] == timing
