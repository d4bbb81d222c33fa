"""Faults (issue 6): bad input, interruption, concurrent runs. Nothing crashes, hangs or is lost.

Every damaged input is built from the real TF-Agents artifacts of the `artifacts` fixture, copied
to `tmp_path` first, and evaluated by `python -m pytfpol` in a child process: a signal would show
as a negative return code, a hang as a timeout. The checks on each: the exit code, a first stderr
line `error: ...` naming the file, a `hint:`, no traceback, and nothing written next to the input.

Most cases are refused before TensorFlow is imported (the pure-Python checkpoint validation runs
first), so they cost a Python start-up each; the few that need TensorFlow are grouped at the end.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from pytfpol.errors import InputError, OutputError
from pytfpol.formats import checkpoint_reader as cr
from pytfpol.results import files, locking, output_manifest, output_set
from tests.helpers import countdown_env
from tests.helpers.repo import REPO, run_cli

FAST = 60  # seconds: cases refused before TensorFlow is imported
SLOW = 240  # cases that load TensorFlow
SM_VARS = "variables/variables"
LEARNER_CKPT = "checkpoints/policy_checkpoint_0000000009/variables/variables"
KERNEL = "model_variables/0/.ATTRIBUTES/VARIABLE_VALUE"  # of the SavedModels' variables
# What an eval writes into OUT by default, in sorted order.
EVAL_OUTPUT_NAMES = sorted(
    [output_manifest.SET_MANIFEST, "checkpoint", "episodes.csv", "stats.json", "tensorboard"]
)


# ---------------------------------------------------------------------------------------------
# Re-encoding checkpoint bundles (valid checksums, chosen content), with checkpoint_reader's CRCs


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64 values take ten bytes, as protobuf encodes them
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, value) -> bytes:
    if isinstance(value, bytes):
        return _varint(number << 3 | 2) + _varint(len(value)) + value
    return _varint(number << 3) + _varint(value)


def encode_entry(entry: cr.Entry, **changes) -> bytes:
    """A BundleEntryProto: `entry` with `changes` (dtype_enum, shape, offset, size, crc32c)."""
    values = {**entry.__dict__, **changes}
    shape = b"".join(_field(2, _field(1, dim)) for dim in values["shape"])
    proto = _field(1, values["dtype_enum"]) + _field(2, shape)
    if values["shard_id"]:
        proto += _field(3, values["shard_id"])
    proto += _field(4, values["offset"]) + _field(5, values["size"])
    if values["crc32c"] is not None:
        proto += _varint(6 << 3 | 5) + struct.pack("<I", values["crc32c"])
    return proto


def _block(items) -> bytes:
    body = b"".join(
        _varint(0) + _varint(len(k)) + _varint(len(v)) + k + v for k, v in items
    )  # no prefix sharing: one restart point at 0
    return body + struct.pack("<II", 0, 1)


def encode_table(items: list[tuple[bytes, bytes]]) -> bytes:
    """An SSTable (LevelDB format, as TF writes `.index` files): one data block, an empty
    metaindex, an index block, the footer; every block trailer with its masked CRC32C."""
    out = bytearray()

    def put(block: bytes) -> tuple[int, int]:
        offset = len(out)
        out.extend(block + b"\x00" + struct.pack("<I", cr.masked_crc32c(block + b"\x00")))
        return offset, len(block)

    data = put(_block(items))
    meta = put(_block([]))
    index = put(_block([(items[-1][0], _varint(data[0]) + _varint(data[1]))]))
    footer = (_varint(meta[0]) + _varint(meta[1]) + _varint(index[0]) + _varint(index[1])).ljust(
        40, b"\x00"
    )
    return bytes(out) + footer + struct.pack("<Q", cr.TABLE_MAGIC)


def rewrite_index(prefix: Path, key: str, **changes) -> None:
    """Replace `key`'s entry in `<prefix>.index` (the table stays valid)."""
    index = cr.index_path(prefix)
    items = list(cr._table_items(index.read_bytes()))
    out = []
    for raw_key, value in items:
        if raw_key == key.encode():
            value = encode_entry(cr._parse_entry(key, value), **changes)
        out.append((raw_key, value))
    assert any(k == key.encode() for k, _ in items), key
    index.write_bytes(encode_table(out))


def replace_tensor(prefix: Path, key: str, raw: bytes, crc: int, **changes) -> None:
    """Append new bytes for `key` to its data file and point its entry (checksum fixed) at them."""
    bundle = cr.open_bundle(prefix)
    data_file = bundle.data_file(bundle.entries[key].shard_id)
    offset = data_file.stat().st_size
    with open(data_file, "ab") as handle:
        handle.write(raw)
    rewrite_index(prefix, key, offset=offset, size=len(raw), crc32c=crc, **changes)


def string_tensor(payload: bytes) -> tuple[bytes, int]:
    """A scalar DT_STRING tensor as TF stores it, and its entry checksum."""
    lengths_crc = cr.crc32c(struct.pack("<I", len(payload)))
    stored = struct.pack("<I", cr.mask_crc(lengths_crc))
    crc = cr.crc32c(payload, cr.crc32c(stored, lengths_crc))
    return _varint(len(payload)) + stored + payload, cr.mask_crc(crc)


def kernel_key(prefix: Path) -> str:
    """The first 2-D float32 variable (a dense kernel) of the bundle."""
    entries = cr.read_index(prefix).entries
    return next(k for k, e in entries.items() if e.dtype == "float32" and len(e.shape) == 2)


def set_nan(prefix: Path, key: str) -> None:
    """Rewrite a float tensor with a NaN in it, checksum fixed: only the values are wrong."""
    value = cr.open_bundle(prefix).read(key).copy()
    value.flat[0] = np.nan
    raw = value.astype("<f4").tobytes()
    replace_tensor(prefix, key, raw, cr.masked_crc32c(raw))


