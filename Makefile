# One entry point per job. `make serve` and `make test` work on a fresh machine (Python 3.11, Node 20).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export NO_MKDOCS_2_WARNING := 1
EXAMPLES := $(wildcard examples/*)

.PHONY: setup serve test lint docs diagrams browser-deps clean

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Browser tests drive Debian's Chromium (never a downloaded browser build).
browser-deps:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "browser tests need Debian's chromium: sudo apt-get install chromium" >&2; exit 1; fi; }

# Build the catalog and serve it on http://127.0.0.1:8000, with the local sandbox running as the default target.
serve: setup
	$(BIN)/patterns sandbox start
	$(BIN)/mkdocs serve --strict --dev-addr 127.0.0.1:8000

docs: setup
	$(BIN)/mkdocs build --strict

diagrams: setup
	$(BIN)/patterns diagrams

lint: setup
	$(BIN)/ruff check src examples diagrams tests docs/hooks.py
	$(BIN)/ruff format --check src examples diagrams tests docs/hooks.py
	$(BIN)/mypy src tests docs/hooks.py
	$(BIN)/mypy diagrams
	@for example in $(EXAMPLES); do \
	  MYPYPATH=src:$$example:$$example/handlers $(BIN)/mypy $$example || exit 1; done

# The whole test suite: lint, then every test layer (unit, template, nag, e2e in the sandbox, docs, browser).
test: setup browser-deps lint
	$(BIN)/pytest

clean:
	rm -rf cdk.out site .pytest_cache .mypy_cache .ruff_cache
