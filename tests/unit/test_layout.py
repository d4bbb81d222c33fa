"""The tests' layout, so a new test lands where a newcomer looks for it (docs/development.md):
tests/unit/ and tests/integration/ hold the test_*.py files, tests/helpers/ everything else."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
TEST_DIRS = ("unit", "integration")
ALLOWED_ANYWHERE = {"conftest.py", "__init__.py"}


def misplaced(tests: Path) -> list[str]:
    """Every .py under `tests` that is not where docs/development.md says it goes."""
    wrong = []
    for path in sorted(tests.rglob("*.py")):
        where = path.relative_to(tests)
        if path.name in ALLOWED_ANYWHERE:
            continue
        top = where.parts[0] if len(where.parts) > 1 else ""
        is_test = path.name.startswith("test_")
        if (is_test and top not in TEST_DIRS) or (not is_test and top != "helpers"):
            wrong.append(where.as_posix())
    return wrong


def test_tests_sit_in_unit_or_integration_and_helpers_in_helpers():
    """A test_*.py directly in tests/ (or in helpers/), or a helper module beside the tests."""
    assert misplaced(TESTS) == [], (
        "test_*.py files go in tests/unit/ or tests/integration/, other modules in tests/helpers/"
    )


def test_misplaced_files_are_found(tmp_path):
    """The check itself: each kind of misplaced file is named, the right places are not."""
    for name in (
        "conftest.py",
        "__init__.py",
        "test_top.py",
        "stray_helper.py",
        "unit/test_a.py",
        "unit/helper_in_unit.py",
        "integration/test_b.py",
        "integration/__init__.py",
        "helpers/countdown_env.py",
        "helpers/test_in_helpers.py",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    assert misplaced(tmp_path) == [
        "helpers/test_in_helpers.py",
        "stray_helper.py",
        "test_top.py",
        "unit/helper_in_unit.py",
    ]
