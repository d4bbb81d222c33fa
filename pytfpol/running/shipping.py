"""Policy files for workers on other machines: what the driver ships, and how a worker checks it.

On a cluster the policy files may not be on the workers' disks. The driver, which validated them
(`formats.validation`), describes each set of files a unit needs as a `FileSet`: the SavedModel
directory, and the `.index`/`.data-*` files of the checkpoint (and of an eval output's side data),
each file with the sha256 and size validation computed from the bytes it read. It then either
ships their bytes (`read_payload`: read again and refused if they changed since validation) or,
with `--shared-path`, only the description. A worker writes shipped bytes into a directory of
its own (`materialize`: every file's sha256 checked before it is written) or reads them where
they are (`--shared-path`); either way it validates them itself, as the driver did, and compares
every file with the description (`check_validated`) before TensorFlow loads anything. Nothing reaches TensorFlow that was not checked
where it runs. No TensorFlow and no Ray here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from pytfpol.errors import InputError
from pytfpol.formats import input_files
from pytfpol.formats.sources import PolicySource
from pytfpol.formats.validation import CheckedInputs, sha256_of_regular_file

HINT_CHANGED = "the policy files must not change while a run reads them; run it again"


@dataclass(frozen=True)
class FileSet:
    """Files under `root` (a directory on the driver's disk): (relative path, sha256, bytes)."""

    root: str
    files: tuple[tuple[str, str, int], ...]

    @property
    def key(self) -> str:
        """One sha256 of the set's content and names: where a worker keeps its copy."""
        listing = "".join(f"{name}:{sha}:{size};" for name, sha, size in self.files)
        return hashlib.sha256(listing.encode()).hexdigest()

    @property
    def total_bytes(self) -> int:
        return sum(size for _, _, size in self.files)


@dataclass(frozen=True)
class Shipment:
    """The file sets of one unit's policy source, in the order `localize` maps them."""

    saved_model: Optional[FileSet]
    checkpoint: Optional[FileSet]
    evaluation: Optional[FileSet]

    @property
    def sets(self) -> list[FileSet]:
        return [s for s in (self.saved_model, self.checkpoint, self.evaluation) if s is not None]


def describe(
    source: PolicySource, checked: CheckedInputs, saved_models: Optional[dict] = None
) -> Shipment:
    """The file sets `source` is loaded from, with the digests validation computed (the files
    validation did not read, e.g. saved_model.pb, are hashed here). `saved_models`, kept by a
    caller describing many checkpoints of one SavedModel, holds its set once described."""
    known = checked.file_digests()
    saved_model = None
    if saved_models is not None and source.saved_model_dir in saved_models:
        saved_model = saved_models[source.saved_model_dir]
    elif source.saved_model_dir is not None:
        root = os.path.abspath(source.saved_model_dir)
        names = sorted(
            os.path.relpath(os.path.join(folder, name), root)
            for folder, _, files in os.walk(root)
            for name in files
        )
        saved_model = FileSet(root, tuple(_entry(root, name, known) for name in names))
        if saved_models is not None:
            saved_models[source.saved_model_dir] = saved_model
    return Shipment(
        saved_model, _bundle_set(source.checkpoint_prefix, checked), _bundle_set(
            source.evaluation_prefix, checked
        )
    )  # fmt: skip


def _bundle_set(prefix: Optional[str], checked: CheckedInputs) -> Optional[FileSet]:
    if prefix is None:
        return None
    bundle = checked.get(prefix)
    root = os.path.dirname(os.path.abspath(prefix))
    files = sorted(bundle.files.items()) if bundle is not None else []
    return FileSet(
        root,
        tuple(
            (os.path.relpath(os.path.abspath(path), root), sha, size) for path, (sha, size) in files
        ),
    )


def _entry(root: str, name: str, known: dict) -> tuple[str, str, int]:
    path = os.path.join(root, name)
    if path in known:
        sha, size = known[path]
    else:
        kind = input_files.saved_model_kind(name)
        sha, size = sha256_of_regular_file(Path(path), kind), os.path.getsize(path)
    return (name, sha, size)


def read_payload(
    files: FileSet, kept: Optional[Callable[[str], Optional[bytes]]] = None
) -> dict[str, bytes]:
    """The driver's side: every file's bytes. `kept(path)` gives those validation read and
    hashed, when it kept them (`CheckedInputs.contents_of`): they are not read again. Others
    are read here, refused (InputError) when they are not the bytes validation read (the file
    changed in between)."""
    payload = {}
    for name, sha, size in files.files:
        path = os.path.join(files.root, name)
        data = kept(path) if kept is not None else None
        if data is not None:  # hashed as it was read: `sha` is its digest
            payload[name] = data
            continue
        data = input_files.read_bytes(path, size, "the file validated", HINT_CHANGED)
        _check(path, data, sha, size, "changed since it was validated")
        payload[name] = data
    return payload


def materialize(files: FileSet, payload: dict[str, bytes], cache: Path) -> str:
    """A worker's side: write the shipped bytes under `cache/<key>/`, each file's sha256 and
    size checked first (InputError naming the driver's path when one arrived damaged). Returns
    the local root; a set already there is reused."""
    local = cache / files.key
    if local.is_dir():
        return str(local)
    cache.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f"{files.key[:16]}.", dir=cache))
    try:
        for name, sha, size in files.files:
            data = payload.get(name)
            if data is None:
                raise InputError(
                    f"{os.path.join(files.root, name)}: was not shipped to the worker",
                    "this is a bug in pytfpol",
                )
            _check(os.path.join(files.root, name), data, sha, size, "arrived damaged")
            target = partial / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        os.rename(partial, local)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        if not local.is_dir():
            raise
    return str(local)


