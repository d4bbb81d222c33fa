"""`pytfpol inspect` and the TensorFlow-free checkpoint reader, against what TF-Agents writes."""

from __future__ import annotations

import ast
import io
import json
import os
import pickle
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pytfpol.cli import main
from pytfpol.errors import InputError
from pytfpol.formats import checkpoint_reader as cr
from pytfpol.formats import inspect_diff, inspection
from pytfpol.results import documents
from tests.helpers.artifacts_inspect import dtype_arrays
from tests.helpers.repo import REPO, write_artifacts

EVAL_REPORT = {
    "schema_version": 1,
    "complete": True,
    "error": None,
    "created": "2026-11-22T01:09:55+00:00",
    "summary": {"episodes": 2, "mean_return": 9.5, "std_return": 0.5, "min_return": 9.0,
                "max_return": 10.0, "median_return": 9.5, "mean_length": 9.5, "total_steps": 19},
    "episodes": [],
    "policy": {"path": "p", "format": "saved_model", "saved_model": "p", "policy": None,
               "checkpoint": None, "train_step": 7, "metadata": {}},
    "env": {"id": "CartPole-v1", "kwargs": {}, "max_episode_steps": None},
    "settings": {"episodes": 2, "seed": 0, "num_envs": 2},
    "gates": {},
    "timing": {},
    "versions": {},
    "output": {"dir": "o", "stats": "o/stats.json", "episodes": "o/episodes.csv"},
}  # fmt: skip


@pytest.fixture(scope="session")
def ins(tmp_path_factory) -> Path:
    """Checkpoints written by TF-Agents' Checkpointer + NumpyState (tests/helpers/artifacts_inspect.py)."""
    out = write_artifacts(tmp_path_factory, "artifacts_inspect.py")
    eval_out = out / "eval_out"
    eval_out.mkdir()
    documents.write_eval_report(eval_out, EVAL_REPORT)
    shutil.copytree(out / "evaluation", eval_out / "checkpoint")
    carried = out / "eval_carried"
    carried.mkdir()
    documents.write_eval_report(carried, EVAL_REPORT)
    shutil.copytree(out / "eval_history", carried / "checkpoint")
    plain = out / "eval_plain"
    plain.mkdir()
    documents.write_eval_report(plain, EVAL_REPORT)
    return out


@pytest.fixture(scope="session")
def tf_module():
    from pytfpol.policy.quiet_tf import import_tf

    return import_tf()


def invoke(*args: str):
    return CliRunner().invoke(main, ["inspect", *map(str, args)], catch_exceptions=False)


def inspect_json(*args: str) -> dict:
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def snapshot(*roots: Path) -> dict:
    return {str(p): p.stat().st_mtime_ns for r in roots for p in sorted(r.rglob("*"))}


def assert_one_line_error(result, exit_code: int, *fragments: str) -> None:
    assert result.exit_code == exit_code, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and lines[1].startswith("hint: "), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


# ----------------------------------------------------------------------------- the reader


