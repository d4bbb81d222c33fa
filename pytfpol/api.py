"""The Python API: every command as a function returning its result (eval and sweep: the typed
documents `EvalReport`, `SweepReport`; replay: `ReplayResult`; `as_document()` is their JSON),
or raising a `pytfpol.errors.PytfpolError`. The CLI calls the same functions (in
`pytfpol.commands`).

    from pytfpol import api
    report = api.evaluate(api.EvalSettings("examples/cartpole-dqn", "CartPole-v1", episodes=20))
    report.summary["mean_return"], report.passed
    api.check_gates(report)           # raises GateFailed naming every failing gate
    api.sweep(api.SweepSettings([...], api.EvalSettings(...)))   # SweepReport (sweep.json)
    api.inspect("train_dir/policy")   # no TensorFlow
    api.configs()                     # the shipped policy configs
    api.replay("runs/demo", "worst")  # ReplayResult: one episode of a past evaluation, again

TensorFlow is imported on the first call that loads a policy, not on `import pytfpol.api`.
"""

from __future__ import annotations

from pytfpol.commands.configs import configs
from pytfpol.commands.evaluate import evaluate
from pytfpol.commands.inspect import export_npz, inspect
from pytfpol.commands.replay import replay
from pytfpol.commands.replay_result import ReplayResult
from pytfpol.commands.sweep import sweep
from pytfpol.results.documents import (
    CompareResult,
    EvalReport,
    SweepReport,
    read_compare_result,
    read_eval_report,
    read_sweep_report,
)
from pytfpol.results.report import SCHEMA_VERSION, check_gates
from pytfpol.settings import EvalSettings, SweepSettings

__all__ = [
    "EvalSettings",
    "SweepSettings",
    "evaluate",
    "sweep",
    "check_gates",
    "configs",
    "inspect",
    "export_npz",
    "replay",
    "SCHEMA_VERSION",
    "EvalReport",
    "SweepReport",
    "CompareResult",
    "ReplayResult",
    "read_eval_report",
    "read_sweep_report",
    "read_compare_result",
]
