# One virtual environment, made from pyproject.toml; every target below sets it up first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: setup demo test lint bench
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: setup
	$(BIN)/hush demo

test: setup
	$(BIN)/python -m pytest -q

lint: setup   # every Python file in the repository
	$(BIN)/ruff check .
	$(BIN)/mypy hush runtime daemon trainer clients cli tools tests data models

bench: setup
	$(BIN)/hush bench
