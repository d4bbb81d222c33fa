#!/usr/bin/env bash
# The GitHub Action's cache key for its virtualenv (action.yml): the runner's OS and architecture,
# the exact Python, and a hash of what the virtualenv holds (requirements.lock, pyproject.toml).
# A new lock or Python is a new key, so a cached virtualenv is never reused across them.
set -euo pipefail
action_path="${GITHUB_ACTION_PATH:?the directory of the action}"
python="${PYTFPOL_PYTHON:?the Python that makes the virtualenv}"
hashed=("$action_path/requirements.lock" "$action_path/pyproject.toml")
# Python hashes (sha256sum is not on macOS runners) and names the exact version in one go.
key="$("$python" - "${hashed[@]}" <<'PYTHON'
import hashlib, platform, sys
digest = hashlib.sha256(b"".join(open(path, "rb").read() for path in sys.argv[1:]))
print(f"py{platform.python_version()}-{digest.hexdigest()[:32]}")
PYTHON
)"
echo "key=pytfpol-venv-${RUNNER_OS:-local}-${RUNNER_ARCH:-any}-$key" >>"${GITHUB_OUTPUT:?}"
