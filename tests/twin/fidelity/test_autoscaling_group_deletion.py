"""Fidelity of DeleteAutoScalingGroup: ForceDelete is needed while the group has instances, and takes them all."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bluegreen.twin import autoscaling_group_deletion
from tests.twin.conftest import STOCK_AMI


def create_group(aws: Any, name: str, **extra: Any) -> list[str]:
    ec2 = aws("ec2")
    image = STOCK_AMI
    template = ec2.create_launch_template(
        LaunchTemplateName=f"lt-{uuid.uuid4().hex[:8]}",
        LaunchTemplateData={"ImageId": image, "InstanceType": "t3.micro"},
    )["LaunchTemplate"]["LaunchTemplateId"]
    asg = aws("autoscaling")
    asg.create_auto_scaling_group(
        AutoScalingGroupName=name,
        LaunchTemplate={"LaunchTemplateId": template},
        MinSize=0,
        MaxSize=3,
        DesiredCapacity=2,
        AvailabilityZones=["us-east-1a"],
        **extra,
    )
    return [
        i["InstanceId"]
        for i in asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]["Instances"]
    ]


def states(aws: Any, instance_ids: list[str]) -> list[str]:
    reservations = aws("ec2").describe_instances(InstanceIds=instance_ids)["Reservations"]
    return [i["State"]["Name"] for r in reservations for i in r["Instances"]]


def error_code(call: Callable[[], Any]) -> str | None:
    """The AWS error code the call is refused with, or None when it succeeds."""
    try:
        call()
    except ClientError as err:
        return err.response["Error"]["Code"]
    return None


def group_names(aws: Any) -> list[str]:
    return [g["AutoScalingGroupName"] for g in aws("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]]


@pytest.mark.behaviour(autoscaling_group_deletion)
def test_a_force_delete_terminates_every_instance_protected_or_not(aws) -> None:
    # Given a group whose instances are all protected from scale in, with a scaling policy and a lifecycle hook
    instances = create_group(aws, "blue", NewInstancesProtectedFromScaleIn=True)
    asg = aws("autoscaling")
    asg.put_scaling_policy(
        AutoScalingGroupName="blue", PolicyName="add-one", AdjustmentType="ChangeInCapacity", ScalingAdjustment=1
    )
    asg.put_lifecycle_hook(
        AutoScalingGroupName="blue",
        LifecycleHookName="drain",
        LifecycleTransition="autoscaling:EC2_INSTANCE_TERMINATING",
    )

    # When it is deleted with ForceDelete
    asg.delete_auto_scaling_group(AutoScalingGroupName="blue", ForceDelete=True)

    # Then the group is gone and so are all its instances: scale-in protection does not keep them
    assert "blue" not in group_names(aws)
    assert states(aws, instances) == ["terminated", "terminated"]
    # And its policies and hooks went with it: a new group of that name starts without them
    create_group(aws, "blue")
    assert asg.describe_policies(AutoScalingGroupName="blue")["ScalingPolicies"] == []
    assert asg.describe_lifecycle_hooks(AutoScalingGroupName="blue")["LifecycleHooks"] == []


@pytest.mark.behaviour(autoscaling_group_deletion)
def test_a_group_with_instances_is_deleted_only_by_force(aws) -> None:
    # Given a group with two running instances
    instances = create_group(aws, "blue")
    asg = aws("autoscaling")

    # When it is deleted without ForceDelete, Then AWS refuses, and the group and its instances stay
    assert error_code(lambda: asg.delete_auto_scaling_group(AutoScalingGroupName="blue")) == "ResourceInUse"
    assert "blue" in group_names(aws)
    assert states(aws, instances) == ["running", "running"]

    # When it is first scaled to nothing, Then a plain delete succeeds
    asg.update_auto_scaling_group(AutoScalingGroupName="blue", MinSize=0, DesiredCapacity=0)
    asg.delete_auto_scaling_group(AutoScalingGroupName="blue")
    assert "blue" not in group_names(aws)
