"""Fidelity of launch failures: a launch Auto Scaling cannot make launches nothing and leaves a Failed activity that
says why; a launch it makes leaves a Successful one."""

from __future__ import annotations

from typing import Any

import pytest

from bluegreen.twin import autoscaling_launch_failures
from tests.twin.conftest import STOCK_AMI


def group(aws: Any, name: str, data: dict[str, Any], subnet: str | None = None, desired: int = 2) -> list[dict]:
    """Make a group of `desired` from a template of `data`; its scaling activities."""
    ec2 = aws("ec2")
    template = ec2.create_launch_template(
        LaunchTemplateName=name, LaunchTemplateData={"ImageId": STOCK_AMI, "InstanceType": "t3.micro", **data}
    )["LaunchTemplate"]["LaunchTemplateId"]
    placement: dict[str, Any] = {"VPCZoneIdentifier": subnet} if subnet else {"AvailabilityZones": ["us-east-1a"]}
    asg = aws("autoscaling")
    asg.create_auto_scaling_group(
        AutoScalingGroupName=name,
        LaunchTemplate={"LaunchTemplateId": template, "Version": "1"},
        MinSize=desired,
        MaxSize=desired,
        DesiredCapacity=desired,
        **placement,
    )
    return asg.describe_scaling_activities(AutoScalingGroupName=name)["Activities"]


def instances_of(aws: Any, name: str) -> list[str]:
    found = aws("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
    return [i["InstanceId"] for i in found["Instances"]]


@pytest.mark.behaviour(autoscaling_launch_failures)
def test_a_template_naming_a_missing_instance_profile_fails_the_launch_with_its_reason(aws) -> None:
    # Given a launch template that names an instance profile the account does not have
    # When a group launches from it
    activities = group(aws, "fleet", {"IamInstanceProfile": {"Name": "no-such-profile"}})
    # Then nothing is launched, and the group's activity says why (moto launches them and records nothing)
    assert instances_of(aws, "fleet") == []
    assert [a["StatusCode"] for a in activities] == ["Failed"]
    assert activities[0]["StatusMessage"] == (
        "Value (no-such-profile) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name."
        " Launching EC2 instance failed."
    )


@pytest.mark.behaviour(autoscaling_launch_failures)
def test_a_subnet_with_no_free_address_fails_the_launch_with_its_reason(aws) -> None:
    # Given a /28 subnet (11 usable addresses) where ten interfaces hold ten of them
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.0.0/28", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    for _ in range(10):
        ec2.create_network_interface(SubnetId=subnet)
    # When a group launches two instances into it
    activities = group(aws, "fleet", {}, subnet=subnet)
    # Then nothing is launched, and the activity names the subnet
    assert instances_of(aws, "fleet") == []
    assert [(a["StatusCode"], a["StatusMessage"]) for a in activities] == [
        (
            "Failed",
            f"There are not enough free addresses in subnet '{subnet}' to satisfy the requested number of instances."
            " Launching EC2 instance failed.",
        )
    ]


@pytest.mark.behaviour(autoscaling_launch_failures)
def test_a_launch_that_succeeds_is_a_successful_activity_per_instance(aws) -> None:
    # When a group launches two instances with nothing in the way
    activities = group(aws, "fleet", {})
    # Then each launch is an activity of the group, Successful (moto lists none)
    launched = instances_of(aws, "fleet")
    assert len(launched) == 2
    assert sorted(a["Description"] for a in activities) == sorted(
        f"Launching a new EC2 instance: {i}" for i in launched
    )
    assert {a["StatusCode"] for a in activities} == {"Successful"}
