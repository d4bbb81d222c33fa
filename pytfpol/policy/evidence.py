"""What a PolicySaver SavedModel of the same run records that a Checkpointer's weights do not.

Weights store layer sizes, not activations, pixel scaling or conv strides. TF-Agents' example
scripts often leave a SavedModel of the same policy beside the Checkpointer directory
(`ROOT/policy_saved_model/policy_<step>/`, `ROOT/policies/greedy_policy/`): its graph holds the
ops. This module reads them statically, with pytfpol's own protobuf walker: the SavedModel is
never loaded, no op runs, nothing is imported. It is used only when its variables have exactly
the shapes of the Checkpointer's policy (the same network), else it says nothing.

Read from the action functions of `saved_model.pb`:
- the activation of the hidden layers: the op (Relu, Tanh, ...) applied to a layer's BiasAdd;
- conv strides: the `strides` attribute of each Conv2D, in layer order;
- pixel scaling: a Cast of the uint8 observation (an argument of the function), followed (or
  not) by a division by 255.
Pure Python: no TensorFlow.
"""

from __future__ import annotations

import os
import re
import struct
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping, Optional

from pytfpol.formats import checkpoint_reader as cr
from pytfpol.formats import layout

ACTIVATION_OPS = {
    "Relu": "relu",
    "Tanh": "tanh",
    "Sigmoid": "sigmoid",
    "Elu": "elu",
    "Selu": "selu",
}
PIXEL_NONE, PIXEL_CAST, PIXEL_DIVIDE = "none", "cast", "divide_by_255"
_LIMIT = 256 << 20  # a saved_model.pb larger than this is not read for evidence
_UINT8 = 4  # TensorFlow's DT_UINT8


@dataclass(frozen=True)
class GraphEvidence:
    """What the graph of `saved_model` says; None/() where it says nothing."""

    saved_model: str
    activations: tuple[str, ...] = ()  # every activation applied to a hidden layer, sorted
    conv_strides: tuple[int, ...] = ()  # per Conv2D layer, in layer order
    pixel_scaling: Optional[str] = None  # how a uint8 observation is turned into floats

    @property
    def activation(self) -> Optional[str]:
        return self.activations[0] if len(self.activations) == 1 else None


@dataclass(frozen=True)
class _Node:
    name: str
    op: str
    inputs: tuple[str, ...]
    strides: tuple[int, ...] = ()
    source_type: int = 0  # Cast's SrcT
    value: Optional[float] = None  # a scalar Const's value


def sibling_saved_models(checkpoint_dir: str | Path) -> list[Path]:
    """SavedModels that TF-Agents' scripts write beside a Checkpointer directory, newest first:
    `policy_saved_model/policy_<step>` (PPO v2) and `policies/{greedy_policy,policy}` (Learner),
    looked for in the directory's parent and grandparent."""
    found: list[Path] = []
    directory = Path(os.path.abspath(checkpoint_dir))  # symlinks not followed
    for root in (directory.parent, directory.parent.parent):
        saved = root / layout.POLICY_SAVED_MODEL_DIR
        if saved.is_dir() and not saved.is_symlink():
            steps = [
                (int(m.group(1)), p)
                for p in saved.iterdir()
                if (m := layout.POLICY_SAVED_MODEL_RE.match(p.name))
            ]
            found += [p for _, p in sorted(steps, reverse=True)]
        for name in ("greedy_policy", "policy"):
            found.append(root / layout.POLICIES_DIR / name)
    return [p for p in found if (p / layout.SAVED_MODEL_PB).is_file() and not p.is_symlink()]


def find_evidence(
    checkpoint_dir: str | Path, policy_shapes: Mapping[str, tuple[int, ...]]
) -> Optional[GraphEvidence]:
    """The evidence of the first sibling SavedModel whose variables have the shapes of
    `policy_shapes` (the Checkpointer's policy variables), or None."""
    wanted = _shape_counts(policy_shapes.values())
    for saved_model in sibling_saved_models(checkpoint_dir):
        try:
            entries = cr.read_index(saved_model / layout.VARIABLES_PREFIX).entries
            shapes = [e.shape for k, e in entries.items() if k.startswith("model_variables/")]
            if _shape_counts(shapes) != wanted:
                continue
            return read_evidence(saved_model)
        except Exception:  # noqa: BLE001 - a damaged sibling is no evidence, never an error
            continue
    return None


