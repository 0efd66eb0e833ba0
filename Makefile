# monitor — two commands: `make run` (the service with demo data) and `make test` (the suite).
#
# Variables: PYTHON (a Python 3.11 interpreter), VENV, HOST, PORT, PYTEST_ARGS.
#   make run PORT=5055
#   make test PYTEST_ARGS="-x tests/test_cli.py"

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?=

BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help run test lint format check-tools clean

help:
	@echo "make run    create $(VENV), migrate, ensure an admin (token printed once), load demo"
	@echo "            data into an empty database, serve on http://$(HOST):$(PORT)"
	@echo "make test   check the programs the suite needs, then ruff and the whole pytest suite"
	@echo "make lint   ruff check and ruff format --check"
	@echo "make format ruff format and the safe ruff fixes"
	@echo "make clean  remove $(VENV), caches and build output (keeps instance/, your data)"

# --- virtualenv -------------------------------------------------------------------------------
# Python runs with -P (3.11+): `python -m` would otherwise put the checkout first on sys.path,
# where collections/ (installed as `receivables`) hides the standard library's `collections`.
PY := $(BIN)/python -P

# A broken venv (Debian without python3-venv leaves one behind) is removed, so that the next
# `make` starts over instead of failing later in pip.
$(BIN)/python:
	@$(PYTHON) -P -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { \
	  echo "monitor needs Python 3.11; $(PYTHON) is $$($(PYTHON) -V 2>&1)." >&2; \
	  echo "Run with PYTHON=/path/to/python3.11." >&2; exit 1; }
	$(PYTHON) -P -m venv $(VENV) || { rm -rf $(VENV); \
	  echo "could not create $(VENV): apt-get install python3-venv" >&2; exit 1; }

# Stamps record which extras are installed; pip runs again only when pyproject.toml changes.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dev]'
	@touch $@ $(VENV)/.installed-run

# --- the two commands -------------------------------------------------------------------------
run: $(VENV)/.installed-run
	$(FLASK) db upgrade
	$(FLASK) users ensure-admin
	$(FLASK) demo load --if-empty
	@echo "monitor on http://$(HOST):$(PORT)/  (API docs: http://$(HOST):$(PORT)/api/docs)"
	$(FLASK) run --host $(HOST) --port $(PORT)

# pytest's own exit code is make's: failures (1) and "no tests collected" (5) both fail.
test: check-tools lint
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Every program the suite starts or drives, each with the Debian package that provides it. All
# missing ones are named at once, as one apt-get line. (No `grep -q` after a pipe: with pipefail,
# the writer's SIGPIPE would count as failure.)
check-tools: $(VENV)/.installed-test
	@missing=(); \
	command -v redis-server >/dev/null || missing+=(redis-server); \
	compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql); \
	command -v chromium >/dev/null || missing+=(chromium); \
	command -v pdftoppm >/dev/null || missing+=(poppler-utils); \
	{ fc-list 2>/dev/null | grep -i 'Noto Sans CJK' >/dev/null \
	  || compgen -G '/usr/share/fonts/opentype/noto/NotoSansCJK-*' >/dev/null; } \
	  || missing+=(fonts-noto-cjk); \
	$(PY) -c 'import weasyprint' >/dev/null 2>&1 \
	  || missing+=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b fontconfig); \
	if (( $${#missing[@]} )); then \
	  echo "missing for the test suite: $${missing[*]}" >&2; \
	  echo "install with: apt-get install -y --no-install-recommends $${missing[*]}" >&2; \
	  exit 1; \
	fi

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .hypothesis bench/out
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
