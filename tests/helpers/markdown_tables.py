"""Reading the Markdown summaries back (tests only): the tables as lists of cells, unescaped."""

from __future__ import annotations

import re

_CELL_SEPARATOR = re.compile(r"(?<!\\)\|")


def unescape(cell: str) -> str:
    return re.sub(r"\\(.)", r"\1", cell.strip()).replace("&amp;", "&")


def tables(markdown: str) -> list[list[list[str]]]:
    """Every table: its rows (the header first, the `|---|` line left out), each a list of
    cells split at unescaped `|` and unescaped."""
    found: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in markdown.splitlines() + [""]:
        if line.startswith("|"):
            if not re.fullmatch(r"\|(---\|)+", line):
                current.append([unescape(c) for c in _CELL_SEPARATOR.split(line)[1:-1]])
        elif current:
            found.append(current)
            current = []
    return found


def table_after(markdown: str, heading: str) -> list[list[str]]:
    """The first table after the line `heading` (e.g. `#### Statistics`)."""
    return tables(markdown.split(heading, 1)[1])[0]


def key_values(table: list[list[str]]) -> dict[str, str]:
    return {row[0]: row[1] for row in table[1:]}
