"""Fidelity of RegisterImage: the AMI keeps its architecture, and instances launched from it run on it."""

from __future__ import annotations

import pytest

from bluegreen.twin import ec2_image_states


@pytest.mark.behaviour(ec2_image_states)
def test_a_registered_image_keeps_its_architecture(aws) -> None:
    # Given an arm64 AMI and an AMI registered without an architecture
    ec2 = aws("ec2")
    arm = ec2.register_image(Name="app-arm64", Architecture="arm64", RootDeviceName="/dev/xvda")["ImageId"]
    unnamed = ec2.register_image(Name="app-default", RootDeviceName="/dev/xvda")["ImageId"]

    # When they are described
    described = {i["ImageId"]: i.get("Architecture") for i in ec2.describe_images(ImageIds=[arm, unnamed])["Images"]}

    # Then the first is arm64, and the second has AWS's default for an EBS-backed AMI
    assert described == {arm: "arm64", unnamed: "i386"}
    # And an instance launched from the arm64 AMI, and an AMI made from that instance, are arm64 too
    instance = ec2.run_instances(ImageId=arm, MinCount=1, MaxCount=1, InstanceType="t4g.micro")["Instances"][0]
    assert instance["Architecture"] == "arm64"
    baked = ec2.create_image(InstanceId=instance["InstanceId"], Name="app-arm64-baked")["ImageId"]
    assert ec2.describe_images(ImageIds=[baked])["Images"][0]["Architecture"] == "arm64"
