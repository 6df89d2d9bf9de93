"""Fidelity of lifecycle hooks: created with the group, described as given, AWS's defaults otherwise."""

from __future__ import annotations

from typing import Any

import pytest

from bluegreen.twin import autoscaling_lifecycle_hooks
from tests.twin.conftest import STOCK_AMI

LAUNCHING = "autoscaling:EC2_INSTANCE_LAUNCHING"
TERMINATING = "autoscaling:EC2_INSTANCE_TERMINATING"


def create_group(aws: Any, **extra: Any) -> None:
    ec2 = aws("ec2")
    image = STOCK_AMI
    template = ec2.create_launch_template(
        LaunchTemplateName="lt", LaunchTemplateData={"ImageId": image, "InstanceType": "t3.micro"}
    )["LaunchTemplate"]["LaunchTemplateId"]
    aws("autoscaling").create_auto_scaling_group(
        AutoScalingGroupName="green",
        LaunchTemplate={"LaunchTemplateId": template},
        MinSize=1,
        MaxSize=1,
        DesiredCapacity=1,
        AvailabilityZones=["us-east-1a"],
        **extra,
    )


def hooks(aws: Any) -> dict[str, dict]:
    described = aws("autoscaling").describe_lifecycle_hooks(AutoScalingGroupName="green")["LifecycleHooks"]
    return {h["LifecycleHookName"]: h for h in described}


@pytest.mark.behaviour(autoscaling_lifecycle_hooks)
def test_hooks_given_with_the_group_are_created_as_given_with_aws_defaults(aws) -> None:
    # Given a queue and a role for one hook's notifications
    queue = aws("sqs").create_queue(QueueName="lifecycle")["QueueUrl"]
    queue_arn = aws("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    role = "arn:aws:iam::123456789012:role/lifecycle"

    # When a group is created with two hooks: one fully specified, one with only its name and transition
    create_group(
        aws,
        LifecycleHookSpecificationList=[
            {
                "LifecycleHookName": "warmup",
                "LifecycleTransition": LAUNCHING,
                "HeartbeatTimeout": 300,
                "DefaultResult": "CONTINUE",
                "NotificationTargetARN": queue_arn,
                "RoleARN": role,
                "NotificationMetadata": "warm the cache",
            },
            {"LifecycleHookName": "drain", "LifecycleTransition": TERMINATING},
        ],
    )

    # Then DescribeLifecycleHooks lists both
    found = hooks(aws)
    assert sorted(found) == ["drain", "warmup"]
    # And the first is as given, its global timeout 100 x its heartbeat timeout (under the 48 h cap)
    warmup = found["warmup"]
    assert (warmup["LifecycleTransition"], warmup["HeartbeatTimeout"], warmup["DefaultResult"]) == (
        LAUNCHING,
        300,
        "CONTINUE",
    )
    assert (warmup["NotificationTargetARN"], warmup["RoleARN"]) == (queue_arn, role)
    assert (warmup["NotificationMetadata"], warmup["GlobalTimeout"]) == ("warm the cache", 30000)
    # And the second has AWS's defaults and no notification target or role it was never given
    drain = found["drain"]
    assert (drain["HeartbeatTimeout"], drain["DefaultResult"], drain["GlobalTimeout"]) == (3600, "ABANDON", 172800)
    assert not {"NotificationTargetARN", "RoleARN", "NotificationMetadata"} & set(drain)


@pytest.mark.behaviour(autoscaling_lifecycle_hooks)
def test_updating_a_hook_keeps_what_the_update_does_not_name(aws) -> None:
    # Given a group with a hook put on it, with metadata
    create_group(aws)
    asg = aws("autoscaling")
    asg.put_lifecycle_hook(
        AutoScalingGroupName="green",
        LifecycleHookName="warmup",
        LifecycleTransition=LAUNCHING,
        HeartbeatTimeout=120,
        NotificationMetadata="v1",
    )

    # When the hook is updated with only a new default result
    asg.put_lifecycle_hook(AutoScalingGroupName="green", LifecycleHookName="warmup", DefaultResult="CONTINUE")

    # Then it has the new result and keeps its transition, timeout and metadata
    warmup = hooks(aws)["warmup"]
    assert (warmup["LifecycleTransition"], warmup["HeartbeatTimeout"]) == (LAUNCHING, 120)
    assert (warmup["DefaultResult"], warmup["NotificationMetadata"]) == ("CONTINUE", "v1")
