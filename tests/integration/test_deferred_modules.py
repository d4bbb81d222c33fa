"""pandas, which Keras imports while TensorFlow is imported, is loaded only if something uses it
(`pytfpol.policy.deferred_modules`, issue 26: start-up memory): an evaluation never does, and
every later use of pandas, Keras' own included, behaves as if it had been imported normally."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers.repo import EXAMPLE_POLICY, REPO


def _python(code: str) -> list[str]:
    """Run `code` in a fresh interpreter (imports are per process); its printed lines."""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_an_evaluation_never_loads_pandas_and_pandas_works_after_it(tmp_path):
    code = f"""
import sys
from pytfpol import api
from pytfpol.policy import deferred_modules
report = api.evaluate(api.EvalSettings({str(EXAMPLE_POLICY)!r}, "CartPole-v1", episodes=2,
                                       max_episode_steps=20, out={str(tmp_path / "out")!r}))
print("imported", "pandas" in sys.modules, "loaded", deferred_modules.is_loaded("pandas"),
      "core", "pandas.core" in sys.modules)
import pandas
from keras.src.engine import data_adapter
print("frame", pandas.DataFrame({{"a": [1.0, 2.0]}}).shape == (2, 1),
      "keras", data_adapter._is_pandas_series(pandas.Series([1.0])),
      "loaded", deferred_modules.is_loaded("pandas"))
"""
    assert _python(code) == [
        "imported", "True", "loaded", "False", "core", "False",
        "frame", "True", "keras", "True", "loaded", "True",
    ]  # fmt: skip


def test_pandas_imported_before_tensorflow_is_left_as_it_is():
    code = """
import pandas
from pytfpol.policy.quiet_tf import import_tf
from pytfpol.policy import deferred_modules
import_tf()
import sys
print(deferred_modules.is_loaded("pandas"), sys.modules["pandas"] is pandas)
"""
    assert _python(code) == ["True", "True"]
