# Every target builds .venv itself; the stamp makes re-runs fast and re-installs
# whenever pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: venv demo test lint bench schemas deploy-files

venv: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/iaj demo

test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy contracts broker handlers partner_adapters devtools

# 1,000 youths (and 250) on SQLite and PostgreSQL; e.g. BENCH_ARGS="--youths 500 --profile".
bench: $(STAMP)
	$(BIN)/iaj bench $(BENCH_ARGS)

schemas: $(STAMP)
	$(BIN)/iaj contracts schemas
	$(BIN)/iaj contracts asyncapi

# Kafka users, topics and ACLs for docker-compose.yml and production, from the contracts.
deploy-files: $(STAMP)
	$(BIN)/iaj deploy users --output deploy/kafka-users.sh
	$(BIN)/iaj deploy topics --output deploy/kafka-topics.sh
	$(BIN)/iaj deploy acls --output deploy/kafka-acls.sh
