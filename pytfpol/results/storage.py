"""Transitional: the names of the former `storage` module, for callers not yet moved to
`files` (atomic file writes, run directory names), `documents` (the report writers) and `output_set` (claim, stage,
commit, recover, check OUT). Remove once `commands/sweep` imports those directly."""

from __future__ import annotations

from pytfpol.results.documents import write_eval_report as write_report  # noqa: F401
from pytfpol.results.files import (  # noqa: F401
    EPISODE_COLUMNS,
    EPISODES_CSV,
    RETURNS_PNG,
    STATS_JSON,
    TRAJECTORIES_DIR,
    VIDEOS_DIR,
    check_free_space,
    csv_value,
    default_run_dir,
    episodes_csv,
    report_json,
    write_atomic,
)
from pytfpol.results.output_set import (  # noqa: F401
    KIND_EVAL,
    KIND_SWEEP,
    OutputClaim,
    claim_output_dir,
    commit_outputs,
    stage_outputs,
)
