"""The `pytfpol` command line (imports no TensorFlow)."""

from pytfpol.cli.app import main

__all__ = ["main"]
