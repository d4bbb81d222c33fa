# Two commands on a fresh machine with Python 3.9-3.11: `make demo` and `make test`.
# The virtualenv is rebuilt only when requirements.lock or pyproject.toml change.

PYTHON ?= $(shell command -v python3.11 || command -v python3.10 || command -v python3.9 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.pytfpol-installed

export TF_CPP_MIN_LOG_LEVEL := 3
export PYTHONDONTWRITEBYTECODE := 1
# pip's notices that are not about this install (a newer pip exists; pip run as root in a
# container), as environment variables: a pip too old to know an option ignores its variable.
# The installs run with --quiet twice: pip's warnings (e.g. a machine's pip.conf naming an index
# directory that is not there) are not shown; its errors and dependency conflicts still are.
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PIP_ROOT_USER_ACTION := ignore

.PHONY: demo test test-fast lint typecheck format bench mutants train-example clean check-python

demo: $(STAMP)
	$(BIN)/pytfpol eval examples/cartpole-dqn --env CartPole-v1 --episodes 20 --seed 0 --out pytfpol-runs/demo
	@echo "pytfpol is in $(BIN): run '. $(BIN)/activate' to use it"

test: $(STAMP)
	$(BIN)/ruff check pytfpol tests bench examples tools ci
	$(BIN)/ruff format --check pytfpol tests bench examples tools ci
	$(BIN)/mypy pytfpol
	$(BIN)/python -m pytest -q

# Unit tests and the integration tests marked `fast` (tiny policies): under two minutes.
test-fast: $(STAMP)
	$(BIN)/ruff check pytfpol tests bench examples tools ci
	$(BIN)/ruff format --check pytfpol tests bench examples tools ci
	$(BIN)/python -m pytest -q -m "not integration or fast"

lint: $(STAMP)
	$(BIN)/ruff check pytfpol tests bench examples tools ci
	$(BIN)/mypy pytfpol

# Static types of the package ([tool.mypy] in pyproject.toml); part of `make test` and `make lint`.
typecheck: $(STAMP)
	$(BIN)/mypy pytfpol

format: $(STAMP)
	$(BIN)/ruff format pytfpol tests bench examples tools ci
	$(BIN)/ruff check --fix pytfpol tests bench examples tools ci

bench: $(STAMP)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/sweep_bench.py
	$(BIN)/python bench/ray_bench.py
	$(BIN)/python bench/atari_bench.py
	$(BIN)/python bench/scale_bench.py
	$(BIN)/python bench/loop_bench.py
	$(BIN)/python bench/restore_bench.py
	$(BIN)/python bench/startup_bench.py

# Break each promise of the README on purpose; every mutant must be killed (tools/mutants.py).
mutants: $(STAMP)
	$(BIN)/python tools/mutants.py

train-example: $(STAMP)
	$(BIN)/python examples/train_cartpole_dqn.py --output examples/cartpole-dqn

check-python:
	@$(PYTHON) tools/check_python.py

$(STAMP): requirements.lock pyproject.toml tools/check_python.py
	@$(PYTHON) tools/check_python.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

clean:
	rm -rf $(VENV) pytfpol-runs .pytest_cache .ruff_cache