def npy(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# Inputs and assertions


def copy_input(artifacts: Path, tmp_path: Path, kind: str) -> tuple[Path, Path]:
    """A private copy of one artifact: (the directory to evaluate, the checkpoint prefix)."""
    if kind == "sm":
        root = shutil.copytree(artifacts / "cartpole_sm", tmp_path / "in" / "cartpole_sm")
        return root, root / SM_VARS
    if kind == "learner":
        root = shutil.copytree(artifacts / "learner", tmp_path / "in" / "learner")
        return root / "policies", root / "policies" / LEARNER_CKPT
    if kind == "ckpt":
        src = artifacts / "checkpointer" / "dqn_v2" / "train" / "policy"
        root = shutil.copytree(src, tmp_path / "in" / "policy")
        return root, root / "ckpt-20"
    if kind == "side":
        src = artifacts / "checkpointer" / "q_network_side"
        root = shutil.copytree(src, tmp_path / "in" / "q_network_side")
        (root / "reference.json").unlink(missing_ok=True)
        return root, root / "ckpt-3"
    raise AssertionError(kind)


ENV = {"sm": "CartPole-v1", "learner": "CartPole-v1", "ckpt": "CartPole-v1", "side": "CartPole-v1"}
EXTRA = {"ckpt": ("--step", "20"), "side": ("--allow-partial",)}


def listing(root: Path) -> dict:
    return {
        str(p.relative_to(root)): (p.lstat().st_mode, p.lstat().st_size, p.lstat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
    }


def evaluate(tmp_path: Path, target: Path, env: str, *extra: str, timeout: float = FAST):
    inputs = tmp_path / "in"
    before = listing(inputs) if inputs.exists() else {}
    started = time.monotonic()
    result = run_cli(
        "eval",
        str(target),
        "--env",
        env,
        "--episodes",
        "2",
        "--out",
        str(tmp_path / "out"),
        "-q",
        *extra,
        timeout=timeout,
    )
    result.seconds = time.monotonic() - started
    if inputs.exists():
        assert listing(inputs) == before, "the run wrote next to its input"
    return result


def assert_refused(result, exit_code: int, *fragments: str) -> str:
    """The contract: not killed by a signal, the exit code, `error: ...` naming the file on the
    first line, a `hint:` line, no traceback, nothing on stdout."""
    assert result.returncode >= 0, f"killed by signal {-result.returncode}: {result.stderr}"
    assert result.returncode == exit_code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines and lines[0].startswith("error: "), result.stderr
    assert any(line.startswith("hint: ") for line in lines[1:]), result.stderr
    assert "Traceback" not in result.stderr
    first = " ".join(result.stderr.split("hint:")[0].split())  # unwrapped, if the console wrapped
    for fragment in fragments:
        assert fragment in first, result.stderr
    assert result.stdout == ""
    return first


# ---------------------------------------------------------------------------------------------
# Damaged checkpoint files, in each of the three layouts (all refused before TensorFlow)


def _missing(path: Path) -> None:
    path.unlink()


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _bit_flipped(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x10
    path.write_bytes(bytes(data))


def _fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def _directory(path: Path) -> None:
    path.unlink()
    path.mkdir()


def _dev_zero(path: Path) -> None:
    path.unlink()
    path.symlink_to("/dev/zero")


INDEX_DAMAGE = {
    "missing": _missing,
    "empty": _empty,
    "truncated": _truncated,
    "bit-flipped": _bit_flipped,
    "fifo": _fifo,
    "directory": _directory,
    "dev-zero-symlink": _dev_zero,
}
DATA_DAMAGE = {"missing": _missing, "truncated": _truncated, "bit-flipped": _bit_flipped}
CASES = [(kind, "index", name) for kind in ("sm", "learner", "ckpt") for name in INDEX_DAMAGE] + [
    (kind, "data", name) for kind in ("sm", "learner", "ckpt") for name in DATA_DAMAGE
]
STEP = {"learner": ("9", "5"), "ckpt": ("20", "10")}  # the damaged newest, the older one


@pytest.mark.parametrize(("kind", "part", "damage"), CASES, ids=["-".join(c) for c in CASES])
def test_damaged_checkpoint_file(artifacts, tmp_path, kind, part, damage):
    """The rule (docs/inputs.md, "Which checkpoint is evaluated"): a damaged checkpoint is refused (exit 3) naming the
    damaged file itself, whether it was asked for with --step or is the newest; only a newest
    checkpoint whose files are not all there (an unfinished write) is skipped, with a warning
    naming the missing file, and the run says which checkpoint it evaluated."""
    target, prefix = copy_input(artifacts, tmp_path, kind)
    path = cr.index_path(prefix) if part == "index" else cr.data_path(prefix, 0, 1)
    (INDEX_DAMAGE if part == "index" else DATA_DAMAGE)[damage](path)
    runs = [((), None)] if kind == "sm" else [(("--step", STEP[kind][0]), None), ((), "newest")]
    for extra, which in runs:
        shutil.rmtree(tmp_path / "out", ignore_errors=True)
        result = evaluate(tmp_path, target, ENV[kind], *extra, "--json")
        skipped = which == "newest" and damage == "missing" and kind != "sm"
        if skipped:
            assert result.returncode == 0, result.stderr
            warning = " ".join(result.stderr.split())
            assert warning.startswith("warning: skipped") and path.name in warning
            assert json.loads(result.stdout)["policy"]["train_step"] == int(STEP[kind][1])
            continue
        assert_refused(result, 3, str(path))
        assert not (tmp_path / "out").exists(), "a run refused before any episode leaves no OUT"


# ---------------------------------------------------------------------------------------------
# Crafted files: valid checksums, hostile content (TensorFlow aborts or crashes on these)


def test_crafted_negative_shape(artifacts, tmp_path):
    target, prefix = copy_input(artifacts, tmp_path, "sm")
    rewrite_index(prefix, KERNEL, shape=(-1, 16))
    assert_refused(evaluate(tmp_path, target, "CartPole-v1"), 3, str(cr.index_path(prefix)))


def test_crafted_huge_shape(artifacts, tmp_path):
    target, prefix = copy_input(artifacts, tmp_path, "ckpt")
    key = kernel_key(prefix)
    rewrite_index(prefix, key, shape=(1 << 40, 1 << 40))
    result = evaluate(tmp_path, target, "CartPole-v1", "--step", "20")
    assert_refused(result, 3, str(cr.index_path(prefix)))


def test_crafted_offset_past_the_data_file(artifacts, tmp_path):
    target, prefix = copy_input(artifacts, tmp_path, "learner")
    key = kernel_key(prefix)
    rewrite_index(prefix, key, offset=1 << 40)
    result = evaluate(tmp_path, target, "CartPole-v1")
    assert_refused(result, 3, "past the end of the file")


def test_crafted_dtype_that_cannot_be_read(artifacts, tmp_path):
    target, prefix = copy_input(artifacts, tmp_path, "sm")
    rewrite_index(prefix, KERNEL, dtype_enum=21)  # DT_VARIANT with data bytes
    assert_refused(evaluate(tmp_path, target, "CartPole-v1"), 3, str(cr.index_path(prefix)))


@pytest.mark.parametrize("kind", ["sm", "learner", "ckpt"])
def test_nan_weights_are_refused_at_load(artifacts, tmp_path, kind):
    """Decided: non-finite weights are an input error (exit 3) found before TensorFlow loads
    anything; a greedy argmax over NaN Q-values would otherwise pick action 0 in spec, silently."""
    target, prefix = copy_input(artifacts, tmp_path, kind)
    key = kernel_key(prefix)
    set_nan(prefix, key)
    assert cr.open_bundle(prefix).read(key).flat[0] != cr.open_bundle(prefix).read(key).flat[0]
    result = evaluate(tmp_path, target, "CartPole-v1", *EXTRA.get(kind, ()))
    assert_refused(result, 3, str(cr.data_path(prefix, 0, 1)), "non-finite")


# Tensors larger than a piece (checkpoint_reader.PIECE_BYTES) are checksummed and tested for
# non-finite values piece by piece, never assembled; what is reported must not change. Three
# pieces are read in the caller's thread, ten by a thread reading ahead.
BIG = (3 * cr.PIECE_BYTES) // 4 + 1001  # float32 elements: three pieces, the last one partial
BIGGER = (10 * cr.PIECE_BYTES) // 4 - 77  # ten pieces (>= READ_AHEAD_PIECES)
assert BIGGER * 4 > cr.READ_AHEAD_PIECES * cr.PIECE_BYTES


def big_tensor(artifacts, tmp_path, values: np.ndarray, crc_of=None) -> tuple[Path, str]:
    """The SavedModel's kernel replaced by `values` (1-D float32); its entry's checksum is that
    of `crc_of` (default: the values themselves)."""
    _, prefix = copy_input(artifacts, tmp_path, "sm")
    raw = values.astype("<f4").tobytes()
    crc = cr.masked_crc32c(raw if crc_of is None else crc_of.astype("<f4").tobytes())
    replace_tensor(prefix, KERNEL, raw, crc, shape=(values.size,))
    return prefix, KERNEL


@pytest.mark.parametrize("count", [BIG, BIGGER])
def test_large_finite_tensor_passes_and_reads_back(artifacts, tmp_path, count):
    from pytfpol.formats import validation

    values = np.random.default_rng(0).normal(size=count).astype(np.float32)
    prefix, key = big_tensor(artifacts, tmp_path, values)
    assert cr.open_bundle(prefix).entries[key].size > 2 * cr.PIECE_BYTES
    validation.check_bundle(str(prefix))
    np.testing.assert_array_equal(cr.open_bundle(prefix).read(key), values)
    seen = {}  # without `accept`, every tensor is visited whole (read in pieces into its array)
    cr.open_bundle(prefix).read_all(lambda e, v, _: seen.setdefault(e.key, v.copy()))
    np.testing.assert_array_equal(seen[key], values)


def test_check_bundle_digests_optional(artifacts, tmp_path):
    """digests=False: the same values kept, the index's sha256 only; digests=True (as eval runs
    it): every file's sha256 and size, as hashlib gives them from the files."""
    import hashlib

    from pytfpol.formats import validation

    values = np.random.default_rng(1).normal(size=BIGGER).astype(np.float32)
    prefix, key = big_tensor(artifacts, tmp_path, values)
    full = validation.check_bundle(str(prefix))
    bare = validation.check_bundle(str(prefix), digests=False)
    np.testing.assert_array_equal(bare.values[key], values)
    assert bare.values.keys() == full.values.keys()
    files = [cr.index_path(prefix), cr.data_path(prefix, 0, 1)]
    expected = {
        str(f): (hashlib.sha256(f.read_bytes()).hexdigest(), f.stat().st_size) for f in files
    }
    assert full.files == expected
    assert bare.files == {str(files[0]): expected[str(files[0])]}


def _bytes_read() -> int:
    """Bytes this process has read from files so far (all its threads; Linux's rchar)."""
    text = Path("/proc/self/io").read_text()
    return int(next(line for line in text.splitlines() if line.startswith("rchar:")).split()[1])


def test_the_sha256_is_hashed_from_the_one_read_of_each_data_file(artifacts, tmp_path):
    """The data file's sha256 comes from the bytes validation reads (the file read once, not
    once more for its hash) and still equals hashlib's of the whole file, the bytes no tensor
    covers included (here the kernel's two former copies: a few kB, and ten 1 MB pieces)."""
    from pytfpol.formats import validation

    rng = np.random.default_rng(2)
    prefix, key = big_tensor(artifacts, tmp_path, rng.normal(size=BIGGER).astype(np.float32))
    values = rng.normal(size=BIG).astype(np.float32)
    raw = values.astype("<f4").tobytes()
    replace_tensor(prefix, key, raw, cr.masked_crc32c(raw), shape=(BIG,))
    data_file = cr.data_path(prefix, 0, 1)
    size = data_file.stat().st_size
    before = _bytes_read()
    checked = validation.check_bundle(str(prefix))
    read = _bytes_read() - before
    digest = hashlib.sha256(data_file.read_bytes()).hexdigest()
    assert checked.files[str(data_file)] == (digest, size)
    np.testing.assert_array_equal(checked.values[key], values)
    assert size <= read < 1.2 * size  # the index and the rest are a few kB


@pytest.mark.parametrize("count", [BIG, BIGGER])
def test_large_tensor_non_finite_values_counted_exactly(artifacts, tmp_path, count):
    """NaN/inf in the first and the last (partial) piece: the whole tensor's counts."""
    from pytfpol.formats import validation

    values = np.ones(count, np.float32)
    values[[3, count - 2]] = np.nan
    values[count - 1] = -np.inf
    prefix, _ = big_tensor(artifacts, tmp_path, values)
    with pytest.raises(InputError, match=r"holds non-finite values \(2 NaN, 1 inf\)"):
        validation.check_bundle(str(prefix))


@pytest.mark.parametrize("count", [BIG, BIGGER])
@pytest.mark.parametrize("nan", [False, True])
def test_large_tensor_checksum_mismatch_reported_first(artifacts, tmp_path, nan, count):
    """A damaged byte in the last piece is a checksum error, also when it made a NaN that an
    earlier piece's test would have found first."""
    from pytfpol.formats import validation

    stored = np.ones(count, np.float32)
    values = stored.copy()
    values[count - 5] = 2.0
    if nan:
        values[0] = np.nan
    prefix, _ = big_tensor(artifacts, tmp_path, values, crc_of=stored)
    with pytest.raises(InputError, match="data checksum mismatch"):
        validation.check_bundle(str(prefix))


def test_truncated_large_tensor_is_an_input_error(artifacts, tmp_path):
    """The data file ends inside a large tensor: refused before any piece is read; and a file
    that ends under the thread reading ahead is a truncation error in the caller's thread, with
    the thread stopped."""
    import threading

    from pytfpol.formats import validation

    prefix, key = big_tensor(artifacts, tmp_path, np.ones(BIGGER, np.float32))
    entry = cr.open_bundle(prefix).entries[key]
    data_file = cr.data_path(prefix, 0, 1)
    os.truncate(data_file, entry.offset + entry.size - 3 * cr.PIECE_BYTES)
    with pytest.raises(InputError, match="is past the end of the file"):
        validation.check_bundle(str(prefix))
    with (
        cr._opened(data_file) as (fd, _),  # the reader's own check bypassed
        pytest.raises(InputError, match=r"truncated \(wanted"),
    ):
        cr._read_numeric(fd, data_file, entry, None)
    assert not [t for t in threading.enumerate() if t.name in ("pytfpol-read", "pytfpol-sha256")]


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (npy(np.array([{"a": 1}, None], dtype=object)), "object arrays need pickle"),
        (b"\x80\x04\x95" + b"\x00" * 20, "a pickle"),
        (b"PK\x03\x04" + b"\x00" * 40, ".npz"),
        (npy(np.array(["text"])), "not numeric"),
    ],
    ids=["object-array", "pickle", "npz", "string-array"],
)
def test_refused_numpy_state_payload(artifacts, tmp_path, payload, why):
    target, prefix = copy_input(artifacts, tmp_path, "side")
    key = next(k for k in cr.read_index(prefix).entries if k.endswith(cr.PY_STATE_SUFFIX))
    raw, crc = string_tensor(payload)
    replace_tensor(prefix, key, raw, crc)
    result = evaluate(tmp_path, target, "CartPole-v1", "--allow-partial")
    assert_refused(result, 3, str(cr.data_path(prefix, 0, 1)), "NumpyState entry refused", why)


def test_re_encoded_index_is_read_as_the_original(artifacts, tmp_path):
    """The encoder above writes tables the reader accepts: the crafted cases test the content."""
    _, prefix = copy_input(artifacts, tmp_path, "sm")
    original = cr.open_bundle(prefix)
    rewrite_index(prefix, KERNEL)
    again = cr.open_bundle(prefix)
    assert again.entries == original.entries
    np.testing.assert_array_equal(again.read(KERNEL), original.read(KERNEL))


# ---------------------------------------------------------------------------------------------
# Other bad inputs refused before TensorFlow


def test_checkpoint_state_file_pointing_outside_is_never_followed(artifacts, tmp_path):
    """A Checkpointer dir whose `checkpoint` file names a (valid) checkpoint elsewhere, and no
    checkpoint of its own: refused; the file elsewhere is neither read into the run nor touched."""
    elsewhere, _ = copy_input(artifacts, tmp_path, "ckpt")
    before = listing(elsewhere)
    target = tmp_path / "in" / "escaping"
    target.mkdir()
    (target / "checkpoint").write_text(
        f'model_checkpoint_path: "{elsewhere}/ckpt-20"\n'
        f'all_model_checkpoint_paths: "../policy/ckpt-10"\n'
    )
    result = evaluate(tmp_path, target, "CartPole-v1")
    first = assert_refused(result, 3, str(target))
    assert str(elsewhere) not in first
    assert listing(elsewhere) == before


@pytest.mark.parametrize("name", ["fingerprint.pb", "assets/vocab.txt", "saved_model.pb"])
@pytest.mark.parametrize("damage", [_fifo, _dev_zero], ids=["fifo", "dev-zero-symlink"])
def test_saved_model_file_that_is_not_regular(artifacts, tmp_path, name, damage):
    """TensorFlow blocks forever on a FIFO fingerprint.pb: every file is checked first."""
    target, _ = copy_input(artifacts, tmp_path, "sm")
    path = target / name
    path.touch()
    damage(path)
    assert_refused(evaluate(tmp_path, target, "CartPole-v1"), 3, str(target))


def test_inspect_never_opens_a_fifo_state_file_nor_follows_an_escaping_one(artifacts, tmp_path):
    target, _ = copy_input(artifacts, tmp_path, "ckpt")
    state = target / "checkpoint"
    _fifo(state)
    assert_refused(run_cli("inspect", str(target), timeout=FAST), 3, str(state), "not a regular")
    state.unlink()
    elsewhere = artifacts / "checkpointer" / "dqn_v2" / "train" / "policy"
    state.write_text(f'model_checkpoint_path: "{elsewhere}/ckpt-10"\n')
    result = run_cli("inspect", str(target), timeout=FAST)
    assert_refused(result, 3, str(state), "points outside")


def test_inspect_refuses_a_crafted_index(artifacts, tmp_path):
    _, prefix = copy_input(artifacts, tmp_path, "sm")
    rewrite_index(prefix, KERNEL, shape=(1 << 62, 4))
    result = run_cli("inspect", f"{prefix}.index", timeout=FAST)
    assert_refused(result, 3, str(cr.index_path(prefix)))


def test_eval_output_whose_stats_json_is_a_fifo(artifacts, tmp_path):
    """`pytfpol eval OUT` reads OUT/stats.json to find the SavedModel: a FIFO must not block."""
    target = tmp_path / "in" / "run"
    shutil.copytree(artifacts / "cartpole_sm" / "variables", target / "checkpoint" / "variables")
    os.mkfifo(target / "stats.json")
    assert_refused(evaluate(tmp_path, target, "CartPole-v1"), 3, str(target))


def test_saved_model_without_variables_dir(artifacts, tmp_path):
    target, _ = copy_input(artifacts, tmp_path, "sm")
    shutil.rmtree(target / "variables")
    assert_refused(evaluate(tmp_path, target, "CartPole-v1"), 3, str(target))


def test_bad_config_toml(artifacts, tmp_path):
    target, _ = copy_input(artifacts, tmp_path, "ckpt")
    config = tmp_path / "bad.toml"
    config.write_text("[network\ntype = ")
    result = evaluate(tmp_path, target, "CartPole-v1", "--config", str(config))
    assert_refused(result, 2, str(config))


@pytest.mark.parametrize("damage", [_fifo, _directory, _dev_zero], ids=["fifo", "dir", "dev-zero"])
def test_config_that_is_not_a_regular_file(artifacts, tmp_path, damage):
    target, _ = copy_input(artifacts, tmp_path, "ckpt")
    config = tmp_path / "policy.toml"
    config.touch()
    damage(config)
    result = evaluate(tmp_path, target, "CartPole-v1", "--config", str(config))
    assert_refused(result, 2, str(config), "not a regular file")


def test_config_with_an_unknown_key(artifacts, tmp_path):
    target, _ = copy_input(artifacts, tmp_path, "ckpt")
    config = tmp_path / "unknown.toml"
    text = (REPO / "configs" / "tf-agents-dqn-v2-cartpole.toml").read_text()
    config.write_text(text + "\n[extra]\nexec = 'import os'\n")
    result = evaluate(tmp_path, target, "CartPole-v1", "--config", str(config))
    assert_refused(result, 2, str(config))


def test_untrusted_saved_model_is_refused_before_loading(artifacts, tmp_path):
    target, _ = copy_input(artifacts, tmp_path, "sm")
    result = evaluate(tmp_path, target, "CartPole-v1", "--trusted-sha256", "ab" * 32)
    assert_refused(result, 3, str(target / "saved_model.pb"), "--trusted-sha256")
    assert "tensorflow" not in result.stderr.lower()


def test_bad_trusted_digest_and_timeout_are_usage_errors(artifacts, tmp_path):
    target, _ = copy_input(artifacts, tmp_path, "sm")
    result = evaluate(tmp_path, target, "CartPole-v1", "--trusted-sha256", "nothex")
    assert_refused(result, 2, "--trusted-sha256")
    result = evaluate(tmp_path, target, "CartPole-v1", "--timeout", "-1")
    assert_refused(result, 2, "--timeout")


def test_output_that_is_a_file(artifacts, tmp_path):
    target, _ = copy_input(artifacts, tmp_path, "sm")
    (tmp_path / "out").write_text("not a directory")
    assert_refused(evaluate(tmp_path, target, "CartPole-v1"), 5, str(tmp_path / "out"))


# ---------------------------------------------------------------------------------------------
# Bad inputs found once TensorFlow is loaded (one process each: the slow part of this file)


def test_empty_saved_model_pb(artifacts, tmp_path):
    target, _ = copy_input(artifacts, tmp_path, "sm")
    (target / "saved_model.pb").write_bytes(b"")
    result = evaluate(tmp_path, target, "CartPole-v1", timeout=SLOW)
    assert_refused(result, 3, str(target))


def test_garbage_fingerprint_is_tolerated_quietly(artifacts, tmp_path):
    """fingerprint.pb is metadata TensorFlow skips when unreadable, logging a traceback: the run
    succeeds and that traceback is not shown without -v."""
    target, _ = copy_input(artifacts, tmp_path, "sm")
    (target / "fingerprint.pb").write_bytes(np.random.default_rng(0).bytes(3000))
    result = evaluate(tmp_path, target, "CartPole-v1", timeout=SLOW)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "ERROR" not in result.stderr


def test_garbage_policy_specs(artifacts, tmp_path):
    target, _ = copy_input(artifacts, tmp_path, "sm")
    (target / "policy_specs.pbtxt").write_bytes(b"\x00\xffnot { a spec")
    result = evaluate(tmp_path, target, "CartPole-v1", timeout=SLOW)
    assert_refused(result, 3, str(target / "policy_specs.pbtxt"))


def test_wrong_architecture_config(artifacts, tmp_path):
    target, prefix = copy_input(artifacts, tmp_path, "ckpt")
    config = REPO / "configs" / "tf-agents-q-network.toml"
    result = evaluate(
        tmp_path, target, "CartPole-v1", "--step", "20", "--config", str(config), timeout=SLOW
    )
    assert_refused(result, 3, str(prefix))


def test_env_policy_spec_mismatch(artifacts, tmp_path):
    target, _ = copy_input(artifacts, tmp_path, "sm")
    result = evaluate(tmp_path, target, "Pendulum-v1", timeout=SLOW)
    assert_refused(result, 3, "Pendulum-v1")


@pytest.mark.fast
def test_unknown_env(artifacts, tmp_path):
    target, _ = copy_input(artifacts, tmp_path, "sm")
    result = evaluate(tmp_path, target, "NoSuchEnv-v9", timeout=SLOW)
    assert_refused(result, 3, "NoSuchEnv-v9")


# ---------------------------------------------------------------------------------------------
# The output directory: lock, free space, stale temporaries


@pytest.mark.fast
def test_lock_refuses_a_second_holder_and_is_released(tmp_path):
    with locking.locked_output(tmp_path):
        holder = json.loads((tmp_path / locking.LOCK_NAME).read_text())
        assert holder["pid"] == os.getpid()
        busy = f"in use by another pytfpol run .pid {os.getpid()}"
        with pytest.raises(OutputError, match=busy), locking.locked_output(tmp_path):
            pass
    assert not (tmp_path / locking.LOCK_NAME).exists()  # released and removed
    with locking.locked_output(tmp_path):
        pass


def test_stale_lock_file_of_a_dead_process_does_not_block(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], text=True,
                          capture_output=True, check=True)  # fmt: skip
    stale = {"pid": int(dead.stdout), "host": "elsewhere", "started": "2020-01-01T00:00:00+00:00"}
    (tmp_path / locking.LOCK_NAME).write_text(json.dumps(stale))
    with locking.locked_output(tmp_path):
        assert json.loads((tmp_path / locking.LOCK_NAME).read_text())["pid"] == os.getpid()


