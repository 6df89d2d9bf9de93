"""The structural lint of the ASL: the shipped machines pass; each broken rule is caught."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from bluegreen.proof.asl_lint import lint

MACHINES = sorted(Path(__file__).resolve().parents[2].glob("statemachine/*.asl.json"))


@pytest.mark.parametrize("path", MACHINES, ids=[p.name for p in MACHINES])
def test_shipped_state_machines_pass(path: Path) -> None:
    assert lint(json.loads(path.read_text())) == []


def deploy() -> dict:
    return json.loads((MACHINES[0].parent / "deploy.asl.json").read_text())


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda d: d["States"]["CreateGreenGroup"].pop("TimeoutSeconds"), "without TimeoutSeconds"),
        (lambda d: d["States"]["CreateGreenGroup"].pop("Retry"), "without a Retry"),
        (lambda d: d["States"]["CreateGreenGroup"].pop("Catch"), "without a Catch"),
        (lambda d: d["States"]["ShiftTraffic"]["Catch"][0].update(Next="ReleaseSucceeded"), "not to a Rollback"),
        (lambda d: d.pop("TimeoutSeconds"), "no TimeoutSeconds on the state machine"),
        (lambda d: d["States"]["CheckGreenHealth"].update(Next="Nowhere"), "does not exist"),
        (lambda d: d["States"]["CheckGreenHealth"].pop("Catch"), "a loop must contain"),
        # A loop nested in a larger one (the split fleet's moves inside the loop over halves) is checked on its own.
        (lambda d: d["States"]["MoveSplitFleet"].pop("Catch"), "IsSplitFleetMoved/MoveSplitFleet/WaitForSplitFleet"),
    ],
)
def test_each_rule_is_enforced(breakage, message: str) -> None:
    broken = copy.deepcopy(deploy())
    breakage(broken)
    assert any(message in p for p in lint(broken))


def test_unreachable_and_badly_named_states_are_caught() -> None:
    broken = deploy()
    broken["States"]["pollAgain"] = {"Type": "Wait", "Seconds": 1, "Next": "ReleaseSucceeded"}
    problems = lint(broken)
    assert any("pollAgain: is never reached" in p for p in problems)
    assert any("PascalCase" in p for p in problems)
    assert any("WaitFor" in p for p in problems)


def test_a_nested_execution_needs_a_retry_for_step_functions_throttling() -> None:
    # Given the quarantine machine, whose swap starts the deploy machine (states:startExecution.sync:2)
    quarantine = json.loads((MACHINES[0].parent / "quarantine.asl.json").read_text())
    assert lint(quarantine) == []
    # When its Retry covers only Lambda's errors
    quarantine["States"]["SwapFleet"]["Retry"][0]["ErrorEquals"] = ["Lambda.TooManyRequestsException"]
    # Then the lint asks for the Step Functions one
    assert any(
        "SwapFleet: Task without a Retry for StepFunctions.ExecutionLimitExceededException" in p
        for p in lint(quarantine)
    )
