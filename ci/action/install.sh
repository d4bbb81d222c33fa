#!/usr/bin/env bash
# The GitHub Action's install step (action.yml): a virtualenv at $PYTFPOL_VENV (made unless the
# cache restored it) holding exactly requirements.lock, then pytfpol itself from the action's own
# checkout without its dependencies, so nothing unpinned is ever resolved.
set -euo pipefail
action_path="${GITHUB_ACTION_PATH:?the directory of the action}"
venv="${PYTFPOL_VENV:?where the virtualenv goes}"
python="${PYTFPOL_PYTHON:?the Python that makes the virtualenv}"
pip=("$venv/bin/python" -m pip install --disable-pip-version-check --quiet)
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"${pip[@]}" -r "$action_path/requirements.lock"
"${pip[@]}" --no-deps --force-reinstall "$action_path"
"$venv/bin/python" -m pytfpol --version
