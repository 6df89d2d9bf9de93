# The verbs of the project. Every target bootstraps .venv from pyproject.toml first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export AWS_ACCESS_KEY_ID ?= testing
export AWS_SECRET_ACCESS_KEY ?= testing
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0

.PHONY: venv demo test lint unit integration e2e cfn bench deploy clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/bluegreen local demo

# A test file runs on one worker: each twin/e2e module starts its twin and deploys its stack once. (xdist's
# loadgroup cannot tag pytest 9.2's node ids, so it split modules across workers, each deploying the stack.)
test: lint cfn
	$(BIN)/pytest -n 4 --dist loadfile --durations=40

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m bluegreen.proof.asl_lint statemachine/*.asl.json

cfn: $(STAMP)
	$(BIN)/cfn-lint template.yaml
	$(BIN)/python -m bluegreen.proof.iam_lint
	$(BIN)/python -m bluegreen.proof.reachability
	$(BIN)/python -m bluegreen.proof.escalation
	$(BIN)/sam validate --lint
	$(BIN)/sam build --cached --parallel > /dev/null

bench: $(STAMP)
	$(BIN)/python -m bluegreen.proof.bench

deploy: $(STAMP)
	$(BIN)/python -m bluegreen.proof.layer_check --region $${AWS_REGION:-$$AWS_DEFAULT_REGION}
	$(BIN)/sam build && $(BIN)/sam deploy --config-env $${ENV:-default}

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache
