"""Progress while a run runs (issue 27, items 1-2): in a CI log, plain lines on stderr (one per
finished checkpoint of a sweep, one every few seconds of a long eval) and nothing with -q; on a
terminal, one live display for a sweep (checkpoints k/N, the current checkpoint's episodes, the
sweep's ETA) that keeps its ETA within 80 columns. Runs are real: the example Learner run and
the DQN v2 Checkpointer run of tests/conftest.py."""

from __future__ import annotations

import json
import re
import shutil
from io import StringIO
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from pytfpol import api
from pytfpol.cli import main
from pytfpol.cli.console import EpisodeProgress
from pytfpol.cli.progress_tally import ALIVE_SECONDS_VARIABLE
from pytfpol.running.units import EpisodeRecord
from pytfpol.settings import EvalSettings, SweepSettings
from tests.helpers.repo import REPO
from tests.integration.test_sweep import WatchProgress

LEARNER_RUN = REPO / "examples" / "cartpole-dqn-run"
DQN_V2_CONFIG = str(REPO / "configs" / "tf-agents-dqn-v2-cartpole.toml")
CHECKPOINT_LINE = re.compile(
    r"checkpoint (\d+)/(\d+)( so far)? step (\d+): mean (-?[\d.]+) \((\d+) episodes(, from the "
    r"journal)?\), ETA (\d+:\d\d|-)"
)
ALIVE_LINE = re.compile(r"episodes (\d+)/(\d+), mean (-?[\d.]+|-), ETA (\d+:\d\d|-)")


def invoke(*args: str, **env: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, env=env)


def checkpoint_lines(stderr: str) -> list:
    return [line for line in stderr.splitlines() if line.startswith("checkpoint ")]


def learner_sweep(out: Path, *more: str) -> list:
    return [
        "sweep", str(LEARNER_RUN), "--env", "CartPole-v1", "--last", "3", "--episodes", "4",
        "--confirm-episodes", "0", "--out", str(out), *more,
    ]  # fmt: skip


def test_a_sweep_in_a_log_prints_one_line_per_checkpoint_with_its_own_mean(tmp_path):
    """Not a terminal: one plain line per finished checkpoint (k/N, its step, its own mean as
    in sweep.json, its episodes, the sweep's ETA), no escapes; --json's stdout stays JSON. A
    re-run takes them from the journal and says so; -q prints none."""
    out = tmp_path / "sweep"
    result = invoke(*learner_sweep(out, "--json"))
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)  # progress never reaches stdout
    assert "\x1b" not in result.stderr
    lines = checkpoint_lines(result.stderr)
    entries = document["checkpoints"]
    assert len(lines) == len(entries) == 3, result.stderr
    means = [e["summary"]["mean_return"] for e in entries]
    assert len(set(means)) == 3  # a running mean would differ from each checkpoint's own
    for k, (line, entry) in enumerate(zip(lines, entries), start=1):
        match = CHECKPOINT_LINE.fullmatch(line)
        assert match, line
        assert match.group(1, 2, 3, 4) == (str(k), "3", None, str(entry["step"]))
        assert match.group(5) == f"{entry['summary']['mean_return']:.2f}"
        assert int(match.group(6)) == len(entry["episodes"]) == 4
        assert match.group(7) is None
    assert CHECKPOINT_LINE.fullmatch(lines[-1]).group(8) == "0:00"  # nothing left

    again = invoke(*learner_sweep(out))
    assert again.exit_code == 0, again.stderr
    reused = [CHECKPOINT_LINE.fullmatch(line) for line in checkpoint_lines(again.stderr)]
    assert [m.group(5, 7) for m in reused] == [
        (m, ", from the journal") for m in lines_means(lines)
    ]

    quiet = invoke(*learner_sweep(out, "-q"))
    assert quiet.exit_code == 0, quiet.stderr
    assert quiet.stderr == "" and quiet.stdout == ""


def lines_means(lines: list) -> list:
    return [CHECKPOINT_LINE.fullmatch(line).group(5) for line in lines]


