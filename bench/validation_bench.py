"""Checkpoint validation against reading the same files from the page cache (`cat` > /dev/null).

Every checkpoint TensorFlow will read is first validated by pytfpol's own reader
(`pytfpol.formats.validation.check_bundle`: every tensor's CRC32C, non-finite floats, NumPy
payloads), alone and with the sha256 of each file that the report records. This times it on checkpoints written by TensorFlow (`tf.train.Checkpoint`, float32
variables of at most 16 MiB each, random normal values) of about 1 MB, 100 MB and 1 GB, in a
temporary directory, against `cat` of its files to /dev/null, both from the page cache (the files
are read once before timing), interleaved, medians.

    python bench/validation_bench.py [--repeats 5]          # prints the table
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIZES = {"1 MB": 1 << 20, "100 MB": 100 << 20, "1 GB": 1 << 30}
TENSOR_BYTES = 16 << 20


def make_checkpoints(directory: Path) -> dict[str, str]:
    """Checkpoint prefixes by size label, written by TensorFlow in a child process."""
    subprocess.run(
        [sys.executable, __file__, "--make", str(directory)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return {label: str(directory / label.replace(" ", "") / "ckpt") for label in SIZES}


def _write(directory: Path) -> None:
    sys.path.insert(0, str(REPO))
    from pytfpol.policy.quiet_tf import import_tf

    tf = import_tf()
    import numpy as np

    rng = np.random.default_rng(0)
    for label, total in SIZES.items():
        variables, left = [], total
        while left > 0:
            count = min(left, TENSOR_BYTES) // 4
            variables.append(tf.Variable(rng.standard_normal(count, dtype=np.float32)))
            left -= count * 4
        tf.train.Checkpoint(v=variables).write(str(directory / label.replace(" ", "") / "ckpt"))
        del variables


def files_of(prefix: str) -> list[str]:
    return sorted(str(p) for p in Path(prefix).parent.glob(Path(prefix).name + ".*"))


def read_pass(files: list[str], crc: bool, keep: bool = False) -> None:
    """The files read as validation reads them (1 MiB pieces into one reused buffer), with or
    without the CRC32C of each piece: the parts of validation's time. With `keep`, into new
    arrays of TENSOR_BYTES that are kept until the end, as validation keeps every value (for
    pytfpol to assign to the graph): what obtaining that memory costs."""
    import os

    import google_crc32c
    import numpy as np

    buffer = np.empty(1 << 20, np.uint8)
    kept = []
    for name in files:
        fd = os.open(name, os.O_RDONLY)
        try:
            offset, value = 0, 0
            while True:
                if keep and offset % TENSOR_BYTES == 0:
                    kept.append(np.empty(TENSOR_BYTES, np.uint8))
                if keep:
                    start = offset % TENSOR_BYTES
                    buffer = kept[-1][start : start + (1 << 20)]
                count = os.preadv(fd, [buffer], offset)
                if not count:
                    break
                if crc:
                    value = google_crc32c.extend(value, buffer[:count])
                offset += count
        finally:
            os.close(fd)


def measure(prefixes: dict[str, str], repeats: int) -> list[dict]:
    """Median seconds per checkpoint of `cat`, of reading the files in Python (without and with
    the checksums), and of `check_bundle`, interleaved."""
    sys.path.insert(0, str(REPO))
    from pytfpol.formats import validation

    cat = shutil.which("cat") or "cat"
    samples: dict = {}
    for prefix in prefixes.values():  # into the page cache
        subprocess.run([cat, *files_of(prefix)], stdout=subprocess.DEVNULL, check=True)
    runs = {
        "cat": lambda files, prefix: subprocess.run(
            [cat, *files], stdout=subprocess.DEVNULL, check=True
        ),
        "read": lambda files, prefix: read_pass(files, crc=False),
        "read_crc": lambda files, prefix: read_pass(files, crc=True),
        "read_keep": lambda files, prefix: read_pass(files, crc=False, keep=True),
        "validate": lambda files, prefix: validation.check_bundle(prefix, digests=False),
        "validate_sha": lambda files, prefix: validation.check_bundle(prefix),
    }
    for _ in range(repeats):
        for label, prefix in prefixes.items():
            files = files_of(prefix)
            for what, run_ in runs.items():
                start = time.perf_counter()
                run_(files, prefix)
                samples.setdefault((label, what), []).append(time.perf_counter() - start)
    rows = []
    for label, prefix in prefixes.items():
        size = sum(Path(f).stat().st_size for f in files_of(prefix))
        row = {"size": label, "bytes": size}
        row.update({f"{w}_s": statistics.median(samples[label, w]) for w in runs})
        rows.append(row)
    return rows


def render(rows: list[dict], repeats: int) -> list[str]:
    lines = [
        "| checkpoint | bytes | `cat` > /dev/null | read (Python) | read + CRC32C | "
        "read into kept arrays | validation | validation / cat | validation GB/s | "
        "validation + sha256 | + sha256 / cat |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        ms = {k: r.get(f"{k}_s", float("nan")) * 1e3 for k in ("read", "read_crc", "read_keep")}
        sha = r.get("validate_sha_s", float("nan"))
        lines.append(
            f"| {r['size']} | {r['bytes']:,} | {r['cat_s'] * 1e3:.1f} ms | "
            f"{ms['read']:.1f} ms | {ms['read_crc']:.1f} ms | {ms['read_keep']:.1f} ms | "
            f"{r['validate_s'] * 1e3:.1f} ms | **{r['validate_s'] / r['cat_s']:.2f}x** | "
            f"{r['bytes'] / r['validate_s'] / 1e9:.1f} | {sha * 1e3:.1f} ms | "
            f"{sha / r['cat_s']:.2f}x |"
        )
    lines += [
        "",
        f"(medians of {repeats} interleaved repeats, all in one process; `cat` includes starting "
        "it. read: the files in 1 MiB pieces into one buffer, in one thread, as validation reads "
        "them; read + CRC32C: the same with google-crc32c on each piece; read into kept arrays: "
        "the files read into new 16 MiB arrays kept until the end, as validation keeps every "
        "value for pytfpol to assign to the graph (TensorFlow never reads the files). "
        "validation: `check_bundle(prefix, digests=False)`, the CRC32C and finiteness test of "
        "every tensor, a thread reading and testing the pieces of large tensors while this one "
        "checksums them; validation + sha256: `check_bundle(prefix)`, as `pytfpol eval` runs it, "
        "with each file's sha256 for the report, hashed by a thread from the same descriptor.)",
    ]
    return lines


def run(repeats: int) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="pytfpol-bench-ckpt-") as tmp:
        return measure(make_checkpoints(Path(tmp)), repeats)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--make", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print each row as ROW <json>")
    args = parser.parse_args()
    if args.make:
        _write(Path(args.make))
    elif args.json:
        import json

        for row in run(args.repeats):
            print("ROW " + json.dumps(row))
    else:
        print("\n".join(render(run(args.repeats), args.repeats)))
