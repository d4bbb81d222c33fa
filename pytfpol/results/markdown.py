"""Markdown summaries: a view of the typed documents (`EvalReport`, `SweepReport`,
`CompareResult`) for a CI job's page ($GITHUB_STEP_SUMMARY, or `--summary FILE.md`).

Pure functions, document -> str (`render`); writing them is `results.summaries`. Every text that
comes from a document (a policy path, an env id, a gate, an error message) is escaped
(`text`): a `|` or a backtick in it cannot break a table or open a code span. The statistics
table shows every number the document's summary holds, in its order, so a statistic added to
the summary (a custom metric) appears here without a change to this module.
"""

from __future__ import annotations

import math
import re
from typing import Any, Iterable, Optional, Sequence, Union

from pytfpol.formats.report_documents import CompareResult, EvalReport, SweepReport

Document = Union[EvalReport, SweepReport, CompareResult]
_SPECIAL = re.compile(r"([\\`*_\[\]<>|~#!])")
_CI_SUFFIXES = ("_ci_low", "_ci_high")


def render(document: Document) -> str:
    """The summary of any of the three documents."""
    if isinstance(document, CompareResult):
        return compare_summary(document)
    if isinstance(document, SweepReport):
        return sweep_summary(document)
    return eval_summary(document)


def text(value: Any) -> str:
    """A document's text as Markdown that shows it literally, on one line; `-` for none."""
    if value is None or value == "":
        return "-"
    one_line = " ".join(str(value).split())
    return _SPECIAL.sub(r"\\\1", one_line.replace("&", "&amp;"))