def _shape_counts(shapes) -> Counter:
    return Counter(tuple(s) for s in shapes)


def read_evidence(saved_model: Path) -> GraphEvidence:
    """Activations, conv strides and pixel scaling from the action functions of `saved_model`."""
    path = saved_model / layout.SAVED_MODEL_PB
    if cr._regular_file_size(path) > _LIMIT:
        return GraphEvidence(str(saved_model))
    nodes = _action_nodes(cr._read_file(path))
    by_name = {n.name: n for n in nodes}
    activations = sorted(
        {
            ACTIVATION_OPS[n.op]
            for n in nodes
            if n.op in ACTIVATION_OPS
            and n.inputs
            and by_name.get(_node_name(n.inputs[0]), _Node("", "", ())).op == "BiasAdd"
            and "projection" not in n.name.lower()
        }
    )
    convs = sorted((n for n in nodes if n.op == "Conv2D"), key=lambda n: _layer_order(n.name))
    strides = tuple(n.strides[1] if len(n.strides) == 4 else 0 for n in convs)
    return GraphEvidence(str(saved_model), tuple(activations), strides, _pixel_scaling(nodes))


def _pixel_scaling(nodes: list[_Node]) -> Optional[str]:
    """'divide_by_255' when the observation (a function argument), or its Cast from uint8, is
    divided by 255; 'cast' for a Cast of a uint8 observation and nothing more; 'scaled by ...'
    for another operation on it; None when the graph does neither."""
    by_name = {n.name: n for n in nodes}
    casts = {
        n.name
        for n in nodes
        if n.op == "Cast"
        and n.source_type == _UINT8
        and n.inputs
        and ":" not in n.inputs[0]  # a function argument (the observation), not an op's output
    }
    for node in nodes:
        sources = [_node_name(i) for i in node.inputs]
        observed = any(
            _node_name(i) in casts or ":" not in i for i in node.inputs if not i.startswith("^")
        )
        if node.op in ("RealDiv", "Mul") and observed:
            values = [_constant(by_name, name) for name in sources]
            factor = next((v for v in values if v is not None), None)
            if factor is not None and node.op == "RealDiv" and factor == 255.0:
                return PIXEL_DIVIDE
            if factor is not None and node.op == "Mul" and abs(factor * 255.0 - 1.0) < 1e-6:
                return PIXEL_DIVIDE
            return f"scales it ({node.op} by {factor})"
    return PIXEL_CAST if casts else None


def _constant(by_name: dict, name: str) -> Optional[float]:
    """The value of a scalar Const, seen through one Cast (TF casts `x / 255`'s 255 too)."""
    node = by_name.get(name)
    if node is not None and node.op == "Cast" and node.inputs:
        node = by_name.get(_node_name(node.inputs[0]))
    return node.value if node is not None and node.op == "Const" else None


def _node_name(input_name: str) -> str:
    """`scope/op:output:0` -> `scope/op` (a function body's input reference)."""
    return input_name.lstrip("^").split(":")[0]


def _layer_order(name: str) -> tuple:
    """Keras names layers `conv2d`, `conv2d_1`, ... in creation order."""
    match = re.search(r"/conv2d(?:_(\d+))?/", name)
    return (int(match.group(1) or 0) if match else 0, name)


# ---------------------------------------------------------------------------------------------
# The protobuf walk: SavedModel.meta_graphs(2) > MetaGraphDef.graph_def(2) > GraphDef.library(2)
# > FunctionDefLibrary.function(1) > FunctionDef{signature(1) > OpDef.name(1), node_def(3)}.


def _action_nodes(data: bytes) -> list[_Node]:
    nodes: dict[str, _Node] = {}
    for span in _sub(data, (0, len(data)), 2):  # MetaGraphDef
        for graph in _sub(data, span, 2):  # GraphDef
            for library in _sub(data, graph, 2):
                for function in _sub(data, library, 1):
                    name = ""
                    for signature in _sub(data, function, 1):
                        name = next((_text(data, s) for s in _sub(data, signature, 1)), "")
                    if "action" not in name:
                        continue
                    for node_span in _sub(data, function, 3):
                        node = _node(data, node_span)
                        nodes.setdefault(node.name, node)
    return list(nodes.values())


Span = tuple[int, int]


def _sub(data: bytes, span: Span, number: int) -> Iterator[Span]:
    """The spans of the length-delimited fields `number` inside `span`."""
    for field, value in _spans(data, span):
        if field == number:
            yield value


