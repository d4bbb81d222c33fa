"""Everything the user sees: the only module that uses rich.

Data (the summary table, or JSON) goes to stdout; progress, warnings and errors go to stderr.
Output is plain when the stream is not a terminal, and `NO_COLOR` is honoured (rich does both).
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from typing import Optional

from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from pytfpol.errors import PytfpolError
from pytfpol.results import json_text


def stdout_console() -> Console:
    return Console(file=sys.stdout, highlight=False, soft_wrap=True)


def stderr_console() -> Console:
    return Console(file=sys.stderr, highlight=False, soft_wrap=True)


class EpisodeProgress:
    """Progress of a run on stderr: a spinner while loading, then a bar over episodes that moves
    with every batch step (steps/s, ETA), shown only when stderr is a terminal and not `quiet`.
    Warnings are printed in any case: they say what the run really does."""

    def __init__(self, console: Console, quiet: bool = False) -> None:
        self._console = console
        self._show = console.is_terminal and not quiet
        self._progress: Optional[Progress] = None
        self._task = None
        self._returns = 0.0
        self._done = 0
        self._steps = 0
        self._finished_steps = 0
        self._running_slots = 1
        self._max_steps: Optional[int] = None
        self._started = time.monotonic()
        self._status = None

    def warn(self, message: str) -> None:
        print_note(f"warning: {message}", self._console)

    def stage(self, description: str) -> None:
        """A spinner for work before the episodes (TensorFlow import, graph building)."""
        if not self._show:
            return
        self._stop_status()
        self._status = self._console.status(description)
        self._status.start()

    def _stop_status(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def start(self, total: int, description: str, max_episode_steps: Optional[int] = None) -> None:
        """`max_episode_steps`, when known, lets the bar move within episodes."""
        self._stop_status()
        self._max_steps = max_episode_steps
        if not self._show:
            return
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[episodes]}/{task.total:.0f} episodes"),
            TextColumn("{task.fields[rate]} steps/s"),
            TextColumn("mean return {task.fields[mean]}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=self._console,
            transient=True,
        )
        self._task = self._progress.add_task(
            description, total=total, episodes=0, rate="-", mean="-"
        )
        self._progress.start()
        self._started = time.monotonic()

    def step(self, env_steps: int) -> None:
        self._steps += env_steps
        self._running_slots = max(env_steps, 1)
        if self._progress is None:
            return
        elapsed = time.monotonic() - self._started
        rate = f"{self._steps / elapsed:,.0f}" if elapsed > 0 else "-"
        self._progress.update(self._task, completed=self._completed(), rate=rate)

    def advance(self, result) -> None:
        self._done += 1
        self._returns += result.return_
        self._finished_steps += result.length
        if self._progress is not None:
            self._progress.update(
                self._task,
                completed=self._completed(),
                episodes=self._done,
                mean=f"{self._returns / self._done:.2f}",
            )

    def _completed(self) -> float:
        """Finished episodes, plus the running ones' share of their step limit when known."""
        if not self._max_steps:
            return float(self._done)
        running = (self._steps - self._finished_steps) / self._max_steps
        return self._done + min(running, self._running_slots * 0.99)

    def stop(self) -> None:
        self._stop_status()
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def print_json(report: dict) -> None:
    sys.stdout.write(json_text.dumps(report) + "\n")
    sys.stdout.flush()


def print_eval_table(report: dict, console: Optional[Console] = None) -> None:
    """The summary of an evaluation as a two-column table on stdout."""
    _print_rows("pytfpol eval", _eval_rows(report), console or stdout_console())


