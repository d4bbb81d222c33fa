#!/usr/bin/env bash
# The GitHub Action's cache key for its virtualenv (action.yml): the runner's OS and architecture,
# the exact Python, and a hash of what the virtualenv holds (requirements.lock, pyproject.toml).
# A new lock or Python is a new key, so a cached virtualenv is never reused across them.
set -euo pipefail
action_path="${GITHUB_ACTION_PATH:?the directory of the action}"
python="${PYTFPOL_PYTHON:?the Python that makes the virtualenv}"
version="$("$python" -c 'import platform; print(platform.python_version())')"
lock="$(cat "$action_path/requirements.lock" "$action_path/pyproject.toml" | sha256sum | cut -c1-32)"
echo "key=pytfpol-venv-${RUNNER_OS:-local}-${RUNNER_ARCH:-any}-py$version-$lock" >>"${GITHUB_OUTPUT:?}"