def test_not_enough_free_space_is_an_output_error(tmp_path, monkeypatch):
    files.check_free_space(tmp_path, 0)
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(files.shutil, "disk_usage", lambda _: usage._replace(free=1 << 20))
    with pytest.raises(OutputError, match="not enough free space") as error:
        files.check_free_space(tmp_path, 0)
    assert error.value.exit_code == 5


def test_stale_temporaries_are_cleaned(tmp_path):
    for name in (".checkpoint.old-abc123", ".checkpoint.tmp-def456", ".pending-ghi789"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "ckpt-1.index").write_bytes(b"partial")
    for name in (".stats.json.x1.tmp", ".episodes.csv.x2.tmp", ".pytfpol-probe-x3"):
        (tmp_path / name).write_bytes(b"partial")
    keep = ["stats.json", "notes.tmp", ".stats.json.keep"]  # not ours, or not a temporary
    for name in keep:
        (tmp_path / name).write_text("keep")
    locking.clean_stale_temporaries(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(keep)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.fast
def test_an_interrupted_commit_is_rolled_forward(tmp_path):
    """Killed after the commit point, half way through moving the outputs into place: the next
    run completes the move, so OUT holds the new set whole (never old stats with a new ckpt)."""
    (tmp_path / "checkpoint").mkdir()
    (tmp_path / "checkpoint" / "ckpt-1.index").write_text("old")
    (tmp_path / "stats.json").write_text("old")
    (tmp_path / "episodes.csv").write_text("old")
    stage = output_set.stage_outputs(tmp_path)
    (stage / "checkpoint").mkdir()
    (stage / "checkpoint" / "ckpt-2.index").write_text("new")
    (stage / "stats.json").write_text("new")
    (stage / "episodes.csv").write_text("new")
    names = ["checkpoint", "episodes.csv", "stats.json"]
    files = {
        str(p.relative_to(stage)): {"size": p.stat().st_size, "sha256": sha256_of(p)}
        for p in stage.rglob("*")
        if p.is_file()
    }
    manifest = {"kind": "eval", "set": names, "unset": [], "files": files, "replaces": None}
    (stage / output_manifest.MANIFEST).write_text(json.dumps(manifest))
    commit = tmp_path / (output_manifest.COMMIT_PREFIX + "x")
    os.rename(stage, commit)
    os.rename(tmp_path / "checkpoint", commit / ".old-checkpoint")  # the kill fell here
    os.rename(commit / "checkpoint", tmp_path / "checkpoint")
    locking.clean_stale_temporaries(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "checkpoint",
        "episodes.csv",
        "stats.json",
    ]
    assert (tmp_path / "checkpoint" / "ckpt-2.index").read_text() == "new"
    assert (tmp_path / "stats.json").read_text() == "new"
    assert (tmp_path / "episodes.csv").read_text() == "new"


def test_a_run_killed_before_its_commit_leaves_the_previous_set(tmp_path):
    (tmp_path / "stats.json").write_text("old")
    stage = output_set.stage_outputs(tmp_path)
    (stage / "stats.json").write_text("new, but never committed")
    locking.clean_stale_temporaries(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stats.json"]
    assert (tmp_path / "stats.json").read_text() == "old"


# ---------------------------------------------------------------------------------------------
# Runs: two on one output, --timeout, Ctrl-C (slow env: tests/helpers/countdown_env.py)

SLOW_ENV = f"tests.helpers.countdown_env:{countdown_env.SLOW_ENV_ID}"


def start_slow_run(artifacts, tmp_path, marker: Path, episodes: int, *extra: str):
    args = [
        sys.executable, "-m", "pytfpol", "eval", str(artifacts / "countdown_sm"),
        "--env", SLOW_ENV, "--env-kwargs", f"delay=0.05,marker={json.dumps(str(marker))}",
        "--episodes", str(episodes), "--num-envs", "1", "--out", str(tmp_path / "out"), "--json",
        *extra,
    ]  # fmt: skip
    return subprocess.Popen(
        args,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )


def wait_for(path: Path, process, seconds: float = SLOW) -> None:
    end = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < end, "the run never started its episodes"
        time.sleep(0.1)


def test_two_runs_on_one_output(artifacts, tmp_path):
    """One proceeds, the other exits 5 naming the holder and writes nothing; nothing is lost.
    The holder also checks that a listed --trusted-sha256 lets a SavedModel load."""
    digest = hashlib.sha256((artifacts / "countdown_sm" / "saved_model.pb").read_bytes())
    marker = tmp_path / "started"
    first = start_slow_run(
        artifacts, tmp_path, marker, 20, "--trusted-sha256", "00" * 32,
        "--trusted-sha256", digest.hexdigest().upper(),
    )  # fmt: skip
    try:
        wait_for(marker, first)
        second = run_cli(
            "eval", str(artifacts / "countdown_sm"), "--env", countdown_env.CLI_ENV_ID,
            "--episodes", "3", "--out", str(tmp_path / "out"), timeout=FAST,
        )  # fmt: skip
        assert_refused(second, 5, str(tmp_path / "out"), f"pid {first.pid}")
        stdout, stderr = first.communicate(timeout=SLOW)
    finally:
        first.kill()
    assert first.returncode == 0, stderr
    report = json.loads(stdout)
    assert report["complete"] and len(report["episodes"]) == 20
    assert json.loads((tmp_path / "out" / "stats.json").read_text()) == report
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == EVAL_OUTPUT_NAMES


def test_timeout_writes_the_completed_episodes(artifacts, tmp_path):
    marker = tmp_path / "started"
    started = time.monotonic()
    run = start_slow_run(artifacts, tmp_path, marker, 10_000, "--timeout", "10")
    stdout, stderr = run.communicate(timeout=SLOW)
    assert run.returncode == 4, stderr
    assert time.monotonic() - started < 10 + 30
    report = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert json.loads(stdout) == report
    done = len(report["episodes"])
    assert report["complete"] is False and report["error"]["exit_code"] == 4
    assert [e["index"] for e in report["episodes"]] == list(range(done))
    message = report["error"]["message"]
    assert message.startswith(
        f"--timeout 10s reached after {done} of 10000 episodes, in episode {done} "
    )
    assert stderr.startswith(f"error: {message[:40]}")
    assert "Traceback" not in stderr


def test_timeout_stops_an_env_step_that_never_returns(artifacts, tmp_path):
    started = time.monotonic()
    run = run_cli(
        "eval", str(artifacts / "countdown_sm"), "--env", SLOW_ENV, "--env-kwargs", "delay=3600",
        "--episodes", "3", "--out", str(tmp_path / "out"), "--timeout", "8", "-q", timeout=SLOW,
    )  # fmt: skip
    assert time.monotonic() - started < 8 + 40
    assert_refused(run, 4, "--timeout 8s reached after 0 of 3 episodes, in episode 0 (seed 0)")
    report = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert report["complete"] is False and report["episodes"] == []
    assert report["error"]["exit_code"] == 4


@pytest.mark.parametrize(
    "sig, code, word", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")]
)
def test_ctrl_c_and_sigterm_stop_promptly_and_write_the_completed_episodes(
    artifacts, tmp_path, sig, code, word
):
    """Ctrl-C, and SIGTERM (what `timeout` and a CI cancel send): the completed episodes are
    written, marked incomplete, with no staging left behind; exit 130 / 143."""
    marker = tmp_path / "started"
    run = start_slow_run(artifacts, tmp_path, marker, 10_000)
    try:
        wait_for(marker, run)
        time.sleep(2)
        sent = time.monotonic()
        run.send_signal(sig)
        stdout, stderr = run.communicate(timeout=30)
        stopped = time.monotonic() - sent
    finally:
        run.kill()
    assert run.returncode == code, stderr
    assert stopped < 5, stopped
    assert "Traceback" not in stderr and stderr.startswith(f"error: {word} after ")
    report = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert json.loads(stdout) == report
    assert report["complete"] is False and report["error"]["exit_code"] == code
    done = len(report["episodes"])
    assert done >= 1
    assert [e["index"] for e in report["episodes"]] == list(range(done))
    assert report["error"]["message"] == f"{word} after {done} of 10000 episodes"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        output_manifest.SET_MANIFEST,
        "episodes.csv",
        "stats.json",
    ]


def test_an_interrupted_run_over_a_complete_output_keeps_its_history(artifacts, tmp_path):
    """Issue 17.7: OUT holds a complete run (checkpoint/ with a policy checkpoint). A run of the
    same policy interrupted over it commits its incomplete report; it writes no policy
    checkpoint, so the previous one goes with the previous set, but the history so far stays
    in checkpoint/evaluation/ and the next complete run continues it."""
    out = tmp_path / "out"
    args = ["eval", str(artifacts / "countdown_sm"), "--env", SLOW_ENV, "--episodes", "2",
            "--out", str(out), "-q"]  # fmt: skip
    assert run_cli(*args, timeout=SLOW).returncode == 0
    assert (out / "checkpoint" / SM_VARS).with_suffix(".index").exists()
    marker = tmp_path / "started"
    run = start_slow_run(artifacts, tmp_path, marker, 10_000)
    try:
        wait_for(marker, run)
        run.send_signal(signal.SIGINT)
        run.communicate(timeout=30)
    finally:
        run.kill()
    assert run.returncode == 130
    report = json.loads((out / "stats.json").read_text())
    assert report["complete"] is False
    assert sorted(p.name for p in (out / "checkpoint").iterdir()) == ["evaluation"]
    inspected = json.loads(run_cli("inspect", str(out), "--json").stdout)
    assert inspected["evaluation"]["stats"]["complete"] is False
    assert [row["episodes"] for row in inspected["evaluation"]["history"]] == [2]
    assert run_cli(*args, timeout=SLOW).returncode == 0
    again = json.loads(run_cli("inspect", str(out), "--json").stdout)
    assert [row["episodes"] for row in again["evaluation"]["history"]] == [2, 2]


def test_a_failed_run_over_another_policys_output_leaves_no_stale_checkpoint(artifacts, tmp_path):
    """With --overwrite over another run's complete output, a run that fails after loading
    commits its incomplete report and removes the earlier checkpoint/: it is not of this run."""
    out = tmp_path / "out"
    policy = str(artifacts / "countdown_sm")
    first = run_cli("eval", policy, "--env", countdown_env.CLI_ENV_ID, "--episodes", "2",
                    "--out", str(out), "-q", timeout=SLOW)  # fmt: skip
    assert first.returncode == 0 and (out / "checkpoint").is_dir()
    failed = run_cli("eval", policy, "--env", f"tests.helpers.countdown_env:{countdown_env.FAULTY_ENV_ID}",
                     "--env-kwargs", "fail_seed=0", "--episodes", "2", "--num-envs", "1",
                     "--out", str(out), "--overwrite", "-q", timeout=SLOW)  # fmt: skip
    assert failed.returncode == 4, failed.stderr
    report = json.loads((out / "stats.json").read_text())
    assert report["complete"] is False and report["env"]["id"].endswith("FaultyCountdown-v0")
    assert sorted(p.name for p in out.iterdir()) == [
        output_manifest.SET_MANIFEST,
        "episodes.csv",
        "stats.json",
    ]


LATE_SIGNAL_WRITER = """
import os, signal, sys
from pytfpol.results import output_set
from pytfpol.cli import main

real_commit = output_set.commit_outputs


def commit(out, stage):
    os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C lands in the final write
    real_commit(out, stage)


output_set.commit_outputs = commit
sys.argv = ["pytfpol", *sys.argv[1:]]
main()
"""


def test_ctrl_c_in_the_final_write_does_not_lose_the_report(artifacts, tmp_path):
    out = tmp_path / "out"
    run = subprocess.run(
        [sys.executable, "-c", LATE_SIGNAL_WRITER, "eval", str(artifacts / "countdown_sm"),
         "--env", countdown_env.CLI_ENV_ID, "--episodes", "3", "--out", str(out), "-q"],
        cwd=REPO, capture_output=True, text=True, timeout=SLOW,
    )  # fmt: skip
    assert run.returncode == 130, run.stderr
    report = json.loads((out / "stats.json").read_text())
    assert report["complete"] is True and len(report["episodes"]) == 3
    assert sorted(p.name for p in out.iterdir()) == [
        output_manifest.SET_MANIFEST,
        "checkpoint",
        "episodes.csv",
        "stats.json",
        "tensorboard",
    ]
    assert "interrupted after all 3 episodes" in run.stderr


@pytest.mark.parametrize("name, shown", [("out_of_range", "[5.0]"), ("nan", "[nan]")])
def test_out_of_spec_actions_stop_the_run(artifacts, tmp_path, name, shown):
    """Issue 17.4: a policy that acts outside the action space (here unclipped SavedModels
    that act 5.0 on Pendulum's [-2, 2], or NaN) is stopped at its first such action: exit 4
    naming the episode, seed and step, and the report is written, marked incomplete."""
    policy = artifacts / "checkpointer" / "bad_actions" / name
    result = evaluate(tmp_path, policy, "Pendulum-v1")
    assert_refused(
        result,
        4,
        f"episode 0 (seed 0): the policy emitted an out-of-spec action at step 0: action = "
        f"{shown} is outside float32 (1,) in [-2, 2]",
    )
    report = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert report["complete"] is False and report["episodes"] == []


# ---------------------------------------------------------------------------------------------
# kill -9 at every step of the real commit

KILLED_WRITER = """
import os, signal, sys
from pytfpol.results import output_set
from pytfpol.cli import main

kill_at, count_file, *argv = sys.argv[1:]
kill_at, calls, inside = int(kill_at), [0], [False]


def counted(real):
    def call(*args, **kwargs):
        if inside[0]:
            calls[0] += 1
            if calls[0] == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)
    return call


for name in ("rename", "replace", "fsync"):
    setattr(os, name, counted(getattr(os, name)))
real_commit = output_set.commit_outputs


def commit(out, stage):
    inside[0] = True
    real_commit(out, stage)
    inside[0] = False
    with open(count_file, "w") as handle:
        handle.write(str(calls[0]))


output_set.commit_outputs = commit
sys.argv = ["pytfpol", *argv]
main()
"""


def run_killed_writer(kill_at: int, out: Path, count_file: Path, policy: Path, seed: int):
    """The real `pytfpol eval` (CLI, api, storage), SIGKILLing itself at its `kill_at`-th
    os.rename / os.replace / os.fsync inside output_set.commit_outputs."""
    args = ["eval", str(policy), "--env", countdown_env.CLI_ENV_ID, "--episodes", "3",
            "--seed", str(seed), "--out", str(out), "-q"]  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(kill_at), str(count_file), *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def output_set_seed(out: Path) -> int:
    """The seed of the one run whose outputs OUT holds; fails on a mixture or a partial file."""
    report = json.loads((out / files.STATS_JSON).read_text())
    rows = (out / files.EPISODES_CSV).read_text().splitlines()
    assert rows[0] == ",".join(files.EPISODE_COLUMNS)
    csv_seeds = [int(row.split(",")[1]) for row in rows[1:]]
    bundle = cr.open_bundle(out / "checkpoint" / "evaluation" / "evaluation")
    key = "evaluation/seeds" + cr.PY_STATE_SUFFIX
    checkpoint_seeds = cr.decode_py_state(bundle.read_bytes(key), key).tolist()
    cr.open_bundle(out / "checkpoint" / SM_VARS)  # the policy checkpoint is whole too
    seed = report["settings"]["seed"]
    assert [e["seed"] for e in report["episodes"]] == csv_seeds == checkpoint_seeds
    assert csv_seeds == [seed, seed + 1, seed + 2]
    return seed


@pytest.mark.slow
def test_kill_9_at_every_step_of_the_commit_leaves_the_old_set_or_the_new(artifacts, tmp_path):
    """Issue 17.1: OUT holds a complete output set (seed 0). A run of the same policy (seed 100)
    is killed at its k-th rename/replace/fsync inside the real commit, for every k; then the
    next run's recovery (output_set.recover_outputs, under the lock) must leave exactly the old
    set or the new one, and no staging debris. Kills before the commit point keep the old set,
    kills after it are rolled forward to the new one: both must occur."""
    policy = artifacts / "countdown_sm"
    old = tmp_path / "old"
    first = run_killed_writer(10**9, old, tmp_path / "count-old", policy, seed=0)
    assert first.wait(timeout=SLOW) == 0, first.communicate()
    dry = tmp_path / "dry"
    shutil.copytree(old, dry)
    writer = run_killed_writer(10**9, dry, tmp_path / "count", policy, seed=100)
    assert writer.wait(timeout=SLOW) == 0, writer.communicate()
    steps = int((tmp_path / "count").read_text())
    assert steps >= 10 and output_set_seed(dry) == 100

    outcomes = {}
    for batch in [range(k, min(k + 2, steps + 1)) for k in range(1, steps + 1, 2)]:
        writers = {}
        for k in batch:  # two at a time: one TensorFlow start-up each
            out = tmp_path / f"out-{k}"
            shutil.copytree(old, out)
            writers[k] = (out, run_killed_writer(k, out, tmp_path / f"c-{k}", policy, seed=100))
        for k, (out, process) in writers.items():
            assert process.wait(timeout=SLOW) == -signal.SIGKILL, (k, process.communicate())
            with locking.locked_output(out):
                locking.clean_stale_temporaries(out)
            outcomes[k] = output_set_seed(out)
            assert sorted(p.name for p in out.iterdir()) == EVAL_OUTPUT_NAMES, k
    assert set(outcomes.values()) == {0, 100}, outcomes
    # Before the commit point the old set stays; from it on, the new one wins: one switch.
    switch = min(k for k, seed in outcomes.items() if seed == 100)
    assert all(seed == (100 if k >= switch else 0) for k, seed in outcomes.items()), outcomes