def print_sweep_table(document: dict, console: Optional[Console] = None) -> None:
    """A sweep: one row per checkpoint (step, mean, IQM, CI), a compact curve, and the best."""
    from pytfpol.results.sweep_report import sparkline

    console = console or stdout_console()
    select = document["settings"]["select"]
    ascii_only = _encodable("█", "") == ""
    entries = document["checkpoints"]
    rows = []
    for number, run in enumerate(document["runs"]):
        mine = [e for e in entries if e["run"] == number]
        values = [e["summary"].get(select) if e["error"] is None else None for e in mine]
        label = f"curve ({select})" + (f" {run['path']}" if len(document["runs"]) > 1 else "")
        rows.append((label, sparkline(values, ascii_only) or "-"))
    for entry in entries:
        summary = entry["summary"]
        name = f"step {entry['step']}" + (
            f" (run {entry['run']})" if len(document["runs"]) > 1 else ""
        )
        if entry["error"] is not None:
            rows.append((name, "FAILED: " + entry["error"]["message"]))
            continue
        low, high = summary.get("mean_return_ci_low"), summary.get("mean_return_ci_high")
        interval = "" if low is None else f" [{_fmt(low)}, {_fmt(high)}]"
        reused = " (from the journal)" if entry.get("reused") else ""
        rows.append(
            (
                name,
                f"mean {_fmt(summary['mean_return'])}{interval}  IQM {_fmt(summary.get('iqm_return'))}"
                f"  length {_fmt(summary['mean_length'])}{reused}",
            )
        )
    best = document.get("best")
    if best is not None:
        rows.append(("best", f"step {best['step']}: {select} {_fmt(best['value'])}"))
        confirmation = best.get("confirmation")
        if confirmation:
            rows.append(
                (
                    "best, fresh seeds",
                    f"{select} {_fmt(confirmation.get(select))} over "
                    f"{confirmation['episodes']} episodes ({best['output']})",
                )
            )
        video = best.get("video")
        if video:
            rows.append(
                (
                    "video of the best",
                    f"episode {video['index']} (median, return {_fmt(video['return'])}): "
                    f"{video['path']}",
                )
            )
    for gate in document.get("gates", []):
        verdict = "passed" if gate["passed"] else "FAILED"
        rows.append(
            (f"gate {gate['gate']}", f"{verdict} ({gate['statistic']} = {_fmt(gate['value'])})")
        )
    if not document["complete"]:
        rows.append(("complete", "NO: " + (document["error"] or {}).get("message", "")))
    rows.append(("output", document["output"]["dir"]))
    _print_rows("pytfpol sweep", rows, console)


def _eval_rows(report: dict) -> list[tuple[str, str]]:
    summary, policy, env = report["summary"], report["policy"], report["env"]
    plus_minus = _encodable(_PLUS_MINUS, "+/-")
    rows = [
        ("policy", policy["path"]),
        ("format", policy["format"] + (f" ({policy['policy']})" if policy.get("policy") else "")),
        ("checkpoint", policy["checkpoint"] or "-"),
        ("train step", _fmt(policy["train_step"])),
        ("actions", "sampled (seeded by --seed)" if policy.get("stochastic") else "greedy"),
        ("env", env["id"] + (f" {json.dumps(env['kwargs'])}" if env["kwargs"] else "")),
        ("episodes", f"{summary['episodes']} (seeds {_seed_range(report)})" + _identical(report)),
        (
            "mean return",
            f"{_fmt(summary['mean_return'])} {plus_minus} {_fmt(summary['std_return'])} (std)",
        ),
    ]
    level = (report.get("statistics") or {}).get("confidence_level", 0.95)
    identical = bool((report.get("statistics") or {}).get("identical_episodes"))
    rows.append(_interval_row(f"mean return {level:.0%} CI", summary, "mean_return", identical))
    rows.append(("IQM return", _fmt(summary.get("iqm_return"))))
    rows.append(_interval_row(f"IQM return {level:.0%} CI", summary, "iqm_return", identical))
    rows += [
        ("median return", _fmt(summary["median_return"])),
        (
            "percentiles 5/25/75/95",
            " / ".join(_fmt(summary.get(f"p{q}_return")) for q in (5, 25, 75, 95)),
        ),
        ("min / max return", f"{_fmt(summary['min_return'])} / {_fmt(summary['max_return'])}"),
        ("mean length", _fmt(summary["mean_length"])),
    ]
    if summary.get("success_rate") is not None:
        interval = (
            f" ({level:.0%} CI [{_fmt(summary['success_rate_ci_low'])}, "
            f"{_fmt(summary['success_rate_ci_high'])}])"
            if summary.get("success_rate_ci_low") is not None
            else ""
        )
        rows.append(("success rate", f"{_fmt(summary['success_rate'])}{interval}"))
    for gate in report.get("gates", []):
        verdict = "passed" if gate["passed"] else "FAILED"
        value = _fmt(gate["value"])
        rows.append((f"gate {gate['gate']}", f"{verdict} ({gate['statistic']} = {value})"))
    if not report["complete"]:
        rows.append(("complete", "NO: " + (report["error"] or {}).get("message", "")))
    rows.append(("output", report["output"]["dir"]))
    rows += _recording_rows(report["output"])
    return rows


