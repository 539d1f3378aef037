# Every target builds or refreshes the project's own virtual environment on demand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv test lint typecheck examples contract generate bench clean

# pyproject.toml says which versions work (ranges); constraints.txt pins the exact ones CI and make use.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/rooms-kit generate --check
	$(BIN)/pytest

generate: $(STAMP)
	$(BIN)/rooms-kit generate

# The main job: the contract suite. Without URL it starts the reference server (fresh database,
# development mode, free loopback port), tests it over HTTP and stops it; with URL=... TOKENS="t1 t2"
# it tests that server instead. Reports land in build/contract/. MAX_TIME=S and REQUEST_TIMEOUT=S
# pass --max-time and --request-timeout (defaults: the profile's deadline, 10 s).
URL ?=
TOKENS ?=
PROFILE ?= full
MAX_TIME ?=
REQUEST_TIMEOUT ?=
contract: $(STAMP)
	$(BIN)/rooms-kit contract $(if $(URL),--url $(URL) $(foreach token,$(TOKENS),--token $(token)),--reference) --profile $(PROFILE) $(if $(MAX_TIME),--max-time $(MAX_TIME)) $(if $(REQUEST_TIMEOUT),--request-timeout $(REQUEST_TIMEOUT)) --report-dir build/contract

# Prove the golden examples behave as recorded.
examples: $(STAMP)
	$(BIN)/pytest -q tests/schemas/test_golden_examples.py

# Benchmarks measure and print; they are never part of the tests.
bench: $(STAMP)
	$(BIN)/python bench/validate.py
	$(BIN)/python bench/server.py
	$(BIN)/python bench/proxy.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