def test_a_watching_sweep_says_its_count_is_so_far(artifacts, tmp_path):
    """--watch: the number of checkpoints grows as training writes them; the lines say so."""
    run = tmp_path / "run"
    shutil.copytree(artifacts / "checkpointer" / "dqn_v2_run", run)
    result = invoke(
        "sweep", str(run / "train" / "policy"), "--env", "CartPole-v1", "--config", DQN_V2_CONFIG,
        "--episodes", "2", "--confirm-episodes", "0", "--watch", "--watch-timeout", "0.2",
        "--poll", "0.1", "--out", str(tmp_path / "o"),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    matches = [CHECKPOINT_LINE.fullmatch(line) for line in checkpoint_lines(result.stderr)]
    assert [m.group(1, 2, 3, 4) for m in matches] == [
        ("1", "3", " so far", "10"),
        ("2", "3", " so far", "20"),
        ("3", "3", " so far", "30"),
    ], result.stderr


WAITING_LINE = re.compile(
    r"waiting for new checkpoints in (.+) \((\d+) evaluated so far, --watch-timeout in "
    r"(\d+:\d\d); Ctrl-C ends the watch\)"
)


def test_a_watch_waiting_in_a_log_says_so_at_most_every_interval(tmp_path):
    """A CI log is not silent while --watch waits: a line naming the run, the checkpoints
    evaluated so far and when --watch-timeout ends the watch, at most once an interval (here
    0.3 s of a 1 s wait polled every 0.1 s; 60 s by default: none in 1 s); -q prints none."""
    out = tmp_path / "sweep"
    watch = ("--last", "1", "--episodes", "2", "--watch", "--watch-timeout", "1", "--poll", "0.1")
    result = invoke(*learner_sweep(out, *watch), **{ALIVE_SECONDS_VARIABLE: "0.3"})
    assert result.exit_code == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("waiting for new")]
    matches = [WAITING_LINE.fullmatch(line) for line in lines]
    assert 1 <= len(matches) <= 4 and all(matches), result.stderr  # 10 polls: not one a poll
    assert {m.group(1, 2) for m in matches} == {(str(LEARNER_RUN), "1")}
    assert "\x1b" not in result.stderr
    default = invoke(*learner_sweep(out, *watch))  # resumed from the journal
    assert default.exit_code == 0 and "waiting for new" not in default.stderr, default.stderr
    quiet = invoke(*learner_sweep(out, *watch, "-q"), **{ALIVE_SECONDS_VARIABLE: "0"})
    assert quiet.exit_code == 0 and "waiting for new" not in quiet.stderr, quiet.stderr


class CountingWatch(WatchProgress):
    """The k/N a watching sweep reports while training writes checkpoints 40 and 50."""

    def __init__(self, directory: Path, scratch: Path) -> None:
        super().__init__(directory, scratch)
        self.total, self.seen = 0, []

    def checkpoints(self, total: int, episodes: int, growing: bool = False) -> None:
        assert growing and episodes == 2
        self.total = total

    def checkpoint_done(self, step, mean, episodes, reused=False) -> None:
        self.seen.append((step, len(self.seen) + 1, self.total))


def test_a_watching_sweep_counts_the_checkpoints_training_writes(artifacts, tmp_path):
    shutil.copytree(artifacts / "checkpointer" / "dqn_v2_run", tmp_path / "run")
    policy = tmp_path / "run" / "train" / "policy"
    settings = SweepSettings(
        paths=(str(policy),),
        eval=EvalSettings(str(policy), "CartPole-v1", episodes=2, config=DQN_V2_CONFIG,
                          out=str(tmp_path / "o")),
        last=1, watch=True, watch_timeout=1.0, poll_seconds=0.2, confirm_episodes=0,
    )  # fmt: skip
    progress = CountingWatch(policy, tmp_path / "training")
    api.sweep(settings, progress)
    # 40 is counted only once whole (it was half-written when first seen)
    assert progress.seen == [(30, 1, 1), (50, 2, 2), (40, 3, 3)]


class PruningLog(EpisodeProgress):
    """A CI log (plain lines) of a sweep while training prunes a checkpoint (max_to_keep): its
    files go when the first checkpoint starts loading."""

    def __init__(self, victim: Path) -> None:
        self.log = StringIO()
        super().__init__(Console(file=self.log, width=200))
        self.victim = victim

    def stage(self, description: str) -> None:
        super().stage(description)
        if description.startswith("loading"):
            for path in self.victim.parent.glob(self.victim.name + ".*"):
                path.unlink()


def test_a_checkpoint_deleted_before_its_turn_leaves_the_count(artifacts, tmp_path):
    """k/N counts the checkpoints the sweep evaluates: one deleted before its turn is not."""
    shutil.copytree(artifacts / "checkpointer" / "dqn_v2_run", tmp_path / "run")
    policy = tmp_path / "run" / "train" / "policy"
    settings = SweepSettings(
        paths=(str(policy),),
        eval=EvalSettings(str(policy), "CartPole-v1", episodes=2, config=DQN_V2_CONFIG,
                          out=str(tmp_path / "o")),
        confirm_episodes=0,
    )  # fmt: skip
    log = PruningLog(policy / "ckpt-20")
    api.sweep(settings, log)
    lines = checkpoint_lines(log.log.getvalue())
    assert [CHECKPOINT_LINE.fullmatch(line).group(1, 2, 4) for line in lines] == [
        ("1", "3", "10"),
        ("2", "2", "30"),  # 20 went before its turn: two checkpoints in all
    ], lines