def _recording_rows(output: dict) -> list[tuple[str, str]]:
    """--video, --save-trajectories, --dataset: where they went."""
    rows = [(f"video of episode {v['index']}", v["path"]) for v in output.get("videos") or []]
    if output.get("trajectories"):
        rows.append(("trajectories", output["trajectories"]))
    if output.get("dataset"):
        dataset = output["dataset"]
        rows.append(("Minari dataset", f"{dataset['id']} ({dataset['path']})"))
    return rows


def print_replay(result: dict, console: Optional[Console] = None) -> None:
    """`pytfpol replay`: the episode, recorded vs replayed, and the files written."""
    recorded, replayed = result["recorded"], result["replayed"]

    def outcome(side: dict) -> str:
        end = "terminated" if side["terminated"] else "truncated" if side["truncated"] else ""
        return f"return {_fmt(side['return'])} in {side['length']} steps" + (
            f", {end}" if end else ""
        )

    rows = [
        ("episode", f"{result['episode']} (seed {result['seed']})"),
        ("policy", result["policy"]),
        ("checkpoint", result["checkpoint"] or "-"),
        ("env", result["env"]),
        ("actions", "sampled (seeded by the episode)" if result["stochastic"] else "greedy"),
        ("recorded", outcome(recorded)),
        ("replayed", outcome(replayed)),
        ("identical", "yes" if result["identical"] else "NO"),
    ]
    if result.get("video"):
        rows.append(("video", f"{result['video']} ({result['frames']} frames)"))
    if result.get("trajectory"):
        rows.append(("trajectory", result["trajectory"]))
    _print_rows("pytfpol replay", rows, console or stdout_console())


def _encodable(text: str, fallback: str) -> str:
    """`text` if stdout's encoding has it (PYTHONIOENCODING=ascii has no ±), else `fallback`."""
    try:
        text.encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return fallback
    return text


_PLUS_MINUS = "±"


def print_compare_table(result: dict, console: Optional[Console] = None) -> None:
    """The result of `pytfpol compare` as key/value rows on stdout."""
    console = console or stdout_console()
    d = result["difference"]
    interval = "-" if d["ci_low"] is None else f"[{_fmt(d['ci_low'])}, {_fmt(d['ci_high'])}]"
    rows = [
        ("baseline", _side_text(result["baseline"])),
        ("candidate", _side_text(result["candidate"])),
        ("pairing", result["pairing"]),
        (result["statistic"], f"baseline {_fmt(d['baseline'])}, candidate {_fmt(d['candidate'])}"),
        ("difference", f"{_fmt(d['difference'])} (candidate - baseline)"),
        (f"{d['confidence_level']:.0%} interval", f"{interval} ({d['interval_method'] or '-'})"),
        ("p-value", f"{_fmt_p(d['p_value'])} ({d['test']})"),
    ]
    if d["welch_p_value"] is not None:
        rows.append(("Welch p-value", _fmt_p(d["welch_p_value"])))
    rows += [
        ("P(candidate > baseline)", f"{d['probability_of_improvement']:.3f}"),
        ("margin", _fmt(float(result["margin"]))),
        ("verdict", result["verdict"].upper() if not result["passed"] else result["verdict"]),
    ]
    if result.get("plot"):
        rows.append(("plot", result["plot"]))
    _print_rows("pytfpol compare", rows, console)


def _side_text(side: dict) -> str:
    step = f" (train step {side['train_step']})" if side.get("train_step") is not None else ""
    return f"{side['policy']}{step}: {side['episodes']} episodes, seeds {side['seeds']}"


def _fmt_p(value) -> str:
    return "-" if value is None else f"{value:.3g}"


def _print_rows(title: str, rows: list, console: Console) -> None:
    """Key/value rows: a rich table on a terminal; plain `key  value` lines otherwise (nothing
    truncated, easy to grep)."""
    if not console.is_terminal:
        width = max(len(key) for key, _ in rows)
        console.file.write("".join(f"{key.ljust(width)}  {value}\n" for key, value in rows))
        console.file.flush()
        return
    table = Table(title=title, box=box.SIMPLE, show_header=False)
    table.add_column("", style="bold", no_wrap=True)
    table.add_column("", overflow="fold")
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)


