"""NumpyState payloads (`.ATTRIBUTES/py_state`): the `.npy` bytes a tf.train.Checkpoint keeps for
numpy attributes, decoded without pickle."""

from __future__ import annotations

import io

import numpy as np

from pytfpol.errors import InputError


def decode_py_state(payload: bytes, key: str, *, numeric_only: bool = False) -> np.ndarray:
    """The array in a NumpyState `.npy` payload; never unpickles.

    Refuses pickles, `.npz` archives, object arrays, trailing bytes and (with `numeric_only`)
    anything but bool/int/uint/float/complex; the InputError names `key` and says why.
    """

    def refuse(why: str) -> InputError:
        return InputError(
            f"{key}: NumpyState entry refused: {why}",
            "it was not written by NumpyState from a plain numeric/text array",
        )

    if not isinstance(payload, (bytes, bytearray, memoryview)):
        raise refuse("the payload is not bytes")
    payload = bytes(payload)
    if payload.startswith(b"PK\x03\x04"):
        raise refuse("it is an .npz archive, not an .npy array")
    if not payload.startswith(b"\x93NUMPY"):
        raise refuse("not .npy data" + (" (a pickle)" if payload[:1] == b"\x80" else ""))
    stream = io.BytesIO(payload)
    try:
        array = np.load(stream, allow_pickle=False)
    except ValueError as exc:
        reason = (
            "object arrays need pickle" if "allow_pickle" in str(exc) else f"malformed .npy ({exc})"
        )
        raise refuse(reason) from None
    except Exception as exc:  # noqa: BLE001 - np.load raises many kinds on crafted headers
        raise refuse(f"malformed .npy ({type(exc).__name__}: {exc})") from None
    if not isinstance(array, np.ndarray):
        raise refuse("not a single array")
    if array.dtype.hasobject:
        raise refuse("object dtype")
    if stream.tell() != len(payload):
        raise refuse(f"{len(payload) - stream.tell()} bytes after the array")
    if numeric_only and array.dtype.kind not in "biufc":
        raise refuse(f"dtype {array.dtype} is not numeric")
    return array
