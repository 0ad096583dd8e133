# Each target does its own set-up: a fresh clone needs nothing installed first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The folder of policy source texts the shipped rulesets cite: the one thing `make test` reads from
# outside the repository (the lint, and the tests through POVRULES_SEEDS).
SEEDS ?= ../shared/seeds

.PHONY: demo test notebook screenshots mutate fuzz bench bench-log bench-records bench-amounts bench-compare bench-county bench-columnar bench-columnar-stream bench-warning clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench,notebook,caseload,columnar,spark,warning]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

test: $(STAMP)
	POVRULES_SEEDS=$(SEEDS) $(BIN)/python -m pytest
	$(BIN)/python -m mypy
	$(BIN)/ruff check src
	$(BIN)/ruff format --check src tests benchmarks docs/notebooks examples
	$(BIN)/povrules lint --sources $(SEEDS) rulesets/
	$(BIN)/povrules test rulesets/
	$(BIN)/povrules mutate rulesets/

# Run the what-if notebook and store it with its outputs (tests/test_notebook.py checks they are current).
notebook: $(STAMP)
	$(BIN)/python docs/notebooks/run.py

# Every HTML view standalone and inside JupyterLab's and the classic notebook's styles, screenshot with headless
# Chromium (apt-get install chromium), into build/screenshots/. make test needs no browser.
screenshots: $(STAMP)
	$(BIN)/python docs/notebooks/screenshots.py

# Ruleset mutation testing: every mutant of every shipped ruleset against the policy tests (docs/policy-tests.md).
# MUTATE_FLAGS: e.g. --changed-since main, --json, --workers 1.
MUTATE_FLAGS ?=
mutate: $(STAMP)
	$(BIN)/povrules mutate $(MUTATE_FLAGS) rulesets/

# The fuzz campaign at length (tests/fuzz; `make test` runs it briefly). FUZZ_EXAMPLES: inputs per target.
FUZZ_EXAMPLES ?= 3000
fuzz: $(STAMP)
	POVRULES_FUZZ=long POVRULES_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/fuzz \
		-W ignore::hypothesis.errors.HypothesisWarning

bench: $(STAMP)
	$(BIN)/python benchmarks/identification.py

bench-log: $(STAMP)
	$(BIN)/python benchmarks/log.py

# The cost of each step of a decision record, and of a v2 record against a v1 one.
bench-records: $(STAMP)
	$(BIN)/python benchmarks/records.py

# An amount decision against a decision table asking the same of the same members (留坝's pension).
bench-amounts: $(STAMP)
	$(BIN)/python benchmarks/amounts.py

bench-compare: $(STAMP)
	$(BIN)/python benchmarks/compare.py

bench-county: $(STAMP)
	$(BIN)/python benchmarks/county.py

bench-columnar: $(STAMP)
	$(BIN)/python benchmarks/columnar.py

bench-columnar-stream: $(STAMP)
	$(BIN)/python benchmarks/columnar_stream.py

# The early-warning stream: 1M department events over 100k households (and 2M for the memory bound), the
# reference check, and a bare durable-rules correlation for scale.
bench-warning: $(STAMP)
	$(BIN)/python benchmarks/warning.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache .ruff_cache