def _spans(data: bytes, span: Span) -> Iterator[tuple[int, Span]]:
    """The length-delimited fields inside `span`: (field number, (start, end))."""
    for field, wire, value in cr._fields(data, *span):
        if wire == 2 and isinstance(value, tuple):
            yield field, value


def _text(data: bytes, span: Span) -> str:
    return data[span[0] : span[1]].decode("utf-8", errors="replace")


def _node(data: bytes, span: Span) -> _Node:
    name = op = ""
    inputs: list[str] = []
    attrs: dict[str, Span] = {}
    for field, item in _spans(data, span):
        if field == 1:
            name = _text(data, item)
        elif field == 2:
            op = _text(data, item)
        elif field == 3:
            inputs.append(_text(data, item))
        elif field == 5:  # attr: map<string, AttrValue>
            key, attr = _attr_entry(data, item)
            if attr is not None:
                attrs[key] = attr
    strides = _list_ints(data, attrs["strides"]) if "strides" in attrs else ()
    source_type = _first_number(data, attrs["SrcT"], 6) if "SrcT" in attrs else 0
    value = _scalar(data, attrs["value"]) if "value" in attrs else None
    return _Node(name, op, tuple(inputs), strides, source_type, value)


def _attr_entry(data: bytes, entry: Span) -> tuple[str, Optional[Span]]:
    """One map<string, AttrValue> entry: its key and the AttrValue's span."""
    key, attr = "", None
    for field, item in _spans(data, entry):
        if field == 1:
            key = _text(data, item)
        elif field == 2:
            attr = item
    return key, attr


def _first_number(data: bytes, span: Span, number: int) -> int:
    """The first number field `number` inside `span` (0 when absent: protobuf's default)."""
    for field, _wire, value in cr._fields(data, *span):
        if field == number and isinstance(value, int):
            return value
    return 0


def _list_ints(data: bytes, attr: Span) -> tuple[int, ...]:
    """AttrValue.list(1).i(3): packed or not."""
    values: list[int] = []
    for span in _sub(data, attr, 1):
        for field, wire, item in cr._fields(data, *span):
            if field != 3:
                continue
            if wire == 0 and isinstance(item, int):
                values.append(item)
            elif wire == 2 and isinstance(item, tuple):
                pos, end = item
                while pos < end:
                    number, pos = cr._varint(data, pos, end)
                    values.append(number)
    return tuple(values)


_CONTENT_FORMATS = {1: "<f", 2: "<d", 3: "<i", 4: "<B", 9: "<q"}  # DataType -> one value


def _scalar(data: bytes, attr: Span) -> Optional[float]:
    """A scalar Const's value: AttrValue.tensor(8) > TensorProto{dtype(1), tensor_content(4),
    float_val(5), double_val(6), int_val(7), int64_val(10)}."""
    for tensor in _sub(data, attr, 8):
        dtype = _first_number(data, tensor, 1)
        for field, wire, item in cr._fields(data, *tensor):
            found: Optional[float] = None
            if isinstance(item, int):
                found = _scalar_number(field, wire, item)
            elif isinstance(item, tuple):
                found = _scalar_span(data, field, item, dtype)
            if found is not None:
                return found
    return None


def _scalar_number(field: int, wire: int, item: int) -> Optional[float]:
    """A TensorProto value stored as one number: float_val, double_val, int_val, int64_val."""
    if field == 5 and wire == 5:  # float_val
        return struct.unpack("<f", item.to_bytes(4, "little"))[0]
    if field == 6 and wire == 1:  # double_val
        return struct.unpack("<d", item.to_bytes(8, "little"))[0]
    if field in (7, 10) and wire == 0:  # int_val, int64_val
        return float(item)
    return None


def _scalar_span(data: bytes, field: int, item: Span, dtype: int) -> Optional[float]:
    """A TensorProto value stored as bytes: tensor_content, or a packed repeated value."""
    start, end = item
    content = _CONTENT_FORMATS.get(dtype) if field == 4 else None
    if content is not None and end - start == struct.calcsize(content):
        return float(struct.unpack(content, data[start:end])[0])
    if field == 5 and end - start == 4:
        return struct.unpack("<f", data[start:end])[0]
    if field == 6 and end - start == 8:
        return struct.unpack("<d", data[start:end])[0]
    if field in (7, 10) and end > start:  # packed
        return float(cr._varint(data, start, end)[0])
    return None
