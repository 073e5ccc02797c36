# kzlink: `make run` serves the app with the built-in Kazaplan simulator;
# `make test` runs the whole suite. Both create the environment when needed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint format db venv clean benchmark

run: db
	$(BIN)/pserve development.ini

test: venv lint
	$(BIN)/pytest

lint: venv
	$(BIN)/ruff check src tests alembic
	$(BIN)/ruff format --check src tests alembic

format: venv
	$(BIN)/ruff check --fix src tests alembic
	$(BIN)/ruff format src tests alembic

# Figures, printed: the wall time of a burst of refreshes of one link over two
# app processes, on SQLite and PostgreSQL, with the lock on and off.
benchmark: venv
	$(BIN)/pytest -q -s -rN tests/integration/test_refresh_across_processes.py

db: venv
	$(BIN)/alembic -c development.ini upgrade head

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/pip install --quiet --editable . --group test
	touch $@

clean:
	rm -rf $(VENV) kzlink.sqlite test-artifacts .pytest_cache .ruff_cache
