"""Fidelity of scaling policy names: each group has its own policies, even under the same names."""

from __future__ import annotations

from typing import Any

import pytest

from bluegreen.twin import autoscaling_policy_names
from tests.twin.conftest import STOCK_AMI


def create_group(aws: Any, name: str) -> None:
    ec2 = aws("ec2")
    image = STOCK_AMI
    template = ec2.create_launch_template(
        LaunchTemplateName=f"lt-{name}", LaunchTemplateData={"ImageId": image, "InstanceType": "t3.micro"}
    )["LaunchTemplate"]["LaunchTemplateId"]
    aws("autoscaling").create_auto_scaling_group(
        AutoScalingGroupName=name,
        LaunchTemplate={"LaunchTemplateId": template},
        MinSize=0,
        MaxSize=5,
        DesiredCapacity=1,
        AvailabilityZones=["us-east-1a"],
    )


def policies(aws: Any, group: str) -> dict[str, int]:
    described = aws("autoscaling").describe_policies(AutoScalingGroupName=group)["ScalingPolicies"]
    return {p["PolicyName"]: p["ScalingAdjustment"] for p in described}


def desired(aws: Any, group: str) -> int:
    groups = aws("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"]
    return groups[0]["DesiredCapacity"]


@pytest.mark.behaviour(autoscaling_policy_names)
def test_two_groups_keep_their_own_policies_under_one_name(aws) -> None:
    # Given two groups, each given a policy named "resize" (a clone keeps the live group's names)
    asg = aws("autoscaling")
    for group, size in (("blue", 2), ("green", 4)):
        create_group(aws, group)
        asg.put_scaling_policy(
            AutoScalingGroupName=group, PolicyName="resize", AdjustmentType="ExactCapacity", ScalingAdjustment=size
        )

    # When they are described, Then each group has its own
    assert (policies(aws, "blue"), policies(aws, "green")) == ({"resize": 2}, {"resize": 4})

    # When blue's is executed, Then blue is resized by its own policy, and green is left alone
    asg.execute_policy(AutoScalingGroupName="blue", PolicyName="resize")
    assert (desired(aws, "blue"), desired(aws, "green")) == (2, 1)

    # When green's is deleted, Then blue keeps its policy
    asg.delete_policy(AutoScalingGroupName="green", PolicyName="resize")
    assert (policies(aws, "blue"), policies(aws, "green")) == ({"resize": 2}, {})
