# Community service hotline. `make run` starts everything (under supervisord, runner/); `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Two interpreters: Python 3.10 for the Rasa 3.6 server alone (.venv-rasa), and a supported
# Python (3.12 or 3.13) for the project (.venv). Each: an explicit PYTHON310 / PYTHON312, else
# one on PATH that runs, else pyenv's (3.12 before 3.13).
find_python = $(shell \
  for c in $(1) $$(for v in $(2); do ls -d $$HOME/.pyenv/versions/$$v.*/bin/python 2>/dev/null | sort -rV; done); do \
    [ -n "$$c" ] || continue; \
    if "$$c" -c 'import sys; sys.exit("%d.%d" % sys.version_info[:2] not in "$(2)".split())' >/dev/null 2>&1; then \
      command -v "$$c"; break; fi; \
  done)
PY310 := $(call find_python,"$(PYTHON310)" python3.10,3.10)
PY312 := $(call find_python,"$(PYTHON312)" python3.12 python3.13,3.12 3.13)

VENV := .venv
# Rasa's environment; the code's one name for it is rasa_runtime/command.py's RASA_VENV (a test
# keeps the two equal).
RASA_VENV := .venv-rasa
RASA := $(RASA_VENV)/bin/rasa
PY := $(VENV)/bin/python
MODEL := models/hotline.tar.gz
RASA_INPUTS := config.yml domain.yml hotline/text_encoder.py $(shell find data nlu_components -type f \( -name '*.yml' -o -name '*.txt' -o -name '*.py' \) 2>/dev/null)

export HOTLINE_DATABASE_URL ?= sqlite:///$(CURDIR)/var/hotline.db
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help setup python train run run-scaled test test-fast lint lint-rasa validate bench clean db

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

python:
	@if [ -z "$(PY310)" ]; then \
	  echo "Python 3.10 was not found (the Rasa 3.6 server needs it): install it (for example 'pyenv install 3.10' or 'apt install python3.10-venv') or run make with PYTHON310=/path/to/python3.10." >&2; \
	  exit 1; fi
	@if [ -z "$(PY312)" ]; then \
	  echo "Python 3.12 or 3.13 was not found (the project needs it): install one (for example 'pyenv install 3.12' or 'apt install python3.12-venv') or run make with PYTHON312=/path/to/python3.12." >&2; \
	  exit 1; fi

$(VENV)/.installed: pyproject.toml | python
	@echo "==> building $(VENV) with $(PY312)"
	@[ -x $(PY) ] || $(PY312) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check --upgrade pip setuptools wheel
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

$(RASA_VENV)/.installed: requirements-rasa.txt | python
	@echo "==> building $(RASA_VENV) with $(PY310) (Rasa; a few minutes the first time)"
	@[ -x $(RASA_VENV)/bin/python ] || $(PY310) -m venv $(RASA_VENV)
	@$(RASA_VENV)/bin/python -m pip install -q --disable-pip-version-check --upgrade pip 'setuptools<70' wheel
	@$(RASA_VENV)/bin/python -m pip install -q --disable-pip-version-check -r requirements-rasa.txt
	@touch $@

setup: $(VENV)/.installed $(RASA_VENV)/.installed ## Build both environments (fast when nothing changed)

db: $(VENV)/.installed ## Apply database migrations
	@$(VENV)/bin/hotline db upgrade

$(MODEL): $(RASA_INPUTS) $(RASA_VENV)/.installed
	@echo "==> training the assistant (data, config or domain changed)"
	@$(RASA) train --fixed-model-name hotline --out models --num-threads 2 >var/train.log 2>&1 || { tail -40 var/train.log; exit 1; }
	@touch $@

train: | var ## Train the assistant when data, config or domain changed
	@$(MAKE) -s $(MODEL)

var:
	@mkdir -p var

run: setup db train ## Set up what is missing, then start the whole system
	@$(PY) -m runner

# The scaled configuration keeps cases on PostgreSQL (docs/deploy.md).
SCALED_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/hotline
# The tracker store endpoints.scaled.yml names, for retention and /forget (hotline/config.py).
SCALED_TRACKER_STORE_URL ?= postgresql://postgres@127.0.0.1:5432/hotline_tracker
run-scaled: export HOTLINE_DATABASE_URL := $(SCALED_DATABASE_URL)
run-scaled: export HOTLINE_TRACKER_STORE_URL := $(SCALED_TRACKER_STORE_URL)
run-scaled: setup train ## Start with 2 Rasa workers, Redis lock store and PostgreSQL
	@$(PY) scripts/setup_scaled.py
	@$(PY) -m runner --scaled

validate: $(RASA_VENV)/.installed ## Check the Rasa training data
	@$(RASA) data validate --fail-on-warnings

test: setup train ## Run every test
	@$(VENV)/bin/pytest -q -rfE

test-fast: setup ## Run the tests that start no server
	@$(VENV)/bin/pytest -q -m "not slow"

lint: $(VENV)/.installed lint-rasa ## ruff and mypy
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(VENV)/bin/mypy

# The code that runs inside Rasa, type-checked with Rasa's environment (its own annotations).
RASA_TYPED := rasa_runtime/__main__.py rasa_runtime/channels.py rasa_runtime/patches.py rasa_runtime/tracker_store.py \
  $(wildcard tests/rasa_runtime/*_cases.py)
lint-rasa: $(VENV)/.installed $(RASA_VENV)/.installed ## mypy of rasa_runtime against Rasa 3.6
	@$(VENV)/bin/mypy --python-executable $(RASA_VENV)/bin/python --python-version 3.10 --follow-imports silent \
	  --cache-dir .mypy_cache/rasa $(RASA_TYPED)

bench: setup train ## Run the benchmarks and append to docs/benchmarks.md
	@$(PY) -m bench

clean: ## Remove trained models and local data (keeps the environments)
	rm -rf models var
