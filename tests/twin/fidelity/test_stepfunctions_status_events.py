"""Fidelity of Step Functions' status-change events: every start and end is announced on the default bus."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from bluegreen.twin import stepfunctions_status_events, stepfunctions_stop_callbacks

ROLE = "arn:aws:iam::123456789012:role/twin"
WAIT = {"StartAt": "Sleep", "States": {"Sleep": {"Type": "Wait", "Seconds": 30, "End": True}}}
PASS = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "Result": {"ok": True}, "End": True}}}


def listening(aws: Any) -> str:
    sqs, events = aws("sqs"), aws("events")
    url = sqs.create_queue(QueueName="states")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["aws.states"], "detail-type": ["Step Functions Execution Status Change"]}
    events.put_rule(Name="states", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="states", Targets=[{"Id": "q", "Arn": arn}])
    return url


def statuses(aws: Any, url: str, expected: int, timeout: float = 3) -> list[dict]:
    seen: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(seen) < expected and time.monotonic() < deadline:
        messages = aws("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        seen += [json.loads(m["Body"])["detail"] for m in messages]
        time.sleep(0.05)
    return seen


@pytest.mark.behaviour(stepfunctions_status_events)
def test_an_execution_announces_its_start_and_its_end(aws) -> None:
    # Given a rule listening for Step Functions' status changes
    url = listening(aws)
    sfn = aws("stepfunctions")
    machine = sfn.create_state_machine(name="pass", definition=json.dumps(PASS), roleArn=ROLE)["stateMachineArn"]
    # When an execution runs to its end
    arn = sfn.start_execution(stateMachineArn=machine, input='{"n": 1}')["executionArn"]
    # Then RUNNING, then SUCCEEDED arrive, naming the execution, with its input and output
    seen = statuses(aws, url, 2)
    assert [d["status"] for d in seen] == ["RUNNING", "SUCCEEDED"]
    assert {d["executionArn"] for d in seen} == {arn}
    assert seen[1]["stateMachineArn"] == machine and json.loads(seen[1]["output"]) == {"ok": True}
    assert seen[1]["stopDate"] >= seen[1]["startDate"]


@pytest.mark.behaviour(stepfunctions_status_events)
def test_a_stopped_execution_is_announced_aborted_and_a_timed_out_one_timed_out(aws) -> None:
    url = listening(aws)
    sfn = aws("stepfunctions")
    machine = sfn.create_state_machine(name="sleep", definition=json.dumps(WAIT), roleArn=ROLE)["stateMachineArn"]
    stopped = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    timed_out = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    # When one is stopped and the other passes its timeout
    sfn.stop_execution(executionArn=stopped, error="Operator", cause="stopped by hand")
    stepfunctions_status_events.time_out(timed_out)
    # Then each end is announced with its status
    ends = {d["executionArn"]: d["status"] for d in statuses(aws, url, 4) if d["status"] != "RUNNING"}
    assert ends == {stopped: "ABORTED", timed_out: "TIMED_OUT"}


def test_a_lost_delivery_sends_nothing(twin_moto) -> None:
    # Given status events switched off (AWS delivers them on a best-effort basis)
    url = listening(twin_moto)
    sfn = twin_moto("stepfunctions")
    machine = sfn.create_state_machine(name="lost", definition=json.dumps(PASS), roleArn=ROLE)["stateMachineArn"]
    stepfunctions_status_events.set_delivery(False)
    try:
        sfn.start_execution(stateMachineArn=machine)
        time.sleep(0.3)
    finally:
        stepfunctions_status_events.set_delivery(True)
    # Then nothing arrived
    assert statuses(twin_moto, url, 1, timeout=1) == []


@pytest.mark.behaviour(stepfunctions_stop_callbacks)
def test_a_stopped_execution_ends_at_once_even_while_a_task_waits_for_its_token(aws) -> None:
    # Given an execution whose task waits for a callback token (as an approval does)
    sqs, sfn = aws("sqs"), aws("stepfunctions")
    queue = sqs.create_queue(QueueName="tokens")["QueueUrl"]
    waiting = {
        "StartAt": "Ask",
        "States": {
            "Ask": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": queue, "MessageBody": {"token.$": "$$.Task.Token"}},
                "TimeoutSeconds": 3600,
                "End": True,
            }
        },
    }
    machine = sfn.create_state_machine(name="ask", definition=json.dumps(waiting), roleArn=ROLE)["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    assert sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=5)["Messages"]
    # When it is stopped
    sfn.stop_execution(executionArn=arn, error="Operator", cause="stopped by hand")
    # Then it is ABORTED within moments, not when its token is answered
    deadline = time.monotonic() + 3
    while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"
