"""Limits the code keeps (docs/development.md): no module of pytfpol over 500 lines.

mypy (`make typecheck`) and ruff's complexity check keep the others; this one has no tool."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "pytfpol"
MAX_LINES = 500


def _lines() -> dict[str, int]:
    return {
        path.relative_to(PACKAGE).as_posix(): len(path.read_text().splitlines())
        for path in PACKAGE.rglob("*.py")
    }


def test_no_module_is_over_500_lines():
    over = {name: n for name, n in _lines().items() if n > MAX_LINES}
    assert not over, f"split by responsibility (docs/development.md): {over}"
