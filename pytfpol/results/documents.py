"""The one writer of each report document: `stats.json` (`write_eval_report`), `sweep.json`
(`write_sweep_report`) and a compare result (`write_compare_result`); the JSON text is
`to_json`. The types and their validating readers are in `formats.report_documents` (so that
`formats` reads a stats.json with the same reader) and are re-exported here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Union

from pytfpol.formats import layout
from pytfpol.formats.report_documents import (  # noqa: F401 - re-exported: the types, readers
    COMPARE_SCHEMA_VERSION,
    EVAL_SCHEMA_VERSION,
    SWEEP_JSON_LIMIT,
    SWEEP_KIND,
    SWEEP_SCHEMA_VERSION,
    VERDICT_BETTER,
    VERDICT_NO_DIFFERENCE,
    VERDICT_NO_INTERVAL,
    VERDICT_WORSE,
    VERDICT_WORSE_WITHIN_MARGIN,
    VERDICTS,
    CompareResult,
    EvalReport,
    Report,
    SweepReport,
    read_compare_result,
    read_eval_report,
    read_sweep_report,
    typed_report,
)
from pytfpol.results import files


def to_json(document: Union[EvalReport, SweepReport, CompareResult]) -> str:
    """The file's text: the JSON object, keys in their order (`json_text`), no NaN."""
    return files.report_json(document.to_dict())


def write_eval_report(out: Path, report: Union[dict, EvalReport]) -> None:
    """Write episodes.csv, then stats.json (last: its presence means the run's files are there)."""
    document = report if isinstance(report, EvalReport) else EvalReport.from_dict(report)
    csv_path, json_path = Path(out) / files.EPISODES_CSV, Path(out) / files.STATS_JSON
    files.write_atomic(csv_path, files.episodes_csv(document.episodes).encode())
    files.write_atomic(json_path, to_json(document).encode())


def write_sweep_report(out: Path, report: Union[dict, SweepReport]) -> None:
    """Write sweep.json (its curve, episodes and pictures are written beside it first)."""
    document = report if isinstance(report, SweepReport) else SweepReport.from_dict(report)
    files.write_atomic(Path(out) / layout.SWEEP_JSON, to_json(document).encode())


def write_compare_result(path: Path, result: Union[dict, CompareResult]) -> None:
    """Write a compare result as a file (what `read_compare_result` reads back)."""
    document = result if isinstance(result, CompareResult) else CompareResult.from_dict(result)
    files.write_atomic(Path(path), to_json(document).encode())
