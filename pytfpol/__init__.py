"""pytfpol: evaluate TF-Agents policies on Gymnasium environments.

Importing this package does not import TensorFlow; `pytfpol.api` does, when first called.
"""

import time as _time

__version__ = "0.1.0"
IMPORTED = _time.monotonic()  # where the report's wall time starts where /proc cannot say
