"""A rule whose target is a Lambda function: eventbridge_lambda_targets."""

from __future__ import annotations

import io
import json
import sys
import time
import zipfile
from collections.abc import Callable
from typing import Any

import pytest

from bluegreen.twin import eventbridge_lambda_targets, lambda_invoke_in_process
from tests.twin.conftest import STACK_DIR


def _recording_function(aws: Callable[[str], Any], name: str) -> str:
    role = aws("iam").create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("twin_fixture/__init__.py", "")
    made = aws("lambda").create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=role,
        Handler="twin_fixture.record",
        Code={"ZipFile": code.getvalue()},
    )
    return made["FunctionArn"]


def _rule_to(aws: Callable[[str], Any], name: str, function_arn: str) -> str:
    events = aws("events")
    pattern = {"source": ["app.orders"], "detail-type": ["Order Placed"]}
    rule = events.put_rule(Name=name, EventPattern=json.dumps(pattern))["RuleArn"]
    events.put_targets(Rule=name, Targets=[{"Id": "fn", "Arn": function_arn}])
    return rule


def _received(within: float = 3.0) -> list[dict]:
    import twin_fixture

    deadline = time.monotonic() + within
    while not twin_fixture.received and time.monotonic() < deadline:
        time.sleep(0.02)
    return list(twin_fixture.received)


@pytest.fixture(autouse=True)
def _stack_functions() -> Any:
    lambda_invoke_in_process.set_functions_dir(STACK_DIR / "functions")
    sys.path.insert(0, str(STACK_DIR / "functions"))
    import twin_fixture

    twin_fixture.received.clear()
    yield
    lambda_invoke_in_process.set_functions_dir(STACK_DIR.parents[2] / "functions")


def _put(aws: Callable[[str], Any]) -> None:
    entry = {"Source": "app.orders", "DetailType": "Order Placed", "Detail": json.dumps({"order": 7})}
    assert aws("events").put_events(Entries=[entry])["FailedEntryCount"] == 0


@pytest.mark.behaviour(eventbridge_lambda_targets)
def test_a_rule_invokes_the_function_it_targets_when_the_function_lets_it(aws) -> None:
    # Given a function whose resource policy lets EventBridge invoke it for this rule, and the rule
    function = _recording_function(aws, "on-order")
    rule = _rule_to(aws, "orders", function)
    aws("lambda").add_permission(
        FunctionName="on-order",
        StatementId="events",
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
        SourceArn=rule,
    )
    # When a matching event is put
    _put(aws)
    # Then the function receives the event as EventBridge delivers it
    received = _received()
    assert [e["detail"] for e in received] == [{"order": 7}]
    assert received[0]["detail-type"] == "Order Placed"


def test_a_function_that_does_not_let_the_rule_invoke_it_receives_nothing(twin_moto) -> None:
    # Given a function with no resource policy for EventBridge (or one for another rule)
    function = _recording_function(twin_moto, "on-order-2")
    _rule_to(twin_moto, "orders-2", function)
    twin_moto("lambda").add_permission(
        FunctionName="on-order-2",
        StatementId="other",
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
        SourceArn="arn:aws:events:us-east-1:123456789012:rule/another",
    )
    # When a matching event is put, PutEvents still succeeds
    _put(twin_moto)
    # Then the function is not invoked
    assert _received(within=0.5) == []


def test_a_policy_statement_is_matched_on_principal_action_and_source_rule() -> None:
    rule = "arn:aws:events:us-east-1:123456789012:rule/orders"
    allow = {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "lambda:InvokeFunction"}
    assert eventbridge_lambda_targets.allows_rule({"Statement": [allow]}, rule)
    scoped = {**allow, "Condition": {"ArnLike": {"AWS:SourceArn": rule}}}
    assert eventbridge_lambda_targets.allows_rule({"Statement": [scoped]}, rule)
    assert not eventbridge_lambda_targets.allows_rule({"Statement": [scoped]}, rule + "-other")
    sns = {**allow, "Principal": {"Service": "sns.amazonaws.com"}}
    assert not eventbridge_lambda_targets.allows_rule({"Statement": [sns]}, rule)
    assert not eventbridge_lambda_targets.allows_rule({}, rule)
