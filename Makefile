# Two commands set up everything on a fresh Debian machine with Python 3.11:
#   make demo   installs what is missing, then drives the default scenario
#   make test   installs what is missing, then runs ruff, the import contracts, mypy and the tests
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed
BIN := $(VENV)/bin
DEMO_OUT ?= runs/demo

.PHONY: demo test install lint maps bench clean

install: $(STAMP)

$(STAMP): pyproject.toml scripts/install_system_deps.sh
	bash scripts/install_system_deps.sh
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=/path/to/python3.11'"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/roadmind drive --scenario default --perception oracle --out $(DEMO_OUT) --overwrite

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy
	$(BIN)/pytest

maps: $(STAMP)
	$(BIN)/python scripts/generate_maps.py --out configs/maps

bench: $(STAMP)
	$(BIN)/roadmind bench sim
	$(BIN)/roadmind bench decision

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache *.egg-info
