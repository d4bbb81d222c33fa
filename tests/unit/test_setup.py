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
