"""template.yaml, the state machines and the code agree on timeouts and budgets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from orchestrator import budget
from orchestrator.adapters.aws import CALL_BUDGET_SECONDS
from samtranslator.yaml_helper import yaml_parse

from bluegreen.twin.deploy import translate

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = yaml_parse((REPO / "template.yaml").read_text())
FUNCTIONS = {
    name: resource["Properties"]
    for name, resource in TEMPLATE["Resources"].items()
    if resource["Type"] == "AWS::Serverless::Function"
}
MACHINES = {p.name.split(".")[0]: json.loads(p.read_text()) for p in (REPO / "statemachine").glob("*.asl.json")}


def timeout_of(function: str) -> int:
    return int(FUNCTIONS[function].get("Timeout", TEMPLATE["Globals"]["Function"]["Timeout"]))


def lambda_tasks() -> list[tuple[str, str, dict]]:
    """(machine, state, state definition) for every Task whose Resource is one of our functions' ARNs."""
    return [
        (machine, name, state)
        for machine, definition in MACHINES.items()
        for name, state in definition["States"].items()
        if state["Type"] == "Task" and state["Resource"].startswith("${")
    ]


@pytest.mark.parametrize(
    ("machine", "state", "definition"), lambda_tasks(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_a_task_outlasts_its_function_so_lambdas_own_timeout_is_what_fires(machine, state, definition) -> None:
    function = definition["Resource"].removeprefix("${").removesuffix("Arn}")
    assert definition["TimeoutSeconds"] >= timeout_of(function) + 5, f"{machine}.{state} vs {function}"


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_every_function_outlasts_one_aws_call_with_all_its_retries(function: str) -> None:
    assert timeout_of(function) >= CALL_BUDGET_SECONDS + 10


def test_the_smoke_budget_is_the_smoke_functions_timeout_and_the_machine_timeout_the_budgets() -> None:
    assert timeout_of("RunSmokeTestsFunction") == budget.SMOKE_FUNCTION_TIMEOUT_SECONDS
    assert MACHINES["deploy"]["TimeoutSeconds"] == budget.EXECUTION_TIMEOUT_SECONDS


def _condition_holds(condition: dict, parameters: dict[str, list[str]]) -> bool:
    """Evaluates the one shape HasSmokeTestVpc has: Not(Equals(Join(",", Ref list), ""))."""
    (equals,) = condition["Fn::Not"]
    joined, empty = equals["Fn::Equals"]
    separator, (ref,) = joined["Fn::Join"][0], [joined["Fn::Join"][1]]
    return separator.join(parameters[ref["Ref"]]) != empty


@pytest.mark.parametrize(("subnets", "in_vpc"), [([""], False), (["subnet-0a", "subnet-0b"], True)])
def test_the_smoke_function_joins_a_vpc_only_when_subnets_are_given(subnets: list[str], in_vpc: bool) -> None:
    template = translate(REPO / "template.yaml", lambda body: "s3://code/functions.zip")
    smoke = template["Resources"]["RunSmokeTestsFunction"]["Properties"]
    role = template["Resources"]["RunSmokeTestsFunctionRole"]["Properties"]
    # The VPC and the policy Lambda needs to create its network interfaces hang on one condition
    assert smoke["VpcConfig"]["Fn::If"][0] == "HasSmokeTestVpc"
    assert any(isinstance(a, dict) and a["Fn::If"][0] == "HasSmokeTestVpc" for a in role["ManagedPolicyArns"])
    # which holds only when subnets are given
    condition = template["Conditions"]["HasSmokeTestVpc"]
    assert _condition_holds(condition, {"SmokeTestSubnetIds": subnets}) is in_vpc
