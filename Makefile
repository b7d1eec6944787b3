# One virtual environment, made from pyproject.toml; every target below sets it up first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: setup demo test lint bench broker
setup: $(VENV)/.installed

# The MQTT bridge's tests start their own Mosquitto (Debian's package) on a free loopback port.
broker:
	@command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || \
	  { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get install -y -q mosquitto >/dev/null 2>&1 || \
	    { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q mosquitto >/dev/null; }; }

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: setup
	$(BIN)/hush demo

test: setup broker
	$(BIN)/python -m pytest -q

lint: setup   # every Python file in the repository
	$(BIN)/ruff check .
	$(BIN)/mypy hush runtime daemon trainer clients cli tools tests data models

bench: setup
	$(BIN)/hush bench
