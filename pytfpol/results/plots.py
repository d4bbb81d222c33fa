"""Pictures of a run (`eval --plot`: returns.png) and of a comparison (`compare --plot FILE`).

matplotlib with the Agg backend (no display needed), imported only here and only when a picture
is asked for: `import pytfpol.cli` stays fast. Files are written atomically like every output.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Optional

import numpy as np

from pytfpol.results import files

MEAN_COLOR = "#d62728"
IQM_COLOR = "#1f77b4"
BASELINE_COLOR = "#7f7f7f"
CANDIDATE_COLOR = "#2ca02c"
BEST_COLOR = "#ff7f0e"


def _subplots(*args, **kwargs):
    """`pyplot.subplots` without pyplot: a Figure drawn by the Agg canvas (no display, no
    figure manager to close, not the process's pyplot backend changed), its import lighter."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=kwargs.pop("figsize", None))
    FigureCanvasAgg(figure)
    return figure, figure.subplots(*args, **kwargs)


def _save(figure, path: Path) -> None:
    files.write_atomic(Path(path), _png(figure))


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def _bins(values: np.ndarray) -> np.ndarray:
    low, high = float(values.min()), float(values.max())
    if low == high:
        return np.array([low - 0.5, high + 0.5])
    return np.histogram_bin_edges(values, bins=min(30, max(5, values.size // 2)))


def write_returns_plot(report: dict, path: Path) -> None:
    """Histogram of the episode returns and the returns by episode, with the mean, the IQM and
    their confidence intervals marked."""
    episodes = [e for e in report["episodes"] if e["return"] is not None]
    returns = np.array([e["return"] for e in episodes], dtype=np.float64)
    summary, statistics = report["summary"], report.get("statistics") or {}
    level = statistics.get("confidence_level", 0.95)
    figure, (hist, series) = _subplots(
        1, 2, figsize=(11, 4.6), gridspec_kw={"width_ratios": [1, 1.4]}
    )
    if returns.size:
        hist.hist(returns, bins=_bins(returns), color="#c7c7c7", edgecolor="#555555")
        series.plot([e["index"] for e in episodes], returns, "o-", color="#555555", ms=3.5, lw=0.8)
    for name, label, color, style in (
        ("mean_return", "mean", MEAN_COLOR, "-"),
        ("iqm_return", "IQM", IQM_COLOR, "--"),
    ):
        value = summary.get(name)
        if value is None:
            continue
        low, high = summary.get(f"{name}_ci_low"), summary.get(f"{name}_ci_high")
        interval = "" if low is None else f", {level:.0%} CI [{low:.1f}, {high:.1f}] shaded"
        hist.axvline(value, color=color, ls=style, lw=2, label=f"{label} {value:.1f}{interval}")
        series.axhline(value, color=color, ls=style, lw=1.5)
        if low is not None:
            hist.axvspan(low, high, color=color, alpha=0.12, lw=0)
            series.axhspan(low, high, color=color, alpha=0.10, lw=0)
    hist.set_xlabel("episode return")
    hist.set_ylabel("episodes")
    series.set_xlabel("episode index (reset with seed S + index)")
    series.set_ylabel("return")
    from matplotlib.ticker import MaxNLocator

    for axis in (hist.yaxis, series.xaxis):
        axis.set_major_locator(MaxNLocator(integer=True))
    handles, labels = hist.get_legend_handles_labels()
    if handles:  # below the plots, where it hides no data; shaded: the intervals
        figure.legend(handles, labels, loc="lower center", ncol=2, fontsize=9, frameon=False)
    policy, env = report["policy"], report["env"]
    step = policy.get("train_step")
    name = Path(policy.get("checkpoint") or policy["path"]).name
    figure.suptitle(
        f"{name}"
        + (f" (train step {step})" if step is not None else "")
        + f" on {env['id']}: {summary['episodes']} episodes"
        + (
            f"; intervals: {statistics.get('interval_method')} bootstrap over "
            f"{statistics.get('bootstrap_unit')}"
            if statistics
            else ""
        ),  # fmt: skip
        fontsize=10,
    )
    figure.tight_layout(rect=(0, 0.08, 1, 1))
    _save(figure, path)


def write_compare_plot(
    result: dict, baseline: np.ndarray, candidate: np.ndarray, path: Path
) -> None:
    """Both return distributions side by side, and the difference of the statistic with its
    interval against zero and the non-inferiority margin."""
    figure, (dists, diff_axis) = _subplots(
        1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1.4, 1]}
    )
    data = [np.asarray(baseline, float), np.asarray(candidate, float)]
    both = np.concatenate(data)
    bins = _bins(both)
    for values, label, color in zip(
        data, ("baseline", "candidate"), (BASELINE_COLOR, CANDIDATE_COLOR)
    ):
        dists.hist(values, bins=bins, alpha=0.55, color=color, edgecolor=color, label=label)
    d = result["difference"]
    for value, color in ((d["baseline"], BASELINE_COLOR), (d["candidate"], CANDIDATE_COLOR)):
        dists.axvline(value, color=color, lw=2, ls="--")
    dists.set_xlabel("episode return")
    dists.set_ylabel("episodes")
    dists.legend(
        [
            f"baseline: {result['statistic']} {d['baseline']:.1f} (n={data[0].size})",
            f"candidate: {result['statistic']} {d['candidate']:.1f} (n={data[1].size})",
        ],
        loc="upper left",
        fontsize=8,
    )
    _draw_difference(diff_axis, result)
    mode = "paired (same seeds)" if result["paired"] else "unpaired"
    figure.suptitle(
        f"compare {result['statistic']}: verdict {result['verdict'].upper()}, {mode}, "
        f"P(candidate > baseline) = {d['probability_of_improvement']:.2f}",
        fontsize=10,
    )
    figure.tight_layout()
    _save(figure, path)


def _draw_difference(axis, result: dict) -> None:
    d = result["difference"]
    low: Optional[float] = d["ci_low"]
    high: Optional[float] = d["ci_high"]
    value = d["difference"]
    color = CANDIDATE_COLOR if result["passed"] else MEAN_COLOR
    if low is not None:
        axis.errorbar(
            [value],
            [0],
            xerr=[[value - low], [high - value]],
            fmt="o",
            color=color,
            capsize=8,
            lw=2.5,
            ms=8,
        )
    else:
        axis.plot([value], [0], "o", color=color, ms=8)
    axis.axvline(0, color="#333333", lw=1)
    margin = result.get("margin") or 0.0
    if margin:
        axis.axvline(-margin, color=MEAN_COLOR, lw=1, ls=":", label=f"-margin ({-margin:g})")
        axis.legend(loc="upper left", fontsize=8)
    span = [v for v in (low, high, value, 0.0, -margin) if v is not None]
    pad = max(1e-9, (max(span) - min(span)) * 0.25 or abs(value) * 0.25 or 1.0)
    axis.set_xlim(min(span) - pad, max(span) + pad)
    axis.set_ylim(-1, 1)
    axis.set_yticks([])
    level = d["confidence_level"]
    interval = "no interval" if low is None else f"{level:.0%} CI [{low:.1f}, {high:.1f}]"
    axis.set_title(f"candidate − baseline: {value:.1f}\n{interval}", fontsize=9)
    axis.set_xlabel(f"difference of {result['statistic']} (candidate − baseline)")


def write_curve_plot(sweep: dict, path: Path) -> None:
    """`curve_figure`, saved as a PNG at `path`."""
    _save(curve_figure(sweep), path)


def curve_png(sweep: dict) -> bytes:
    """`curve_figure` as the bytes of the PNG `write_curve_plot` writes (what a sweep's plot
    child process, `plot_process`, sends back)."""
    return _png(curve_figure(sweep))


def curve_figure(sweep: dict):
    """Return against train step for every run of a sweep: the mean with its confidence band,
    the IQM, the best checkpoint marked and labelled with its step (and its confirmation on
    fresh seeds). The matplotlib Figure, not yet saved (nor closed)."""
    figure, axis = _subplots(figsize=(10, 4.8))
    runs = sweep["runs"]
    level = sweep.get("confidence_level", 0.95)
    for number, run in enumerate(runs):
        entries = [e for e in sweep["checkpoints"] if e["run"] == number and e["error"] is None]
        steps = [e["step"] for e in entries]
        mean = [e["summary"]["mean_return"] for e in entries]
        iqm = [e["summary"].get("iqm_return") for e in entries]
        low = [e["summary"].get("mean_return_ci_low") for e in entries]
        high = [e["summary"].get("mean_return_ci_high") for e in entries]
        suffix = f" ({Path(run['path']).name})" if len(runs) > 1 else ""
        line = axis.plot(steps, mean, "o-", color=None if len(runs) > 1 else MEAN_COLOR, ms=4,
                         lw=1.5, label=f"mean return{suffix}")[0]  # fmt: skip
        if all(v is not None for v in low + high) and steps:
            axis.fill_between(steps, low, high, color=line.get_color(), alpha=0.15, lw=0)
        if len(runs) == 1 and all(v is not None for v in iqm):
            axis.plot(steps, iqm, "s--", color=IQM_COLOR, ms=3, lw=1, label="IQM return")
        if run.get("best") is not None:
            _mark_best(axis, run["best"], suffix, steps)
    if sweep.get("aggregate"):
        rows = sweep["aggregate"]
        axis.plot([r["step"] for r in rows], [r["mean"] for r in rows], "k-", lw=2.5,
                  label="mean over runs")  # fmt: skip
    axis.set_xlabel("train step")
    axis.set_ylabel(f"return ({sweep['settings']['episodes']} episodes per checkpoint)")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8, loc="best")
    axis.set_title(
        f"{sweep['env']['id']}: every checkpoint on the same seeds; band: {level:.0%} CI of "
        "the mean (bootstrap over episodes)",
        fontsize=10,
    )
    figure.tight_layout()
    return figure


def _mark_best(axis, best: dict, suffix: str, steps: list) -> None:
    """The best checkpoint: a star on the curve, its step written below it (the legend alone
    is easy to miss; inside the plot at either end of the curve), and its confirmation on
    fresh seeds."""
    step, value = best["step"], best["value"]
    align = "right" if step == max(steps) else "left" if step == min(steps) else "center"
    axis.plot([step], [value], marker="*", ms=16, color=BEST_COLOR, ls="none",
              label=f"best{suffix}: step {step}", zorder=5)  # fmt: skip
    axis.annotate(f"best: step {step}", xy=(step, value), xytext=(0, -16),
                  textcoords="offset points", ha=align, va="top", fontsize=9, color=BEST_COLOR,
                  fontweight="bold", bbox={"boxstyle": "round", "fc": "white", "ec": BEST_COLOR,
                  "alpha": 0.9})  # fmt: skip
    confirm = best.get("confirmation")
    if confirm and confirm.get("mean_return") is not None:
        axis.plot([step], [confirm["mean_return"]], marker="D", ms=7, color=BEST_COLOR,
                  mfc="none", ls="none", label=f"best re-evaluated on fresh seeds{suffix}")  # fmt: skip