def eval_args(out: Path) -> list:
    return [
        "eval", str(REPO / "examples" / "cartpole-dqn"), "--env", "CartPole-v1",
        "--episodes", "12", "--max-episode-steps", "30", "--num-envs", "3", "--json",
        "--out", str(out),
    ]  # fmt: skip


def test_a_long_eval_in_a_log_says_it_is_alive(tmp_path):
    """Not a terminal: a line every ALIVE_SECONDS (shortened here to every call) with the
    episodes so far (never more than the total, never fewer than before), the mean, the ETA;
    none when the interval has not passed; none with -q."""
    result = invoke(*eval_args(tmp_path / "a"), **{ALIVE_SECONDS_VARIABLE: "0"})
    assert result.exit_code == 0, result.stderr
    json.loads(result.stdout)
    assert "\x1b" not in result.stderr
    alive = [ALIVE_LINE.fullmatch(line) for line in result.stderr.splitlines()]
    alive = [m for m in alive if m]
    counts = [int(m.group(1)) for m in alive]
    assert len(counts) > 3, result.stderr
    assert counts == sorted(counts) and counts[-1] == 12
    assert {int(m.group(2)) for m in alive} == {12}
    assert all(m.group(3) != "-" for m in alive if m.group(1) != "0")

    patient = invoke(*eval_args(tmp_path / "b"), **{ALIVE_SECONDS_VARIABLE: "3600"})
    assert patient.exit_code == 0 and not ALIVE_LINE.search(patient.stderr), patient.stderr
    quiet = invoke(*eval_args(tmp_path / "c"), "-q", **{ALIVE_SECONDS_VARIABLE: "0"})
    assert quiet.exit_code == 0 and quiet.stderr == "", quiet.stderr


# ----------------------------------------------------------------------------- the terminal


def rendered(progress: EpisodeProgress, width: int = 80) -> list:
    """The live display's rows as a terminal of `width` columns shows them."""
    terminal = Console(width=width, force_terminal=True, file=StringIO(), record=True)
    terminal.print(progress.display())
    return terminal.export_text().splitlines()


class Frames(EpisodeProgress):
    """The terminal display of a real sweep, rendered at 80 columns after every episode."""

    def __init__(self) -> None:
        self.terminal = StringIO()
        super().__init__(Console(width=80, force_terminal=True, file=self.terminal))
        self.frames: list = []

    def advance(self, result) -> None:
        super().advance(result)
        self.frames.append(rendered(self))


def test_the_terminal_shows_a_sweep_checkpoint_by_checkpoint_within_80_columns(tmp_path):
    """One display: the sweep's row (checkpoints k/N, ETA), the current checkpoint's row (its own
    episodes, also when it runs as several units), all within 80 columns."""
    settings = SweepSettings(
        paths=(str(LEARNER_RUN),),
        eval=EvalSettings(str(LEARNER_RUN), "CartPole-v1", episodes=4, unit_episodes=2,
                          out=str(tmp_path / "o")),
        last=3, confirm_episodes=0,
    )  # fmt: skip
    progress = Frames()
    try:
        document = api.sweep(settings, progress)
    finally:
        progress.close()
    steps = [e["step"] for e in document["checkpoints"]]
    assert len(progress.frames) == 12
    for number, frame in enumerate(progress.frames):
        checkpoint, episode = divmod(number, 4)
        assert all(len(line) <= 80 for line in frame), frame
        sweep_row, bar_row = frame
        assert sweep_row.startswith("sweep ") and f"checkpoints {checkpoint}/3 " in sweep_row
        assert re.search(r"ETA (\d+:\d\d|-)$", sweep_row), sweep_row
        assert bar_row.startswith(f"step {steps[checkpoint]} ")
        assert f" {episode + 1}/4 episodes " in bar_row, bar_row
        assert re.search(r"ETA (\d+:\d\d|-)$", bar_row), bar_row
    drawn = progress.terminal.getvalue()
    assert "checkpoints" in drawn and "checkpoint 3/3 step" in drawn  # the live display drew it


@pytest.mark.fast
@pytest.mark.parametrize("width", [80, 60])
def test_the_eta_stays_visible_in_a_narrow_terminal(width):
    """A long env id, a thousand episodes, millions of steps: the description is cut, the bar
    shrinks, the elapsed time and steps/s go; the episodes and the ETA stay."""
    progress = EpisodeProgress(Console(width=width, force_terminal=True, file=StringIO()))
    try:
        progress.start(1000, "tests.helpers.countdown_env:SlowCountdown-v0", 500)
        for index in range(999):
            progress.step(1000)
            progress.advance(EpisodeRecord(index, index, -123.456, 500, True, False))
        [row] = rendered(progress, width)
    finally:
        progress.close()
    assert len(row) <= width and row.startswith("tests.helpers")
    assert " 999/1000 episodes " in row and re.search(r"ETA \d+:\d\d$", row), row
