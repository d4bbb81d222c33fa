"""Markdown summaries (results/markdown.py, results/summaries.py): a view of the typed
documents, escaped, with every statistic the summary holds; appended to $GITHUB_STEP_SUMMARY
without losing what is there, never through a symlink or into a FIFO. Pure Python: no
TensorFlow, no episodes."""

from __future__ import annotations

import os

import pytest

from pytfpol.errors import UsageError
from pytfpol.results import documents, markdown, summaries
from tests.helpers.markdown_tables import key_values, table_after, tables
from tests.unit.test_documents import EVAL, SWEEP

NASTY_PATH = "runs/a|b`rm -rf`\\c*d*_e_<br>[x](y) #1"

COMPARE = {
    "schema_version": 1,
    "baseline": {"report": "b/stats.json", "policy": "base|line", "train_step": 10,
                 "episodes": 20, "seeds": "0..19"},
    "candidate": {"report": "c/stats.json", "policy": "cand`idate`", "train_step": 20,
                  "episodes": 20, "seeds": "0..19"},
    "statistic": "iqm_return",
    "paired": True,
    "pairing": "paired: same env and seeds 0..19",
    "margin": 0.0,
    "alpha": 0.05,
    "difference": {"baseline": 100.0, "candidate": 80.0, "difference": -20.0, "ci_low": -30.0,
                   "ci_high": -10.0, "confidence_level": 0.95, "p_value": 0.001,
                   "test": "paired bootstrap", "probability_of_improvement": 0.1},
    "verdict": "worse",
    "passed": False,
    "rule": "worse (exit 1) when ...",
    "warnings": ["seed differ | a"],
    "plot": None,
}  # fmt: skip


def _eval(**changes) -> documents.EvalReport:
    return documents.EvalReport.from_dict({**EVAL, **changes})


def test_a_policy_path_with_pipes_and_backticks_cannot_break_the_table():
    summary = {
        "episodes": 2,
        "mean_return": 1.5,
        "mean_return_ci_low": 1.0,
        "mean_return_ci_high": 2.0,
    }
    gate = {**EVAL["gates"][0], "gate": "mean_return>=1|x`"}
    text = markdown.render(
        _eval(policy={"path": NASTY_PATH, "checkpoint": "c|k"}, summary=summary, gates=[gate])
    )
    for table in tables(text):
        assert len({len(row) for row in table}) == 1, table  # every row as wide as its header
    what = key_values(tables(text)[0])
    assert what["policy"] == NASTY_PATH and what["checkpoint"] == "c|k"
    assert table_after(text, "#### Gates")[1][0] == "mean_return>=1|x`"
    assert "`rm" not in text.replace("\\`", "")  # no code span opened


def test_the_statistics_table_shows_every_number_of_the_summary_custom_metrics_too():
    summary = {
        "episodes": 4,
        "mean_return": 1.25,
        "mean_return_ci_low": 0.5,
        "mean_return_ci_high": 2.0,
        "iqm_return": 1.0,
        "median_return": 1.0,
        "std_return": 0.5,
        "min_return": 0.5,
        "max_return": 2.0,
        "info.cost_mean": 3.5,  # a metric this version of the view was not written for
        "metrics": {"energy_mean": 7.25},
    }
    rows = table_after(markdown.render(_eval(summary=summary)), "#### Statistics")
    assert rows[0] == ["statistic", "value", "95% CI"]
    shown = {row[0]: (row[1], row[2]) for row in rows[1:]}
    expected = [k for k in summary if not k.endswith(("_ci_low", "_ci_high")) and k != "metrics"]
    assert list(shown) == [*expected, "metrics.energy_mean"]
    assert shown["mean_return"] == ("1.25", "[0.5, 2]")
    assert shown["info.cost_mean"] == ("3.5", "-") and shown["metrics.energy_mean"][0] == "7.25"


def test_a_failed_gate_is_shown_failed_with_its_expression_and_value():
    gate = {"gate": "mean_return>=9", "statistic": "mean_return", "op": ">=", "threshold": 9.0,
            "value": 1.5, "passed": False, "reason": None}  # fmt: skip
    text = markdown.render(_eval(gates=[EVAL["gates"][0], gate], passed=False))
    assert text.startswith("### pytfpol eval: FAILED\n")
    rows = table_after(text, "#### Gates")
    assert rows[1][:3] == ["mean_return>=1", "passed", "mean_return = 1.5"]
    assert rows[2][:3] == ["mean_return>=9", "**FAILED**", "mean_return = 1.5"]
    passing = markdown.render(_eval())
    assert passing.startswith("### pytfpol eval: passed\n")