def test_crc32c_matches_known_values_and_the_bytewise_loop():
    assert cr.crc32c(b"123456789") == 0xE3069283
    assert cr.crc32c(b"") == 0
    table = []  # CRC32C (Castagnoli, reflected polynomial 0x82F63B78), one byte at a time
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
        table.append(crc)
    rng = np.random.default_rng(0)
    for n in (1, 3, 2047, 2048, 4099, 70001):
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        register = 0xFFFFFFFF
        for byte in data:
            register = table[(register ^ byte) & 0xFF] ^ (register >> 8)
        assert cr.crc32c(data) == register ^ 0xFFFFFFFF
        assert cr.crc32c(bytearray(data)) == cr.crc32c(memoryview(data))  # any bytes-like
        assert cr.crc32c(data[n // 3 :], cr.crc32c(data[: n // 3])) == cr.crc32c(data)


def all_prefixes(ins: Path, artifacts: Path) -> list[str]:
    prefixes = [str(p)[: -len(".index")] for p in ins.rglob("*.index")]
    prefixes += [str(p)[: -len(".index")] for p in artifacts.rglob("*.index")]
    return sorted(prefixes)


def test_reader_agrees_with_tf_load_checkpoint_on_every_tensor(ins, artifacts, tf_module):
    prefixes = all_prefixes(ins, artifacts)
    assert len(prefixes) > 10
    for prefix in prefixes:
        bundle = cr.open_bundle(prefix)
        reader = tf_module.train.load_checkpoint(prefix)
        assert set(bundle.entries) == set(reader.get_variable_to_shape_map()), prefix
        dtypes = reader.get_variable_to_dtype_map()
        for key, entry in bundle.entries.items():
            ours, theirs = bundle.read(key), reader.get_tensor(key)
            assert entry.dtype == dtypes[key].name, key
            if entry.dtype == "string":
                expected = theirs if isinstance(theirs, bytes) else theirs.tolist()
                assert ours.tolist() == expected, key
            else:
                if entry.dtype == "bfloat16":
                    theirs = np.asarray(theirs).view(np.uint16)
                assert ours.dtype == np.asarray(theirs).dtype and ours.shape == np.shape(theirs)
                assert ours.tobytes() == np.asarray(theirs).tobytes(), key


def test_reader_decodes_string_tensors_like_tf(ins):
    bundle = cr.open_bundle(ins / "train" / "policy" / "ckpt-30")
    words = bundle.read("dtypes/words/.ATTRIBUTES/VARIABLE_VALUE")
    assert words.tolist() == [b"", b"a", b"xyz" * 100, bytes(range(256))]
    assert bundle.read("dtypes/word/.ATTRIBUTES/VARIABLE_VALUE").item() == b"scalar string"
    assert bundle.read("dtypes/no_words/.ATTRIBUTES/VARIABLE_VALUE").shape == (0,)


def _mutants(data: bytes):
    yield b""
    yield b"\x00" * 100
    for n in range(0, len(data), max(1, len(data) // 200)):
        yield data[:n]
    rng = np.random.default_rng(1)
    for pos in range(len(data)):
        flipped = bytearray(data)
        flipped[pos] ^= 1 << int(rng.integers(8))
        yield bytes(flipped)


def test_garbage_truncated_and_bit_flipped_index_raise_input_error_only(ins, tmp_path):
    source = ins / "train" / "policy"
    for name in ("ckpt-30.data-00000-of-00001",):
        shutil.copy(source / name, tmp_path / name)
    original = (source / "ckpt-30.index").read_bytes()
    accepted = 0
    for mutant in _mutants(original):
        (tmp_path / "ckpt-30.index").write_bytes(mutant)
        try:
            bundle = cr.open_bundle(tmp_path / "ckpt-30")
            for key in bundle.entries:
                bundle.read(key)
            accepted += 1
        except InputError as exc:
            assert str(tmp_path) in exc.message
    assert accepted <= cr.FOOTER_SIZE  # only flips in the unchecksummed footer padding survive


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_index_bytes_raise_input_error_only(tmp_path_factory, data):
    prefix = tmp_path_factory.getbasetemp() / "random-ckpt"
    Path(f"{prefix}.index").write_bytes(data + cr.TABLE_MAGIC.to_bytes(8, "little"))
    with pytest.raises(InputError):
        cr.open_bundle(prefix)


def test_bit_flipped_data_files_raise_input_error_when_read(ins, tmp_path):
    source = ins / "train" / "policy"
    shutil.copy(source / "ckpt-30.index", tmp_path / "ckpt-30.index")
    data = (source / "ckpt-30.data-00000-of-00001").read_bytes()
    for pos in range(0, len(data), 7):
        flipped = bytearray(data)
        flipped[pos] ^= 0x10
        (tmp_path / "ckpt-30.data-00000-of-00001").write_bytes(bytes(flipped))
        bundle = cr.open_bundle(tmp_path / "ckpt-30")
        with pytest.raises(InputError, match="checksum|not .npy|0 and 1|lengths"):
            for key in bundle.entries:
                bundle.read(key)
    (tmp_path / "ckpt-30.data-00000-of-00001").write_bytes(data[:-1])
    with pytest.raises(InputError, match="past the end"):
        cr.open_bundle(tmp_path / "ckpt-30")


def test_a_fifo_is_refused_without_opening_it(tmp_path):
    os.mkfifo(tmp_path / "ckpt-1.index")
    outcome = []
    thread = threading.Thread(target=lambda: outcome.append(invoke(tmp_path / "ckpt-1")))
    thread.start()
    thread.join(20)
    assert not thread.is_alive(), "inspect blocked on a FIFO"
    assert_one_line_error(outcome[0], 3, "ckpt-1.index", "not a regular file")


# ----------------------------------------------------------------------------- NumpyState payloads


def same_values(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal values (long doubles carry undefined padding bytes, so not byte equality)."""
    if a.dtype.kind in "fc":
        return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    return a.tobytes() == b.tobytes()


def from_json(values, dtype: np.dtype, shape: tuple) -> np.ndarray:
    """Invert docs/inspect.md's JSON conventions for `--array` values: numbers exact ("nan", "inf"
    as strings), complex as [re, im], bytes as text, dates and durations as numpy prints them,
    raw bytes as hex, records as repr text."""
    flat = np.asarray(values, dtype=object).reshape(-1) if shape else [values]
    if dtype.fields is not None:
        return np.array([eval_free_record(v, dtype) for v in flat], dtype).reshape(shape)
    kind = dtype.kind
    if kind == "c":
        items = [complex(float(re), float(im)) for re, im in np.asarray(values).reshape(-1, 2)]
    elif kind == "f":
        items = [float(v) for v in flat]  # float("nan"), float("inf") parse the strings
    elif kind == "S":
        items = [v.encode("utf-8") for v in flat]
    elif kind == "V":  # numpy's repr, void(b'...'): the bytes literal read as a literal
        items = [ast.literal_eval(v[len("void(") : -1]) for v in flat]
    elif kind == "m":  # as numpy prints them: "5 seconds", "NaT"
        items = [np.timedelta64("NaT") if v == "NaT" else int(v.split()[0]) for v in flat]
    else:
        items = list(flat)
    return np.array(items, dtype).reshape(shape)


def eval_free_record(text: str, dtype: np.dtype):
    """A record's repr, `(1, 2.5)`, parsed without eval."""
    fields = text.strip("()").split(", ")
    return tuple(np.dtype(dtype.fields[n][0]).type(f) for n, f in zip(dtype.names, fields))


def npy(array: np.ndarray, **kwargs) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, **kwargs)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "payload, reason",
    [
        (npy(np.array([{"a": 1}], dtype=object), allow_pickle=True), "object arrays need pickle"),
        (pickle.dumps(np.arange(3)), "a pickle"),
        (b"PK\x03\x04rest-of-an-npz", ".npz archive"),
        (npy(np.arange(3)) + b"xx", "2 bytes after the array"),
        (npy(np.arange(3))[:-3], "malformed .npy"),
        (b"\x93NUMPY\x01\x00\x10\x00{'descr': 1}    \n", "malformed .npy"),
    ],
)
def test_decode_py_state_refuses_what_needs_pickle_or_is_malformed(payload, reason):
    with pytest.raises(InputError, match="NumpyState entry refused") as info:
        cr.decode_py_state(payload, "obj/x/.ATTRIBUTES/py_state")
    assert info.value.message.startswith("obj/x/.ATTRIBUTES/py_state: ")
    assert reason in info.value.message


def test_decode_py_state_numeric_only():
    assert cr.decode_py_state(npy(np.arange(3)), "k", numeric_only=True).tolist() == [0, 1, 2]
    with pytest.raises(InputError, match="dtype <U1 is not numeric"):
        cr.decode_py_state(npy(np.array(["a"])), "k", numeric_only=True)


ANY_DTYPE = st.one_of(
    hnp.scalar_dtypes(),
    hnp.byte_string_dtypes(),
    hnp.unicode_string_dtypes(),
    hnp.array_dtypes(hnp.scalar_dtypes(), min_size=1, max_size=3),
    hnp.integer_dtypes(endianness=">"),
    hnp.floating_dtypes(endianness=">"),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hnp.arrays(ANY_DTYPE, hnp.array_shapes(min_dims=0, max_side=4)))
def test_every_array_np_save_writes_without_pickle_round_trips(array):
    decoded = cr.decode_py_state(npy(array, allow_pickle=False), "a/.ATTRIBUTES/py_state")
    assert decoded.dtype == array.dtype and decoded.tobytes() == array.tobytes()
    summary = inspection.array_summary("a/.ATTRIBUTES/py_state", decoded)
    json.dumps(summary, allow_nan=False)
    json.dumps(inspection.json_value(decoded), allow_nan=False)
    buffer = io.BytesIO()
    np.savez(buffer, x=decoded)
    buffer.seek(0)
    assert np.load(buffer, allow_pickle=False)["x"].tobytes() == array.tobytes()


# ----------------------------------------------------------------------------- every PATH kind


def expected_checkpoint(prefix: Path, tf_module, step) -> dict:
    """What `checkpoint` must say, computed from TensorFlow's own reader and np.load."""
    reader = tf_module.train.load_checkpoint(str(prefix))
    shapes, dtypes = reader.get_variable_to_shape_map(), reader.get_variable_to_dtype_map()
    arrays, variables = [], []
    for key in sorted(shapes):
        if key == "_CHECKPOINTABLE_OBJECT_GRAPH":
            continue
        if key.endswith("/.ATTRIBUTES/py_state"):
            value = np.load(io.BytesIO(reader.get_tensor(key)), allow_pickle=False)
            finite = value[np.isfinite(value)]
            arrays.append(
                {"key": key, "name": key[: -len("/.ATTRIBUTES/py_state")],
                 "dtype": value.dtype.name, "shape": list(value.shape), "size": int(value.size),
                 "min": finite.min().item(), "max": finite.max().item(),
                 "mean": float(finite.mean()), "nan": 0, "inf": 0}
            )  # fmt: skip
            continue
        value = reader.get_tensor(key)
        size = len(np.asarray(value).tobytes()) if dtypes[key].name != "string" else None
        variables.append(
            {"key": key, "name": key[: -len("/.ATTRIBUTES/VARIABLE_VALUE")],
             "dtype": dtypes[key].name, "shape": shapes[key], "bytes": size}
        )  # fmt: skip
    return {
        "prefix": str(prefix),
        "step": step,
        "train_step": step,
        "arrays": arrays,
        "refused": [],
        "variables": variables,
        "total_bytes": None,
    }


def test_checkpoint_prefix_exact_json(ins, tf_module):
    prefix = ins / "train" / "policy" / "ckpt-30"
    report = inspect_json(prefix)
    expected = expected_checkpoint(prefix, tf_module, 30)
    got = report["checkpoint"]
    for variable in got["variables"]:  # string tensors: bytes on disk (lengths + crc + data)
        if variable["dtype"] == "string":
            variable["bytes"] = None
    expected["total_bytes"] = got["total_bytes"]
    assert got == expected
    assert got["total_bytes"] == sum(
        cr.open_bundle(prefix).entries[v["key"]].size for v in got["variables"]
    )
    assert {k: v for k, v in report.items() if k != "checkpoint"} == {
        "schema_version": 1,
        "path": str(prefix),
        "kind": "checkpoint",
        "checkpoints": None,
        "saved_model": None,
        "saved_models": None,
        "evaluation": None,
        "warnings": [],
    }
    assert got["arrays"][0]["name"] == "side/counts" and got["arrays"][0]["min"] == 60
    # the .index and .data-* file names mean the same prefix
    again = inspect_json(prefix)
    assert inspect_json(f"{prefix}.index") == {**again, "path": f"{prefix}.index"}


def test_checkpointer_dir_lists_every_checkpoint_and_shows_the_newest(ins):
    directory = ins / "train" / "policy"
    report = inspect_json(directory)
    listing = report["checkpoints"]
    assert report["kind"] == "checkpointer_dir"
    assert [
        (e["name"], e["step"], e["newest"], e["listed"], e["missing"]) for e in listing["entries"]
    ] == [
        ("ckpt-10", 10, False, True, []),
        ("ckpt-20", 20, False, True, []),
        ("ckpt-30", 30, True, True, []),
    ]
    assert all(e["time"] and e["mtime"] for e in listing["entries"])
    assert listing["newest"] == listing["selected"] == "ckpt-30"
    assert report["checkpoint"] == inspect_json(directory / "ckpt-30")["checkpoint"]
    stepped = inspect_json(directory, "--step", "10")
    assert stepped["checkpoints"]["selected"] == "ckpt-10"
    assert stepped["checkpoint"]["step"] == 10 and stepped["checkpoint"]["train_step"] == 10


def test_checkpointer_dir_reports_missing_files_and_unknown_steps(ins, tmp_path):
    directory = tmp_path / "policy"
    shutil.copytree(ins / "train" / "policy", directory)
    (directory / "ckpt-10.data-00000-of-00001").unlink()
    (directory / "ckpt-20.index").unlink()
    shutil.copy(directory / "ckpt-30.index", directory / "ckpt-40.index")  # not listed, no data
    report = inspect_json(directory)
    entries = {e["name"]: e for e in report["checkpoints"]["entries"]}
    assert entries["ckpt-10"]["missing"] == ["ckpt-10.data-00000-of-00001"]
    assert entries["ckpt-20"]["missing"] == ["ckpt-20.index"]
    assert entries["ckpt-40"]["listed"] is False
    assert report["checkpoints"]["newest"] == "ckpt-30" and report["checkpoint"]["step"] == 30
    plain = invoke(directory)
    assert "MISSING ckpt-10.data-00000-of-00001" in plain.stdout
    assert_one_line_error(
        invoke(directory, "--step", "10"), 3, "ckpt-10.data-00000-of-00001", "missing"
    )
    assert_one_line_error(invoke(directory, "--step", "15"), 3, "no checkpoint at step 15")


@pytest.mark.parametrize("listed", ["../outside/ckpt-1", "/etc/passwd", "sub/../../ckpt-1"])
def test_state_file_paths_outside_the_directory_are_refused(ins, tmp_path, listed):
    directory = tmp_path / "policy"
    shutil.copytree(ins / "train" / "policy", directory)
    (directory / "checkpoint").write_text(f'model_checkpoint_path: "{listed}"\n')
    assert_one_line_error(invoke(directory), 3, "checkpoint", "outside")


def test_state_file_with_absurd_timestamps_still_lists(ins, tmp_path):
    directory = tmp_path / "policy"
    shutil.copytree(ins / "train" / "policy", directory)
    (directory / "checkpoint").write_text(
        'model_checkpoint_path: "ckpt-30"\nall_model_checkpoint_paths: "ckpt-30"\n'
        "all_model_checkpoint_timestamps: 1e300\n"
    )
    entries = inspect_json(directory)["checkpoints"]["entries"]
    assert [(e["name"], e["time"], e["listed"]) for e in entries][-1] == ("ckpt-30", None, True)


def test_saved_model_specs_train_step_and_signatures(artifacts):
    report = inspect_json(artifacts / "cartpole_sm")
    saved = report["saved_model"]
    assert report["kind"] == "saved_model" and saved["train_step"] == 7
    assert saved["specs"]["action_spec"] == {
        "name": "action", "dtype": "int64", "shape": [], "minimum": 0, "maximum": 1
    }  # fmt: skip
    observation = saved["specs"]["time_step_spec"]["observation"]
    assert observation["shape"] == [4] and observation["maximum"][0] == 4.8
    assert saved["specs"]["policy_state_spec"] == [] and saved["specs"]["info_spec"] == []
    assert saved["signatures"]["action"]["inputs"]["0/observation"] == "float32 [?, 4]"
    assert saved["signatures"]["action"]["outputs"] == {"action": "int64 [?]"}
    assert saved["metadata"] == {}
    assert [v["name"] for v in report["checkpoint"]["variables"]][-1] == "train_step"
    pendulum = inspect_json(artifacts / "pendulum_sm")["saved_model"]["specs"]["action_spec"]
    assert pendulum == {
        "name": "action",
        "dtype": "float32",
        "shape": [1],
        "minimum": -2.0,
        "maximum": 2.0,
    }


def test_spec_table_says_unbounded(artifacts, det_artifacts):
    """Float bounds at the type's limits (Gymnasium's -inf/inf) read `unbounded` or `inf`."""
    lines = [line.strip() for line in invoke(det_artifacts / "cheetah_sac_sm").stdout.splitlines()]
    assert "time_step_spec.observation  float64 (17,) unbounded" in lines
    lines = invoke(artifacts / "cartpole_sm").stdout.splitlines()
    observation = next(line for line in lines if "time_step_spec.observation" in line)
    assert observation.endswith(
        "float32 (4,) [[-4.8, -inf, -0.41887903, -inf], [4.8, inf, 0.41887903, inf]]"
    )


@pytest.mark.parametrize("sub", ["learner/policies", "learner"])
def test_learner_root_shows_saved_models_and_policy_checkpoints(artifacts, sub):
    report = inspect_json(artifacts / sub)
    assert report["kind"] == "learner_policies"
    assert set(report["saved_models"]) == {"greedy_policy", "collect_policy", "policy"}
    listing = report["checkpoints"]
    assert [(e["step"], e["newest"]) for e in listing["entries"]] == [(5, False), (9, True)]
    assert report["checkpoint"]["step"] == 9 and report["checkpoint"]["train_step"] == 9
    assert inspect_json(artifacts / sub, "--step", "5")["checkpoint"]["train_step"] == 5


def test_policy_checkpoint_dir(artifacts):
    directory = artifacts / "learner" / "policies" / "checkpoints" / "policy_checkpoint_0000000005"
    report = inspect_json(directory)
    assert report["kind"] == "policy_checkpoint"
    assert report["checkpoint"]["step"] == 5 and report["checkpoint"]["train_step"] == 5
    assert_one_line_error(invoke(directory, "--step", "5"), 2, "--step")


def test_eval_output_with_evaluation_history(ins):
    report = inspect_json(ins / "eval_out")
    assert report["kind"] == "eval_output"
    evaluation = report["evaluation"]
    assert evaluation["stats"]["summary"] == EVAL_REPORT["summary"]
    assert evaluation["stats"]["train_step"] == 7 and evaluation["stats"]["env"] == "CartPole-v1"
    history = evaluation["history"]
    assert [
        (h["step"], h["values"]["train_step"], h["values"]["mean_return"]) for h in history
    ] == [
        (1, 100, 2.5),
        (2, 200, 3.5),
    ]
    assert history[1]["values"]["returns"] == {
        "dtype": "float64", "shape": [4], "min": 2.0, "max": 5.0, "mean": 3.5
    }  # fmt: skip
    text = invoke(ins / "eval_out").stdout
    assert "evaluation history" in text and "evaluation (stats.json)" in text


def test_eval_output_with_a_history_array_as_pytfpol_eval_writes_it(ins):
    report = inspect_json(ins / "eval_carried")
    assert report["evaluation"]["history"] == [
        {"train_step": 5, "episodes": 2, "mean_return": 8.0, "std_return": 1.0,
         "unix_time": 1.7e9, "time": "2023-11-14T22:13:20+00:00"},
        {"train_step": 7, "episodes": 2, "mean_return": 9.5, "std_return": 0.5,
         "unix_time": 1.7e9 + 60, "time": "2023-11-14T22:14:20+00:00"},
    ]  # fmt: skip
    assert report["checkpoint"]["step"] == 7
    assert {a["name"] for a in report["checkpoint"]["arrays"]} == {
        f"evaluation/{n}" for n in ("history", "lengths", "returns", "seeds")
    }
    text = invoke(ins / "eval_carried").stdout
    assert "evaluation history" in text and "9.50" in text


def test_history_columns_match_what_pytfpol_eval_writes(tf_module):
    from pytfpol.formats import layout
    from pytfpol.policy import checkpoints

    assert inspection.HISTORY_COLUMNS is layout.HISTORY_COLUMNS is checkpoints.HISTORY_COLUMNS


def test_eval_output_without_checkpoint_degrades_to_stats(ins):
    report = inspect_json(ins / "eval_plain")
    assert report["evaluation"] == {
        "stats": {
            "schema_version": 1,
            "created": EVAL_REPORT["created"],
            "complete": True,
            "error": None,
            "policy": "p",
            "checkpoint": None,
            "train_step": 7,
            "env": "CartPole-v1",
            "summary": EVAL_REPORT["summary"],
        },
        "history": None,
    }
    assert report["checkpoint"] is None and report["checkpoints"] is None


# ----------------------------------------------------------------------------- dtypes end to end


@pytest.mark.parametrize("name", sorted(dtype_arrays()))
def test_every_numpy_state_dtype_round_trips_in_display_and_export(ins, tmp_path, name):
    expected = dtype_arrays()[name]
    key = f"arrays/{name}/.ATTRIBUTES/py_state"
    report = inspect_json(ins / "dtypes")
    summary = next(a for a in report["checkpoint"]["arrays"] if a["key"] == key)
    assert summary["shape"] == list(expected.shape) and summary["size"] == expected.size
    assert summary["dtype"] == inspection.dtype_name(expected.dtype)
    shown = inspect_json(ins / "dtypes", "--array", f"arrays/{name}")
    assert same_values(from_json(shown["values"], expected.dtype, expected.shape), expected)
    text = invoke(ins / "dtypes", "--array", f"arrays/{name}").stdout
    numpys = repr(expected) if expected.dtype.fields else np.array2string(expected, separator=", ")
    assert text == numpys + "\n"
    out = tmp_path / "x.npz"
    assert invoke(ins / "dtypes", "--export", out, "--array", key).exit_code == 0
    with np.load(out, allow_pickle=False) as loaded:
        assert list(loaded) == [key]
        assert loaded[key].dtype == expected.dtype and same_values(loaded[key], expected)


def test_numeric_statistics_skip_nan_and_inf(ins):
    report = inspect_json(ins / "dtypes")
    arrays = {a["name"]: a for a in report["checkpoint"]["arrays"]}
    assert {k: arrays["arrays/f8"][k] for k in ("min", "max", "mean", "nan", "inf")} == {
        "min": -3.0, "max": 0.25, "mean": -1.375, "nan": 1, "inf": 1
    }  # fmt: skip
    assert arrays["arrays/u8"]["max"] == 2**64 - 1 and arrays["arrays/S3"]["min"] is None


# ----------------------------------------------------------------------------- --array, --export, --diff


def test_array_prints_numpys_formatting_and_full(ins, tf_module):
    prefix = ins / "train" / "policy" / "ckpt-30"
    key = "policy/_q_network/_encoder/_postprocessing_layers/1/kernel"
    value = tf_module.train.load_checkpoint(str(prefix)).get_tensor(
        key + "/.ATTRIBUTES/VARIABLE_VALUE"
    )
    result = invoke(prefix, "--array", key)
    assert result.exit_code == 0
    assert result.stdout == np.array2string(value, separator=", ") + "\n"
    assert invoke(prefix, "--array", "side/counts").stdout == "[60, 60, 60]\n"
    assert_one_line_error(invoke(prefix, "--array", "nope"), 2, "--array nope")


def test_array_full_has_no_ellipsis(tmp_path):
    prefix = write_numpy_state_checkpoint(tmp_path, np.arange(5000))
    assert "..." in invoke(prefix, "--array", "big").stdout
    full = invoke(prefix, "--array", "big", "--full").stdout
    assert "..." not in full and "4999" in full


def write_numpy_state_checkpoint(tmp_path: Path, array: np.ndarray) -> Path:
    """A minimal one-entry bundle written by this test's own writer (checks the reader's format
    assumptions independently of TF for big arrays)."""
    payload = npy(array)
    return _write_bundle(tmp_path / "ckpt-1", {"big/.ATTRIBUTES/py_state": payload})


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _write_bundle(prefix: Path, strings: dict[str, bytes]) -> Path:
    data, entries = bytearray(), []
    for key, payload in sorted(strings.items()):
        lengths = _varint(len(payload))
        length_crc = cr.crc32c(len(payload).to_bytes(4, "little"))
        masked = cr.mask_crc(length_crc).to_bytes(4, "little")
        blob = lengths + masked + payload
        crc = cr.crc32c(payload, cr.crc32c(masked, length_crc))
        entry = b"\x08\x07\x12\x00" + b"\x20" + _varint(len(data)) + b"\x28" + _varint(len(blob))
        entry += b"\x35" + cr.mask_crc(crc).to_bytes(4, "little")
        entries.append((key.encode(), entry))
        data += blob
    entries.insert(0, (b"", b"\x08\x01"))
    block = bytearray()
    for key, value in entries:
        block += _varint(0) + _varint(len(key)) + _varint(len(value)) + key + value
    block += (0).to_bytes(4, "little") + (1).to_bytes(4, "little")
    table = (
        bytes(block)
        + b"\x00"
        + cr.mask_crc(cr.crc32c(bytes(block) + b"\x00")).to_bytes(4, "little")
    )
    index_block = _varint(0) + _varint(1) + _varint(1 + len(_varint(len(block)))) + b"\xff"
    index_block += _varint(0) + _varint(len(block))
    index_block += (0).to_bytes(4, "little") + (1).to_bytes(4, "little")
    meta_offset, meta_block = len(table), (0).to_bytes(4, "little") + (1).to_bytes(4, "little")
    table += (
        meta_block + b"\x00" + cr.mask_crc(cr.crc32c(meta_block + b"\x00")).to_bytes(4, "little")
    )
    index_offset = len(table)
    table += index_block + b"\x00"
    table += cr.mask_crc(cr.crc32c(index_block + b"\x00")).to_bytes(4, "little")
    handles = _varint(meta_offset) + _varint(len(meta_block))
    handles += _varint(index_offset) + _varint(len(index_block))
    table += handles.ljust(40, b"\x00") + cr.TABLE_MAGIC.to_bytes(8, "little")
    Path(f"{prefix}.index").write_bytes(table)
    Path(f"{prefix}.data-00000-of-00001").write_bytes(bytes(data))
    return prefix


def test_export_writes_every_array_and_variable_and_reloads_without_pickle(
    ins, tmp_path, tf_module
):
    prefix = ins / "train" / "policy" / "ckpt-30"
    out = tmp_path / "all.npz"
    result = invoke(prefix, "--export", out, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    reader = tf_module.train.load_checkpoint(str(prefix))
    with np.load(out, allow_pickle=False) as loaded:
        assert sorted(loaded) == summary["arrays"]
        for key in loaded:
            if key.endswith("py_state"):
                expected = np.load(io.BytesIO(reader.get_tensor(key)), allow_pickle=False)
            else:
                expected = np.asarray(reader.get_tensor(key))
            if key.startswith("dtypes/bf16"):
                expected = expected.astype(np.float32)
            assert loaded[key].shape == expected.shape
            assert loaded[key].tolist() == expected.tolist(), key
    assert summary["skipped"] == []  # strings without trailing NULs are stored as S


def test_export_inside_the_input_is_refused(ins):
    directory = ins / "train" / "policy"
    before = snapshot(directory)
    assert_one_line_error(invoke(directory, "--export", directory / "x.npz"), 5, "inside the input")
    assert snapshot(directory) == before


def test_diff_between_steps(ins):
    directory = ins / "train" / "policy"
    same = inspect_json(directory / "ckpt-10", "--diff", directory / "ckpt-20")
    weights = [c for c in same["compared"] if c["key"].startswith("policy/")]
    assert weights and all(c["equal"] and c["max_abs_diff"] == 0.0 for c in weights)
    changed = inspect_json(directory / "ckpt-20", "--diff", directory / "ckpt-30")
    by_key = {c["key"]: c for c in changed["compared"]}
    assert by_key["global_step/.ATTRIBUTES/VARIABLE_VALUE"]["max_abs_diff"] == 10
    assert by_key["side/counts/.ATTRIBUTES/py_state"]["max_abs_diff"] == 30
    assert all(not by_key[c["key"]]["equal"] for c in weights)
    assert changed["only_in_a"] == changed["only_in_b"] == [] and changed["changed"] == []


def test_diff_reports_keys_only_in_one_and_shape_changes(ins, artifacts):
    result = inspect_json(artifacts / "cartpole_sm", "--diff", artifacts / "learner" / "policies")
    assert result["only_in_a"] == result["only_in_b"] == []
    assert {c["key"] for c in result["changed"]} == {
        f"model_variables/{i}/.ATTRIBUTES/VARIABLE_VALUE" for i in range(3)
    }
    other = inspect_json(ins / "dtypes", "--diff", ins / "evaluation")
    assert other["only_in_b"] == [
        f"evaluation/{n}/.ATTRIBUTES/py_state" for n in ("mean_return", "returns", "train_step")
    ]
    text = invoke(ins / "dtypes", "--diff", ins / "evaluation").stdout
    assert "keys only in one" in text


# ----------------------------------------------------------------------------- contracts


def test_inspect_reads_without_side_effects_and_without_tensorflow(ins, artifacts):
    before = snapshot(ins, artifacts)
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from pytfpol.cli import main\n"
        f"for path in {[str(ins / 'train' / 'policy'), str(artifacts / 'learner'), str(ins / 'eval_out')]!r}:\n"
        "    result = CliRunner().invoke(main, ['inspect', path])\n"
        "    assert result.exit_code == 0, result.output\n"
        "heavy = [m for m in ('tensorflow', 'tf_agents') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
    assert snapshot(ins, artifacts) == before


def test_plain_table_when_not_a_terminal(ins):
    text = invoke(ins / "train" / "policy").stdout
    assert "\x1b[" not in text
    assert text.startswith("pytfpol inspect\n  path ")
    assert "  side/counts/.ATTRIBUTES/py_state       int64    (3,)   3     60" in text
    assert "newest; shown" in text and "total" in text


@pytest.mark.parametrize(
    "make, code, fragment",
    [
        (lambda d: d / "nothing-here", 3, "no such file"),
        (lambda d: (d / "empty").mkdir() or d / "empty", 3, "not a TF-Agents policy directory"),
        (lambda d: ((d / "f.txt").write_text("x"), d / "f.txt")[1], 3, "not a checkpoint"),
        (lambda d: ((d / "c.index").write_bytes(b"garbage"), d / "c")[1], 3, "c.index"),
    ],
)
def test_bad_paths_are_one_line_errors(tmp_path, make, code, fragment):
    path = make(tmp_path)
    before = snapshot(tmp_path)
    assert_one_line_error(invoke(path), code, fragment)
    assert snapshot(tmp_path) == before


def test_step_on_a_single_checkpoint_is_a_usage_error(ins):
    assert_one_line_error(invoke(ins / "train" / "policy" / "ckpt-30", "--step", "3"), 2, "--step")


def test_refused_numpy_state_entries_are_listed_with_the_reason(tmp_path):
    payload = npy(np.array([None], dtype=object), allow_pickle=True)
    prefix = _write_bundle(tmp_path / "ckpt-2", {"side/bad/.ATTRIBUTES/py_state": payload})
    report = inspect_json(prefix)
    assert report["checkpoint"]["refused"] == [
        {"key": "side/bad/.ATTRIBUTES/py_state", "reason": "object arrays need pickle"}
    ]
    assert "refused NumpyState entries" in invoke(prefix).stdout


# ----------------------------------------------------------------------------- diff at scale


@pytest.mark.parametrize("piece_bytes", [8, 24, 1000, inspection.DIFF_PIECE_BYTES])
def test_diff_streams_numeric_tensors_with_the_whole_array_results(ins, monkeypatch, piece_bytes):
    """`--diff` reads numeric tensors piece by piece (never whole: `Bundle.read` is not asked
    for them) and finds what comparing the whole arrays finds: the largest |a - b| (the first
    in flat order among equal ones, NaN above inf), exact for 64-bit integers, both-NaN equal."""
    pair = ins / "diff_pair"
    bundle_a, bundle_b = cr.open_bundle(pair / "ckpt-1"), cr.open_bundle(pair / "ckpt-2")
    whole = {
        key: inspection._compare(
            key, inspection.read_value(bundle_a, key), inspection.read_value(bundle_b, key)
        )
        for key in bundle_a.entries
        if key != cr.OBJECT_GRAPH_KEY
    }
    read_whole = []
    real_read = cr.Bundle.read

    def counting_read(self, key):
        read_whole.append(key)
        return real_read(self, key)

    monkeypatch.setattr(cr.Bundle, "read", counting_read)
    monkeypatch.setattr(inspect_diff, "DIFF_PIECE_BYTES", piece_bytes)
    result = inspection.diff(pair / "ckpt-1", pair / "ckpt-2")
    assert {c["key"]: c for c in result["compared"]} == whole
    assert read_whole == 2 * ["values/flags/.ATTRIBUTES/VARIABLE_VALUE"]  # bool: read whole
    by_name = {cr.short_name(key): c["max_abs_diff"] for key, c in whole.items()}
    assert by_name["values/big"] == by_name["values/ties"] == "inf"
    assert by_name["values/nan_first"] == "nan"
    assert by_name["values/extremes"] == by_name["values/unsigned"] == 2**64 - 1
    assert by_name["values/nan_both"] == 7.5 and by_name["values/same"] == 0


def test_diff_of_a_damaged_piece_is_refused_naming_the_file(ins, tmp_path):
    """A checksum mismatch in a tensor read in pieces is the same input error as reading it
    whole (exit 3, naming the data file)."""
    copy = tmp_path / "pair"
    shutil.copytree(ins / "diff_pair", copy)
    bundle = cr.open_bundle(copy / "ckpt-2")
    entry = bundle.entries["values/big/.ATTRIBUTES/VARIABLE_VALUE"]
    data = bundle.data_file(0)
    with open(data, "r+b") as damaged:
        damaged.seek(entry.offset + entry.size - 3)
        damaged.write(b"\x7f\x7f\x7f")
    with pytest.raises(InputError, match="data checksum mismatch") as raised:
        inspection.diff(copy / "ckpt-1", copy / "ckpt-2")
    assert str(data) in raised.value.message


def test_the_typed_documents_of_inspect_are_the_documents_returned(ins, artifacts, tmp_path):
    """commands.inspect's TypedDicts name exactly the keys the documents have, for each kind of
    PATH, the diff, an array and an export: the types cannot drift from what is returned."""
    from pytfpol import api
    from pytfpol.commands import inspect as inspecting

    policy = ins / "train" / "policy"
    for path in (policy, policy / "ckpt-20", ins / "eval_out", artifacts / "learner"):
        document = api.inspect(str(path))
        assert set(document) == inspecting.InspectDocument.__required_keys__, path
    compared = api.inspect(str(policy / "ckpt-10"), diff=str(policy / "ckpt-30"))
    assert set(compared) == inspecting.DiffDocument.__required_keys__
    array = api.inspect(str(policy), array="side/counts")
    assert set(array) == inspecting.ArrayValue.__required_keys__
    assert array["shape"] == list(array["value"].shape) == [3]
    exported = api.export_npz(str(policy), str(tmp_path / "a.npz"))
    assert set(exported) == inspecting.ExportResult.__required_keys__
