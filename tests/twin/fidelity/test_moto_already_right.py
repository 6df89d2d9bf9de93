"""moto 5.2.5 already does this: AWS behaviours checked against moto that need no twin module.

Each test says what AWS does; it runs on the twin as a whole (no behaviour removed), so a moto upgrade that loses the
behaviour is noticed. Listed in docs/twin-fidelity.md, "Checked: moto already does this".
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from bluegreen.twin import behaviours
from tests.twin.conftest import STOCK_AMI

ARM_IMAGE = "ami-0e9271c829888680e"  # one of moto's built-in Amazon images, an arm64 one


@pytest.fixture
def aws() -> Iterator[Any]:
    """In-process moto (fresh per test) with every twin behaviour in."""
    behaviours.install()
    with mock_aws():
        yield lambda service: boto3.client(service, region_name="us-east-1")


def create_group(aws: Any, **extra: Any) -> list[str]:
    ec2 = aws("ec2")
    image = STOCK_AMI
    template = ec2.create_launch_template(
        LaunchTemplateName="lt", LaunchTemplateData={"ImageId": image, "InstanceType": "t3.micro"}
    )["LaunchTemplate"]["LaunchTemplateId"]
    asg = aws("autoscaling")
    asg.create_auto_scaling_group(
        AutoScalingGroupName="fleet",
        LaunchTemplate={"LaunchTemplateId": template},
        MinSize=0,
        MaxSize=4,
        DesiredCapacity=3,
        AvailabilityZones=["us-east-1a"],
        **extra,
    )
    return members(aws)[1]


def members(aws: Any) -> tuple[int, list[str]]:
    group = aws("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=["fleet"])["AutoScalingGroups"][0]
    return group["DesiredCapacity"], sorted(i["InstanceId"] for i in group["Instances"])


def state(aws: Any, instance_id: str) -> str:
    reservations = aws("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"]
    return reservations[0]["Instances"][0]["State"]["Name"]


def test_lowering_desired_capacity_keeps_the_instances_protected_at_launch(aws) -> None:
    # Given a group whose instances are protected from scale in as they launch
    instances = create_group(aws, NewInstancesProtectedFromScaleIn=True)

    # When UpdateAutoScalingGroup lowers the desired capacity
    aws("autoscaling").update_auto_scaling_group(AutoScalingGroupName="fleet", DesiredCapacity=1)

    # Then the desired capacity is lowered, but no instance is terminated ("Use instance scale-in protection": "its
    # desired capacity is decremented. However, the Auto Scaling group can't terminate the required number of
    # instances until their instance scale-in protection settings are disabled.")
    assert members(aws) == (1, sorted(instances))
    assert {state(aws, i) for i in instances} == {"running"}


def test_set_desired_capacity_terminates_only_instances_not_protected_later(aws) -> None:
    # Given a group of three, two of them protected afterwards with SetInstanceProtection
    instances = create_group(aws)
    asg = aws("autoscaling")
    asg.set_instance_protection(AutoScalingGroupName="fleet", InstanceIds=instances[:2], ProtectedFromScaleIn=True)

    # When SetDesiredCapacity asks for one
    asg.set_desired_capacity(AutoScalingGroupName="fleet", DesiredCapacity=1)

    # Then the unprotected one was terminated, and the two protected ones stay (above the desired capacity)
    assert members(aws) == (1, sorted(instances[:2]))
    assert [state(aws, i) for i in instances] == ["running", "running", "terminated"]


def test_terminate_instance_in_auto_scaling_group_ignores_scale_in_protection(aws) -> None:
    # Given a group of protected instances
    instances = create_group(aws, NewInstancesProtectedFromScaleIn=True)

    # When one is terminated with TerminateInstanceInAutoScalingGroup, decrementing the capacity
    aws("autoscaling").terminate_instance_in_auto_scaling_group(
        InstanceId=instances[0], ShouldDecrementDesiredCapacity=True
    )

    # Then it is terminated ("Instance scale-in protection does not protect Auto Scaling instances from ... Manual
    # termination through ... the TerminateInstanceInAutoScalingGroup action")
    assert state(aws, instances[0]) == "terminated"
    assert members(aws) == (2, sorted(instances[1:]))


def test_ec2_terminate_instances_ignores_scale_in_protection_and_the_group_replaces_it(aws) -> None:
    # Given a group of protected instances
    instances = create_group(aws, NewInstancesProtectedFromScaleIn=True)

    # When one is terminated through EC2
    aws("ec2").terminate_instances(InstanceIds=[instances[0]])

    # Then it is terminated and the group, still wanting three, has a replacement
    assert state(aws, instances[0]) == "terminated"
    desired, now = members(aws)
    assert desired == 3 and len(now) == 3 and instances[0] not in now


def test_create_image_keeps_the_source_instances_architecture(aws) -> None:
    # Given an instance launched from an arm64 Amazon image
    ec2 = aws("ec2")
    assert ec2.describe_images(ImageIds=[ARM_IMAGE])["Images"][0]["Architecture"] == "arm64"
    instance = ec2.run_instances(ImageId=ARM_IMAGE, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]

    # When an AMI is made from it
    image = ec2.create_image(InstanceId=instance, Name="baked-arm64")["ImageId"]

    # Then the AMI is arm64, as the instance it was made from
    assert ec2.describe_images(ImageIds=[image])["Images"][0]["Architecture"] == "arm64"


def test_copy_image_keeps_the_source_images_architecture(aws) -> None:
    # Given an arm64 AMI made in us-east-1
    ec2 = aws("ec2")
    instance = ec2.run_instances(ImageId=ARM_IMAGE, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    image = ec2.create_image(InstanceId=instance, Name="baked-arm64")["ImageId"]

    # When it is copied within the region and to another region
    here = ec2.copy_image(SourceImageId=image, SourceRegion="us-east-1", Name="copy-here")["ImageId"]
    west = boto3.client("ec2", region_name="us-west-2")
    there = west.copy_image(SourceImageId=image, SourceRegion="us-east-1", Name="copy-there")["ImageId"]

    # Then both copies are arm64
    assert ec2.describe_images(ImageIds=[here])["Images"][0]["Architecture"] == "arm64"
    assert west.describe_images(ImageIds=[there])["Images"][0]["Architecture"] == "arm64"


def test_describe_auto_scaling_groups_carries_the_warm_pool_configuration(aws) -> None:
    # AWS (Auto Scaling API Reference, "AutoScalingGroup": WarmPoolConfiguration, "The warm pool for the group"):
    # a group's description holds its warm pool's configuration; DescribeWarmPool is needed only for the pool's
    # instances. Prepare reads the pool from the group's description (one call less per release).
    create_group(aws)
    asg = aws("autoscaling")

    def described() -> dict | None:
        return asg.describe_auto_scaling_groups(AutoScalingGroupNames=["fleet"])["AutoScalingGroups"][0].get(
            "WarmPoolConfiguration"
        )

    assert described() is None
    asg.put_warm_pool(AutoScalingGroupName="fleet", MinSize=1, PoolState="Stopped")
    assert described() == asg.describe_warm_pool(AutoScalingGroupName="fleet")["WarmPoolConfiguration"]
    assert described()["PoolState"] == "Stopped"
