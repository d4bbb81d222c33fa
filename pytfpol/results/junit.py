"""Gates as JUnit XML, the test-report format CI systems show natively (GitHub, GitLab, Jenkins).

One `<testsuite>` per command run; one `<testcase>` per gate, failing with the gate's value and
threshold. The writer (`write`) takes plain `Case`s; they are a view of the typed report
documents (`suite_for`: an `EvalReport` or a `SweepReport`) or of a compare result.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Union

from pytfpol.results import files
from pytfpol.results.documents import CompareResult, EvalReport, SweepReport


@dataclass(frozen=True)
class Case:
    name: str
    classname: str
    passed: bool
    message: str = ""  # one line: why it failed
    details: str = ""  # the failure's body text
    seconds: float = 0.0
    output: str = ""  # <system-out>: the numbers behind a passing case too


@dataclass(frozen=True)
class Suite:
    name: str
    cases: Sequence[Case]
    seconds: float = 0.0
    error: Optional[str] = None  # the run itself failed (e.g. exit 4): a testcase <error>


def document(suites: Sequence[Suite]) -> bytes:
    """The JUnit XML document (UTF-8, with declaration)."""
    root = ET.Element("testsuites")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for suite in suites:
        cases = list(suite.cases)
        failures = sum(not c.passed for c in cases)
        errors = 1 if suite.error else 0
        element = ET.SubElement(
            root,
            "testsuite",
            name=suite.name,
            tests=str(len(cases) + errors),
            failures=str(failures),
            errors=str(errors),
            skipped="0",
            time=f"{suite.seconds:.3f}",
        )
        for case in cases:
            node = ET.SubElement(
                element,
                "testcase",
                name=case.name,
                classname=case.classname,
                time=f"{case.seconds:.3f}",
            )
            if not case.passed:
                failure = ET.SubElement(node, "failure", message=case.message, type="GateFailed")
                failure.text = case.details or case.message
            if case.output:
                ET.SubElement(node, "system-out").text = case.output
        if suite.error:
            node = ET.SubElement(element, "testcase", name="run", classname=suite.name)
            ET.SubElement(node, "error", message=suite.error, type="RunError").text = suite.error
        totals["tests"] += len(cases) + errors
        totals["failures"] += failures
        totals["errors"] += errors
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def write(path: str | Path, suites: Sequence[Suite]) -> None:
    """Write the document atomically (complete or absent, like every pytfpol output)."""
    files.write_atomic(Path(path), document(suites))


def suite_for(report: Union[EvalReport, SweepReport]) -> Suite:
    """`pytfpol eval`, or `sweep` (whose gates judge its best checkpoint): one case per gate
    (none: one case saying the run completed)."""
    if isinstance(report, SweepReport):
        command, written = "sweep", report.output.get("sweep")
        summary = (report.best or {}).get("summary") or {}
    else:
        command, written, summary = "eval", report.output.get("stats"), report.summary
    env = report.env.get("id", "?")
    classname = f"pytfpol.{command}.{env}"
    cases = []
    for gate in report.gates if isinstance(report.gates, list) else []:
        value = gate["value"]
        shown = "no value" if value is None else f"{value:g}"
        message = (
            f"{gate['gate']} failed: {gate['statistic']} is {shown}"
            + (f" ({gate['reason']})" if gate["reason"] else "")
            if not gate["passed"]
            else ""
        )
        cases.append(
            Case(
                name=gate["gate"],
                classname=classname,
                passed=gate["passed"],
                message=message,
                details=message + f"\nreport: {written}",
                output=f"{gate['statistic']} = {shown} (threshold {gate['op']} {gate['threshold']:g})",
            )
        )
    if not cases:
        cases.append(
            Case(
                name="complete",
                classname=classname,
                passed=report.complete,
                message="the run did not complete",
                output=f"{summary.get('episodes')} episodes, mean return {summary.get('mean_return')}",
            )
        )
    timing = report.timing
    seconds = float((timing.get("load_seconds") or 0) + (timing.get("run_seconds") or 0))
    return Suite(
        name=f"pytfpol {command} {report.policy['path']} on {env}",
        cases=cases,
        seconds=seconds,
        error=None if report.error is None else report.error["message"],
    )


def compare_suite(result: CompareResult) -> Suite:
    """`pytfpol compare`: one case, failing when the candidate is worse beyond the margin."""
    diff = result.difference
    low, high = diff["ci_low"], diff["ci_high"]
    interval = "-" if low is None else f"[{low:g}, {high:g}]"
    text = (
        f"{result.statistic}: candidate {diff['candidate']:g} vs baseline "
        f"{diff['baseline']:g}, difference {diff['difference']:g}, "
        f"{diff['confidence_level']:.0%} interval {interval}, verdict {result.verdict}"
    )
    return Suite(
        name="pytfpol compare",
        cases=[
            Case(
                name=f"{result.statistic} not worse than the baseline"
                + (f" by more than {result.margin:g}" if result.margin else ""),
                classname="pytfpol.compare",
                passed=result.passed,
                message=text,
                details=text,
                output=text,
            )
        ],
    )
