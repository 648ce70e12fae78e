# The two commands a newcomer needs: `make run` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000

.PHONY: run test lint format bench chaos fuzz i18n screenshots clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/platebind demo --port $(PORT)

# Tests run in parallel, one process per core (at most 4: the PostgreSQL concurrency tests
# each open dozens of connections, and max_connections is 100 by default).
test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto --maxprocesses 4

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: $(STAMP)
	$(BIN)/python -m bench.registry

# Long fuzz runs (`make test` runs 100 seeded inputs per fuzzer): each fuzzer with 20,000
# unseeded inputs (a failure prints its seed and input), deeper stateful schemathesis
# scenarios, and the stateless schema fuzzing at 500 examples per operation.
fuzz: $(STAMP)
	PLATEBIND_FUZZ_EXAMPLES=20000 $(BIN)/python -m pytest -q -o timeout=0 tests/fuzz
	PLATEBIND_STATEFUL_EXAMPLES=300 PLATEBIND_STATEFUL_STEPS=12 \
		$(BIN)/python -m pytest -q -o timeout=0 tests/api/test_schema_stateful.py
	PLATEBIND_SCHEMA_EXAMPLES=500 $(BIN)/python -m pytest -q -o timeout=0 tests/api/test_schema.py

# The long crash run: SIGKILL serve (and cycle run, webhook delivery, statement export) under
# load KILLS times over SQLite and PostgreSQL, then check every invariant (tests/chaos); and
# the 10,000-event gate replay. `make test` runs 4 kills per database and a 2,000-event replay.
KILLS ?= 64
SEED ?= 1
chaos: $(STAMP)
	$(BIN)/python -m tests.chaos --database both --kills $(KILLS) --seed $(SEED)
	PLATEBIND_REPLAY_EVENTS=10000 $(BIN)/python -m pytest -q tests/parking/test_gate_replay.py

# Extract the portal's messages and merge them into the zh-TW catalogue (then translate the
# new entries; tests/portal/test_i18n.py fails while one is missing).
i18n: $(STAMP)
	mkdir -p build
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k translate:2 --no-location --sort-output \
		-o build/messages.pot .
	$(BIN)/pybabel update -i build/messages.pot -d src/platebind/portal/locale -l zh_TW \
		--no-fuzzy-matching --ignore-obsolete

# The browser tests, keeping their screenshots for the README (Chinese text needs Debian's
# fonts-noto-cjk on the machine; the tests pass without it, the pictures are then unreadable).
screenshots: $(STAMP)
	PLATEBIND_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q tests/portal/test_browser.py

clean:
	rm -rf $(VENV) build platebind-demo.db* .pytest_cache .mypy_cache .ruff_cache
