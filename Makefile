# sparseprobe: `make run` runs the default workflow, `make test` runs the test suite.
# Both create .venv and install the project (pinned, CPU torch) when needed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= all
# `make run CONFIG=mine.yaml`: that file alone (--replace-workflow-config: the default
# config/config.yaml is not merged in; docs/reliability.md). Without CONFIG the Snakefile's own
# configfile (config/config.yaml) is used, read once.
CONFIG ?=
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: run test install install-test lint clean-results

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(STAMP)

install-test: $(TEST_STAMP)

run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) $(if $(CONFIG),--configfile $(CONFIG) --replace-workflow-config)

test: $(TEST_STAMP)
	$(BIN)/python -m pytest -q

lint: $(TEST_STAMP)
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile rules

clean-results:
	rm -rf results resources .snakemake
