# Two commands for a newcomer: `make run` and `make test`. Both create .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: the embedded stack (Temporal dev server, worker, API on 127.0.0.1:8080) with journeys/ deployed; Ctrl-C stops it
run: $(STAMP)
	$(BIN)/journey dev journeys/

## test: lint, validate the shipped journeys and run their tests (journeys/tests), run the test suite
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/journey validate journeys/
	$(BIN)/journey test journeys/
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/compile.py
	$(BIN)/python bench/enrollments.py
	$(BIN)/python bench/sleepers.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/send_path.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
