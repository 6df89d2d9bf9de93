"""The interpreter's speed-ups (`stepfunctions_interpreter_speed`): a definition is parsed once, not once per
execution, the Lambda client is built once, not once per Task, and executions sharing the parsed program keep their
own state."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.stepfunctions.parser.asl.antlr.runtime.ASLParser import ASLParser
from moto.stepfunctions.parser.asl.utils import boto_client

from bluegreen.twin import stepfunctions_interpreter_speed as speed
from bluegreen.twin.server import TwinServer

ROLE = "arn:aws:iam::123456789012:role/twin"


def client(twin: TwinServer, service: str) -> Any:
    return boto3.client(service, endpoint_url=twin.endpoint_url, region_name="us-east-1")


def retrying_machine(twin: TwinServer, worker: str, attempts: int) -> str:
    """A machine (of a definition never seen before) whose one Task retries the worker's error `attempts` times."""
    definition = {
        "Comment": f"speed test {uuid.uuid4()}",
        "StartAt": "Work",
        "States": {
            "Work": {
                "Type": "Task",
                "Resource": f"arn:aws:lambda:us-east-1:123456789012:function:{worker}",
                "Retry": [{"ErrorEquals": ["GreenUnhealthyError"], "IntervalSeconds": 1, "MaxAttempts": attempts}],
                "End": True,
            }
        },
    }
    name = f"speed-{uuid.uuid4().hex[:8]}"
    return client(twin, "stepfunctions").create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]


def run(twin: TwinServer, machine: str, given: dict[str, Any], times: int) -> list[str]:
    """Start `times` executions at once; their ARNs once all have ended."""
    sfn = client(twin, "stepfunctions")
    arns = [sfn.start_execution(stateMachineArn=machine, input=json.dumps(given))["executionArn"] for _ in range(times)]
    deadline = time.monotonic() + 30
    while any(sfn.describe_execution(executionArn=a)["status"] == "RUNNING" for a in arns):
        assert time.monotonic() < deadline, "executions did not end"
        time.sleep(0.05)
    return arns


@pytest.fixture(params=["twin", "plain-moto"])
def speedups(request: pytest.FixtureRequest) -> Iterator[str]:
    """The twin with its speed-ups, or without them (moto's interpreter as it is)."""
    if request.param == "twin":
        yield "twin"
    else:
        with speed.patches.removed():
            yield "plain-moto"


def test_a_definition_is_parsed_once_for_its_validation_and_all_its_executions(
    twin: TwinServer, outputs: dict[str, str], speedups: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given every ANTLR parse of a definition being counted
    parses: list[Any] = []
    state_machine = ASLParser.state_machine
    monkeypatch.setattr(ASLParser, "state_machine", lambda self: parses.append(1) or state_machine(self))

    # When a new machine is created and runs three times
    machine = retrying_machine(twin, outputs["WorkerName"], attempts=0)
    run(twin, machine, {"ok": True}, times=3)

    # Then its definition was parsed once (moto alone parses at creation and at every execution)
    assert len(parses) == {"twin": 1, "plain-moto": 4}[speedups]


def test_the_interpreter_builds_one_lambda_client_for_all_tasks(
    twin: TwinServer, outputs: dict[str, str], speedups: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the clients moto's interpreter builds being counted, from none kept
    speed._client.cache_clear()
    built: list[Any] = []
    make = boto_client.boto3.client

    def slow_make(*a: Any, **k: Any) -> Any:
        built.append(k)
        time.sleep(0.2)  # slow enough that executions started together all ask before the first client exists
        return make(*a, **k)

    monkeypatch.setattr(boto_client.boto3, "client", slow_make)
    interpreters = lambda: [k for k in built if k.get("aws_access_key_id") == "ak"]  # noqa: E731  # moto's own keys

    # When three executions each run a Lambda Task
    machine = retrying_machine(twin, outputs["WorkerName"], attempts=0)
    run(twin, machine, {"ok": True}, times=3)

    # Then one client served them all (moto alone builds one per Task)
    assert len(interpreters()) == {"twin": 1, "plain-moto": 3}[speedups]


def test_executions_sharing_a_parsed_program_count_their_own_retries(twin: TwinServer, outputs: dict[str, str]) -> None:
    # Given a machine whose Task retries its error twice, and a worker that always raises it
    machine = retrying_machine(twin, outputs["WorkerName"], attempts=2)

    # When four executions of the one parsed program run at once
    arns = run(twin, machine, {"raise": "unhealthy"}, times=4)

    # Then each made its own three attempts and failed: none saw another's Retry count
    sfn = client(twin, "stepfunctions")
    for arn in arns:
        events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        attempts = [e for e in events if e["type"] == "LambdaFunctionScheduled"]
        assert (len(attempts), sfn.describe_execution(executionArn=arn)["status"]) == (3, "FAILED")
