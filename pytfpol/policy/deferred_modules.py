"""Modules that importing TensorFlow pulls in but an evaluation never uses, run only when used.

Keras (which `import tensorflow` imports) imports pandas at import time, only to accept
DataFrames in `Model.fit`: pandas' own import is ~31 MiB of memory and ~0.09 s in every pytfpol
process (and Ray actor), more than pytfpol's whole margin over a minimal TF-Agents script
(bench/README.md, start-up row). While TensorFlow is imported (`heavy_imports`), an `import` of a
module named in DEFERRED gets a module made by the standard `importlib.util.LazyLoader`: its code
runs at the first attribute access, so every use behaves as before (an `import pandas` later
gets the same module, loaded when first used) and an evaluation, which makes none, never pays.

Nothing is deferred that was imported before, and the names are fixed here (no input decides
them). Python 3.11's LazyLoader is not thread-safe on the first access; the deferred modules
are ones pytfpol never touches, let alone from two threads at once.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from typing import Iterator, Optional, Sequence

DEFERRED = ("pandas",)


class _DeferringFinder(importlib.abc.MetaPathFinder):
    """Finds the modules in DEFERRED as the path finder would, with their loader made lazy."""

    def find_spec(
        self, fullname: str, path: Optional[Sequence[str]], target=None
    ) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname not in DEFERRED:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or not isinstance(spec.loader, importlib.abc.Loader):
            return spec  # not installed: the import fails as it would have
        spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Within: imports of the modules in DEFERRED give lazily loaded modules (see above)."""
    if any(isinstance(finder, _DeferringFinder) for finder in sys.meta_path):
        yield  # nested: the outer one is in place
        return
    finder = _DeferringFinder()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


def is_loaded(name: str) -> bool:
    """True once `name`'s own code has run (a deferred module not yet used is not loaded)."""
    module = sys.modules.get(name)
    return module is not None and not isinstance(module, importlib.util._LazyModule)  # type: ignore[attr-defined]
