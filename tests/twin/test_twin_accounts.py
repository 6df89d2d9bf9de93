"""Each twin is a new account: nothing of an earlier twin of the same process (its resources, its running handlers)
reaches the next one. moto keeps its state per process, and the tests start a twin per module in one process."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

from bluegreen.twin import api_calls, iam_authorization, lambda_invoke_in_process, server, stepfunctions_status_events
from bluegreen.twin.deploy import deploy_stack
from tests.twin.conftest import STACK_DIR


def client(twin: server.TwinServer, service: str) -> Any:
    return boto3.client(service, endpoint_url=twin.endpoint_url, region_name="us-east-1")


def status_once_ended(arn: str, seconds: float = 15) -> str:
    """The execution's status once it is no longer RUNNING (or after `seconds`)."""
    execution = stepfunctions_status_events.find(arn)
    assert execution is not None, arn
    deadline = time.monotonic() + seconds
    while execution.exec_status.value == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.1)
    return execution.exec_status.value


@pytest.fixture
def start_twin() -> Iterator[Any]:
    started: list[server.TwinServer] = []

    def start() -> server.TwinServer:
        started.append(server.start(port=0, functions_dir=STACK_DIR / "functions"))
        return started[-1]

    yield start
    for twin in started:
        twin.stop()


def test_a_new_twin_has_none_of_an_earlier_twins_resources(start_twin: Any) -> None:
    # Given a twin holding a queue and an event rule, then stopped
    earlier = start_twin()
    client(earlier, "sqs").create_queue(QueueName="left-behind")
    client(earlier, "events").put_rule(Name="left-behind", EventPattern='{"source": ["aws.ec2"]}')
    earlier.stop()

    # When another twin starts in the same process
    later = start_twin()

    # Then it is a new account: no queue, no rule of the earlier one (whose rules would start its machines)
    assert client(later, "sqs").list_queues().get("QueueUrls", []) == []
    assert client(later, "events").list_rules()["Rules"] == []


def test_a_handler_still_running_from_an_earlier_twin_is_not_recorded_against_the_next(start_twin: Any) -> None:
    # Given a handler of an earlier twin that is still running when a new twin starts
    with api_calls.running("earlier-stack-PrepareReleaseFunction"):
        later = start_twin()

        # When it calls AWS
        client(later, "sqs").list_queues()

    # Then the new twin's record holds no call of a function it does not have
    assert server.api_calls(later.endpoint_url) == {}

    # While a handler that starts in the new twin is recorded (a name, not a function of a deployed stack: IAM would
    # refuse its call, so only the recording is looked at here)
    with iam_authorization.patches.removed(), api_calls.running("PrepareReleaseFunction"):
        client(later, "sqs").list_queues()
    assert server.api_calls(later.endpoint_url) == {"PrepareReleaseFunction": ["sqs:ListQueues"]}


def test_a_handler_an_earlier_twins_event_started_is_not_recorded_against_the_next(start_twin: Any) -> None:
    # Given an event of an earlier twin, whose function's handler starts only once the next twin runs (EventBridge
    # invokes a Lambda target on a thread of its own, and a busy machine may run it late)
    earlier = start_twin()
    its_account = api_calls.account()
    earlier.stop()
    later = start_twin()

    # When that handler calls AWS
    with api_calls.on_behalf_of(its_account), api_calls.running("earlier-stack-SweepReleasesFunction"):
        client(later, "sqs").list_queues()

    # Then the new twin's record holds no call of it (a function its stack does not have)
    assert server.api_calls(later.endpoint_url) == {}


def test_a_twins_running_executions_end_with_it(start_twin: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a twin with the test stack, and an execution still waiting on a slow worker (slow enough that the twin
    # stops before it returns, even on a machine busy with other tests)
    monkeypatch.setattr(lambda_invoke_in_process, "SLOW_SECONDS", 5.0)
    twin = start_twin()
    outputs = deploy_stack(twin.endpoint_url, STACK_DIR / "template.yaml", stack_name="twin-test")
    server.inject_fault(twin.endpoint_url, outputs["WorkerName"], "slow")
    sfn = client(twin, "stepfunctions")
    arn = sfn.start_execution(stateMachineArn=outputs["ViaIntegrationArn"], input="{}")["executionArn"]
    # (inside the slow invocation: on a busy machine the stop could otherwise come after the execution ended)
    deadline = time.monotonic() + 15
    while not any(e["type"] == "TaskStarted" for e in sfn.get_execution_history(executionArn=arn)["events"]):
        assert time.monotonic() < deadline, "the execution never reached its task"
        time.sleep(0.05)
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"

    # When the twin stops (its test module is over)
    twin.stop()

    # Then the execution is over too: it cannot go on calling Lambda on the next twin and failing there, each failure
    # starting a reconciliation that fails in turn (a worker grew to 17 GB so). A stop takes effect between states:
    # after the slow invocation returns.
    assert status_once_ended(arn) == "ABORTED"


def test_an_execution_whose_worker_has_not_begun_ends_with_its_twin(
    start_twin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an execution whose worker thread has not yet built its program (as on a machine busy with other tests:
    # moto builds it on the worker's thread, after parsing the ASL, and a stop before that had nothing to stop)
    twin = start_twin()
    outputs = deploy_stack(twin.endpoint_url, STACK_DIR / "template.yaml", stack_name="twin-test")
    parse = ExecutionWorker._get_evaluation_entrypoint
    monkeypatch.setattr(
        ExecutionWorker, "_get_evaluation_entrypoint", lambda worker: (time.sleep(0.5), parse(worker))[1]
    )
    arn = client(twin, "stepfunctions").start_execution(stateMachineArn=outputs["ViaIntegrationArn"], input="{}")[
        "executionArn"
    ]

    # When the twin stops at once
    twin.stop()

    # Then the execution ends ABORTED, and does not run on to its end
    assert status_once_ended(arn) == "ABORTED"
