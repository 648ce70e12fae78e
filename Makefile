# The two commands a newcomer needs: `make run` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000

.PHONY: run test lint format bench i18n screenshots clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/platebind demo --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: $(STAMP)
	$(BIN)/python -m bench.registry

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