def test_an_incomplete_run_says_so_with_its_error():
    text = markdown.render(_eval(complete=False, error={"message": "env|crashed", "exit_code": 4}))
    assert text.startswith("### pytfpol eval: INCOMPLETE\n")
    assert "**Incomplete**: env\\|crashed" in text


def test_the_compare_summary_gives_the_verdict_and_both_sides():
    result = documents.CompareResult.from_dict(COMPARE)
    text = markdown.render(result)
    assert text.startswith("### pytfpol compare: FAILED\n")
    assert "**Verdict: worse** on iqm\\_return (exit 1)" in text
    sides = tables(text)[0]
    assert [row[0] for row in sides[1:]] == ["baseline", "candidate"]
    assert [row[1] for row in sides[1:]] == ["base|line", "cand`idate`"]
    assert [float(row[5]) for row in sides[1:]] == [100.0, 80.0]
    numbers = key_values(tables(text)[1])
    assert (
        numbers["95% interval"] == "[-30, -10]"
        and numbers["difference (candidate - baseline)"] == "-20"
    )
    assert "- warning: seed differ \\| a" in text
    better = markdown.render(
        documents.CompareResult.from_dict({**COMPARE, "verdict": "better", "passed": True})
    )
    assert better.startswith("### pytfpol compare: passed\n") and "(exit 1)" not in better


def test_the_sweep_summary_has_a_row_per_checkpoint_and_the_best():
    entries = [
        {"run": 0, "step": step, "error": None,
         "summary": {"mean_return": mean, "iqm_return": mean - 1, "episodes": 5}}
        for step, mean in ((10, 3.0), (20, 9.0), (30, 4.5))
    ] + [{"run": 0, "step": 40, "error": {"message": "bad|file", "exit_code": 3}, "summary": {}}]  # fmt: skip
    best = {"step": 20, "value": 9.0, "confirmation": {"mean_return": 8.5, "iqm_return": 8.0,
                                                      "episodes": 5}}  # fmt: skip
    document = documents.SweepReport.from_dict(
        {**SWEEP, "checkpoints": entries, "best": best, "runs": [{"path": "r"}],
         "settings": {"select": "mean_return", "episodes": 5, "seed": 0}}
    )  # fmt: skip
    text = markdown.render(document)
    rows = table_after(text, "#### Checkpoints")
    assert rows[0] == ["step", "mean return", "IQM return", "episodes"]
    assert [row[:4] for row in rows[1:4]] == [
        ["10", "3", "2", "5"], ["20", "9", "8", "5"], ["30", "4.5", "3.5", "5"]
    ]  # fmt: skip
    assert rows[4] == ["40", "**FAILED**: bad|file", "-", "-"]
    assert "**Best checkpoint: step 20**, mean\\_return 9; on fresh seeds mean\\_return 8.5" in text


# ------------------------------------------------------------------------------ the writer


def test_the_step_summary_is_appended_keeping_what_is_there(tmp_path, monkeypatch):
    step_summary = tmp_path / "step_summary.md"
    step_summary.write_text("## an earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    own = tmp_path / "own.md"
    own.write_text("old content, replaced\n")
    assert summaries.write(_eval(), str(own)) == []
    assert summaries.write(_eval(), None) == []
    rendered = markdown.render(_eval())
    assert step_summary.read_text() == "## an earlier step\n\n" + rendered + "\n" + rendered
    assert own.read_text() == rendered


def test_a_step_summary_that_is_a_symlink_or_a_fifo_is_a_warning_and_untouched(
    tmp_path, monkeypatch
):
    target = tmp_path / "elsewhere.md"
    target.write_text("not yours\n")
    link = tmp_path / "link.md"
    link.symlink_to(target)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(link))
    (warning,) = summaries.write(_eval(), None)
    assert "symbolic link" in warning and target.read_text() == "not yours\n"
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(fifo))
    (warning,) = summaries.write(_eval(), None)  # returns at once: never blocks on a reader
    assert "not written" in warning
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", os.devnull)  # opens, but is no regular file
    (warning,) = summaries.write(_eval(), None)
    assert warning.endswith("is not a regular file: not written")


def test_a_summary_inside_out_is_refused(tmp_path):
    with pytest.raises(UsageError, match="inside --out"):
        summaries.check_target(str(tmp_path / "out" / "stats.json"), str(tmp_path / "out"))
    with pytest.raises(UsageError):
        summaries.check_target(str(tmp_path / "out" / "x" / ".." / "s.md"), str(tmp_path / "out"))
    summaries.check_target(str(tmp_path / "summary.md"), str(tmp_path / "out"))
    summaries.check_target(str(tmp_path / "summary.md"), None)
