"""A SavedModel as plain data: its signatures (`saved_model.pb`), metadata and `policy_specs.pbtxt`
(tensor specs, shapes and values from the text proto), read without TensorFlow."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Optional

import numpy as np

from pytfpol.errors import InputError
from pytfpol.formats import checkpoint_reader as cr
from pytfpol.formats import layout as lay
from pytfpol.formats.inspect_checkpoint import (
    _train_step,
    _variables_prefix,
    json_value,
    read_value,
)

# ----------------------------------------------------------------------------- SavedModels


def describe_saved_model(directory: Path) -> dict:
    """Specs from policy_specs.pbtxt, train step and metadata from variables/, signatures."""
    bundle = cr.open_bundle(_variables_prefix(directory))
    return {
        "dir": str(directory),
        "specs": read_policy_specs(directory / lay.POLICY_SPECS),
        "train_step": _train_step(bundle),
        "metadata": _metadata(bundle),
        "signatures": _public_signatures(directory / lay.SAVED_MODEL_PB),
    }


def _metadata(bundle: cr.Bundle) -> dict:
    values = {}
    for key in bundle.entries:
        if key.startswith("metadata/") and key.endswith(cr.VARIABLE_SUFFIX):
            values[cr.short_name(key)[len("metadata/") :]] = json_value(read_value(bundle, key))
    return values


def _public_signatures(path: Path) -> dict:
    return {k: v for k, v in cr.read_signatures(path).items() if not k.startswith("__")}


def read_policy_specs(path: Path) -> dict:
    """time_step/action/policy_state/info specs, from PolicySaver's StructuredValue text proto."""
    if not os.path.lexists(path):  # a FIFO or device: refused as it is read
        raise InputError(
            f"{path}: missing", "a PolicySaver SavedModel has policy_specs.pbtxt", path=path
        )
    message = cr.read_text_proto(path)
    try:
        specs = _structured(message, depth=0)
        data = specs["collect_data_spec"]
        return {
            "time_step_spec": {
                k: data[k] for k in ("step_type", "reward", "discount", "observation")
            },
            "action_spec": data["action"],
            "policy_state_spec": specs.get("policy_state_spec"),
            "info_spec": data["policy_info"],
        }
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise InputError(
            f"{path}: not PolicySaver policy specs ({type(exc).__name__}: {exc})",
            "write the SavedModel again with tf_agents.policies.PolicySaver",
            path=path,
        ) from None


def _one(message: list, name: str):
    for field, value in message:
        if field == name:
            return value
    raise KeyError(name)


def _all(message: list, name: str) -> list:
    return [value for field, value in message if field == name]


def _structured(value, depth: int):
    """A StructuredValue (the dict/tuple/spec kinds nested_structure_coder writes) as plain data."""
    if depth > 64:
        raise ValueError("specs nested too deeply")
    (kind, body), *_ = value if value else [("none_value", [])]
    if kind in ("dict_value",):
        return {
            _text(_one(f, "key")): _structured(_one(f, "value"), depth + 1)
            for f in _all(body, "fields")
        }
    if kind == "named_tuple_value":
        return {
            _text(_one(f, "key")): _structured(_one(f, "value"), depth + 1)
            for f in _all(body, "values")
        }
    if kind in ("tuple_value", "list_value"):
        return [_structured(v, depth + 1) for v in _all(body, "values")]
    if kind == "none_value":
        return None
    if kind in ("tensor_spec_value", "bounded_tensor_spec_value"):
        return _tensor_spec(body)
    if kind in ("string_value", "int64_value", "float64_value", "bool_value"):
        return body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return {"type": kind}


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _tensor_spec(body: list) -> dict:
    dtype = _dtype_from_enum_name(_one(body, "dtype"))
    spec = {
        "name": _text(dict(body).get("name", b"")) or None,
        "dtype": dtype,
        "shape": _text_shape(dict(body).get("shape", [])),
    }
    for bound in ("minimum", "maximum"):
        if bound in dict(body):
            spec[bound] = json_value(_tensor_proto(dict(body)[bound]))
    return spec


def _dtype_from_enum_name(name: str) -> str:
    names = {f"DT_{v[0].upper()}": v[0] for v in cr.DTYPES.values()}
    names.update(DT_FLOAT="float32", DT_DOUBLE="float64", DT_HALF="float16")
    return names.get(str(name), str(name))


def _text_shape(shape: list) -> Optional[list]:
    if any(field == "unknown_rank" and value == "true" for field, value in shape):
        return None
    dims = []
    for dim in _all(shape, "dim"):
        size = int(dict(dim).get("size", "0"))
        dims.append(None if size < 0 else size)
    return dims


_PROTO_VALUES = {
    "float_val": np.float32,
    "double_val": np.float64,
    "int_val": np.int32,
    "int64_val": np.int64,
    "uint32_val": np.uint32,
    "uint64_val": np.uint64,
    "bool_val": np.bool_,
    "half_val": np.uint16,
}


def _tensor_proto(body: list) -> np.ndarray:
    """A text TensorProto (spec bounds) as an array: tensor_content, or *_val filled TF's way."""
    dtype = _dtype_from_enum_name(_one(body, "dtype"))
    shape = [d or 0 for d in (_text_shape(dict(body).get("tensor_shape", [])) or [])]
    count = int(np.prod(shape)) if shape else 1
    if count > 1 << 24:
        raise ValueError("bound tensor too large")
    numpy_dtype = np.dtype({"bfloat16": "<u2"}.get(dtype, dtype))
    content = dict(body).get("tensor_content")
    if content is not None:
        return np.frombuffer(content, numpy_dtype).reshape(shape).copy()
    for field, kind in _PROTO_VALUES.items():
        values = _all(body, field)
        if values:
            parsed = np.array([_proto_number(v) for v in values], kind)
            if field == "half_val":
                parsed = parsed.view(np.float16)
            if parsed.size < count:  # TF repeats the last value
                parsed = np.concatenate([parsed, np.repeat(parsed[-1:], count - parsed.size)])
            return parsed[:count].astype(numpy_dtype).reshape(shape)
    return np.zeros(shape, numpy_dtype)


def _proto_number(token: str):
    text = str(token)
    if text in ("true", "false"):
        return text == "true"
    if text.lower().rstrip("f") in ("inf", "infinity", "-inf", "-infinity", "nan"):
        return float(text.lower().rstrip("f"))
    return float(text.rstrip("f")) if re.search(r"[.eE]|^-?[a-z]", text) else int(text, 0)
