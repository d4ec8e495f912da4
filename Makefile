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

## run: validate the shipped journeys and draw one of them
run: $(STAMP)
	$(BIN)/journey validate journeys/
	$(BIN)/journey graph journeys/abandoned_cart.yaml --format mermaid

## test: lint, validate the shipped journeys, run the test suite
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/journey validate journeys/
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/compile.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
