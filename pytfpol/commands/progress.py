"""What a command reports while it runs. The CLI's console provides the implementation that
shows it (a live display on a terminal, plain lines in a CI log); the Python API runs silently
(`NoProgress`)."""

from __future__ import annotations

from typing import Optional, Protocol


class Progress(Protocol):
    """What the evaluation reports while it runs; `cli.console.EpisodeProgress` shows it.

    A bar (`start` .. `stop`) counts the episodes of one evaluation: an eval, one checkpoint of
    a sweep, the best's confirmation. A sweep also says how many checkpoints it evaluates
    (`checkpoints`, again whenever that number changes) and each one it finishes."""

    def warn(self, message: str) -> None: ...

    def stage(self, description: str) -> None: ...

    def start(
        self, total: int, description: str, max_episode_steps: Optional[int] = None
    ) -> None: ...

    def advance(self, result) -> None: ...  # a units.EpisodeRecord

    def step(self, env_steps: int) -> None: ...

    def stop(self) -> None: ...

    def checkpoints(self, total: int, episodes: int, growing: bool = False) -> None:
        """The sweep evaluates `total` checkpoints of `episodes` episodes each (`growing`:
        so far; --watch adds the new ones)."""

    def checkpoint_done(
        self, step: int, mean: Optional[float], episodes: int, reused: bool = False
    ) -> None:
        """A checkpoint's entry is made: its own mean return over its `episodes` (None: it
        could not be evaluated; `reused`: taken from the journal)."""

    def waiting(self, runs: list[str], evaluated: int, timeout_left: Optional[float]) -> None:
        """A --watch sweep waits for new checkpoints in `runs` (called at every listing),
        `evaluated` checkpoints so far; `timeout_left`: seconds until --watch-timeout ends
        the watch (None: no timeout)."""


class NoProgress:
    """Progress that shows nothing: the Python API's default."""

    def warn(self, message: str) -> None:
        pass

    def stage(self, description: str) -> None:
        pass

    def start(self, total: int, description: str, max_episode_steps: Optional[int] = None) -> None:
        pass

    def advance(self, result) -> None:
        pass

    def step(self, env_steps: int) -> None:
        pass

    def stop(self) -> None:
        pass

    def checkpoints(self, total: int, episodes: int, growing: bool = False) -> None:
        pass

    def checkpoint_done(
        self, step: int, mean: Optional[float], episodes: int, reused: bool = False
    ) -> None:
        pass

    def waiting(self, runs: list[str], evaluated: int, timeout_left: Optional[float]) -> None:
        pass
