# Everyday commands.  `make synth` and `make test` set everything up on a
# machine that has only Python 3 and Node.js; both are quick once set up.

SHELL := /bin/bash
PYTHON ?= python3
PIPENV_VERSION := 2026.10.3

export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_NOSPIN := 1
export PIPENV_VERBOSITY := -1
export PIPENV_IGNORE_VIRTUALENVS := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CHECKOV_RUN_SCA_PACKAGE_SCAN_V2 := false

TOOLS := .tools
PIPENV := $(TOOLS)/bin/pipenv
VENV := .venv
PY := $(VENV)/bin/python
SYNCED := $(VENV)/.synced-$(shell sha256sum Pipfile.lock 2>/dev/null | cut -c1-12)
NODE_SYNCED := node_modules/.synced-$(shell sha256sum package-lock.json 2>/dev/null | cut -c1-12)
STACK ?=
BASE ?=

.PHONY: setup synth test lint policy bench snapshot diff deploy e2e node clean

$(PIPENV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check pipenv==$(PIPENV_VERSION)

$(SYNCED): $(PIPENV) Pipfile.lock
	rm -f $(VENV)/.synced-*
	$(PIPENV) sync --dev
	touch $@

setup: $(SYNCED)

## Synthesize every stack to cdktf.out/stacks/<stack>/cdk.tf.json
synth: $(SYNCED)
	$(PY) main.py
	@ls -1 cdktf.out/stacks

## Run the whole test suite: unit, property, guardrail, golden and policy (checkov) tests
test: $(SYNCED)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m pytest

lint: $(SYNCED)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

## checkov over every synthesized stack, with the reasoned baseline
policy: synth
	$(PY) -m tools.policy_scan cdktf.out/stacks

## Median synth time of all stacks vs. the plain provider import
bench: $(SYNCED)
	$(PY) -m tools.bench

## Rewrite the golden synthesized JSON (review the diff before committing)
snapshot: $(SYNCED)
	$(PY) -m tools.snapshot

## Offline synth diff against BASE (default: merge base with main)
diff: $(SYNCED)
	$(PY) -m tools.synth_diff $(if $(BASE),--base $(BASE),)

$(NODE_SYNCED): package-lock.json
	npm ci --no-audit --no-fund
	touch $@

node: $(NODE_SYNCED)

## Deploy one stack with the cdktf CLI and write its outputs to cfn-outputs/flat-outputs.json
deploy: $(SYNCED) $(NODE_SYNCED)
	@test -n "$(STACK)" || { echo "usage: make deploy STACK=order-api-dev" >&2; exit 2; }
	@mkdir -p cfn-outputs
	npx cdktf deploy $(STACK) --app "$(PY) main.py" --auto-approve --outputs-file cfn-outputs/outputs.json --outputs-file-include-sensitive-outputs=false
	$(PY) -m tools.flatten_outputs cfn-outputs/outputs.json $(STACK) -o cfn-outputs/flat-outputs.json

## Whole lifecycle of a suffixed copy, twice, against a local emulator (moto): deploy,
## outputs, integration tests, destroy, leftover check.  Offline; SKIPPED without
## terraform or a hashicorp/aws provider in a filesystem mirror or plugin cache.
e2e: $(SYNCED) $(NODE_SYNCED)
	$(PY) -m tools.e2e

clean:
	rm -rf cdktf.out .cdktf.out.* .pytest_cache .mypy_cache .ruff_cache
