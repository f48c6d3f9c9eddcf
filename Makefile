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
# No telemetry from the cdktf CLI or Terraform, wherever the project runs them.
export CHECKPOINT_DISABLE := 1

TOOLS := .tools
PIPENV := $(TOOLS)/bin/pipenv
VENV := .venv
PY := $(VENV)/bin/python
SYNCED := $(VENV)/.synced-$(shell sha256sum Pipfile.lock 2>/dev/null | cut -c1-12)
NODE_SYNCED := node_modules/.synced-$(shell sha256sum package-lock.json 2>/dev/null | cut -c1-12)
# Environments of their own, each locked (envs/<name>/Pipfile.lock) and kept in envs/<name>/.venv:
# the HCL parser of make hcl-check, and CDK Terrain for make cdktn-check.
HCL_SYNCED := envs/hcl/.venv/.synced-$(shell sha256sum envs/hcl/Pipfile.lock 2>/dev/null | cut -c1-12)
CDKTN_SYNCED := envs/cdktn/.venv/.synced-$(shell sha256sum envs/cdktn/Pipfile.lock 2>/dev/null | cut -c1-12)
STACK ?=
BASE ?=
# Deploy engine of `make deploy`, `make destroy` and `make teardown`: cdktf (the CLI) or terraform (plain).
ENGINE ?= cdktf
# Recipes read these as quoted shell variables ("$$STACK"), never pasted into the command
# text, so a value is only ever an argument.
export STACK BASE ENGINE
# Fixed seed and example count of `make fuzz` (the synthesizing properties).
FUZZ_SEED ?= 20261126
FUZZ_EXAMPLES ?= 25
export FUZZ_SEED FUZZ_EXAMPLES

# What a user gives, on make's command line or in the environment (make synth AWS_REGION=...,
# or AWS_REGION=... make synth), reaches the tools exactly as given: make would otherwise
# expand $(...) and ${...} in it wherever the Makefile reads it or exports it (and run a
# $(shell ...)).  Every variable a recipe or a tool reads: the override variables
# (stacks/config/overrides.py), the inputs of the targets, and what the tools read from the
# environment; tests/test_makefile.py derives that list from the code and keeps this in step.
# Recipes read them only as quoted shell variables ("$$STACK"), so a value is only ever an argument.
INPUTS := ENVIRONMENT_SUFFIX ENVIRONMENTS AWS_REGION AVAILABILITY_ZONE_LETTERS VPC_CIDR IMAGE_TAG AWS_ENDPOINT_URL \
	ALARM_EMAILS ALARM_HTTPS_ENDPOINTS ALARM_TOPIC_ARN TICKET_EMAILS TICKET_HTTPS_ENDPOINTS TICKET_TOPIC_ARN \
	STATE_BACKEND TF_STATE_BUCKET TF_STATE_REGION TF_STATE_KMS_KEY_ID \
	TF_STATE_BOOTSTRAP_BACKEND TF_CLOUD_ORGANIZATION TF_CLOUD_PROJECT TF_CLOUD_HOSTNAME TF_WORKSPACE_PREFIX \
	DEV_DOMAIN_NAME DEV_HOSTED_ZONE DEV_CERTIFICATE_ARN STAGING_DOMAIN_NAME STAGING_HOSTED_ZONE STAGING_CERTIFICATE_ARN \
	PROD_DOMAIN_NAME PROD_HOSTED_ZONE PROD_CERTIFICATE_ARN \
	GITHUB_REPOSITORY GITHUB_OIDC_PROVIDER_ARN GITHUB_ENVIRONMENTS GITHUB_RELEASE_ENVIRONMENTS TF_CLOUD_OIDC_PROVIDER_ARN \
	STACK BASE REPOINT_STATE FUZZ_SEED FUZZ_EXAMPLES CDKTF_OUTDIR ENGINE IMAGE FROM TO EXPECT ALLOW_CRITICAL ALLOW_ALARMS CONFIRM ALLOW_PROD LOG_BUCKET \
	PYTHON TF_CLI_CONFIG_FILE TF_PLUGIN_CACHE_DIR
