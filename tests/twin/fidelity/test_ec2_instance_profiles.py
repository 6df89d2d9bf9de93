"""Fidelity of instance profiles: an instance has the profile its launch template names, and the one that replaced it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bluegreen.twin import ec2_instance_profiles
from tests.twin.conftest import STOCK_AMI

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def instance_profile(aws: Any, name: str) -> str:
    iam = aws("iam")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))
    arn = iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Arn"]
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    return arn


def profile_of(aws: Any, instance_id: str) -> tuple[str | None, list[str]]:
    """(the profile DescribeInstances shows, the profiles of the instance's current associations)."""
    ec2 = aws("ec2")
    described = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    associations = ec2.describe_iam_instance_profile_associations(
        Filters=[{"Name": "instance-id", "Values": [instance_id]}]
    )["IamInstanceProfileAssociations"]
    return (described.get("IamInstanceProfile") or {}).get("Arn"), [
        a["IamInstanceProfile"]["Arn"] for a in associations
    ]


def group_of_two(aws: Any, profile_arn: str) -> list[str]:
    ec2 = aws("ec2")
    image = STOCK_AMI
    template = ec2.create_launch_template(
        LaunchTemplateName="fleet",
        LaunchTemplateData={"ImageId": image, "InstanceType": "t3.micro", "IamInstanceProfile": {"Arn": profile_arn}},
    )["LaunchTemplate"]["LaunchTemplateId"]
    asg = aws("autoscaling")
    asg.create_auto_scaling_group(
        AutoScalingGroupName="fleet",
        LaunchTemplate={"LaunchTemplateId": template, "Version": "1"},
        MinSize=2,
        MaxSize=2,
        DesiredCapacity=2,
        AvailabilityZones=["us-east-1a"],
    )
    group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["fleet"])["AutoScalingGroups"][0]
    return [i["InstanceId"] for i in group["Instances"]]


@pytest.mark.behaviour(ec2_instance_profiles)
def test_instances_launched_by_auto_scaling_have_their_templates_instance_profile(aws) -> None:
    # Given a launch template that names the fleet's instance profile
    fleet = instance_profile(aws, "fleet")
    # When an Auto Scaling group launches two instances from it
    instances = group_of_two(aws, fleet)
    # Then each has that profile, associated (moto alone launches them with none)
    assert [profile_of(aws, i) for i in instances] == [(fleet, [fleet]), (fleet, [fleet])]


@pytest.mark.behaviour(ec2_instance_profiles)
def test_every_instance_run_with_a_profile_has_it(aws) -> None:
    # Given an instance profile
    fleet = instance_profile(aws, "fleet")
    ec2 = aws("ec2")
    image = STOCK_AMI
    # When RunInstances launches three instances with it
    reservation = ec2.run_instances(ImageId=image, MinCount=3, MaxCount=3, IamInstanceProfile={"Arn": fleet})
    # Then all three have it (moto alone associates the first only)
    assert [profile_of(aws, i["InstanceId"]) for i in reservation["Instances"]] == [(fleet, [fleet])] * 3


@pytest.mark.behaviour(ec2_instance_profiles)
def test_a_replaced_instance_profile_is_the_one_the_instance_shows(aws) -> None:
    # Given an instance run with the fleet's profile
    fleet, quarantine = instance_profile(aws, "fleet"), instance_profile(aws, "quarantine")
    ec2 = aws("ec2")
    image = STOCK_AMI
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, IamInstanceProfile={"Arn": fleet})["Instances"][
        0
    ]["InstanceId"]
    assert profile_of(aws, instance) == (fleet, [fleet])
    association = ec2.describe_iam_instance_profile_associations(
        Filters=[{"Name": "instance-id", "Values": [instance]}]
    )["IamInstanceProfileAssociations"][0]
    # When its profile is replaced by the quarantine profile
    ec2.replace_iam_instance_profile_association(
        AssociationId=association["AssociationId"], IamInstanceProfile={"Arn": quarantine}
    )
    # Then DescribeInstances shows the quarantine profile as the association does (moto alone keeps the old one)
    assert profile_of(aws, instance) == (quarantine, [quarantine])
