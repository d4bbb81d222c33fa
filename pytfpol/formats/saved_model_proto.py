"""`saved_model.pb`'s signature defs (inputs, outputs, method), read from the protobuf wire format
without TensorFlow or protobuf."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Optional, TypeVar

from pytfpol.errors import InputError
from pytfpol.formats import input_files
from pytfpol.formats.bundle import DTYPES
from pytfpol.formats.reading import (
    _read_file,
)
from pytfpol.formats.sstable import (
    _Corrupt,
    _fields,
    _int64,
    _number,
    _span,
)

T = TypeVar("T")


def read_signatures(path: str | os.PathLike) -> dict[str, Optional[dict]]:
    """The signature defs of a `saved_model.pb` (name -> inputs/outputs as 'dtype [shape]')."""
    path = Path(path)
    data = _read_file(path, limit=input_files.LIMITS["saved_model.pb"], what="a saved_model.pb")
    try:
        signatures: dict[str, Optional[dict]] = {}
        for number, wire, value in _fields(data):
            if number == 2 and wire == 2:  # MetaGraphDef
                for n2, w2, v2 in _fields(data, *_span(value)):
                    if n2 == 5 and w2 == 2:  # map<string, SignatureDef> entry
                        name, signature = _map_entry(data, _span(v2), _signature)
                        signatures[name] = signature
        return dict(sorted(signatures.items()))
    except (_Corrupt, ValueError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{path}: corrupt SavedModel ({exc})", "write it again with PolicySaver", path=path
        ) from None


def _map_entry(
    data: bytes, span: tuple[int, int], decode_value: Callable[[bytes, tuple[int, int]], T]
) -> tuple[str, Optional[T]]:
    key, value = "", None
    for number, wire, item in _fields(data, *span):
        if number == 1 and wire == 2:
            start, end = _span(item)
            key = data[start:end].decode("utf-8")
        elif number == 2 and wire == 2:
            value = decode_value(data, _span(item))
    return key, value


def _signature(data: bytes, span: tuple[int, int]) -> dict:
    result: dict = {"inputs": {}, "outputs": {}, "method": ""}
    for number, wire, value in _fields(data, *span):
        if number in (1, 2) and wire == 2:
            name, info = _map_entry(data, _span(value), _tensor_info)
            result["inputs" if number == 1 else "outputs"][name] = info
        elif number == 3 and wire == 2:
            start, end = _span(value)
            result["method"] = data[start:end].decode("utf-8")
    result["inputs"] = dict(sorted(result["inputs"].items()))
    result["outputs"] = dict(sorted(result["outputs"].items()))
    return result


def _tensor_info(data: bytes, span: tuple[int, int]) -> str:
    dtype, shape = "?", "<unknown rank>"
    for number, wire, value in _fields(data, *span):
        if number == 2 and wire == 0:
            dtype = DTYPES.get(_number(value), (f"dtype_{value}", None))[0]
        elif number == 3 and wire == 2:
            dims, unknown = [], False
            for n2, w2, v2 in _fields(data, *_span(value)):
                if n2 == 2 and w2 == 2:
                    size = -1
                    for n3, w3, v3 in _fields(data, *_span(v2)):
                        if n3 == 1 and w3 == 0:
                            size = _int64(_number(v3))
                    dims.append("?" if size < 0 else str(size))
                elif n2 == 3 and w2 == 0 and v2:
                    unknown = True
            shape = "<unknown rank>" if unknown else "[" + ", ".join(dims) + "]"
        elif number == 5 and wire == 2:
            dtype = "composite"
    return f"{dtype} {shape}"
