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
# Files go to workers longest first (tests/file_weights.py), so no long e2e file starts last. 6 workers on the 2 cores:
# the e2e files wait on the twin's scaled waits, and since the invariant monitor and the tests' waits stopped polling
# the twin, 4 workers left a quarter of the CPU idle (pytest 513 s at 147 % CPU; 6 workers: 388 s at 187 %).
# The gates (each its own make target, two at a time) run beside pytest at a lower priority: they take the CPU the
# tests leave idle (while they wait on the twin's scaled waits, and in pytest's tail) instead of half a minute before
# them. Their output, each gate in one piece, follows pytest's; a gate that fails says so at once (its output still
# after the tests'), and `make test` fails when pytest or any gate fails.
GATES_LOG := .gates.log
test: $(STAMP)
	@{ nice -n 10 $(MAKE) --no-print-directory -k -j2 --output-sync=target lint cfn > $(GATES_LOG) 2>&1 \
		|| { echo "make test: a gate failed (its output follows the tests')" >&2; exit 1; }; } & gates=$$!; \
	$(BIN)/pytest -n 6 --dist loadfile --no-loadscope-reorder --durations=40; tests=$$?; \
	wait $$gates; gated=$$?; \
	echo "=== gates: make lint cfn ==="; cat $(GATES_LOG); \
	[ $$gated -eq 0 ] || echo "make test: a gate failed (above)" >&2; \
	[ $$tests -eq 0 ] && [ $$gated -eq 0 ]

LINT_GATES := ruff-check ruff-format asl-lint
CFN_GATES := cfn-lint iam-lint reachability escalation sam-validate sam-build
.PHONY: $(LINT_GATES) $(CFN_GATES)

lint: $(LINT_GATES)
cfn: $(CFN_GATES)

ruff-check: $(STAMP)
	$(BIN)/ruff check .
ruff-format: $(STAMP)
	$(BIN)/ruff format --check .
asl-lint: $(STAMP)
	$(BIN)/python -m bluegreen.proof.asl_lint statemachine/*.asl.json

cfn-lint: $(STAMP)
	$(BIN)/cfn-lint template.yaml
iam-lint: $(STAMP)
	$(BIN)/python -m bluegreen.proof.iam_lint
reachability: $(STAMP)
	$(BIN)/python -m bluegreen.proof.reachability
escalation: $(STAMP)
	$(BIN)/python -m bluegreen.proof.escalation
sam-validate: $(STAMP)
	$(BIN)/sam validate --lint
sam-build: $(STAMP)
	$(BIN)/sam build --cached --parallel > /dev/null

bench: $(STAMP)
	$(BIN)/python -m bluegreen.proof.bench

deploy: $(STAMP)
	$(BIN)/python -m bluegreen.proof.layer_check --region $${AWS_REGION:-$$AWS_DEFAULT_REGION}
	$(BIN)/sam build && $(BIN)/sam deploy --config-env $${ENV:-default}

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache $(GATES_LOG)