$(foreach v,$(INPUTS),$(if $(filter command line environment environment%,$(origin $(v))),$(eval override $(v) := $$(value $(v)))$(eval export $(v))))
# Any other variable given on the command line (AWS_PROFILE, a misspelt ENVIRONMENT_SUFIX, ...)
# is exported by make too: it is taken literally as well.
$(foreach v,$(filter-out $(INPUTS),$(.VARIABLES)),$(if $(filter command line,$(origin $(v))),$(eval override $(v) := $$(value $(v)))))
export PYTHON

.PHONY: setup emulator github-vars synth test lint policy bench snapshot diagram diff deploy destroy teardown outputs release promote db-users bootstrap node e2e cli-check fuzz hcl hcl-check cdktn-check clean

$(PIPENV):
	"$$PYTHON" -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check pipenv==$(PIPENV_VERSION)

$(SYNCED): $(PIPENV) Pipfile.lock
	rm -f $(VENV)/.synced-*
	$(PIPENV) sync --dev
	touch $@

$(NODE_SYNCED): package-lock.json
	npm ci --no-audit --no-fund
	touch $@

$(HCL_SYNCED): $(PIPENV) envs/hcl/Pipfile.lock
	rm -f envs/hcl/.venv/.synced-*
	PIPENV_PIPFILE=envs/hcl/Pipfile $(PIPENV) sync
	touch $@

$(CDKTN_SYNCED): $(PIPENV) envs/cdktn/Pipfile.lock
	rm -f envs/cdktn/.venv/.synced-*
	PIPENV_PIPFILE=envs/cdktn/Pipfile $(PIPENV) sync
	touch $@

## Python (locked, in .venv) and the cdktf CLI (locked, in node_modules): `npx cdktf` works after this
setup: $(SYNCED) $(NODE_SYNCED)

node: $(NODE_SYNCED)

## Synthesize every stack to cdktf.out/stacks/<stack>/cdk.tf.json
synth: setup
	$(PY) main.py
	@ls -1 "$${CDKTF_OUTDIR:-cdktf.out}/stacks"

## Run the whole test suite: lint, types, unit, wiring, invariant, property, golden and policy tests, with coverage
test: setup $(HCL_SYNCED)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m pytest -n auto --maxprocesses 4 --cov --cov-report=
	$(PY) -m coverage report --include='stacks/*,main.py' --fail-under=100

lint: $(SYNCED)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

## checkov over every synthesized stack, with the reasoned baseline
policy: synth
	$(PY) -m tools.review.policy_scan cdktf.out/stacks

## Median synth time of all stacks vs. the plain provider import
bench: $(SYNCED)
	$(PY) -m tools.dev.bench

## Rewrite the golden synthesized JSON (review the diff before committing)
snapshot: $(SYNCED)
	$(PY) -m tools.review.snapshot

## Redraw the architecture picture and the per-stack table (README.md, docs/architecture.md) from the synthesized JSON
diagram: setup
	$(PY) -m tools.review.diagram

## Offline synth diff against BASE (default: merge base with main)
diff: $(SYNCED)
	$(PY) -m tools.review.synth_diff $${BASE:+"--base=$$BASE"}

## Deploy the state bucket, then save the state settings given (AWS_REGION, TF_STATE_BUCKET, ...);
## REPOINT_STATE=1 allows pointing every stack at another state bucket or region
bootstrap: setup
	case "$$REPOINT_STATE" in 1|yes|true) set -- --repoint-state;; *) set --;; esac; $(PY) -m tools.ops.bootstrap "$$@"

## Deploy one stack: checks, cdktf deploy (or plain terraform: ENGINE=terraform), cfn-outputs/flat-outputs.json, database users
deploy: setup
	@test -n "$$STACK" || { echo "usage: make deploy STACK=order-api-dev [ENGINE=cdktf|terraform]" >&2; exit 2; }
	$(PY) -m tools.ops.deploy --engine "$$ENGINE" -- "$$STACK"

## The outputs files of a deployed stack (cfn-outputs/), without applying anything
outputs: setup
	@test -n "$$STACK" || { echo "usage: make outputs STACK=order-api-dev" >&2; exit 2; }
	$(PY) -m tools.ops.deploy --outputs-only -- "$$STACK"

## Release an image (tag or sha256:digest) to one environment and follow the deployment to its end
## (ALLOW_CRITICAL=1: despite CRITICAL findings; ALLOW_ALARMS=1: although a rollback alarm is in ALARM)
release: setup
	@test -n "$$STACK" -a -n "$$IMAGE" || { echo "usage: make release STACK=order-api-dev IMAGE=<tag | sha256:<digest>> [ALLOW_CRITICAL=1] [ALLOW_ALARMS=1]" >&2; exit 2; }
	$(PY) -m tools.ops.release $${EXPECT:+--expect "$$EXPECT"} -- "$$STACK" "$$IMAGE"

