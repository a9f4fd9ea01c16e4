# Rollcall: `make demo` and `make test` set themselves up from nothing (a Python 3.11+ venv).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test bench loadtest lint simulator clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# `make demo FAULTS=busy=3` (or drop, 503, slow; see README): the simulated Exchange misbehaves.
# `make demo RELAY_RULES=...` (see README): how the demo's SMTP relay answers, per address.
FAULTS ?=
demo: $(STAMP)
	$(VENV)/bin/rollcall demo$(if $(FAULTS), --faults '$(FAULTS)')$(if $(RELAY_RULES), --relay-rules '$(RELAY_RULES)')

# With the PostgreSQL 15 binaries and no ROLLCALL_TEST_DATABASE_URL, a private throwaway server
# runs for the tests (scripts/test-postgres); without the binaries the PostgreSQL cases skip.
test: $(STAMP) node_modules
	@if [ -z "$${ROLLCALL_TEST_DATABASE_URL:-}" ] && scripts/test-postgres available; then \
	  echo "scripts/test-postgres run $(PY) -m pytest"; scripts/test-postgres run $(PY) -m pytest; \
	else \
	  echo "$(PY) -m pytest"; $(PY) -m pytest; \
	fi

# Development-only Node tools (the unified-manifest check); skipped where npm is missing.
node_modules: package-lock.json
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund --loglevel=error && touch node_modules; \
	else echo "npm not found: the unified-manifest check will be skipped"; fi

bench: $(STAMP)
	$(PY) -m bench
	$(PY) -m bench --send
	$(PY) -m bench --graph

# Not part of `make test`: gunicorn (4 workers), 2 send workers, PostgreSQL and Redis under 200
# wrk connections, then again while processes are killed, beside the single process (README,
# "Running at scale"). About 4 minutes; needs wrk, redis-server and the PostgreSQL 15 binaries.
loadtest: $(STAMP)
	$(PY) -m bench --load

lint: $(STAMP)
	$(VENV)/bin/ruff check server tests bench
	$(VENV)/bin/mypy server

simulator: $(STAMP)
	$(PY) -m ews_simulator

clean:
	rm -rf $(VENV) instance .pytest_cache
