"""The twin's knobs and fixes the release-safety tests rely on: late timeouts, Route 53 propagation, callbacks with a
cause, target health per group, AMI states, and the record of each function's AWS calls (I6)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from bluegreen.twin import elbv2_target_health, route53_changes, server, stepfunctions_callbacks
from bluegreen.twin.server import TwinServer
from tests.twin.conftest import behind_a_load_balancer

ROLE = "arn:aws:iam::123456789012:role/twin"


def client(twin: TwinServer, service: str) -> Any:
    return boto3.client(service, endpoint_url=twin.endpoint_url, region_name="us-east-1")


def test_a_late_timeout_loses_the_answer_but_not_the_work(twin: TwinServer, outputs: dict[str, str]) -> None:
    # Given a late timeout waiting for the worker, and a queue it writes to when asked
    server.inject_fault(twin.endpoint_url, outputs["WorkerName"], "late_timeout")
    awslambda = boto3.client("lambda", endpoint_url=twin.endpoint_url, config=Config(retries={"total_max_attempts": 1}))

    # When it is invoked to send a message
    answer = awslambda.invoke(FunctionName=outputs["WorkerName"], Payload=json.dumps({"send": "done"}).encode())

    # Then the caller sees a timeout, as from real Lambda, although the function did its work
    assert answer["FunctionError"] == "Unhandled"
    assert json.loads(answer["Payload"].read())["errorType"] == "Sandbox.Timedout"
    received = client(twin, "sqs").receive_message(QueueUrl=outputs["QueueUrl"], WaitTimeSeconds=1)
    assert [m["Body"] for m in received["Messages"]] == ["done"]

    # And its AWS call is on record under the function that made it
    assert "sqs:SendMessage" in server.api_calls(twin.endpoint_url)[outputs["WorkerName"]]


@pytest.mark.behaviour(route53_changes)
def test_a_record_change_is_pending_until_it_has_propagated(twin: TwinServer, flavour: str) -> None:
    # Given a hosted zone, and changes that take 0.3 s to propagate
    route53 = client(twin, "route53")
    zone = route53.create_hosted_zone(Name=f"{flavour}.propagation.example.com", CallerReference=str(time.time()))
    zone_id = zone["HostedZone"]["Id"]
    server.set_dns_propagation(twin.endpoint_url, 0.3)
    record = {
        "Name": f"www.{flavour}.propagation.example.com",
        "Type": "TXT",
        "TTL": 60,
        "ResourceRecords": [{"Value": '"a"'}],
    }

    try:
        # When two changes are made
        changes = [
            route53.change_resource_record_sets(
                HostedZoneId=zone_id, ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": record}]}
            )["ChangeInfo"]
            for _ in range(2)
        ]

        # Then each has its own id, and reads PENDING, then INSYNC once propagated
        assert changes[0]["Id"] != changes[1]["Id"]
        assert [c["Status"] for c in changes] == ["PENDING", "PENDING"]
        assert route53.get_change(Id=changes[0]["Id"])["ChangeInfo"]["Status"] == "PENDING"
        time.sleep(0.35)
        assert route53.get_change(Id=changes[0]["Id"])["ChangeInfo"]["Status"] == "INSYNC"
    finally:
        server.set_dns_propagation(twin.endpoint_url, 0)

    # And an unknown change id is refused, as Route 53 does
    with pytest.raises(ClientError) as unknown:
        route53.get_change(Id="/change/CNOSUCHCHANGE")
    assert unknown.value.response["Error"]["Code"] == "NoSuchChange"


@pytest.mark.behaviour(stepfunctions_callbacks)
def test_a_task_failure_carries_its_cause_to_the_waiting_task(
    twin: TwinServer, outputs: dict[str, str], flavour: str
) -> None:
    # Given an execution waiting on a task token it sent to a queue
    sfn, sqs = client(twin, "stepfunctions"), client(twin, "sqs")
    definition = {
        "StartAt": "Wait",
        "States": {
            "Wait": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": outputs["QueueUrl"], "MessageBody": {"token.$": "$$.Task.Token"}},
                "End": True,
            }
        },
    }
    machine = sfn.create_state_machine(
        name=f"callback-{time.time_ns()}", definition=json.dumps(definition), roleArn=ROLE
    )
    arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"])["executionArn"]
    message = sqs.receive_message(QueueUrl=outputs["QueueUrl"], WaitTimeSeconds=5)["Messages"][0]
    token = json.loads(message["Body"])["token"]

    # When the task is failed with an error name and a cause
    sfn.send_task_failure(taskToken=token, error="ApprovalRejectedError", cause="the change window is closed")

    # Then the execution fails with both, as Step Functions reports them
    deadline = time.monotonic() + 10
    while (execution := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert (execution["status"], execution.get("error"), execution.get("cause")) == (
        "FAILED",
        "ApprovalRejectedError",
        "the change window is closed",
    )


@pytest.mark.behaviour(elbv2_target_health)
def test_a_target_group_can_report_every_target_in_one_state(twin: TwinServer, flavour: str) -> None:
    # Given a target group with one target, and one instance registered later
    ec2, elbv2 = client(twin, "ec2"), client(twin, "elbv2")
    vpc_id = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    first, second = (
        i["InstanceId"] for i in ec2.run_instances(ImageId="ami-12c6146b", MinCount=2, MaxCount=2)["Instances"]
    )
    group = elbv2.create_target_group(Name=f"tg-{time.time_ns()}", Protocol="HTTP", Port=80, VpcId=vpc_id)
    group_arn = group["TargetGroups"][0]["TargetGroupArn"]
    behind_a_load_balancer(ec2, elbv2, vpc_id, group_arn, "10.1.X.0/24")
    elbv2.register_targets(TargetGroupArn=group_arn, Targets=[{"Id": first}])

    # When the twin is told the whole group is `initial`, and then the second instance is registered
    server.set_target_health(twin.endpoint_url, [], "initial", target_group_arn=group_arn)
    elbv2.register_targets(TargetGroupArn=group_arn, Targets=[{"Id": second}])

    # Then every target of the group reads `initial` with the reason AWS gives, until the override is cleared
    described = elbv2.describe_target_health(TargetGroupArn=group_arn)["TargetHealthDescriptions"]
    assert {d["Target"]["Id"]: d["TargetHealth"]["State"] for d in described} == {first: "initial", second: "initial"}
    assert {d["TargetHealth"]["Reason"] for d in described} == {"Elb.RegistrationInProgress"}
    server.clear_target_health(twin.endpoint_url)
    described = elbv2.describe_target_health(TargetGroupArn=group_arn)["TargetHealthDescriptions"]
    assert {d["TargetHealth"]["State"] for d in described} == {"healthy"}


def test_an_ami_can_be_made_pending_and_nonsense_is_refused(twin: TwinServer) -> None:
    # Given an AMI (moto makes it available at once)
    ec2 = client(twin, "ec2")
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    image_id = ec2.create_image(InstanceId=instance, Name=f"img-{time.time_ns()}")["ImageId"]

    # When the twin is told it is still being built
    server.set_image_state(twin.endpoint_url, image_id, "pending")

    # Then EC2 describes it pending
    assert ec2.describe_images(ImageIds=[image_id])["Images"][0]["State"] == "pending"

    # And a state EC2 does not have is refused
    with pytest.raises(urllib.error.HTTPError) as refused:
        server.set_image_state(twin.endpoint_url, image_id, "sleepy")
    assert refused.value.code == 400


def test_new_amis_can_be_held_pending_and_released_with_their_event(twin: TwinServer) -> None:
    # Given new AMIs are held pending, and a rule that delivers AMI state changes to a queue
    ec2, sqs, events = client(twin, "ec2"), client(twin, "sqs"), client(twin, "events")
    url = sqs.create_queue(QueueName=f"amis-{time.time_ns()}")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = f"amis-{time.time_ns()}"
    events.put_rule(
        Name=rule, EventPattern=json.dumps({"source": ["aws.ec2"], "detail-type": ["EC2 AMI State Change"]})
    )
    events.put_targets(Rule=rule, Targets=[{"Id": "q", "Arn": queue}])
    server.set_new_image_state(twin.endpoint_url, "pending")
    try:
        # When an AMI is created, and then the twin is told its build is done
        instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
        image_id = ec2.create_image(InstanceId=instance, Name=f"img-{time.time_ns()}")["ImageId"]
        pending = ec2.describe_images(ImageIds=[image_id])["Images"][0]["State"]
        before = sqs.receive_message(QueueUrl=url).get("Messages", [])
        server.set_image_state(twin.endpoint_url, image_id, "available")
    finally:
        server.set_new_image_state(twin.endpoint_url, "available")
        events.remove_targets(Rule=rule, Ids=["q"])
        events.delete_rule(Name=rule)

    # Then it was pending with no event, and its one event came when it became available
    assert (pending, before) == ("pending", [])
    delivered = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]]
    assert [(e["detail"]["ImageId"], e["detail"]["State"]) for e in delivered] == [(image_id, "available")]


def test_calls_made_outside_a_function_are_not_recorded(twin: TwinServer) -> None:
    # Given a clean record
    server.clear_api_calls(twin.endpoint_url)

    # When a test (not a Lambda function) calls AWS
    client(twin, "sqs").list_queues()

    # Then nothing is recorded against any function
    assert server.api_calls(twin.endpoint_url) == {}


def test_the_record_of_calls_is_served_over_http(twin: TwinServer) -> None:
    # Given / When the record is asked for over HTTP / Then it answers JSON
    with urllib.request.urlopen(f"{twin.endpoint_url}/_twin/api-calls", timeout=5) as response:
        assert "calls" in json.loads(response.read())
