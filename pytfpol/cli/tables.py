"""The tables of eval, sweep, compare and replay: views of stats.json, sweep.json, the compare
result and the replay result as key/value rows (laid out by `console.print_rows`)."""

from __future__ import annotations

import json
from typing import Optional

from rich.console import Console

from pytfpol.cli.console import encodable, fmt, print_rows, stdout_console
from pytfpol.commands.replay_result import ReplayResult
from pytfpol.results.documents import CompareResult, EvalReport, SweepReport


def print_eval_table(report: EvalReport, console: Optional[Console] = None) -> None:
    """The summary of an evaluation as a two-column table on stdout."""
    print_rows("pytfpol eval", _eval_rows(report), console or stdout_console())


def _eval_rows(report: EvalReport) -> list[tuple[str, str]]:
    summary, policy, env = report.summary, report.policy, report.env
    plus_minus = encodable(_PLUS_MINUS, "+/-")
    rows = [
        ("policy", policy["path"]),
        ("format", policy["format"] + (f" ({policy['policy']})" if policy.get("policy") else "")),
        ("checkpoint", policy["checkpoint"] or "-"),
        ("train step", fmt(policy["train_step"])),
        ("actions", "sampled (seeded by --seed)" if policy.get("stochastic") else "greedy"),
        ("env", env["id"] + (f" {json.dumps(env['kwargs'])}" if env["kwargs"] else "")),
        ("episodes", f"{summary['episodes']} (seeds {_seed_range(report)})" + _identical(report)),
        (
            "mean return",
            f"{fmt(summary['mean_return'])} {plus_minus} {fmt(summary['std_return'])} (std)",
        ),
    ]
    level = report.statistics.get("confidence_level", 0.95)
    identical = bool(report.statistics.get("identical_episodes"))
    rows.append(_interval_row(f"mean return {level:.0%} CI", summary, "mean_return", identical))
    rows.append(("IQM return", fmt(summary.get("iqm_return"))))
    rows.append(_interval_row(f"IQM return {level:.0%} CI", summary, "iqm_return", identical))
    rows += [
        ("median return", fmt(summary["median_return"])),
        (
            "percentiles 5/25/75/95",
            " / ".join(fmt(summary.get(f"p{q}_return")) for q in (5, 25, 75, 95)),
        ),
        ("min / max return", f"{fmt(summary['min_return'])} / {fmt(summary['max_return'])}"),
        ("mean length", fmt(summary["mean_length"])),
    ]
    if summary.get("success_rate") is not None:
        interval = (
            f" ({level:.0%} CI [{fmt(summary['success_rate_ci_low'])}, "
            f"{fmt(summary['success_rate_ci_high'])}])"
            if summary.get("success_rate_ci_low") is not None
            else ""
        )
        rows.append(("success rate", f"{fmt(summary['success_rate'])}{interval}"))
    rows += _metric_rows(report, level)
    rows += _gate_rows(report.gates if isinstance(report.gates, list) else [])
    if not report.complete:
        rows.append(("complete", "NO: " + (report.error or {}).get("message", "")))
    rows.append(("output", report.output["dir"]))
    rows += _recording_rows(report.output)
    return rows


def _gate_rows(gates: list) -> list[tuple[str, str]]:
    return [
        (
            f"gate {gate['gate']}",
            f"{'passed' if gate['passed'] else 'FAILED'} ({gate['statistic']} = "
            f"{fmt(gate['value'])})",
        )
        for gate in gates
    ]


_PLUS_MINUS = "±"


def _identical(report: EvalReport) -> str:
    """The episodes row's warning when every episode was the same (see report.all_identical)."""
    if not report.statistics.get("identical_episodes"):
        return ""
    return ": ALL IDENTICAL, one sample (the env ignores the seed; see the warning)"


def _interval_row(label: str, summary: dict, key: str, identical: bool = False) -> tuple[str, str]:
    low, high = summary.get(f"{key}_ci_low"), summary.get(f"{key}_ci_high")
    if identical:
        return label, "- (all episodes identical: one sample)"
    if low is None:
        return label, "- (intervals need 5 or more episodes)"
    return label, f"[{fmt(low)}, {fmt(high)}]"


def _metric_rows(report: EvalReport, level: float) -> list[tuple[str, str]]:
    """Each --metric: its mean and IQM with their intervals, as the return's."""
    summary = report["summary"]
    described = (report.get("statistics") or {}).get("metrics") or {}
    rows = []
    for name, how in described.items():
        parts = []
        for label, statistic in (("mean", "mean"), ("IQM", "iqm")):
            key = f"{name}_{statistic}"
            low, high = summary.get(f"{key}_ci_low"), summary.get(f"{key}_ci_high")
            interval = "" if low is None else f" ({level:.0%} CI [{fmt(low)}, {fmt(high)}])"
            parts.append(f"{label} {fmt(summary.get(key))}{interval}")
        rows.append((f"{name} ({how['aggregation']})", ", ".join(parts)))
    return rows


def _seed_range(report: EvalReport) -> str:
    seeds = [e["seed"] for e in report.episodes]
    if not seeds:
        return "-"
    return f"{seeds[0]}..{seeds[-1]}" if len(seeds) > 1 else str(seeds[0])


def _recording_rows(output: dict) -> list[tuple[str, str]]:
    """--video, --save-trajectories, --dataset: where they went."""
    rows = [(f"video of episode {v['index']}", v["path"]) for v in output.get("videos") or []]
    if output.get("trajectories"):
        rows.append(("trajectories", output["trajectories"]))
    if output.get("dataset"):
        dataset = output["dataset"]
        rows.append(("Minari dataset", f"{dataset['id']} ({dataset['path']})"))
    return rows


