"""The local twin runs the real handlers and ASL, delivers EventBridge events and injects faults."""

import json
import time
import urllib.error
import urllib.request
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from bluegreen.twin import (
    eventbridge_stepfunctions_targets,
    lambda_invoke_in_process,
    server,
    stepfunctions_lambda_error_names,
    stock_images,
)
from bluegreen.twin.server import TwinServer
from tests.twin.conftest import behind_a_load_balancer


def client(twin: TwinServer, service: str) -> Any:
    return boto3.client(service, endpoint_url=twin.endpoint_url, region_name="us-east-1")


def wait_for(twin: TwinServer, execution_arn: str, timeout: float = 10.0) -> dict[str, Any]:
    sfn = client(twin, "stepfunctions")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        execution = sfn.describe_execution(executionArn=execution_arn)
        if execution["status"] != "RUNNING":
            return execution
        time.sleep(0.05)
    raise AssertionError(f"{execution_arn} still running after {timeout}s")


def run(twin: TwinServer, state_machine_arn: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Start an execution and return its output once it has succeeded."""
    sfn = client(twin, "stepfunctions")
    arn = sfn.start_execution(stateMachineArn=state_machine_arn, input=json.dumps(payload))["executionArn"]
    execution = wait_for(twin, arn)
    assert execution["status"] == "SUCCEEDED", execution
    return json.loads(execution["output"])


def execution_started_by(twin: TwinServer, state_machine_arn: str, event_id: str) -> dict[str, Any]:
    """The finished execution whose input is the event `event_id` (or has `event_id` in its detail)."""
    sfn = client(twin, "stepfunctions")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for summary in sfn.list_executions(stateMachineArn=state_machine_arn)["executions"]:
            execution = sfn.describe_execution(executionArn=summary["executionArn"])
            if event_id in execution["input"]:
                return wait_for(twin, summary["executionArn"])
        time.sleep(0.05)
    raise AssertionError(f"no execution was started for event {event_id}")


@pytest.mark.behaviour(lambda_invoke_in_process)
def test_an_execution_runs_the_real_handler(twin: TwinServer, outputs: dict[str, str], flavour: str) -> None:
    # Given the stack deployed from its SAM template
    # When the state machine runs
    output = run(twin, outputs["ViaIntegrationArn"], {"hello": "twin"})

    # Then the handler got the input, a Lambda context and the template's environment
    assert output["event"] == {"hello": "twin"}
    assert output["function_name"] == outputs["WorkerName"]
    assert 0 < output["remaining_ms"] <= 7000
    assert output["queue_url"] == outputs["QueueUrl"]


@pytest.mark.parametrize("machine", ["ViaIntegrationArn", "ViaFunctionArnArn"])
def test_a_catch_matches_the_error_type_the_handler_raised(
    twin: TwinServer, outputs: dict[str, str], machine: str
) -> None:
    # Given a handler that raises GreenUnhealthyError
    # When the state machine runs it
    output = run(twin, outputs[machine], {"raise": "green is unhealthy"})

    # Then the Catch on that error name handled it, with the Lambda error payload as the cause
    assert output["caught_by"] == "GreenUnhealthyError"
    assert output["error"]["Error"] == "GreenUnhealthyError"
    cause = json.loads(output["error"]["Cause"])
    assert cause["errorMessage"] == "green is unhealthy"
    assert cause["stackTrace"]


@pytest.mark.behaviour(eventbridge_stepfunctions_targets)
def test_an_ami_event_starts_the_state_machine_with_an_iso_time(
    twin: TwinServer, outputs: dict[str, str], flavour: str
) -> None:
    # Given a rule for "EC2 AMI State Change" targeting the state machine
    event = {"Source": "aws.ec2", "DetailType": "EC2 AMI State Change", "Detail": '{"ImageId": "ami-1"}'}

    # When the event is put on the default bus
    event_id = client(twin, "events").put_events(Entries=[event])["Entries"][0]["EventId"]

    # Then an execution got the whole event, with `time` in ISO-8601 as EventBridge sends it
    execution = execution_started_by(twin, outputs["ViaFunctionArnArn"], event_id)
    delivered = json.loads(execution["output"])["event"]
    assert delivered["detail-type"] == "EC2 AMI State Change"
    assert delivered["detail"] == {"ImageId": "ami-1"}
    assert time.strptime(delivered["time"], "%Y-%m-%dT%H:%M:%SZ")


def test_a_rule_with_an_input_path_delivers_only_that_part(twin: TwinServer, outputs: dict[str, str]) -> None:
    # Given a rule whose target has InputPath $.detail
    marker = f"marker-{time.time_ns()}"
    event = {"Source": "twin.test", "DetailType": "Detail Only", "Detail": json.dumps({"marker": marker})}

    # When a matching event is put
    client(twin, "events").put_events(Entries=[event])

    # Then the execution's input is the detail alone
    execution = execution_started_by(twin, outputs["ViaFunctionArnArn"], marker)
    assert json.loads(execution["input"]) == {"marker": marker}


@pytest.mark.parametrize("machine", ["ViaIntegrationArn", "ViaFunctionArnArn"])
@pytest.mark.parametrize(
    ("kind", "error", "cause"),
    [
        ("error", "InjectedFaultError", "fault injected into"),
        ("timeout", "Sandbox.Timedout", "Task timed out after 7.00 seconds"),
        ("throttle", "Lambda.TooManyRequestsException", "Rate Exceeded."),
    ],
)
def test_an_injected_fault_reaches_the_state_machine_under_the_aws_error_name(
    twin: TwinServer, outputs: dict[str, str], machine: str, kind: str, error: str, cause: str
) -> None:
    # Given a fault on the worker, outlasting the one retry ViaIntegration has for throttles
    server.inject_fault(twin.endpoint_url, "Worker", kind, times=2)

    # When the state machine calls the worker
    output = run(twin, outputs[machine], {"hello": "twin"})

    # Then the catch-all got the error name real Step Functions reports
    assert output["caught_by"] == "States.ALL"
    assert output["error"]["Error"] == error
    assert cause in output["error"]["Cause"]


@pytest.mark.behaviour(stepfunctions_lambda_error_names)
def test_a_throttled_invoke_fails_the_task_as_lambda_too_many_requests(
    twin: TwinServer, outputs: dict[str, str], flavour: str
) -> None:
    # Given throttles on the worker, whose state machine names it by its function ARN
    server.inject_fault(twin.endpoint_url, "Worker", "throttle", times=1)

    # When the state machine calls the worker
    output = run(twin, outputs["ViaFunctionArnArn"], {"hello": "throttled"})

    # Then the Task failed under the name Retry policies match
    assert output["error"]["Error"] == "Lambda.TooManyRequestsException"


def test_a_retry_absorbs_a_single_throttle(twin: TwinServer, outputs: dict[str, str]) -> None:
    # Given one throttle on the worker
    server.inject_fault(twin.endpoint_url, "Worker", "throttle", times=1)

    # When ViaIntegration, which retries Lambda.TooManyRequestsException once, runs
    output = run(twin, outputs["ViaIntegrationArn"], {"hello": "again"})

    # Then the retry succeeded and the fault is used up
    assert output["event"] == {"hello": "again"}
    assert _get(twin, "/_twin/faults") == {"faults": []}


def test_faults_look_like_lambda_to_a_direct_invoke(twin: TwinServer, outputs: dict[str, str]) -> None:
    # Given a throttle then a timeout on the worker
    server.inject_fault(twin.endpoint_url, outputs["WorkerName"], "throttle")
    server.inject_fault(twin.endpoint_url, outputs["WorkerName"], "timeout")
    awslambda = boto3.client(  # without the SDK's own retries, which would swallow the throttle
        "lambda", endpoint_url=twin.endpoint_url, config=Config(retries={"total_max_attempts": 1})
    )

    # When it is invoked directly, the throttled call itself fails with HTTP 429
    with pytest.raises(ClientError) as throttled:
        awslambda.invoke(FunctionName=outputs["WorkerName"], Payload=b"{}")
    assert throttled.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert throttled.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429

    # Then the timed-out call returns an unhandled function error
    timed_out = awslambda.invoke(FunctionName=outputs["WorkerName"], Payload=b"{}")
    assert timed_out["FunctionError"] == "Unhandled"
    assert json.loads(timed_out["Payload"].read())["errorType"] == "Sandbox.Timedout"


def test_the_control_endpoints_answer_and_reject_nonsense(twin: TwinServer) -> None:
    # Given a running twin
    # When its health is asked, Then it is ok
    assert _get(twin, "/_twin/health") == {"ok": True}

    # When an unknown fault kind is posted, Then it is refused
    request = urllib.request.Request(
        f"{twin.endpoint_url}/_twin/faults", data=b'{"function": "Worker", "kind": "gremlins"}', method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 400


def test_target_health_can_be_overridden(twin: TwinServer) -> None:
    # Given an instance registered in a target group (moto reports it healthy at once)
    ec2, elbv2 = client(twin, "ec2"), client(twin, "elbv2")
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    image_id = "ami-12c6146b"  # one of moto's built-in AMIs; listing them all takes over a second
    instance_id = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    group = elbv2.create_target_group(Name=f"tg-{time.time_ns()}", Protocol="HTTP", Port=80, VpcId=vpc_id)
    group_arn = group["TargetGroups"][0]["TargetGroupArn"]
    behind_a_load_balancer(ec2, elbv2, vpc_id, group_arn, "10.0.X.0/24")
    elbv2.register_targets(TargetGroupArn=group_arn, Targets=[{"Id": instance_id}])

    def state() -> str:
        descriptions = elbv2.describe_target_health(TargetGroupArn=group_arn)["TargetHealthDescriptions"]
        return descriptions[0]["TargetHealth"]["State"]

    assert state() == "healthy"

    # When the twin is told the instance is unhealthy
    server.set_target_health(twin.endpoint_url, [instance_id], "unhealthy")

    # Then describe_target_health says so, until the override is cleared
    assert state() == "unhealthy"
    server.clear_target_health(twin.endpoint_url)
    assert state() == "healthy"


def test_an_auto_scaling_instance_can_be_put_in_a_lifecycle_state(twin: TwinServer) -> None:
    # Given a group of one instance (moto has it InService as soon as it launches)
    ec2, autoscaling = client(twin, "ec2"), client(twin, "autoscaling")
    name = f"lifecycle-{time.time_ns()}"
    template = ec2.create_launch_template(
        LaunchTemplateName=name, LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"}
    )["LaunchTemplate"]["LaunchTemplateId"]
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=name,
        LaunchTemplate={"LaunchTemplateId": template},
        MinSize=1,
        MaxSize=1,
        AvailabilityZones=["us-east-1a"],
    )
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
    instance_id = group["Instances"][0]["InstanceId"]

    # When the twin is told the instance waits in a launch lifecycle hook
    server.set_instance_lifecycle(twin.endpoint_url, instance_id, "Pending:Wait")

    # Then Auto Scaling reports it in that state
    described = autoscaling.describe_auto_scaling_instances(InstanceIds=[instance_id])["AutoScalingInstances"]
    assert described[0]["LifecycleState"] == "Pending:Wait"

    # And an unknown state, an unknown instance or a missing field is refused
    for body in (
        {"instance_id": instance_id, "state": "Sleeping"},
        {"instance_id": "i-0123456789abcdef0", "state": "Pending"},
        {"state": "Pending"},
    ):
        request = urllib.request.Request(
            f"{twin.endpoint_url}/_twin/instance-lifecycle", data=json.dumps(body).encode(), method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert refused.value.code == 400


def test_the_twin_only_listens_on_loopback() -> None:
    # Given / When a non-loopback host is asked for / Then the twin refuses to start
    with pytest.raises(ValueError, match="loopback"):
        server.start(port=0, host="0.0.0.0")


def _get(twin: TwinServer, path: str) -> Any:
    with urllib.request.urlopen(f"{twin.endpoint_url}{path}", timeout=5) as response:
        return json.loads(response.read())


@pytest.mark.behaviour(eventbridge_stepfunctions_targets)
def test_a_schedule_rule_matches_no_event(twin: TwinServer, flavour: str) -> None:
    # Given a rule that runs on a schedule, with a function as its target
    # (no retries: moto alone fails PutEvents with an HTTP 500, which botocore would retry for seconds)
    events = boto3.client(
        "events",
        endpoint_url=twin.endpoint_url,
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1}),
    )
    function = "arn:aws:lambda:us-east-1:123456789012:function:nightly"
    events.put_rule(Name=f"nightly-{flavour}", ScheduleExpression="rate(15 minutes)")
    events.put_targets(Rule=f"nightly-{flavour}", Targets=[{"Id": "f", "Arn": function}])
    try:
        # When any event is put, Then it is accepted and goes nowhere near the schedule's target
        answer = events.put_events(Entries=[{"Source": "twin.test", "DetailType": "Anything", "Detail": "{}"}])
        assert answer["FailedEntryCount"] == 0
    finally:
        events.remove_targets(Rule=f"nightly-{flavour}", Ids=["f"])
        events.delete_rule(Name=f"nightly-{flavour}")


def test_the_twins_public_images_are_motos_stock_ones(twin_moto) -> None:
    # The twin keeps moto's 44 stock public images and drops its 2 558 "latest" ones, each rebuilt with a volume and a
    # snapshot for every new account (bluegreen/twin/stock_images.py); the tests bake from the stock ones.
    images = twin_moto("ec2").describe_images(Owners=["amazon"])["Images"]
    assert len(images) == len(json.loads(stock_images.CATALOGUE.read_text()))
    assert {"ami-12c6146b", "ami-0e9271c829888680e"} <= {i["ImageId"] for i in images}