def _identical(report: dict) -> str:
    """The episodes row's warning when every episode was the same (see report.all_identical)."""
    if not (report.get("statistics") or {}).get("identical_episodes"):
        return ""
    return ": ALL IDENTICAL, one sample (the env ignores the seed; see the warning)"


def _interval_row(label: str, summary: dict, key: str, identical: bool = False) -> tuple[str, str]:
    low, high = summary.get(f"{key}_ci_low"), summary.get(f"{key}_ci_high")
    if identical:
        return label, "- (all episodes identical: one sample)"
    if low is None:
        return label, "- (intervals need 5 or more episodes)"
    return label, f"[{_fmt(low)}, {_fmt(high)}]"


def _seed_range(report: dict) -> str:
    seeds = [e["seed"] for e in report["episodes"]]
    if not seeds:
        return "-"
    return f"{seeds[0]}..{seeds[-1]}" if len(seeds) > 1 else str(seeds[0])


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 1e6 else f"{value:.4g}"
    return str(value)


def print_error(error: BaseException, verbose: bool = False) -> None:
    """`error: <what, which file>` and `hint: <what to do>` on stderr; a traceback only if -v."""
    console = stderr_console()
    if verbose:
        console.print(
            "".join(traceback.format_exception(type(error), error, error.__traceback__)),
            markup=False,
            end="",
        )
    if isinstance(error, PytfpolError):
        console.print(f"error: {error.message}", markup=False, style="bold red")
        if error.details:
            console.print(error.details, markup=False)
        if error.hint:
            console.print(f"hint: {error.hint}", markup=False)
    else:
        console.print(
            f"error: internal error: {type(error).__name__}: {error}",
            markup=False,
            style="bold red",
        )
        console.print("hint: run again with -v for the traceback, and report it", markup=False)


def print_note(message: str, console: Optional[Console] = None) -> None:
    (console or stderr_console()).print(message, markup=False, style="dim")


# ----------------------------------------------------------------------------- pytfpol inspect


def _print_sections(sections: list, console: Optional[Console] = None) -> None:
    """Titled tables: rich on a terminal; plain aligned columns otherwise (nothing truncated).

    Each section is (title, column headers or None for key/value rows, rows of strings).
    """
    console = console or stdout_console()
    if not console.is_terminal:
        out = []
        for title, headers, rows in sections:
            out.append(f"{title}\n")
            table = ([headers] if headers else []) + [list(r) for r in rows]
            if not rows:
                out.append("  (none)\n\n")
                continue
            widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
            for row in table:
                cells = [c.ljust(w) for c, w in zip(row, widths)]
                out.append("  " + "  ".join(cells).rstrip() + "\n")
            out.append("\n")
        console.file.write("".join(out))
        console.file.flush()
        return
    for title, headers, rows in sections:
        table = Table(
            title=Text(title, style="italic"),
            box=box.SIMPLE,
            show_header=bool(headers),
            title_justify="left",
        )
        for i, header in enumerate(headers or ["", ""]):
            table.add_column(
                header, style="bold" if not headers and i == 0 else None, overflow="fold"
            )
        for row in rows or [["(none)"] + [""] * (len(headers or ["", ""]) - 1)]:
            table.add_row(*(Text(cell) for cell in row))  # data, never rich markup
        console.print(table)


def print_inspect_report(report: dict, console: Optional[Console] = None) -> None:
    """What `pytfpol inspect PATH` prints: one table per part of the report that is present."""
    sections = [("pytfpol inspect", None, _inspect_overview(report))]
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
    _print_sections(sections, console)


def _inspect_overview(report: dict) -> list:
    rows = [["path", report["path"]], ["kind", report["kind"]]]
    checkpoint = report.get("checkpoint")
    if checkpoint:
        rows.append(["checkpoint", checkpoint["prefix"]])
        rows.append(["step", _fmt(checkpoint["step"])])
        rows.append(["train step", _fmt(checkpoint["train_step"])])
    return rows


