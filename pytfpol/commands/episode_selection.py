"""Which episode of a report `--episode` names: an index, or worst / best / median by return.
Shared by `replay` and a sweep's `--video-best` (`best_video`)."""

from __future__ import annotations

from typing import Any, Mapping

from pytfpol.errors import InputError, UsageError

SELECTORS = ("worst", "best", "median")


def select_episode(report: Mapping[str, Any], episode: str | int) -> dict:
    """The report's episode record for `episode`: an index, or worst / best / median by return
    (ties: the lowest index; median: the lower median of an even count)."""
    episodes = report["episodes"]
    where = report["output"]["stats"]
    if isinstance(episode, str) and episode not in SELECTORS:
        try:
            episode = int(episode)
        except ValueError:
            raise UsageError(
                f"--episode {episode!r}: not an episode index nor one of {', '.join(SELECTORS)}",
                "e.g. --episode 37, --episode worst",
            ) from None
    if isinstance(episode, int):
        for record in episodes:
            if record["index"] == episode:
                return record
        indices = sorted(r["index"] for r in episodes)
        known = f"{indices[0]}..{indices[-1]}" if indices else "none"
        raise UsageError(
            f"--episode {episode}: {where} has no episode {episode} (it has {known})",
            "give an index of an episode that ran, or worst / best / median",
        )
    ranked = sorted(
        (r for r in episodes if r["return"] is not None), key=lambda r: (r["return"], r["index"])
    )
    if not ranked:
        raise InputError(f"{where}: no episode with a finite return to pick {episode} from")
    if episode == "worst":
        return ranked[0]
    if episode == "best":
        return max(ranked, key=lambda r: (r["return"], -r["index"]))
    return ranked[(len(ranked) - 1) // 2]
