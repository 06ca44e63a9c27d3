# Developer and CI entry points. `make test` is what CI runs (through .ci/run), so
# everything a fresh machine lacks is installed from here, never by hand.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test

# spyne <= 2.14 does not import on Python 3.12+, so the service runs on 3.11 only.
PYTHON ?= python3.11
VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
# Rebuilt whenever the dependency declarations change.
VENV_STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PIP_NO_INPUT := 1
export PIP_PROGRESS_BAR := off

.PHONY: venv run test bench clean system-packages

venv: $(VENV_STAMP)

# setuptools and wheel go into the venv too: the packaging test builds the wheel
# without build isolation, from the same setuptools pyproject.toml asks for.
$(VENV_STAMP): setup.cfg pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { \
	  echo "error: '$(PYTHON)' is not on PATH. qbwc-bridge needs Python 3.11 (spyne does not run on 3.12+)." >&2; \
	  echo "       Install Python 3.11, or point at it: make PYTHON=/path/to/python3.11 $(MAKECMDGOALS)" >&2; \
	  exit 1; }
	@test -x $(VENV_PYTHON) || $(PYTHON) -m venv $(VENV)
	@$(VENV_PYTHON) -m pip install --quiet 'setuptools>=68' wheel
	@$(VENV_PYTHON) -m pip install --quiet -e '.[test]'
	@touch $@

run: venv
	$(VENV)/bin/qbwc-bridge demo

# What the suite needs from Debian and a fresh machine may lack: Chromium for the browser
# tests, PostgreSQL's server tools for the throwaway database server. Installed when
# missing and we are root; otherwise those tests skip (and fail under CI) with a reason.
system-packages:
	@missing=(); \
	command -v chromium >/dev/null 2>&1 || missing+=(chromium); \
	compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null \
	  || [ -n "$${QBWC_BRIDGE_PG_BIN:-}$${QBWC_BRIDGE_TEST_POSTGRES_URL:-}" ] || missing+=(postgresql); \
	if [ $${#missing[@]} -eq 0 ]; then \
	  :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "Installing Debian packages for the tests: $${missing[*]}"; \
	  log=$$(mktemp); \
	  { DEBIAN_FRONTEND=noninteractive apt-get -q update \
	    && DEBIAN_FRONTEND=noninteractive apt-get -q install -y "$${missing[@]}"; } >"$$log" 2>&1 \
	    || { cat "$$log" >&2; rm -f "$$log"; echo "error: could not install $${missing[*]}" >&2; exit 1; }; \
	  rm -f "$$log"; \
	else \
	  echo "note: not installed and this is not root: $${missing[*]}; the tests needing them will skip." >&2; \
	  echo "      Install with: sudo apt-get install $${missing[*]}" >&2; \
	fi

test: venv system-packages
	$(VENV_PYTHON) -m pytest -p no:cacheprovider $(PYTEST_ARGS)

# The measurements (bench_*.py); the long fuzzing run and the drills are run by name
# (bench/fuzz_api.py, bench/drill_faults.py); bare_spyne_server.py is a baseline the benchmarks start themselves.
bench: venv
	@shopt -s nullglob; scripts=(bench/bench_*.py); \
	if [ $${#scripts[@]} -eq 0 ]; then echo "no benchmarks in bench/"; exit 0; fi; \
	for script in "$${scripts[@]}"; do \
	  echo "== $$script"; \
	  $(VENV_PYTHON) "$$script"; \
	done

# Build outputs and the venv only: var/ holds the demo's data and is kept.
clean:
	rm -rf $(VENV) build dist *.egg-info test-artifacts .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +
