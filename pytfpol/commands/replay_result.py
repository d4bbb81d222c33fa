"""`pytfpol replay`'s result, typed: `ReplayResult`. Its own module (no TensorFlow, no numpy) so
the CLI's table and the API name the type without importing what running a replay needs."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Optional


@dataclass(frozen=True)
class ReplayResult:
    """One episode of a past evaluation run again: the recorded and the replayed outcome (each
    `{"return", "length", "terminated", "truncated"}`), whether they are identical (return and
    length), what was run (policy, checkpoint, env, sampled or greedy), the files written
    (`video` with its `frames`, `trajectory`: None when not asked) and the stack's versions
    then and now. `as_document()` is what `replay --json` prints, fields in this order."""

    report: str  # the stats.json (sweep.json) the episode was recorded in
    episode: int
    seed: int
    recorded: dict
    replayed: dict
    identical: bool
    policy: str
    checkpoint: Optional[str]
    env: str
    stochastic: bool
    video: Optional[str]
    frames: Optional[int]
    trajectory: Optional[str]
    versions: dict  # {"recorded": ..., "replayed": ...}

    def as_document(self) -> dict[str, Any]:
        """The JSON object, keys in field order (the nested dicts as they are, not copied)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
