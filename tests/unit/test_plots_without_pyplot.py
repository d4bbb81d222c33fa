"""curve.png, returns.png and compare's picture are drawn by matplotlib's Agg canvas without
pyplot (issue 26: a sweep of few checkpoints pays matplotlib's import; pyplot's is the heavier,
and pyplot's backend and figure registry are the process's, not pytfpol's)."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers.repo import REPO

SCRIPT = """
import sys
from pytfpol.results import plots
summary = {"mean_return": 10.0, "iqm_return": 9.0, "mean_return_ci_low": 8.0,
           "mean_return_ci_high": 12.0}
sweep = {
    "runs": [{"path": "/runs/a", "best": {"step": 20, "value": 12.0}}],
    "checkpoints": [
        {"run": 0, "error": None, "step": s, "summary": {**summary, "mean_return": 5.0 + s / 4}}
        for s in (10, 20)
    ],
    "settings": {"episodes": 2},
    "env": {"id": "CartPole-v1"},
}
plots.write_curve_plot(sweep, sys.argv[1])
figure = plots.curve_figure(sweep)
assert [t.get_text() for t in figure.axes[0].texts] == ["best: step 20"], figure.axes[0].texts
print(sorted(m for m in sys.modules if m.startswith("matplotlib.pyplot")))
"""


def test_the_curve_is_drawn_without_importing_pyplot(tmp_path):
    png = tmp_path / "curve.png"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(png)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
