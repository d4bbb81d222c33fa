"""The typed report documents (results/documents.py): one writer and one reader each, the reader
validating what it reads back (exit 3 naming the file and the key), JUnit a view of the type.
Pure Python: no TensorFlow, no episodes."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest
from click.testing import CliRunner

from pytfpol.cli import main
from pytfpol.errors import EXIT_INPUT, InputError
from pytfpol.results import documents, files, json_text, junit

EVAL = {
    "schema_version": 2,
    "complete": True,
    "error": None,
    "created": "2026-12-06T00:00:00+00:00",
    "summary": {"episodes": 2, "mean_return": 1.5},
    "episodes": [
        {"index": 0, "seed": 0, "return": 1.0, "length": 3, "terminated": True,
         "truncated": False, "success": None},
        {"index": 1, "seed": 1, "return": 2.0, "length": 4, "terminated": True,
         "truncated": False, "success": None},
    ],
    "policy": {"path": "p", "resolved_path": "/p", "policy": None},
    "env": {"id": "CartPole-v1", "kwargs": {}},
    "settings": {"episodes": 2, "seed": 0},
    "backend": None,
    "statistics": {},
    "gates": [{"gate": "mean_return>=1", "statistic": "mean_return", "op": ">=",
               "threshold": 1.0, "value": 1.5, "passed": True, "reason": None}],
    "passed": True,
    "warnings": [],
    "timing": {"load_seconds": 1.0, "run_seconds": 2.0},
    "versions": {},
    "output": {"dir": "o", "stats": "o/stats.json"},
    "later_key": {"kept": [1, 2]},  # a key this version does not know: kept, in its place
}  # fmt: skip

SWEEP = {
    "schema_version": 1,
    "kind": "sweep",
    "complete": True,
    "error": None,
    "policy": {"path": "runs/a", "resolved_path": "/runs/a"},
    "env": {"id": "CartPole-v1"},
    "runs": [],
    "checkpoints": [],
    "best": {"summary": {"episodes": 5, "mean_return": 9.0}},
    "gates": [],
    "passed": True,
    "timing": {"seconds": 4.0},
    "output": {"dir": "o", "sweep": "o/sweep.json"},
}


def test_an_eval_report_is_written_and_read_back_byte_for_byte(tmp_path):
    documents.write_eval_report(tmp_path, EVAL)
    text = (tmp_path / "stats.json").read_text()
    assert text == json_text.dumps(EVAL) + "\n"  # the JSON written before the types
    assert json.loads(text) == EVAL
    report = documents.read_eval_report(tmp_path / "stats.json")
    assert isinstance(report, documents.EvalReport)
    assert report.env["id"] == "CartPole-v1" and report.episodes[1]["return"] == 2.0
    assert report.extra == {"later_key": {"kept": [1, 2]}}
    assert documents.to_json(report) == text
    assert (tmp_path / "episodes.csv").read_text() == files.episodes_csv(EVAL["episodes"])


def test_a_sweep_report_is_written_and_read_back_byte_for_byte(tmp_path):
    documents.write_sweep_report(tmp_path, SWEEP)
    text = (tmp_path / "sweep.json").read_text()
    assert text == json_text.dumps(SWEEP) + "\n"
    assert json.loads(text) == SWEEP
    report = documents.read_sweep_report(tmp_path / "sweep.json")
    assert isinstance(report, documents.SweepReport) and documents.to_json(report) == text


def _without(document: dict, key: str) -> dict:
    return {k: v for k, v in document.items() if k != key}


BAD_EVAL = {
    "missing-summary": (_without(EVAL, "summary"), "summary is missing"),
    "missing-schema": (_without(EVAL, "schema_version"), "schema_version is missing"),
    "future-schema": ({**EVAL, "schema_version": 3}, "schema_version is 3: newer than"),
    "zero-schema": ({**EVAL, "schema_version": 0}, "schema_version"),
    "bool-schema": ({**EVAL, "schema_version": True}, "schema_version is true/false"),
    "episodes-type": ({**EVAL, "episodes": {}}, "episodes is an object, not an array"),
    "complete-type": ({**EVAL, "complete": "yes"}, "complete is a string, not true/false"),
    "env-id": ({**EVAL, "env": {"kwargs": {}}}, "env.id is missing"),
    "seed-type": ({**EVAL, "episodes": [{"seed": "0", "return": 1.0}]}, "episodes[0].seed is"),
    "return-type": ({**EVAL, "episodes": [{"seed": 0, "return": "1"}]}, "episodes[0].return"),
    "return-missing": ({**EVAL, "episodes": [{"seed": 0}]}, "episodes[0].return is missing"),
    "not-an-object": ([1, 2], "(top level) is not a JSON object"),
}


@pytest.mark.parametrize("case", list(BAD_EVAL))
def test_a_bad_stats_json_is_exit_3_naming_the_file_and_the_key(tmp_path, case):
    document, problem = BAD_EVAL[case]
    path = tmp_path / "stats.json"
    path.write_text(json.dumps(document))
    with pytest.raises(InputError) as caught:
        documents.read_eval_report(path)
    assert caught.value.exit_code == EXIT_INPUT
    assert str(path) in caught.value.message and problem in caught.value.message


def test_a_stats_json_that_is_not_json_or_not_a_file_is_exit_3(tmp_path):
    path = tmp_path / "stats.json"
    path.write_text("{not json")
    with pytest.raises(InputError, match="not JSON") as caught:
        documents.read_eval_report(path)
    assert str(path) in caught.value.message
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(InputError):
        documents.read_eval_report(tmp_path / "dir.json")


@pytest.mark.parametrize(
    "change, problem",
    [
        ({"kind": "eval"}, "kind is 'eval', not 'sweep'"),
        ({"runs": None}, "runs is null, not an array"),
        ({"schema_version": 2}, "schema_version is 2: newer than"),
        ({"env": {}}, "env.id is missing"),
    ],
    ids=["kind", "runs-type", "future-schema", "env-id"],
)
def test_a_bad_sweep_json_is_exit_3_naming_the_file_and_the_key(tmp_path, change, problem):
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps({**SWEEP, **change}))
    with pytest.raises(InputError) as caught:
        documents.read_sweep_report(path)
    assert caught.value.exit_code == EXIT_INPUT
    assert str(path) in caught.value.message and problem in caught.value.message


def test_compare_refuses_a_bad_stats_json_with_exit_3_naming_the_key(tmp_path):
    good, bad = tmp_path / "good", tmp_path / "bad"
    documents.write_eval_report(good.mkdir() or good, EVAL)
    (bad.mkdir() or bad).joinpath("stats.json").write_text(json.dumps({**EVAL, "env": {}}))
    result = CliRunner().invoke(main, ["compare", str(good), str(bad)])
    assert result.exit_code == EXIT_INPUT
    assert f"{bad / 'stats.json'}: not a valid pytfpol report: env.id is missing" in result.stderr


def test_junit_is_a_view_of_the_document_type_not_a_guess():
    eval_suite = junit.suite_for(documents.typed_report(EVAL))
    assert eval_suite.name == "pytfpol eval p on CartPole-v1" and eval_suite.seconds == 3.0
    assert [c.name for c in eval_suite.cases] == ["mean_return>=1"]
    assert "report: o/stats.json" in eval_suite.cases[0].details
    sweep = documents.typed_report(SWEEP)
    assert isinstance(sweep, documents.SweepReport)
    sweep_suite = junit.suite_for(sweep)
    assert sweep_suite.name == "pytfpol sweep runs/a on CartPole-v1"
    (case,) = sweep_suite.cases  # no gates: one case saying the run completed, its best's numbers
    assert case.name == "complete" and case.passed
    assert case.output == "5 episodes, mean return 9.0"
    assert case.classname == "pytfpol.sweep.CartPole-v1"


def test_a_built_document_keeps_its_key_order_and_its_unknown_keys():
    report = documents.EvalReport.from_dict(EVAL)
    assert list(report.to_dict()) == list(EVAL) and report.to_dict() == EVAL
    fresh = documents.EvalReport(env={"id": "X"})
    assert list(fresh.to_dict()) == [k for k, _, _ in documents.EvalReport.SCHEMA]


def test_the_readers_go_through_the_safe_opener(tmp_path):
    """A symlinked or oversized stats.json is refused like every input (formats.input_files)."""
    target = tmp_path / "real.json"
    target.write_text(json.dumps(EVAL))
    link = tmp_path / "stats.json"
    link.symlink_to(target)
    assert documents.read_eval_report(link).env["id"] == "CartPole-v1"  # an input may be a link
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="FIFO"):
        documents.read_eval_report(fifo)


def test_eval_report_fields_are_todays_json_keys():
    keys = [k for k, _, _ in documents.EvalReport.SCHEMA]
    assert keys == [k for k in EVAL if k != "later_key"]
    for document in (documents.EvalReport, documents.SweepReport):
        fields = [f.name for f in dataclasses.fields(document)]
        assert fields == ["extra", "order", *(k for k, _, _ in document.SCHEMA)]


def test_a_report_of_an_older_shape_is_read_and_written_back_unchanged(tmp_path):
    """Keys in another order, some absent, one unknown in the middle: written as they were."""
    older = {
        "schema_version": 1,
        "complete": True,
        "env": {"id": "CartPole-v1"},
        "unknown_middle": [1],
        "policy": {"path": "p"},
        "summary": {},
        "episodes": [],
        "gates": {},
    }
    path = tmp_path / "stats.json"
    path.write_text(json.dumps(older, indent=2) + "\n")
    report = documents.read_eval_report(path)
    assert documents.to_json(report) == path.read_text()
    again = tmp_path / "again"
    again.mkdir()
    documents.write_eval_report(again, report)
    assert (again / "stats.json").read_text() == path.read_text()


# ------------------------------------------------------------------- the compare result


def test_a_compare_result_is_written_and_read_back_byte_for_byte(tmp_path):
    from tests.unit.test_markdown import COMPARE

    path = tmp_path / "compare.json"
    documents.write_compare_result(path, COMPARE)
    text = path.read_text()
    assert text == json_text.dumps(COMPARE) + "\n"
    result = documents.read_compare_result(path)
    assert isinstance(result, documents.CompareResult)
    assert result.verdict == "worse" and not result.passed and result.difference["ci_high"] == -10
    assert result.as_document() == COMPARE and documents.to_json(result) == text
    fields = [f.name for f in dataclasses.fields(documents.CompareResult)]
    assert fields == ["extra", "order", *COMPARE]


def _compare_without_ci_low() -> dict:
    from tests.unit.test_markdown import COMPARE

    return {**COMPARE, "difference": _without(COMPARE["difference"], "ci_low")}


BAD_COMPARE = {
    "unknown-verdict": ({"verdict": "fine"}, "verdict is 'fine', not a verdict"),
    "passed-but-worse": ({"passed": True}, "passed contradicts verdict"),
    "margin-type": ({"margin": "0"}, "margin is a string, not an integer or a number"),
    "future-schema": ({"schema_version": 2}, "schema_version is 2: newer than"),
}


@pytest.mark.parametrize("case", [*BAD_COMPARE, "missing-ci-low"])
def test_a_bad_compare_result_is_exit_3_naming_the_key(tmp_path, case):
    from tests.unit.test_markdown import COMPARE

    if case == "missing-ci-low":
        document, problem = _compare_without_ci_low(), "difference.ci_low is missing"
    else:
        changes, problem = BAD_COMPARE[case]
        document = {**COMPARE, **changes}
    path = tmp_path / "compare.json"
    path.write_text(json.dumps(document))
    with pytest.raises(InputError) as caught:
        documents.read_compare_result(path)
    assert caught.value.exit_code == EXIT_INPUT
    assert str(path) in caught.value.message and problem in caught.value.message


def test_a_document_is_read_only_as_a_mapping_and_equal_to_its_json_object():
    """The bridge for code written when the commands returned dicts: `report["summary"]` is the
    attribute; `as_document()` is the exact JSON object."""
    report = documents.EvalReport.from_dict(EVAL)
    assert report["summary"] is report.summary and report.get("nope") is None
    assert list(report) == list(EVAL) and dict(report) == EVAL == report
    assert report.as_document() == EVAL and list(report.as_document()) == list(EVAL)
    with pytest.raises(TypeError):
        report["complete"] = False  # type: ignore[index]
