# The two commands a new machine needs:
#   make run    create .venv, install hookline, start `hookline serve --dev` on SQLite
#   make test   create .venv, install with test extras, run ruff, mypy and the whole pytest suite
#               (in 4 processes: most tests wait on sockets and subprocesses, not on the CPU)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test lint typecheck unit integration fuzz bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/hookline serve --dev

lint: $(VENV)/.installed-test
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/ruff check src tests benchmarks scripts

# strict, on the files pyproject.toml names: src, tests, benchmarks and scripts
typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest -n 4

unit: $(VENV)/.installed-test
	$(BIN)/pytest tests/unit

integration: $(VENV)/.installed-test
	$(BIN)/pytest tests/integration

# schemathesis against a real `hookline serve`, admin and tenant key: no 5xx, no undeclared
# status, no response off its schema (PostgreSQL when HOOKLINE_TEST_POSTGRES_URL is set).
fuzz: $(VENV)/.installed-test
	$(BIN)/python -m tests.fuzz.run

bench: $(VENV)/.installed-test
	$(BIN)/python -m benchmarks.throughput

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