## Release to TO exactly the digest FROM runs (read from FROM's service, never from a tag; EXPECT=<digest> refuses anything else)
promote: setup
	@test -n "$$FROM" -a -n "$$TO" || { echo "usage: make promote FROM=order-api-dev TO=order-api-staging [EXPECT=<digest>] [ALLOW_CRITICAL=1] [ALLOW_ALARMS=1]" >&2; exit 2; }
	$(PY) -m tools.ops.release --from "$$FROM" $${EXPECT:+--expect "$$EXPECT"} -- "$$TO"

## Tear a standing environment down deliberately (CONFIRM=<stack>; prod also ALLOW_PROD=1; LOG_BUCKET=empty|keep)
teardown: setup
	@test -n "$$STACK" || { echo "usage: make teardown STACK=order-api-staging CONFIRM=order-api-staging [LOG_BUCKET=empty|keep] [ALLOW_PROD=1]" >&2; exit 2; }
	$(PY) -m tools.ops.teardown --engine "$$ENGINE" -- "$$STACK"

## Destroy one stack with the cdktf CLI (or plain terraform: ENGINE=terraform)
destroy: setup
	@test -n "$$STACK" || { echo "usage: make destroy STACK=order-api-dev-pr42 [ENGINE=cdktf|terraform]" >&2; exit 2; }
	$(PY) -m tools.ops.deploy --destroy --engine "$$ENGINE" -- "$$STACK"

## The GitHub variables each environment needs (the identity stack's role ARNs), as gh commands ready to paste
github-vars: setup
	$(PY) -m tools.ops.github_vars

## Create or update the IAM-authenticated database users of a deployed stack (idempotent)
db-users: setup
	@test -n "$$STACK" || { echo "usage: make db-users STACK=order-api-dev" >&2; exit 2; }
	$(PY) main.py
	$(PY) -m tools.ops.db_users -- "$$STACK"

## The synthesizing properties over random valid configurations (fixed seed)
fuzz: $(SYNCED)
	@[[ "$$FUZZ_SEED" =~ ^[0-9]{1,18}$$ && "$$FUZZ_EXAMPLES" =~ ^[1-9][0-9]{0,3}$$ ]] || { echo "error: FUZZ_SEED must be 1-18 digits and FUZZ_EXAMPLES a number from 1 to 9999" >&2; exit 2; }
	$(PY) -m pytest -m fuzz --no-cov -p no:randomly tests/test_properties_synth.py

## The quick start in a fresh clone, then `npx cdktf synth` with nothing extra on PATH
cli-check:
	"$$PYTHON" -m tools.dev.cli_check

## The project's patched emulator on loopback, for the daily path by hand: writes .emulator/env to source in another shell (docs/emulator.md)
emulator: setup
	$(PY) -m tools.emulator

## Whole lifecycle of a suffixed copy, twice, against a local emulator (moto): deploy,
## outputs, integration tests, destroy, leftover check.  Offline; SKIPPED without
## terraform or a hashicorp/aws provider in a filesystem mirror or plugin cache.
e2e: setup
	$(PY) -m tools.e2e

## Every stack as HCL in hcl.out/stacks/<stack>/cdk.tf (cdktf synth --hcl, its defects repaired), and the JSON of the same synth in hcl.out/json/
hcl: setup
	$(PY) -m tools.port.hcl_export

## The HCL export is equivalent to the JSON (python-hcl2) and valid (terraform validate, offline provider; SKIPPED without one)
hcl-check: hcl $(HCL_SYNCED)
	envs/hcl/.venv/bin/python -m tools.port.hcl_check

## Rehearse the move to CDK Terrain: synthesize every stack with cdktn (envs/cdktn) and compare with cdktf
cdktn-check: setup $(CDKTN_SYNCED)
	$(PY) -m tools.port.cdktn_check --python envs/cdktn/.venv/bin/python

## Remove build output and caches: cdktf.out (or CDKTF_OUTDIR) and hcl.out only when the project wrote them; never terraform-state/ or settings.env
clean:
	"$$PYTHON" -m tools.dev.clean