def check_validated(shipment: Shipment, local: Shipment, checked: CheckedInputs) -> None:
    """The files a worker validated (`checked`, of the files `local` names: its copies, or the
    driver's paths with --shared-path) are exactly the driver's: each checkpoint file with the
    sha256 and size validation computed on both sides, every other file (saved_model.pb, ...)
    hashed here. Runs before TensorFlow loads anything."""
    known = checked.file_digests()
    for driver_set, local_set in zip(shipment.sets, local.sets):
        for name, sha, size in driver_set.files:
            path = os.path.join(local_set.root, name)
            digest = known.get(path)
            if digest is None:
                try:
                    digest = (sha256_of_regular_file(Path(path)), os.path.getsize(path))
                except (InputError, OSError) as exc:
                    raise InputError(
                        f"{os.path.join(driver_set.root, name)}: cannot be read on this worker "
                        f"({getattr(exc, 'message', None) or exc})",
                        "with --shared-path the files must be at the same path on every node; "
                        "mount the shared directory there, or drop --shared-path",
                        path=path,
                    ) from None
            if digest != (sha, size):
                _mismatch(
                    os.path.join(driver_set.root, name),
                    digest[0],
                    sha,
                    "differs on this worker from the file the driver validated",
                )


def localize(source: PolicySource, shipment: Shipment, roots: list[str]) -> PolicySource:
    """`source` with its files at `roots` (one local directory per set of `shipment.sets`)."""
    mapping = dict(zip((s.root for s in shipment.sets), roots))

    def moved(path: Optional[str]) -> Optional[str]:
        if path is None:
            return None
        absolute = os.path.abspath(path)
        for old, new in mapping.items():
            if absolute == old or absolute.startswith(old + os.sep):
                return new + absolute[len(old) :]
        return path

    return dataclasses.replace(
        source,
        saved_model_dir=moved(source.saved_model_dir),
        checkpoint_prefix=moved(source.checkpoint_prefix),
        evaluation_prefix=moved(source.evaluation_prefix),
    )


def local_shipment(shipment: Shipment, roots: list[str]) -> Shipment:
    """`shipment` with each set's root replaced by its local copy's."""
    moved = iter(roots)
    return Shipment(
        *(
            None if files is None else dataclasses.replace(files, root=next(moved))
            for files in (shipment.saved_model, shipment.checkpoint, shipment.evaluation)
        )
    )


def unlocalize(text: str, shipment: Shipment, roots: list[str]) -> str:
    """A worker's message with its local copies' paths replaced by the driver's."""
    for files, root in zip(shipment.sets, roots):
        if root != files.root:
            text = text.replace(root, files.root)
    return text


def _check(path: str, data: bytes, sha: str, size: int, what: str) -> None:
    found = hashlib.sha256(data).hexdigest()
    if found != sha or len(data) != size:
        _mismatch(path, found, sha, what)


def _mismatch(path: str, found: str, expected: str, what: str) -> None:
    raise InputError(
        f"{path}: {what} (sha256 {found[:12]}..., validated {expected[:12]}...)",
        HINT_CHANGED,
        path=path,
    )