def _metric_means(summary: dict) -> str:
    """`  info.KEY 1.5` for each --metric of a sweep's checkpoint."""
    from pytfpol.results.sweep_report import metric_scalars

    return "".join(f"  {tag.split('/', 1)[1]} {fmt(v)}" for tag, v in metric_scalars(summary))


def print_sweep_table(document: SweepReport, console: Optional[Console] = None) -> None:
    """A sweep: one row per checkpoint (step, mean, IQM, CI), a compact curve, and the best."""
    from pytfpol.results.sweep_report import sparkline

    console = console or stdout_console()
    select = document.settings["select"]
    ascii_only = encodable("█", "") == ""
    entries = document.checkpoints
    several = len(document.runs) > 1
    rows = []
    for number, run in enumerate(document.runs):
        mine = [e for e in entries if e["run"] == number]
        values = [e["summary"].get(select) if e["error"] is None else None for e in mine]
        label = f"curve ({select})" + (f" {run['path']}" if several else "")
        rows.append((label, sparkline(values, ascii_only) or "-"))
    for entry in entries:
        summary = entry["summary"]
        name = f"step {entry['step']}" + (f" (run {entry['run']})" if several else "")
        if entry["error"] is not None:
            rows.append((name, "FAILED: " + entry["error"]["message"]))
            continue
        low, high = summary.get("mean_return_ci_low"), summary.get("mean_return_ci_high")
        interval = "" if low is None else f" [{fmt(low)}, {fmt(high)}]"
        reused = " (from the journal)" if entry.get("reused") else ""
        reused = _metric_means(summary) + reused
        rows.append(
            (
                name,
                f"mean {fmt(summary['mean_return'])}{interval}  IQM {fmt(summary.get('iqm_return'))}"
                f"  length {fmt(summary['mean_length'])}{reused}",
            )
        )
    best = document.best
    if best is not None:
        rows.append(("best", f"step {best['step']}: {select} {fmt(best['value'])}"))
        confirmation = best.get("confirmation")
        if confirmation:
            rows.append(
                (
                    "best, fresh seeds",
                    f"{select} {fmt(confirmation.get(select))} over "
                    f"{confirmation['episodes']} episodes ({best['output']})",
                )
            )
        video = best.get("video")
        if video:
            rows.append(
                (
                    "video of the best",
                    f"episode {video['index']} (median, return {fmt(video['return'])}): "
                    f"{video['path']}",
                )
            )
    rows += _gate_rows(document.gates)
    if not document.complete:
        rows.append(("complete", "NO: " + (document.error or {}).get("message", "")))
    rows.append(("output", document.output["dir"]))
    print_rows("pytfpol sweep", rows, console)


def print_compare_table(result: CompareResult, console: Optional[Console] = None) -> None:
    """The result of `pytfpol compare` as key/value rows on stdout."""
    console = console or stdout_console()
    d = result.difference
    interval = "-" if d["ci_low"] is None else f"[{fmt(d['ci_low'])}, {fmt(d['ci_high'])}]"
    rows = [
        ("baseline", _side_text(result.baseline)),
        ("candidate", _side_text(result.candidate)),
        ("pairing", result.pairing),
        (result.statistic, f"baseline {fmt(d['baseline'])}, candidate {fmt(d['candidate'])}"),
        ("difference", f"{fmt(d['difference'])} (candidate - baseline)"),
        (f"{d['confidence_level']:.0%} interval", f"{interval} ({d['interval_method'] or '-'})"),
        ("p-value", f"{_fmt_p(d['p_value'])} ({d['test']})"),
    ]
    if d["welch_p_value"] is not None:
        rows.append(("Welch p-value", _fmt_p(d["welch_p_value"])))
    rows += [
        ("P(candidate > baseline)", f"{d['probability_of_improvement']:.3f}"),
        ("margin", fmt(float(result.margin))),
        ("verdict", result.verdict.upper() if not result.passed else result.verdict),
    ]
    if result.plot:
        rows.append(("plot", result.plot))
    print_rows("pytfpol compare", rows, console)


def _side_text(side: dict) -> str:
    step = f" (train step {side['train_step']})" if side.get("train_step") is not None else ""
    return f"{side['policy']}{step}: {side['episodes']} episodes, seeds {side['seeds']}"


def _fmt_p(value) -> str:
    return "-" if value is None else f"{value:.3g}"


def print_replay(result: ReplayResult, console: Optional[Console] = None) -> None:
    """`pytfpol replay`: the episode, recorded vs replayed, and the files written."""

    def outcome(side: dict) -> str:
        end = "terminated" if side["terminated"] else "truncated" if side["truncated"] else ""
        return f"return {fmt(side['return'])} in {side['length']} steps" + (
            f", {end}" if end else ""
        )

    rows = [
        ("episode", f"{result.episode} (seed {result.seed})"),
        ("policy", result.policy),
        ("checkpoint", result.checkpoint or "-"),
        ("env", result.env),
        ("actions", "sampled (seeded by the episode)" if result.stochastic else "greedy"),
        ("recorded", outcome(result.recorded)),
        ("replayed", outcome(result.replayed)),
        ("identical", "yes" if result.identical else "NO"),
    ]
    if result.video:
        rows.append(("video", f"{result.video} ({result.frames} frames)"))
    if result.trajectory:
        rows.append(("trajectory", result.trajectory))
    print_rows("pytfpol replay", rows, console or stdout_console())
