"""Stop `make` early, in one sentence, on a Python that TF-Agents 0.19.0 cannot install on."""

import sys

SUPPORTED = ((3, 9), (3, 11))

if not (SUPPORTED[0] <= sys.version_info[:2] <= SUPPORTED[1]):
    found = ".".join(map(str, sys.version_info[:3]))
    sys.exit(
        f"pytfpol needs Python 3.9-3.11 (TF-Agents 0.19.0 and TensorFlow 2.15 support no newer), "
        f"but {sys.executable} is Python {found}: install Python 3.11 and run "
        f"`make PYTHON=python3.11 ...`."
    )
