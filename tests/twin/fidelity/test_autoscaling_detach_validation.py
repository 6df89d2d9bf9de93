"""Fidelity of DetachInstances: only the group's own instances, and only while InService or Standby."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bluegreen.twin import autoscaling_detach_validation
from bluegreen.twin.autoscaling_detach_validation import set_instance_lifecycle
from tests.twin.conftest import STOCK_AMI


def create_group(aws: Any, name: str = "green", size: int = 3) -> list[str]:
    ec2 = aws("ec2")
    image = STOCK_AMI
    template = ec2.create_launch_template(
        LaunchTemplateName=f"lt-{name}", LaunchTemplateData={"ImageId": image, "InstanceType": "t3.micro"}
    )["LaunchTemplate"]["LaunchTemplateId"]
    asg = aws("autoscaling")
    asg.create_auto_scaling_group(
        AutoScalingGroupName=name,
        LaunchTemplate={"LaunchTemplateId": template},
        MinSize=0,
        MaxSize=6,
        DesiredCapacity=size,
        AvailabilityZones=["us-east-1a"],
    )
    group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
    return [i["InstanceId"] for i in group["Instances"]]


def refusal(call: Callable[[], Any]) -> tuple[str, str] | None:
    """The AWS error code and message the call is refused with, or None when it succeeds."""
    try:
        call()
    except ClientError as err:
        return err.response["Error"]["Code"], err.response["Error"]["Message"]
    return None


def detach(aws: Any, instance_id: str, group: str = "green") -> Callable[[], Any]:
    return lambda: aws("autoscaling").detach_instances(
        AutoScalingGroupName=group, InstanceIds=[instance_id], ShouldDecrementDesiredCapacity=False
    )


@pytest.mark.behaviour(autoscaling_detach_validation)
def test_only_instances_in_service_or_standby_can_be_detached(aws) -> None:
    # Given a group of three: one still launching, one waiting in a launch hook, one on standby
    pending, waiting, standby = create_group(aws)
    set_instance_lifecycle(pending, "Pending")
    set_instance_lifecycle(waiting, "Pending:Wait")
    set_instance_lifecycle(standby, "Standby")

    # When each is detached, Then the launching ones are refused as AWS refuses them
    for instance_id in (pending, waiting):
        assert refusal(detach(aws, instance_id)) == (
            "ValidationError",
            f"The instance {instance_id} is not in InService or Standby.",
        )
    # And the one on standby is detached, the refused ones stay in the group
    assert refusal(detach(aws, standby)) is None
    group = aws("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=["green"])["AutoScalingGroups"][0]
    members = {i["InstanceId"] for i in group["Instances"]}
    assert {pending, waiting} <= members and standby not in members


@pytest.mark.behaviour(autoscaling_detach_validation)
def test_an_instance_not_in_the_group_cannot_be_detached_from_it(aws) -> None:
    # Given two groups, and an instance detached from the first already
    first = create_group(aws, "blue", size=2)
    other = create_group(aws, "green", size=1)
    assert refusal(detach(aws, first[0], "blue")) is None

    # When the detached instance, or an instance of the other group, is detached from the first
    # Then each is refused: it is not part of that group (a retried detach learns it was done)
    for instance_id in (first[0], other[0]):
        assert refusal(detach(aws, instance_id, "blue")) == (
            "ValidationError",
            f"The instance {instance_id} is not part of Auto Scaling group blue.",
        )


@pytest.mark.behaviour(autoscaling_detach_validation)
def test_a_pending_instance_still_counts_toward_desired_capacity(aws) -> None:
    # Given a group of two, one of them still launching
    instances = create_group(aws, size=2)
    set_instance_lifecycle(instances[0], "Pending")

    # When the group's desired capacity is set again to two
    aws("autoscaling").set_desired_capacity(AutoScalingGroupName="green", DesiredCapacity=2)

    # Then no third instance is launched: the pending one is part of the capacity
    group = aws("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=["green"])["AutoScalingGroups"][0]
    assert sorted(i["InstanceId"] for i in group["Instances"]) == sorted(instances)
    assert {i["InstanceId"]: i["LifecycleState"] for i in group["Instances"]}[instances[0]] == "Pending"


def test_the_lifecycle_control_refuses_an_unknown_state() -> None:
    # Given / When a state the Auto Scaling API does not have is asked for / Then the control refuses it
    with pytest.raises(ValueError, match="state must be one of"):
        set_instance_lifecycle("i-0123456789abcdef0", "Sleeping")
