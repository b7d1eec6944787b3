# One virtual environment, made from pyproject.toml; every target below sets it up first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: setup demo test lint bench broker default-model keep-events-model
setup: $(VENV)/.installed

# The MQTT bridge's tests start their own broker on a free loopback port: Mosquitto (Debian's package) or,
# where it cannot be installed, amqtt from PyPI into the venv.
broker: setup
	@command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || [ -x $(BIN)/amqtt ] || \
	  { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get install -y -q mosquitto >/dev/null 2>&1 || \
	    { $$SUDO apt-get update -q >/dev/null 2>&1 && $$SUDO apt-get install -y -q mosquitto >/dev/null 2>&1; } || \
	    { echo "Mosquitto could not be installed; the MQTT tests use amqtt from PyPI"; \
	      $(BIN)/python -m pip install --quiet 'amqtt>=0.11,<1'; }; }

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

# The shipped models/default.keras from scratch, as docs/quality.md describes it: the recipe (config.toml's
# defaults, 40 epochs), then models/recipe/more.toml and models/recipe/to80db.toml from each step's weights.
# About 85 minutes on 2 cores; run it from the repository's root, where config.toml is the shipped one.
default-model: setup
	$(BIN)/hush train --config config.toml --out build/default-model/recipe.keras
	$(BIN)/hush train --config models/recipe/more.toml --init build/default-model/recipe.keras \
	  --out build/default-model/more.keras
	$(BIN)/hush train --config models/recipe/to80db.toml --init build/default-model/more.keras \
	  --out models/default.keras

# models/keep-events.keras from the shipped default: the mix without impulses, 8 epochs (5-12 minutes).
keep-events-model: setup
	$(BIN)/hush train --config models/recipe/keep-events.toml --init models/default.keras \
	  --out models/keep-events.keras