def number(value: Any) -> str:
    """A statistic: up to 6 significant digits; `-` when there is none."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else text(value)
    return text(value)


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table; cells are already Markdown (`text`, `number`)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def eval_summary(report: EvalReport) -> str:
    policy, settings = report.policy, report.settings
    what = [
        ("policy", text(policy.get("path"))),
        ("checkpoint", text(policy.get("checkpoint"))),
        ("train step", number(policy.get("train_step"))),
        ("env", text(report.env.get("id"))),
        ("episodes", number(report.summary.get("episodes", settings.get("episodes")))),
        ("seed", number(settings.get("seed"))),
    ]
    level = report.statistics.get("confidence_level")
    gates = report.gates if isinstance(report.gates, list) else []
    return _sections(
        f"pytfpol eval: {_outcome(report.complete, report.passed, gates)}",
        table(["", ""], what),
        statistics_table(report.summary, level),
        gates_table(gates),
        _incomplete(report.complete, report.error),
        f"Report: {text(report.output.get('stats'))}",
    )


def sweep_summary(report: SweepReport) -> str:
    select = report.settings.get("select", "mean_return")
    what = [
        ("policy", text(report.policy.get("path"))),
        ("env", text(report.env.get("id"))),
        ("checkpoints", number(len(report.checkpoints))),
        ("episodes per checkpoint", number(report.settings.get("episodes"))),
        ("seed", number(report.settings.get("seed"))),
        ("best by", text(select)),
    ]
    return _sections(
        f"pytfpol sweep: {_outcome(report.complete, report.passed, report.gates)}",
        table(["", ""], what),
        checkpoints_table(report.checkpoints, several=len(report.runs) > 1),
        best_text(report.best, select),
        gates_table(report.gates),
        _incomplete(report.complete, report.error),
        f"Report: {text(report.output.get('sweep'))}",
    )


def compare_summary(result: CompareResult) -> str:
    d = result.difference
    sides = [
        [
            name,
            text(side.get("policy")),
            number(side.get("train_step")),
            number(side.get("episodes")),
            text(side.get("seeds")),
            number(d.get(name)),
        ]
        for name, side in (("baseline", result.baseline), ("candidate", result.candidate))
    ]
    level = d.get("confidence_level")
    numbers = [
        ("difference (candidate - baseline)", number(d.get("difference"))),
        (f"{_percent(level)} interval", _interval(d.get("ci_low"), d.get("ci_high"))),
        ("p-value", f"{number(d.get('p_value'))} ({text(d.get('test'))})"),
        ("P(candidate > baseline)", number(d.get("probability_of_improvement"))),
        ("margin", number(result.margin)),
        ("pairing", text(result.pairing)),
    ]
    warnings = "\n".join(f"- warning: {text(w)}" for w in result.warnings)
    return _sections(
        f"pytfpol compare: {'passed' if result.passed else 'FAILED'}",
        f"**Verdict: {text(result.verdict)}** on {text(result.statistic)}"
        + ("" if result.passed else " (exit 1)"),
        table(["", "policy", "train step", "episodes", "seeds", text(result.statistic)], sides),
        table(["", ""], numbers),
        warnings,
    )


def statistics_table(summary: dict, level: Optional[float] = None) -> str:
    """One row per number in the summary (nested objects flattened as `a.b`), with its
    interval when the summary holds `<name>_ci_low` and `<name>_ci_high`."""
    flat = dict(_numbers(summary))
    rows = [
        [
            text(name),
            number(value),
            _interval(flat.get(name + "_ci_low"), flat.get(name + "_ci_high")),
        ]
        for name, value in flat.items()
        if not name.endswith(_CI_SUFFIXES)
    ]
    if not rows:
        return ""
    return "#### Statistics\n\n" + table(["statistic", "value", f"{_percent(level)} CI"], rows)


def gates_table(gates: Sequence[dict]) -> str:
    """Each gate, its expression, PASSED or FAILED, the value it judged."""
    if not gates:
        return ""
    rows = [
        [
            text(gate.get("gate")),
            "passed" if gate.get("passed") else "**FAILED**",
            f"{text(gate.get('statistic'))} = {number(gate.get('value'))}",
            text(gate.get("reason")),
        ]
        for gate in gates
    ]
    return "#### Gates\n\n" + table(["gate", "result", "value", "reason"], rows)


def checkpoints_table(entries: Sequence[dict], several: bool = False) -> str:
    """One row per checkpoint: step, mean, IQM, episodes (or its error)."""
    if not entries:
        return ""
    header = [*(["run"] if several else []), "step", "mean return", "IQM return", "episodes"]
    rows = []
    for entry in entries:
        summary = entry.get("summary") or {}
        error = entry.get("error")
        cells = (
            ["**FAILED**: " + text(error.get("message")), "-", "-"]
            if error
            else [
                number(summary.get("mean_return")),
                number(summary.get("iqm_return")),
                number(summary.get("episodes")),
            ]
        )
        rows.append(
            [*([number(entry.get("run"))] if several else []), number(entry.get("step")), *cells]
        )
    return "#### Checkpoints\n\n" + table(header, rows)


def best_text(best: Optional[dict], select: str) -> str:
    """The best checkpoint, and its re-evaluation on fresh seeds."""
    if not best:
        return ""
    line = f"**Best checkpoint: step {number(best.get('step'))}**, {text(select)} {number(best.get('value'))}"
    confirmation = best.get("confirmation")
    if confirmation:
        line += (
            f"; on fresh seeds {text(select)} {number(confirmation.get(select))}, IQM "
            f"{number(confirmation.get('iqm_return'))} over {number(confirmation.get('episodes'))} "
            "episodes"
        )
    return line


def _numbers(values: dict, prefix: str = "") -> Iterable[tuple[str, Any]]:
    for key, value in values.items():
        if isinstance(value, dict):
            yield from _numbers(value, f"{prefix}{key}.")
        elif isinstance(value, (int, float)) and not isinstance(value, bool) or value is None:
            yield prefix + str(key), value


def _outcome(complete: bool, passed: bool, gates: Sequence[dict]) -> str:
    """INCOMPLETE (the run stopped), FAILED (a gate failed), else passed."""
    if not complete:
        return "INCOMPLETE"
    return "FAILED" if any(not g.get("passed") for g in gates) else "passed"


def _incomplete(complete: bool, error: Optional[dict]) -> str:
    return "" if complete else f"**Incomplete**: {text((error or {}).get('message'))}"


def _interval(low: Any, high: Any) -> str:
    return "-" if low is None or high is None else f"[{number(low)}, {number(high)}]"


def _percent(level: Any) -> str:
    return f"{level:.0%}" if isinstance(level, (int, float)) else "95%"


def _sections(title: str, *parts: str) -> str:
    return "\n\n".join([f"### {title}", *(p for p in parts if p)]) + "\n"
