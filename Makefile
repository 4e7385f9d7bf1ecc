# One entry point for humans and CI. `make serve` and `make test` are the README's quick start.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install dev serve test check fmt bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
dev: $(VENV)/.installed-dev

## Install and start the server on its embedded defaults (SQLite under ./data).
serve: install
	$(BIN)/assistantd serve

## Install the test dependencies and run the whole suite (SQLite and PostgreSQL).
test: dev
	./scripts/ensure-services.sh
	$(BIN)/pytest $(PYTEST_ARGS)

## Linters and type checks; CI runs this too.
check: dev
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/ruff check src tests bench examples
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: dev
	$(BIN)/ruff format src tests bench examples
	$(BIN)/ruff check --fix src tests bench examples

bench: dev
	./scripts/ensure-services.sh
	$(BIN)/python -m bench.messages_http
	$(BIN)/python -m bench.messages_list_scale

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
