"""The numbers of the progress display: a sweep's ETA, its k/N, how times read."""

from __future__ import annotations

import pytest

from pytfpol.cli.progress_tally import SweepTally, alive_seconds, clock


@pytest.mark.fast
def test_the_sweep_eta_is_the_episodes_left_at_the_rate_they_ran():
    tally = SweepTally(total=4, episodes=5)
    assert tally.eta(running=3.0) is None  # nothing ran yet: no rate to go by
    for _ in range(5):
        tally.advance()
    tally.finish(5, reused=False)
    tally.finish(5, reused=True)  # from the journal: no episodes, no time
    tally.busy = 10.0
    assert tally.counts() == "2/4"
    assert tally.eta(running=0.0) == pytest.approx(20.0)  # 10 episodes left, 2 s each
    for _ in range(2):  # two episodes of the third checkpoint, 4 s into it
        tally.advance()
    assert tally.eta(running=4.0) == pytest.approx(14.0 / 7 * 8)
    tally.finish(5, reused=False)
    tally.finish(5, reused=False)
    assert tally.eta(running=0.0) == 0.0 and tally.fraction() == 1.0
    assert SweepTally(3, 5, growing=True).counts() == "0/3 so far"


@pytest.mark.fast
def test_times_read_as_a_clock_and_the_interval_can_be_shortened(monkeypatch):
    assert [clock(s) for s in (None, 0, 42.4, 70, 3723)] == ["-", "0:00", "0:42", "1:10", "1:02:03"]
    monkeypatch.setenv("PYTFPOL_PROGRESS_SECONDS", "0.5")
    assert alive_seconds() == 0.5
    monkeypatch.setenv("PYTFPOL_PROGRESS_SECONDS", "soon")
    assert alive_seconds() == 10.0
