# Orchestra's front door: `make run`, `make test`, `make lint`, `make bench`.
# Everything installs into .venv from the pinned requirements on first use.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-12)
# The MCP clients the tests drive (conformance suite, Inspector) and the TypeScript SDK
# that bench/bench_mcp.py compares with, from npm.
NODE_STAMP := tests/node/node_modules/.installed-$(shell sha256sum tests/node/package.json | cut -c1-12)
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install run test lint format bench bench-reliability clean

$(STAMP): requirements.txt requirements-dev.txt
	@echo "==> installing Python dependencies into $(VENV) (first run only)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $@

$(NODE_STAMP): tests/node/package.json
	@echo "==> installing the MCP test clients and the TypeScript SDK into tests/node (first run only)"
	@cd tests/node && npm install --no-audit --no-fund --loglevel=error
	@rm -f tests/node/node_modules/.installed-* && touch $@

install: $(STAMP) $(NODE_STAMP)

run: $(STAMP)  ## Serve Orchestra on http://127.0.0.1:$(PORT) (embedded PostgreSQL, worker and beat)
	@echo "==> migrating the database (the first run takes a few minutes: dj-stripe has many migrations)"
	@PORT=$(PORT) $(BIN)/python manage.py migrate --seed --verbosity 1
	@PORT=$(PORT) $(BIN)/python manage.py serve --host $(HOST) --port $(PORT)

test: install  ## Run the whole test suite
	@$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)  ## ruff (lint and format check), mypy with django-stubs, the import layers
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy .
	@$(BIN)/lint-imports --no-cache

format: $(STAMP)
	@$(BIN)/ruff check --fix .
	@$(BIN)/ruff format .

bench: $(STAMP) $(NODE_STAMP)  ## Benchmarks (not tests): they print their figures
	@for script in bench/bench_*.py; do echo "==> $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

bench-reliability: $(STAMP)  ## Faults under load (not in `bench`); shorter: ARGS="--seconds 10 --clients 20"
	@$(BIN)/python bench/reliability.py $(ARGS)