def _saved_model_sections(title: str, saved: dict, signatures: bool = True) -> list:
    rows = [[name, _spec_text(spec)] for name, spec in _flat_specs(saved["specs"])]
    rows.append(["train step", _fmt(saved["train_step"])])
    rows += [[f"metadata {k}", json.dumps(v)] for k, v in saved["metadata"].items()]
    sections = [(f"{title}: {saved['dir']}", None, rows)]
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
        "?" if spec["shape"] is None else _shape(["?" if d is None else d for d in spec["shape"]])
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
        rows.append([entry["name"], _fmt(entry["step"]), time, "; ".join(notes)])
    return (f"checkpoints in {listing['dir']}", ["name", "step", "time", ""], rows)


def _evaluation_sections(evaluation: dict) -> list:
    sections = []
    stats = evaluation.get("stats")
    if stats:
        rows = [
            [k, _fmt(stats[k])] for k in ("created", "policy", "checkpoint", "train_step", "env")
        ]
        if stats.get("complete") is False:
            error = stats.get("error") or {}
            rows.insert(0, ["complete", "NO (incomplete run): " + (error.get("message") or "?")])
        rows += [[k, _fmt(v)] for k, v in (stats.get("summary") or {}).items()]
        sections.append(("evaluation (stats.json)", None, rows))
    history = evaluation.get("history")
    if history and "values" not in history[0]:  # rows of the `evaluation/history` array
        columns = ["train_step", "episodes", "mean_return", "std_return", "time"]
        rows = [[_fmt(row.get(c)) for c in columns] for row in history]
        sections.append(("evaluation history", columns, rows))
    elif history:
        names = list(dict.fromkeys(n for row in history for n in row["values"]))
        rows = [
            [row["name"], _fmt(row["step"]), row["time"] or "-"]
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
        return f"{value['dtype']} {tuple(value['shape'])} mean {_fmt(value.get('mean'))}"
    return _fmt(value)


def _checkpoint_sections(checkpoint: dict) -> list:
    array_rows = [
        [
            a["key"],
            a["dtype"],
            _shape(a["shape"]),
            str(a["size"]),
            _fmt(a["min"]),
            _fmt(a["max"]),
            _fmt(a["mean"]),
            _fmt(a["nan"]),
            _fmt(a["inf"]),
        ]
        for a in checkpoint["arrays"]
    ]
    sections = [
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
        [v["name"], v["dtype"], _shape(v["shape"]), str(v["bytes"])]
        for v in checkpoint["variables"]
    ]
    rows.append(["total", "", "", str(checkpoint["total_bytes"])])
    sections.append(("variables", ["name", "dtype", "shape", "bytes"], rows))
    return sections


def _shape(shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


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
    sections = [("pytfpol inspect --diff", None, overview)]
    only = [[k, "a"] for k in result["only_in_a"]] + [[k, "b"] for k in result["only_in_b"]]
    if only:
        sections.append(("keys only in one", ["key", "in"], only))
    if result["changed"]:
        rows = [
            [
                c["key"],
                f"{c['a']['dtype']} {_shape(c['a']['shape'])}",
                f"{c['b']['dtype']} {_shape(c['b']['shape'])}",
            ]
            for c in result["changed"]
        ]
        sections.append(("dtype or shape changed", ["key", "a", "b"], rows))
    rows = [
        [
            c["key"],
            c["dtype"] or "-",
            _shape(c["shape"]) if c["shape"] is not None else "-",
            _fmt(c["max_abs_diff"]),
            _equal_text(c),
        ]
        for c in result["compared"]
    ]
    sections.append(("compared", ["key", "dtype", "shape", "max |a-b|", ""], rows))
    _print_sections(sections, console)


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
            out.append(f"{result['key']}  {result['dtype']} {_shape(result['shape'])}\n")
        out.append(format_array(result["value"], full=full) + "\n")
    sys.stdout.write("".join(out))
    sys.stdout.flush()


def print_export_summary(result: dict, console: Optional[Console] = None) -> None:
    """`--export FILE.npz`: which arrays went into the file and which were skipped, and why."""
    sections = [
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
    _print_sections(sections, console)


def print_configs(result: dict, console: Optional[Console] = None) -> None:
    """`pytfpol configs`: each shipped config's name, what it rebuilds and its architecture."""
    sections = [("pytfpol configs", None, [["directory", result["dir"]], ["use", "--config NAME"]])]
    for config in result["configs"]:
        rows = [
            ["rebuilds", config["description"]],
            ["architecture", config["architecture"]],
            ["saved as", config["saved_as"]],
        ]
        sections.append((config["name"], None, rows))
    _print_sections(sections, console)
