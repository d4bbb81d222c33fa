"""Typed results and Markdown summaries through the CLI and the API (issue 25.1/25.3, 27.4).

eval, sweep and compare append their summary to $GITHUB_STEP_SUMMARY (keeping what earlier
steps wrote) and write it to --summary FILE.md; the Markdown is read back and its numbers are
those of stats.json / sweep.json / the compare result. The library returns the typed documents;
everything that reads a stats.json uses the one validating reader. Real policies: the countdown
SavedModel (exact returns), the example Learner run for sweep."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from pytfpol import api
from pytfpol.cli import main
from pytfpol.errors import EXIT_GATE, EXIT_INPUT, EXIT_RUNTIME, EXIT_USAGE
from pytfpol.results import documents, markdown
from pytfpol.settings import EvalSettings
from tests.helpers import countdown_env
from tests.helpers.markdown_tables import key_values, table_after, tables
from tests.helpers.repo import REPO
from tests.unit.test_documents import EVAL

EARLIER = "## an earlier step\n\nits table | kept |\n"
LEARNER_RUN = REPO / "examples" / "cartpole-dqn-run"


def invoke(*args: str, step_summary=None):
    env = {"GITHUB_STEP_SUMMARY": str(step_summary)} if step_summary else None
    return CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)


def eval_args(artifacts, out, *more) -> list:
    return ["eval", artifacts / "countdown_sm", "--env", countdown_env.CLI_ENV_ID,
            "--episodes", "10", "--out", out, "-q", *more]  # fmt: skip


def _assert_statistics_are_the_reports(text: str, summary: dict) -> None:
    rows = table_after(text, "#### Statistics")[1:]
    shown = {row[0]: row[1] for row in rows}
    expected = [k for k in summary if not k.endswith(("_ci_low", "_ci_high"))]
    assert list(shown) == expected
    for name in expected:
        value = summary[name]
        if value is None:
            assert shown[name] == "-"
        else:
            assert float(shown[name]) == pytest.approx(value, rel=1e-5), name


def test_eval_appends_its_summary_and_writes_summary_md_even_when_a_gate_fails(artifacts, tmp_path):
    step_summary, own, out = tmp_path / "step.md", tmp_path / "summary.md", tmp_path / "run"
    step_summary.write_text(EARLIER)
    result = invoke(
        *eval_args(artifacts, out, "--gate", "mean_return>=1000", "--gate", "mean_length>=1"),
        "--summary", own, step_summary=step_summary,
    )  # fmt: skip
    assert result.exit_code == EXIT_GATE, result.stderr
    report = json.loads((out / "stats.json").read_text())
    text = own.read_text()
    assert step_summary.read_text() == EARLIER + "\n" + text  # appended, nothing lost
    assert text == markdown.render(documents.read_eval_report(out / "stats.json"))
    assert text.startswith("### pytfpol eval: FAILED\n")
    what = key_values(tables(text)[0])
    assert what["policy"] == str(artifacts / "countdown_sm")
    assert what["env"] == report["env"]["id"] and what["episodes"] == "10" and what["seed"] == "0"
    _assert_statistics_are_the_reports(text, report["summary"])
    gates = table_after(text, "#### Gates")[1:]
    assert [row[:2] for row in gates] == [
        ["mean_return>=1000", "**FAILED**"], ["mean_length>=1", "passed"]
    ]  # fmt: skip
    value = report["gates"][0]["value"]
    assert gates[0][2] == f"mean_return = {markdown.number(value)}"


def test_a_run_that_stops_early_still_summarises_what_it_wrote(artifacts, tmp_path):
    """The env fails in episode 3: exit 4, stats.json marked incomplete, and the summary says
    INCOMPLETE with the error (written from the report the error carries)."""
    out, own = tmp_path / "run", tmp_path / "summary.md"
    result = invoke(
        "eval", artifacts / "countdown_sm", "--env",
        f"tests.helpers.countdown_env:{countdown_env.FAULTY_ENV_ID}", "--episodes", "6",
        "--out", out, "-q", "--summary", own,
    )  # fmt: skip
    assert result.exit_code == EXIT_RUNTIME, result.stderr
    report = documents.read_eval_report(out / "stats.json")
    assert not report.complete
    text = own.read_text()
    assert text.startswith("### pytfpol eval: INCOMPLETE\n") and "**Incomplete**: " in text
    assert text == markdown.render(report)


def test_an_error_before_any_report_writes_no_summary(tmp_path):
    step_summary = tmp_path / "step.md"
    step_summary.write_text(EARLIER)
    result = invoke(
        "eval", tmp_path / "no-such-policy", "--env", "CartPole-v1", "--summary",
        tmp_path / "summary.md", step_summary=step_summary,
    )  # fmt: skip
    assert result.exit_code == EXIT_INPUT
    assert step_summary.read_text() == EARLIER and not (tmp_path / "summary.md").exists()


@pytest.mark.fast
def test_a_summary_inside_out_is_refused_before_anything_runs(tmp_path):
    out = tmp_path / "run"
    result = invoke(
        "eval", tmp_path / "policy", "--env", "CartPole-v1", "--out", out,
        "--summary", out / "summary.md",
    )  # fmt: skip
    assert result.exit_code == EXIT_USAGE and "inside --out" in result.stderr
    assert not out.exists()


def test_sweep_summary_has_each_checkpoint_and_the_best(tmp_path):
    out, own, step_summary = tmp_path / "sweep", tmp_path / "sweep.md", tmp_path / "step.md"
    step_summary.write_text(EARLIER)
    result = invoke(
        "sweep", LEARNER_RUN, "--env", "CartPole-v1", "--last", "2", "--episodes", "3",
        "--confirm-episodes", "0", "--out", out, "-q", "--summary", own,
        step_summary=step_summary,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    document = json.loads((out / "sweep.json").read_text())
    text = own.read_text()
    assert step_summary.read_text() == EARLIER + "\n" + text
    rows = table_after(text, "#### Checkpoints")[1:]
    entries = document["checkpoints"]
    assert len(rows) == len(entries) == 2
    for row, entry in zip(rows, entries):
        assert int(row[0]) == entry["step"]
        assert float(row[1]) == pytest.approx(entry["summary"]["mean_return"], rel=1e-5)
        assert float(row[2]) == pytest.approx(entry["summary"]["iqm_return"], rel=1e-5)
        assert int(row[3]) == entry["summary"]["episodes"] == 3
    assert f"**Best checkpoint: step {document['best']['step']}**" in text


def _stats(directory, returns) -> None:
    episodes = [
        {**EVAL["episodes"][0], "index": i, "seed": i, "return": float(r)}
        for i, r in enumerate(returns)
    ]
    directory.mkdir()
    documents.write_eval_report(directory, {**EVAL, "episodes": episodes})


@pytest.mark.fast
def test_compare_summary_gives_the_verdict_and_the_numbers_of_the_result(tmp_path):
    baseline, candidate = tmp_path / "base|line", tmp_path / "candidate"
    _stats(baseline, range(100, 120))
    _stats(candidate, range(0, 20))
    own, step_summary = tmp_path / "compare.md", tmp_path / "step.md"
    step_summary.write_text(EARLIER)
    args = ["compare", baseline, candidate, "--statistic", "mean_return", "--summary", own]
    result = invoke(*args, "--json", step_summary=step_summary)
    assert result.exit_code == EXIT_GATE, result.stderr
    printed = json.loads(result.stdout)
    text = own.read_text()
    assert step_summary.read_text() == EARLIER + "\n" + text
    assert text.startswith("### pytfpol compare: FAILED\n")
    assert "**Verdict: worse** on mean\\_return (exit 1)" in text
    sides = tables(text)[0][1:]
    assert [float(row[5]) for row in sides] == [109.5, 9.5]
    assert sides[0][1] == printed["baseline"]["policy"] == "p"
    numbers = key_values(tables(text)[1])
    assert (
        float(numbers["difference (candidate - baseline)"]) == printed["difference"]["difference"]
    )
    assert numbers["margin"] == "0"


# --------------------------------------------------------------------- the typed results


def test_evaluate_returns_the_typed_report_whose_document_is_stats_json(artifacts, tmp_path):
    out = tmp_path / "run"
    settings = EvalSettings(
        str(artifacts / "countdown_sm"), countdown_env.CLI_ENV_ID, episodes=5, out=str(out)
    )
    report = api.evaluate(settings)
    assert isinstance(report, documents.EvalReport)
    assert report.as_document() == json.loads((out / "stats.json").read_text())
    assert documents.to_json(report) == (out / "stats.json").read_text()
    assert report.summary["episodes"] == 5 and report.passed and report.complete
    printed = invoke(*eval_args(artifacts, tmp_path / "again", "--json"))
    assert printed.exit_code == 0, printed.stderr
    again = json.loads(printed.stdout)
    assert again == json.loads((tmp_path / "again" / "stats.json").read_text())


def test_an_eval_output_is_read_with_the_one_validating_reader(artifacts, tmp_path):
    """Given as POLICY (formats.sources) or to inspect (formats.inspect_report), an eval
    output's stats.json is read by `read_eval_report`: a schema this pytfpol does not read is
    exit 3 naming the key, as everywhere."""
    out = tmp_path / "run"
    assert invoke(*eval_args(artifacts, out, "--episodes", "2")).exit_code == 0
    stats = out / "stats.json"
    stats.write_text(json.dumps({**json.loads(stats.read_text()), "schema_version": 99}))
    again = invoke("eval", out, "--env", countdown_env.CLI_ENV_ID, "--episodes", "2",
                   "--out", tmp_path / "again", "-q")  # fmt: skip
    assert again.exit_code == EXIT_INPUT
    assert f"{stats}: not a valid pytfpol report: schema_version is 99" in again.stderr
    inspected = invoke("inspect", out)
    assert inspected.exit_code == EXIT_INPUT
    assert f"{stats}: not a valid pytfpol report: schema_version is 99" in inspected.stderr
