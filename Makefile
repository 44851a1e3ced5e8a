# Two commands do all the set-up: `make demo` (the Lorenz-63 analysis and its report)
# and `make test` (the test suite). Both create .venv and install chaosgrad on first use.
# `make lint` runs the linter, the formatter's check and the type checker, as CI does.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.chaosgrad-installed

.PHONY: demo test test-fast test-studies test-long lint systems bench clean
LINTED := chaosgrad tests benchmarks systems

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,envs]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) systems/lorenz63.py

# The tiers are set in tests/conftest.py: `studies` (end-to-end runs of minutes) and
# `slow` (seconds to a minute each). CI runs `make test` and `make test-studies`.
test: $(STAMP)
	$(PY) -m pytest -q -m "not studies"

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow and not studies"

test-studies: $(STAMP)
	$(PY) -m pytest -q -m studies

test-long: $(STAMP)
	HYPOTHESIS_PROFILE=long $(PY) -m pytest -q

# Rules and settings of all three are in pyproject.toml ([tool.ruff], [tool.mypy]).
lint: $(STAMP)
	$(PY) -m ruff check $(LINTED)
	$(PY) -m ruff format --check $(LINTED)
	$(PY) -m mypy chaosgrad

systems: $(STAMP)
	$(VENV)/bin/chaosgrad analyze all

bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) benchmarks/bench_lyapunov.py
	$(PY) benchmarks/bench_gradients.py
	$(PY) benchmarks/bench_diagnose.py
	$(PY) benchmarks/bench_shadowing.py
	$(PY) benchmarks/verdict_confusion.py --out benchmarks/RESULTS_verdict.md
	$(PY) benchmarks/calibration.py --out benchmarks/RESULTS_calibration.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
