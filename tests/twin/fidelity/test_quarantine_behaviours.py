"""The AWS behaviours the quarantine path meets: interface groups, alarm events, Json patterns, nested runs."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from bluegreen.twin import (
    behaviours,
    cloudwatch_alarm_events,
    ec2_network_interface_groups,
    events_rule_pattern_string,
    stepfunctions_nested_executions,
)
from bluegreen.twin.server import TwinServer
from tests.twin.conftest import STOCK_AMI

ROLE = "arn:aws:iam::123456789012:role/twin"


@pytest.fixture
def moto_only() -> Iterator[Any]:
    """In-process moto with every twin behaviour, for a scenario whose plain-moto failure is a race (not provable)."""
    behaviours.install()
    with mock_aws():
        yield lambda service: boto3.client(service, region_name="us-east-1")


def queue_listening_to(aws: Any, pattern: dict) -> str:
    """An SQS queue that a rule with `pattern` delivers to."""
    sqs, events = aws("sqs"), aws("events")
    url = sqs.create_queue(QueueName="seen")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="watch", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="watch", Targets=[{"Id": "q", "Arn": arn}])
    return url


def received(aws: Any, url: str) -> list[dict]:
    messages = aws("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


@pytest.mark.behaviour(ec2_network_interface_groups)
def test_security_groups_are_replaced_on_every_interface(aws) -> None:
    # Given an instance with two network interfaces in app-group
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.0.0/24")["Subnet"]["SubnetId"]
    app_group = ec2.create_security_group(GroupName="app", Description="app", VpcId=vpc)["GroupId"]
    isolation = ec2.create_security_group(GroupName="iso", Description="iso", VpcId=vpc)["GroupId"]
    image = STOCK_AMI
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnet, SecurityGroupIds=[app_group])[
        "Instances"
    ][0]["InstanceId"]
    second = ec2.create_network_interface(SubnetId=subnet, Groups=[app_group])["NetworkInterface"]["NetworkInterfaceId"]
    ec2.attach_network_interface(NetworkInterfaceId=second, InstanceId=instance, DeviceIndex=1)
    filters = [{"Name": "attachment.instance-id", "Values": [instance]}]
    interfaces = ec2.describe_network_interfaces(Filters=filters)["NetworkInterfaces"]
    # When each interface gets only the isolation group
    for interface in interfaces:
        ec2.modify_network_interface_attribute(NetworkInterfaceId=interface["NetworkInterfaceId"], Groups=[isolation])
    # Then each holds that group alone (moto alone would keep app-group on them), and so does the instance
    after = ec2.describe_network_interfaces(Filters=filters)["NetworkInterfaces"]
    assert len(after) == 2
    assert all([g["GroupId"] for g in i["Groups"]] == [isolation] for i in after)
    described = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    assert [g["GroupId"] for g in described["SecurityGroups"]] == [isolation]
    # And, once it is back to one interface (AWS wants an interface id otherwise), changing the instance's groups
    # changes its primary interface's
    attachment = next(i["Attachment"] for i in after if i["NetworkInterfaceId"] == second)
    ec2.detach_network_interface(AttachmentId=attachment["AttachmentId"])
    ec2.modify_instance_attribute(InstanceId=instance, Groups=[app_group])
    primary = next(
        i
        for i in ec2.describe_network_interfaces(Filters=filters)["NetworkInterfaces"]
        if i["Attachment"]["DeviceIndex"] == 0
    )
    assert [g["GroupId"] for g in primary["Groups"]] == [app_group]


def test_a_group_at_its_minimum_is_never_seen_short_while_instances_are_detached(moto_only) -> None:
    # Given a group at its minimum size, and a reader describing it all the time
    ec2, asg = moto_only("ec2"), moto_only("autoscaling")
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.8.0.0/24")["Subnet"]["SubnetId"]
    image = STOCK_AMI
    template = ec2.create_launch_template(LaunchTemplateName="t", LaunchTemplateData={"ImageId": image})
    asg.create_auto_scaling_group(
        AutoScalingGroupName="g",
        LaunchTemplate={"LaunchTemplateId": template["LaunchTemplate"]["LaunchTemplateId"]},
        MinSize=3,
        MaxSize=3,
        DesiredCapacity=3,
        VPCZoneIdentifier=subnet,
    )
    seen: list[int] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["g"])["AutoScalingGroups"][0]
            seen.append(sum(i["LifecycleState"] == "InService" for i in group["Instances"]))

    reader = threading.Thread(target=watch)
    reader.start()
    # When its instances are detached one by one without decrementing desired capacity
    detached = []
    try:
        for _ in range(10):
            group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["g"])["AutoScalingGroups"][0]
            victim = group["Instances"][0]["InstanceId"]
            asg.detach_instances(AutoScalingGroupName="g", InstanceIds=[victim], ShouldDecrementDesiredCapacity=False)
            detached.append(victim)
    finally:
        done.set()
        reader.join()
    # Then each got a replacement, and the reader never saw the group below its minimum
    group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["g"])["AutoScalingGroups"][0]
    assert group["DesiredCapacity"] == len(group["Instances"]) == 3
    assert not {i["InstanceId"] for i in group["Instances"]} & set(detached)
    assert seen and min(seen) >= 3


@pytest.mark.behaviour(cloudwatch_alarm_events)
def test_an_alarm_changing_state_sends_an_event(aws) -> None:
    # Given an alarm on one instance's metric, and a rule listening for alarm state changes
    url = queue_listening_to(aws, {"source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"]})
    cloudwatch = aws("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="bluegreen-security-egress",
        MetricName="NetworkOut",
        Namespace="AWS/EC2",
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanThreshold",
        Dimensions=[{"Name": "InstanceId", "Value": "i-0123456789abcdef0"}],
    )
    # When it goes into ALARM, and is set to ALARM again
    cloudwatch.set_alarm_state(AlarmName="bluegreen-security-egress", StateValue="ALARM", StateReason="egress")
    cloudwatch.set_alarm_state(AlarmName="bluegreen-security-egress", StateValue="ALARM", StateReason="still")
    # Then exactly one event arrives, in CloudWatch's format
    events = received(aws, url)
    assert len(events) == 1
    detail = events[0]["detail"]
    assert events[0]["source"] == "aws.cloudwatch"
    assert detail["alarmName"] == "bluegreen-security-egress"
    assert (detail["state"]["value"], detail["previousState"]["value"]) == ("ALARM", "OK")
    metric = detail["configuration"]["metrics"][0]["metricStat"]["metric"]
    assert metric == {"namespace": "AWS/EC2", "name": "NetworkOut", "dimensions": {"InstanceId": "i-0123456789abcdef0"}}


@pytest.mark.behaviour(events_rule_pattern_string)
def test_a_rule_pattern_given_as_a_json_string_matches(aws) -> None:
    # Given a stack whose rule's EventPattern is a string built with Fn::Sub (a numeric matcher from a parameter)
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName="findings")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = '{"source": ["aws.guardduty"], "detail": {"severity": [{"numeric": [">=", ${Min}]}]}}'
    template = {
        "Parameters": {"Min": {"Type": "Number", "Default": 7}},
        "Resources": {
            "Findings": {
                "Type": "AWS::Events::Rule",
                "Properties": {"EventPattern": {"Fn::Sub": pattern}, "Targets": [{"Id": "q", "Arn": queue}]},
            }
        },
    }
    aws("cloudformation").create_stack(StackName="rules", TemplateBody=json.dumps(template))
    # When a high and a low severity finding are put
    for severity in (8, 2):
        entry = {
            "Source": "aws.guardduty",
            "DetailType": "GuardDuty Finding",
            "Detail": json.dumps({"severity": severity}),
        }
        aws("events").put_events(Entries=[entry])
    # Then only the high one matches
    assert [e["detail"]["severity"] for e in received(aws, url)] == [8]


@pytest.mark.behaviour(stepfunctions_nested_executions)
def test_a_task_runs_a_nested_execution_to_its_end(twin: TwinServer, flavour: str) -> None:
    sfn = boto3.client("stepfunctions", endpoint_url=twin.endpoint_url, region_name="us-east-1")
    child = {
        "StartAt": "Done",
        "States": {"Done": {"Type": "Pass", "Result": {"release": {"outcome": "Proceed"}}, "End": True}},
    }
    child_arn = sfn.create_state_machine(name=f"nested-child-{flavour}", roleArn=ROLE, definition=json.dumps(child))[
        "stateMachineArn"
    ]
    parent = {
        "StartAt": "Run",
        "States": {
            "Run": {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync:2",
                "Parameters": {"StateMachineArn": child_arn, "Input": {"app.$": "$.app", "emergency": True}},
                "ResultSelector": {"status.$": "$.Status", "release.$": "$.Output.release", "input.$": "$.Input"},
                "End": True,
            }
        },
    }
    parent_arn = sfn.create_state_machine(name=f"nested-parent-{flavour}", roleArn=ROLE, definition=json.dumps(parent))[
        "stateMachineArn"
    ]
    arn = sfn.start_execution(stateMachineArn=parent_arn, input=json.dumps({"app": "shop"}))["executionArn"]
    deadline = time.monotonic() + 15
    while (execution := sfn.describe_execution(executionArn=arn))[
        "status"
    ] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert execution["status"] == "SUCCEEDED", execution
    assert json.loads(execution["output"]) == {
        "status": "SUCCEEDED",
        "release": {"outcome": "Proceed"},
        "input": {"app": "shop", "emergency": True},
    }
