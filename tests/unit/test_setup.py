"""The set-up contract: `make` stops on an unsupported Python with one clear sentence."""

from __future__ import annotations

import runpy
import sys

import pytest

from tests.helpers.repo import REPO

CHECK = str(REPO / "tools" / "check_python.py")


@pytest.mark.parametrize("version", [(3, 12, 1), (3, 13, 0), (3, 8, 18)])
def test_unsupported_python_stops_with_one_sentence(monkeypatch, version):
    monkeypatch.setattr(sys, "version_info", (*version, "final", 0))
    with pytest.raises(SystemExit) as stop:
        runpy.run_path(CHECK)
    message = str(stop.value.code)
    assert "\n" not in message
    assert message.startswith("pytfpol needs Python 3.9-3.11")
    assert ".".join(map(str, version)) in message


@pytest.mark.parametrize("version", [(3, 9, 0), (3, 11, 7)])
def test_supported_python_passes(monkeypatch, version):
    monkeypatch.setattr(sys, "version_info", (*version, "final", 0))
    runpy.run_path(CHECK)  # no SystemExit


MAKEFILE = (REPO / "Makefile").read_text()
ACTIVATE = "pytfpol is in .venv/bin: run '. .venv/bin/activate' to use it"


def recipe(target: str) -> list[str]:
    """The commands of a Makefile target, with $(VENV) and $(BIN) as the Makefile sets them."""
    lines = MAKEFILE.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{target}:"))
    commands = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        commands.append(line[1:].replace("$(BIN)", "$(VENV)/bin").replace("$(VENV)", ".venv"))
    return commands


def test_make_demo_ends_by_saying_how_to_get_pytfpol_on_the_path():
    assert "VENV   := .venv\n" in MAKEFILE and "BIN    := $(VENV)/bin\n" in MAKEFILE
    assert recipe("demo")[-1] == f'@echo "{ACTIVATE}"'
    two_commands = " ".join((REPO / "README.md").read_text().split("\n## ")[0].split())
    assert "`. .venv/bin/activate` puts `pytfpol` on your `PATH`" in two_commands


def test_the_install_asks_pip_for_no_notices_but_keeps_its_errors():
    """No "new release of pip" or "running pip as root" notices in `make demo`'s output (set as
    environment variables: a pip too old for an option ignores its variable), and no warnings
    (`--quiet --quiet`: pip's level ERROR); errors and dependency conflicts are not hidden."""
    assert "export PIP_DISABLE_PIP_VERSION_CHECK := 1\n" in MAKEFILE
    assert "export PIP_ROOT_USER_ACTION := ignore\n" in MAKEFILE
    installs = [c for c in recipe("$(STAMP)") if "pip install" in c]
    assert len(installs) == 2
    for command in installs:
        assert " --quiet --quiet " in command and "--quiet --quiet --quiet" not in command
        assert "/dev/null" not in command and "||" not in command and "no-warn" not in command
