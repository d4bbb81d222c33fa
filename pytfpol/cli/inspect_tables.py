"""What `pytfpol inspect` and `pytfpol configs` print: titled tables (laid out by
`console.print_sections`) of an inspection report, a diff, arrays, an export and the configs."""

from __future__ import annotations

import json
import sys
from typing import Optional

from rich.console import Console

from pytfpol.cli.console import Section, fmt, print_json, print_sections, shape_text


def print_inspect_report(report: dict, console: Optional[Console] = None) -> None:
    """What `pytfpol inspect PATH` prints: one table per part of the report that is present."""
    sections: list[Section] = [("pytfpol inspect", None, _inspect_overview(report))]
    if report.get("saved_model"):
        sections += _saved_model_sections("saved model", report["saved_model"])
    for name, saved in (report.get("saved_models") or {}).items():
        sections += _saved_model_sections(name, saved, signatures=False)
    if report.get("checkpoints"):
        sections.append(_checkpoint_list_section(report["checkpoints"]))
    if report.get("evaluation"):
        sections += _evaluation_sections(report["evaluation"])
    if report.get("checkpoint"):
        sections += _checkpoint_sections(report["checkpoint"])
    print_sections(sections, console)


def _inspect_overview(report: dict) -> list:
    rows = [["path", report["path"]], ["kind", report["kind"]]]
    checkpoint = report.get("checkpoint")
    if checkpoint:
        rows.append(["checkpoint", checkpoint["prefix"]])
        rows.append(["step", fmt(checkpoint["step"])])
        rows.append(["train step", fmt(checkpoint["train_step"])])
    return rows


def _train_step_text(step: object) -> str:
    """The stored value, and what PolicySaver's -1 means (eval reports it as none)."""
    if step == -1:
        return "-1 (none: saved without a train_step)"
    return fmt(step)


def _saved_model_sections(title: str, saved: dict, signatures: bool = True) -> list[Section]:
    rows = [[name, _spec_text(spec)] for name, spec in _flat_specs(saved["specs"])]
    rows.append(["train step", _train_step_text(saved["train_step"])])
    rows += [[f"metadata {k}", json.dumps(v)] for k, v in saved["metadata"].items()]
    sections: list[Section] = [(f"{title}: {saved['dir']}", None, rows)]
    if signatures:
        sig_rows = []
        for name, signature in saved["signatures"].items():
            inputs = ", ".join(f"{k}: {v}" for k, v in signature["inputs"].items())
            outputs = ", ".join(f"{k}: {v}" for k, v in signature["outputs"].items())
            sig_rows.append([name, inputs or "-", outputs or "-"])
        sections.append(("signatures", ["name", "inputs", "outputs"], sig_rows))
    return sections


def _flat_specs(specs, path: str = ""):
    """(dotted path, spec) for every tensor spec in a nest; empty nests shown as `()`."""
    if isinstance(specs, dict) and "dtype" in specs and "shape" in specs:
        yield path, specs
    elif isinstance(specs, dict):
        if not specs and path:
            yield path, None
        for key, value in specs.items():
            yield from _flat_specs(value, f"{path}.{key}" if path else key)
    elif isinstance(specs, list):
        if not specs:
            yield path, None
        for i, value in enumerate(specs):
            yield from _flat_specs(value, f"{path}[{i}]")
    else:
        yield path, specs


def _spec_text(spec) -> str:
    if spec is None:
        return "()"
    if not isinstance(spec, dict):
        return json.dumps(spec)
    shape = (
        "?"
        if spec["shape"] is None
        else shape_text(["?" if d is None else d for d in spec["shape"]])
    )
    text = f"{spec['dtype']} {shape}"
    if "minimum" in spec:
        low, high = _compact(spec["minimum"]), _compact(spec["maximum"])
        unbounded = low in ("-inf", "inf") and high in ("-inf", "inf")
        text += " unbounded" if unbounded else f" [{low}, {high}]"
    return text


FLOAT32_MAX = 3.4028234663852886e38  # bounds at or beyond it are Gymnasium's -inf/inf


def _compact(value) -> str:
    if isinstance(value, list):
        if value and all(v == value[0] for v in value):
            return _compact(value[0])
        return "[" + ", ".join(_compact(v) for v in value) + "]"
    if isinstance(value, float) and abs(value) >= FLOAT32_MAX:
        return "inf" if value > 0 else "-inf"
    return json.dumps(value).replace('"', "")


def _checkpoint_list_section(listing: dict) -> tuple:
    rows = []
    for entry in listing["entries"]:
        notes = []
        if entry["newest"]:
            notes.append("newest")
        if entry["name"] == listing.get("selected"):
            notes.append("shown")
        if not entry["listed"]:
            notes.append("not in the checkpoint file")
        if entry["missing"]:
            notes.append("MISSING " + ", ".join(entry["missing"]))
        if entry["problem"]:
            notes.append("DAMAGED " + entry["problem"])
        time = entry["time"] or entry["mtime"] or "-"
        rows.append([entry["name"], fmt(entry["step"]), time, "; ".join(notes)])
    return (f"checkpoints in {listing['dir']}", ["name", "step", "time", ""], rows)


