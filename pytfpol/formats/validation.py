"""Check every file of a policy before TensorFlow reads it, reading each once, and hand on what
was read.

TensorFlow aborts, crashes or blocks on some damaged or crafted files, so nothing reaches it
unchecked: regular files only, every checkpoint bundle parsed by the pure-Python reader with
every tensor's checksum verified, float values finite (NaN weights restore silently and make a
greedy policy pick action 0), NumpyState payloads decoded without pickle. The parsed bundles and
the small values a run needs afterwards (NumpyState arrays, step counters) are kept in
`CheckedInputs`, so that no later stage opens these files again; TensorFlow's own restore is
the only other reader.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from pytfpol.errors import InputError
from pytfpol.formats import checkpoint_reader, input_files
from pytfpol.formats import layout as lay
from pytfpol.formats.sources import PolicySource

PY_STATE_SUFFIX = checkpoint_reader.PY_STATE_SUFFIX
VALUE_SUFFIX = checkpoint_reader.VARIABLE_SUFFIX
STEP_KEYS = tuple(f"{name}{VALUE_SUFFIX}" for name in ("train_step", "global_step"))


@dataclass
class CheckedBundle:
    """A validated checkpoint: its parsed index, and every value read while checking it: the
    variables (which pytfpol assigns to the graph itself, so TensorFlow never opens the file),
    the NumpyState arrays and the integer scalars (train steps)."""

    bundle: checkpoint_reader.Bundle
    values: dict[str, np.ndarray] = field(default_factory=dict)  # variable key -> value
    side_data: dict[str, np.ndarray] = field(default_factory=dict)  # name -> array (no suffix)
    scalars: dict[str, int] = field(default_factory=dict)  # key -> value of integer scalars
    # path -> (sha256, bytes) of its .index and every data shard, computed from the bytes read
    # (the index only when checked with digests=False)
    files: dict[str, tuple[str, int]] = field(default_factory=dict)
    # path -> those very bytes, when asked to keep them (to ship them without reading again)
    contents: dict[str, bytes | bytearray] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        """One sha256 of the checkpoint's content (its files' digests, in order)."""
        return hashlib.sha256(
            "".join(f"{sha}:{size};" for sha, size in self.files.values()).encode()
        ).hexdigest()

    @property
    def prefix(self) -> str:
        return self.bundle.prefix

    def step(self, key: Optional[str] = None) -> Optional[int]:
        """The train step it holds (`key`, else train_step or global_step), if any."""
        for name in (key,) if key else STEP_KEYS:
            if name in self.scalars:
                return self.scalars[name]
        return None


@dataclass
class CheckedInputs:
    """Everything validated for one source, by bundle prefix."""

    bundles: dict[str, CheckedBundle] = field(default_factory=dict)

    def get(self, prefix: Optional[str]) -> Optional[CheckedBundle]:
        return None if prefix is None else self.bundles.get(str(prefix))

    def contents_of(self, path: str) -> Optional[bytes]:
        """The bytes of checkpoint file `path` as validation read and hashed them, if they were
        kept (`validate(keep_bytes=True)`)."""
        path = os.path.abspath(path)
        for checked in self.bundles.values():
            for name, data in checked.contents.items():
                if os.path.abspath(name) == path:
                    return data
        return None

    def forget_contents(self, prefixes: Optional[tuple] = None) -> None:
        """Let go of the kept bytes of the bundles at `prefixes` (all when None): they will not
        be shipped again."""
        for prefix, checked in self.bundles.items():
            if prefixes is None or prefix in prefixes:
                checked.contents.clear()

    def file_digests(self) -> dict[str, tuple[str, int]]:
        """Every checkpoint file validated, by absolute path -> (sha256, bytes)."""
        return {
            os.path.abspath(path): digest
            for checked in self.bundles.values()
            for path, digest in checked.files.items()
        }

    @property
    def total_bytes(self) -> int:
        return sum(sum(b.bundle.shard_sizes) for b in self.bundles.values())


def validate(
    source: PolicySource,
    trusted_sha256: tuple = (),
    saved_models: Optional[dict] = None,
    keep_bytes: bool = False,
) -> CheckedInputs:
    """Validate every file of `source` that TensorFlow will read (see the module docstring).
    `saved_models` (prefix -> CheckedBundle), kept by a caller validating many checkpoints of
    one SavedModel (a sweep), holds its variables once validated: they are not read again.
    `keep_bytes`: the checkpoint files' bytes are kept as they were read (`contents_of`), for
    a run that ships them to other machines (`--backend ray`) without reading them again."""
    check_saved_model_files(source)
    check_trusted(source, trusted_sha256)
    checked = CheckedInputs()
    for prefix in _prefixes(source):
        own = source.saved_model_dir is not None and prefix == _saved_model_prefix(
            source.saved_model_dir
        )
        if own and saved_models is not None and prefix in saved_models:
            checked.bundles[prefix] = saved_models[prefix]
            continue
        checked.bundles[prefix] = check_bundle(prefix, keep_bytes=keep_bytes)
        if own and saved_models is not None:
            saved_models[prefix] = checked.bundles[prefix]
    return checked


def _saved_model_prefix(saved_model_dir: str) -> str:
    return os.path.join(saved_model_dir, lay.VARIABLES_PREFIX)


def _prefixes(source: PolicySource) -> list[str]:
    prefixes = []
    if source.saved_model_dir is not None:
        prefixes.append(_saved_model_prefix(source.saved_model_dir))
    for prefix in (source.checkpoint_prefix, source.evaluation_prefix):
        if prefix is not None:
            prefixes.append(prefix)
    return prefixes


def check_bundle(prefix: str, digests: bool = True, keep_bytes: bool = False) -> CheckedBundle:
    """Parse `prefix`'s index, read every tensor once (checksum), refuse non-finite floats and
    NumpyState payloads that need pickle; keep what was read (see CheckedBundle). With
    `digests`, also each file's sha256 (`CheckedBundle.files`, the report's digests), hashed
    from the same open files; without, `files` lists the index only (sha256 costs more than the
    rest of validation: ~2 GB/s here). `keep_bytes` (with `digests`): the files' bytes are kept
    too (`CheckedBundle.contents`), for a run that ships them to other machines."""
    keep_bytes = keep_bytes and digests
    bundle = checkpoint_reader.open_bundle(prefix, keep=keep_bytes)
    checked = CheckedBundle(bundle)

    def visit(entry, value: np.ndarray, data_file: Path, tested: bool) -> None:
        if entry.is_py_state:
            payload = value.item() if value.dtype == object and value.shape == () else None
            try:  # numeric .npy only, never unpickled (as loading will decode it)
                array = checkpoint_reader.decode_py_state(payload, entry.key, numeric_only=True)
            except InputError as exc:
                raise InputError(f"{data_file}: {exc.message}", exc.hint, path=data_file) from None
            checked.side_data[entry.key[: -len(PY_STATE_SUFFIX)]] = array
        elif not tested and value.dtype.kind in "fc" and not np.isfinite(value).all():
            raise InputError(
                f"{data_file}: {checkpoint_reader.short_name(entry.key)} holds non-finite values "
                f"({int(np.isnan(value).sum())} NaN, {int(np.isinf(value).sum())} inf)",
                "the policy diverged in training or the file is damaged: evaluate an "
                "earlier checkpoint",
                path=data_file,
            )
        else:
            if value.dtype.kind in "iu" and value.shape == ():
                checked.scalars[entry.key] = int(value)
            if entry.key.endswith(VALUE_SUFFIX):
                checked.values[entry.key] = value

    checked.files[str(bundle.index_file)] = (bundle.index_sha256, bundle.index_bytes)
    if keep_bytes and bundle.index_data is not None:
        checked.contents[str(bundle.index_file)] = bundle.index_data
        bundle.index_data = None
    bundle.read_all(
        visit,
        accept=_finite_or_not_float,
        digests=checked.files if digests else None,
        contents=checked.contents if keep_bytes else None,
    )
    return checked


def _finite_or_not_float(entry, values: np.ndarray) -> bool:
    """A piece of a large tensor needs no closer look (`visit`) unless it holds non-finite
    floats."""
    return values.dtype.kind not in "fc" or bool(np.isfinite(values).all())


def check_trusted(source: PolicySource, trusted: tuple) -> None:
    """With --trusted-sha256, refuse a SavedModel whose saved_model.pb is not listed (exit 3),
    before TensorFlow loads it: loading a SavedModel runs its graph."""
    if not trusted or source.saved_model_dir is None:
        return  # a Checkpointer directory holds no program: its network is rebuilt from a config
    path = Path(source.saved_model_dir) / lay.SAVED_MODEL_PB
    digest = sha256_of_regular_file(path)
    if digest not in trusted:
        raise InputError(
            f"{path}: sha256 {digest} is not among the --trusted-sha256 digests",
            "a SavedModel is a program: evaluate it only if you trust where it came from, "
            "then add its digest",
            path=path,
        )


def sha256_of_regular_file(path: Path, kind: str = lay.SAVED_MODEL_PB) -> str:
    """Hash a regular SavedModel file within the limit of its `kind` (never a FIFO or a
    device, never more than its format allows)."""
    return input_files.sha256(path, input_files.LIMITS[kind], kind, "give a SavedModel")


def check_saved_model_files(source: PolicySource) -> None:
    """Only regular files and directories in the SavedModel, each within the size limit of its
    format (`input_files.LIMITS`), checked before TensorFlow opens them itself: TensorFlow
    blocks forever reading a FIFO (e.g. as `fingerprint.pb`), reads devices (a symlink to
    /dev/zero) without end and reads a `saved_model.pb` whole into memory. The checkpoint files
    of `variables/` are checked where they are read (`check_bundle`)."""
    if source.saved_model_dir is None:
        return
    hint = "a SavedModel holds only regular files; re-export it with PolicySaver"
    variables = os.path.normpath(os.path.join(source.saved_model_dir, "variables"))
    for root, dirs, files in os.walk(source.saved_model_dir):
        for name in [*dirs, *files]:
            path = Path(root) / name
            try:
                info = os.stat(path)
            except OSError as exc:
                raise InputError(
                    f"{path}: cannot read ({exc.strerror or exc}; a broken symlink?)",
                    "re-export the policy with TF-Agents' PolicySaver",
                    path=path,
                ) from exc
            if stat.S_ISDIR(info.st_mode):
                continue
            input_files.check_mode(path, info, hint)
            if os.path.normpath(root) == variables:
                continue  # checkpoint files: limited by what their index says (`check_bundle`)
            kind = input_files.saved_model_kind(os.path.relpath(path, source.saved_model_dir))
            input_files.check_size(path, info.st_size, input_files.LIMITS[kind], kind)
