"""What a command reports while it runs. The CLI's console provides the rich implementation;
the Python API runs silently (`NoProgress`)."""

from __future__ import annotations

from typing import Optional, Protocol


class Progress(Protocol):
    """What the evaluation reports while it runs; `reporting` provides the rich one."""

    def warn(self, message: str) -> None: ...

    def stage(self, description: str) -> None: ...

    def start(
        self, total: int, description: str, max_episode_steps: Optional[int] = None
    ) -> None: ...

    def advance(self, result) -> None: ...  # a units.EpisodeRecord

    def step(self, env_steps: int) -> None: ...

    def stop(self) -> None: ...


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