def _evaluation_sections(evaluation: dict) -> list[Section]:
    sections: list[Section] = []
    stats = evaluation.get("stats")
    if stats:
        rows = [
            [k, fmt(stats[k])] for k in ("created", "policy", "checkpoint", "train_step", "env")
        ]
        if stats.get("complete") is False:
            error = stats.get("error") or {}
            rows.insert(0, ["complete", "NO (incomplete run): " + (error.get("message") or "?")])
        rows += [[k, fmt(v)] for k, v in (stats.get("summary") or {}).items()]
        sections.append(("evaluation (stats.json)", None, rows))
    history = evaluation.get("history")
    if history and "values" not in history[0]:  # rows of the `evaluation/history` array
        columns = ["train_step", "episodes", "mean_return", "std_return", "time"]
        rows = [[fmt(row.get(c)) for c in columns] for row in history]
        sections.append(("evaluation history", columns, rows))
    elif history:
        names = list(dict.fromkeys(n for row in history for n in row["values"]))
        rows = [
            [row["name"], fmt(row["step"]), row["time"] or "-"]
            + [_history_cell(row["values"].get(n)) for n in names]
            for row in history
        ]
        sections.append(("evaluation history", ["checkpoint", "step", "time", *names], rows))
    return sections


def _history_cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        if "refused" in value:
            return "refused"
        return f"{value['dtype']} {tuple(value['shape'])} mean {fmt(value.get('mean'))}"
    return fmt(value)


def _checkpoint_sections(checkpoint: dict) -> list[Section]:
    array_rows = [
        [
            a["key"],
            a["dtype"],
            shape_text(a["shape"]),
            str(a["size"]),
            fmt(a["min"]),
            fmt(a["max"]),
            fmt(a["mean"]),
            fmt(a["nan"]),
            fmt(a["inf"]),
        ]
        for a in checkpoint["arrays"]
    ]
    sections: list[Section] = [
        (
            "NumpyState arrays",
            ["key", "dtype", "shape", "size", "min", "max", "mean", "NaN", "inf"],
            array_rows,
        )
    ]
    if checkpoint["refused"]:
        sections.append(
            (
                "refused NumpyState entries",
                ["key", "reason"],
                [[r["key"], r["reason"]] for r in checkpoint["refused"]],
            )
        )
    rows = [
        [v["name"], v["dtype"], shape_text(v["shape"]), str(v["bytes"])]
        for v in checkpoint["variables"]
    ]
    rows.append(["total", "", "", str(checkpoint["total_bytes"])])
    sections.append(("variables", ["name", "dtype", "shape", "bytes"], rows))
    return sections


def print_diff(result: dict, console: Optional[Console] = None) -> None:
    """`pytfpol inspect A --diff B`: what differs between two checkpoints."""
    summary = result["summary"]
    overview = [
        ["a", result["a"]],
        ["b", result["b"]],
        ["only in a", str(summary["only_in_a"])],
        ["only in b", str(summary["only_in_b"])],
        ["dtype/shape changed", str(summary["changed"])],
        ["equal", str(summary["equal"])],
        ["different", str(summary["different"])],
    ]
    sections: list[Section] = [("pytfpol inspect --diff", None, overview)]
    only = [[k, "a"] for k in result["only_in_a"]] + [[k, "b"] for k in result["only_in_b"]]
    if only:
        sections.append(("keys only in one", ["key", "in"], only))
    if result["changed"]:
        rows = [
            [
                c["key"],
                f"{c['a']['dtype']} {shape_text(c['a']['shape'])}",
                f"{c['b']['dtype']} {shape_text(c['b']['shape'])}",
            ]
            for c in result["changed"]
        ]
        sections.append(("dtype or shape changed", ["key", "a", "b"], rows))
    rows = [
        [
            c["key"],
            c["dtype"] or "-",
            shape_text(c["shape"]) if c["shape"] is not None else "-",
            fmt(c["max_abs_diff"]),
            _equal_text(c),
        ]
        for c in result["compared"]
    ]
    sections.append(("compared", ["key", "dtype", "shape", "max |a-b|", ""], rows))
    print_sections(sections, console)


def _equal_text(comparison: dict) -> str:
    if comparison["equal"] is None:
        return "refused"
    return "equal" if comparison["equal"] else "DIFFERENT"


def print_arrays(results: list, as_json: bool = False, full: bool = False) -> None:
    """`--array NAME`: numpy's own formatting (or JSON values), on stdout."""
    from pytfpol.formats.inspection import format_array, json_value

    if as_json:
        documents = [
            {
                "key": r["key"],
                "dtype": r["dtype"],
                "shape": r["shape"],
                "values": json_value(r["value"]),
            }
            for r in results
        ]
        print_json(documents[0] if len(documents) == 1 else documents)
        return
    out = []
    for result in results:
        if len(results) > 1:
            out.append(f"{result['key']}  {result['dtype']} {shape_text(result['shape'])}\n")
        out.append(format_array(result["value"], full=full) + "\n")
    sys.stdout.write("".join(out))
    sys.stdout.flush()


def print_export_summary(result: dict, console: Optional[Console] = None) -> None:
    """`--export FILE.npz`: which arrays went into the file and which were skipped, and why."""
    sections: list[Section] = [
        (
            "pytfpol inspect --export",
            None,
            [
                ["file", result["file"]],
                ["checkpoint", result["checkpoint"]],
                ["arrays", str(len(result["arrays"]))],
            ],
        ),
        ("exported", ["key"], [[k] for k in result["arrays"]]),
    ]
    if result["skipped"]:
        sections.append(
            ("skipped", ["key", "reason"], [[s["key"], s["reason"]] for s in result["skipped"]])
        )
    print_sections(sections, console)


def print_configs(result: dict, console: Optional[Console] = None) -> None:
    """`pytfpol configs`: each shipped config's name, what it rebuilds and its architecture."""
    sections: list[Section] = [
        ("pytfpol configs", None, [["directory", result["dir"]], ["use", "--config NAME"]])
    ]
    for config in result["configs"]:
        rows = [
            ["rebuilds", config["description"]],
            ["architecture", config["architecture"]],
            ["saved as", config["saved_as"]],
        ]
        sections.append((config["name"], None, rows))
    print_sections(sections, console)
