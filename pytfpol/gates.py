"""CI gates: `STATISTIC OP NUMBER` conditions on the report's summary, e.g. `iqm_return>=450`.

A gate is parsed by a small grammar (a regular expression: a name, one of `>= > <= <`, a decimal
number), never evaluated as code. The statistic must be a numeric key of the summary
(`pytfpol.stats.SUMMARY_KEYS`); anything else is a usage error (exit 2) that lists the names.
A gate whose statistic has no value in this run (e.g. an interval with fewer than 5 episodes, a
success rate the env does not report, any return statistic when one episode's return is not
finite) fails, saying why.
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass
from typing import Iterable, Optional

from pytfpol.errors import UsageError
from pytfpol.running import metrics
from pytfpol.stats import SUMMARY_KEYS

OPERATORS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}
GATE_STATISTICS = tuple(SUMMARY_KEYS)
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
# A summary key, or a custom metric's statistic `info.KEY_STAT` (`running.metrics`).
_GATE = re.compile(
    rf"\s*([A-Za-z_][A-Za-z0-9_]*|info\.[A-Za-z0-9_.-]+)\s*(>=|<=|>|<)\s*({_NUMBER})\s*"
)


@dataclass(frozen=True)
class Gate:
    statistic: str
    op: str
    threshold: float
    option: str = "--gate"  # where it came from: --gate, or --min-return

    @property
    def expression(self) -> str:
        return f"{self.statistic}{self.op}{self.threshold:g}"


def parse(text: str) -> Gate:
    """One `--gate` expression; UsageError (exit 2) with the accepted form and names."""
    match = _GATE.fullmatch(text)
    if match is None:
        raise UsageError(
            f"--gate {text!r}: not of the form STATISTIC OP NUMBER",
            "e.g. --gate 'iqm_return>=450' or --gate 'mean_length<=200' (OP is one of >= > <= <)",
        )
    statistic, op, number = match.groups()
    if statistic not in GATE_STATISTICS and not metrics.split_statistic(statistic)[0]:
        raise UsageError(
            f"--gate {text!r}: unknown statistic {statistic!r}",
            f"choose one of: {', '.join(GATE_STATISTICS)}; or info.KEY_STAT of a --metric "
            f"info.KEY, STAT one of {', '.join(metrics.STATISTICS)}",
        )
    threshold = float(number)
    if not math.isfinite(threshold):
        raise UsageError(f"--gate {text!r}: the number must be finite", "e.g. 450 or 0.9")
    return Gate(statistic, op, threshold)


def gates_for(expressions: Iterable[str], min_return: Optional[float] = None) -> tuple[Gate, ...]:
    """The gates of a run: `--min-return X` is the gate `mean_return>=X`, then each `--gate`."""
    gates = []
    if min_return is not None:
        if not math.isfinite(min_return):
            raise UsageError(f"--min-return {min_return}: must be finite", "e.g. --min-return 475")
        gates.append(Gate("mean_return", ">=", float(min_return), option="--min-return"))
    gates.extend(parse(text) for text in expressions)
    return tuple(gates)


def evaluate(gates: Iterable[Gate], summary: dict, complete: bool = True) -> list[dict]:
    """The report's `gates` list: each gate with its value and whether it passed. On an
    incomplete run every gate fails (its numbers describe only part of the episodes)."""
    results = []
    for gate in gates:
        value = summary.get(gate.statistic)
        reason = None
        if value is None or not math.isfinite(value):  # NaN fails any test; inf passes some
            passed = False
            reason = f"{gate.statistic} has no value in this run ({_why_missing(gate.statistic)})"
        else:
            passed = bool(OPERATORS[gate.op](value, gate.threshold))
            if not complete:
                passed, reason = False, "the run is incomplete"
        results.append(
            {
                "gate": gate.expression,
                "option": gate.option,
                "statistic": gate.statistic,
                "op": gate.op,
                "threshold": gate.threshold,
                "value": value,
                "passed": passed,
                "reason": reason,
            }
        )
    return results


def _why_missing(statistic: str) -> str:
    if statistic.startswith("success_rate") or statistic == "successes":
        return "the env reports no info['is_success']: pass --success-threshold"
    if "_ci_" in statistic:
        return "intervals need at least 5 episodes"
    if statistic == "sem_return":
        return "needs at least 2 episodes"
    if statistic.endswith("_return"):
        return "no episode, or an episode's return is not finite"
    return "no finite value"


def describe_failures(results: list[dict]) -> str:
    """`mean_return 5 < 5.01; iqm_return - (no value ...)`: every failing gate on one line."""
    parts = []
    for gate in results:
        if gate["passed"]:
            continue
        if gate["reason"] is not None:
            parts.append(f"{gate['gate']}: {gate['reason']}")
        else:
            parts.append(f"{gate['gate']}: {gate['statistic']} is {gate['value']:g}")
    return "; ".join(parts)
