"""Fidelity of CreateLaunchTemplateVersion with SourceVersion: the new version inherits, given fields overwrite."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bluegreen.twin import ec2_launch_template_source_version
from tests.twin.conftest import STOCK_AMI

USER_DATA = base64.b64encode(b"#!/bin/sh\necho app\n").decode()


def base_template(aws: Any) -> tuple[str, str, str]:
    """A template whose version 1 has everything a fleet needs; returns its id, its image and its security group."""
    ec2 = aws("ec2")
    image = STOCK_AMI
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    group = ec2.create_security_group(GroupName="app", Description="app", VpcId=vpc)["GroupId"]
    snapshot = ec2.create_snapshot(VolumeId=ec2.create_volume(Size=8, AvailabilityZone="us-east-1a")["VolumeId"])
    template = ec2.create_launch_template(
        LaunchTemplateName="fleet",
        LaunchTemplateData={
            "ImageId": image,
            "InstanceType": "t3.small",
            "SecurityGroupIds": [group],
            "UserData": USER_DATA,
            "MetadataOptions": {"HttpTokens": "required"},
            "BlockDeviceMappings": [
                {"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": snapshot["SnapshotId"], "VolumeSize": 8}},
                {"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 20}},
            ],
        },
    )["LaunchTemplate"]["LaunchTemplateId"]
    return template, image, group


def data_of(aws: Any, template: str, version: int) -> dict:
    versions = aws("ec2").describe_launch_template_versions(LaunchTemplateId=template, Versions=[str(version)])
    return versions["LaunchTemplateVersions"][0]["LaunchTemplateData"]


@pytest.mark.behaviour(ec2_launch_template_source_version)
def test_a_new_version_inherits_its_source_and_only_the_ami_changes(aws) -> None:
    # Given a template whose version 1 sets the instance type, groups, user data, metadata options and disks
    ec2 = aws("ec2")
    template, old_image, group = base_template(aws)
    new_image = ec2.register_image(Name="release-2", RootDeviceName="/dev/xvda")["ImageId"]

    # When version 2 is made from version 1 with only a new AMI
    created = ec2.create_launch_template_version(
        LaunchTemplateId=template, SourceVersion="1", LaunchTemplateData={"ImageId": new_image}
    )["LaunchTemplateVersion"]

    # Then version 2 has the new AMI and everything else of version 1, in the answer and when described
    for data in (created["LaunchTemplateData"], data_of(aws, template, 2)):
        assert data["ImageId"] == new_image
        assert data["InstanceType"] == "t3.small"
        assert data["SecurityGroupIds"] == [group]
        assert data["UserData"] == USER_DATA
        assert data["MetadataOptions"]["HttpTokens"] == "required"
        # And the inherited root disk lost its snapshot, as AWS ignores inherited snapshots
        disks = {m["DeviceName"]: m["Ebs"] for m in data["BlockDeviceMappings"]}
        assert disks == {"/dev/xvda": {"VolumeSize": 8}, "/dev/sdf": {"VolumeSize": 20}}

    # And a group launching version 2 gets instances of the inherited type
    vpc = ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.8.1.0/24")["Subnet"]["SubnetId"]
    aws("autoscaling").create_auto_scaling_group(
        AutoScalingGroupName="green",
        LaunchTemplate={"LaunchTemplateId": template, "Version": "2"},
        MinSize=1,
        MaxSize=1,
        DesiredCapacity=1,
        VPCZoneIdentifier=subnet,
    )
    instances = aws("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=["green"])["AutoScalingGroups"]
    assert [i["InstanceType"] for i in instances[0]["Instances"]] == ["t3.small"]
    assert old_image != new_image


@pytest.mark.behaviour(ec2_launch_template_source_version)
def test_a_given_list_replaces_the_inherited_one_and_aliases_name_versions(aws) -> None:
    # Given version 1, and version 2 made from it with a new AMI
    ec2 = aws("ec2")
    template, old_image, _ = base_template(aws)
    new_image = ec2.register_image(Name="release-2", RootDeviceName="/dev/xvda")["ImageId"]
    ec2.create_launch_template_version(
        LaunchTemplateId=template, SourceVersion="1", LaunchTemplateData={"ImageId": new_image}
    )

    # When version 3 is made from $Latest with one block device mapping
    ec2.create_launch_template_version(
        LaunchTemplateId=template,
        SourceVersion="$Latest",
        LaunchTemplateData={"BlockDeviceMappings": [{"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 50}}]},
    )
    # And version 4 from $Default (version 1) with nothing new
    ec2.create_launch_template_version(LaunchTemplateName="fleet", SourceVersion="$Default", LaunchTemplateData={})

    # Then version 3 has version 2's AMI and only the given mapping: a list is replaced, not merged
    three = data_of(aws, template, 3)
    assert three["ImageId"] == new_image and three["InstanceType"] == "t3.small"
    assert three["BlockDeviceMappings"] == [{"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 50}}]
    # And version 4 is version 1 again
    four = data_of(aws, template, 4)
    assert four["ImageId"] == old_image and four["InstanceType"] == "t3.small"

    # When a version that does not exist is the source, Then EC2 refuses it
    with pytest.raises(ClientError) as refused:
        ec2.create_launch_template_version(
            LaunchTemplateId=template, SourceVersion="9", LaunchTemplateData={"ImageId": new_image}
        )
    assert refused.value.response["Error"]["Code"] == "InvalidLaunchTemplateId.VersionNotFound"


@pytest.mark.behaviour(ec2_launch_template_source_version)
def test_a_request_repeated_with_its_client_token_makes_no_second_version(aws) -> None:
    # Given a template and a version made with a client token (a release's CreateGreenGroup)
    ec2 = aws("ec2")
    template, _, _ = base_template(aws)

    def create(description: str = "release r1") -> Any:
        return ec2.create_launch_template_version(
            LaunchTemplateId=template,
            SourceVersion="1",
            VersionDescription=description,
            LaunchTemplateData={"ImageId": STOCK_AMI},
            ClientToken="bluegreen-r1",
        )["LaunchTemplateVersion"]["VersionNumber"]

    first = create()

    # When the same request is sent again (the task retried), Then it returns the same version and makes none
    assert create() == first == 2
    listed = ec2.describe_launch_template_versions(LaunchTemplateId=template)["LaunchTemplateVersions"]
    assert sorted(v["VersionNumber"] for v in listed) == [1, 2]
    # And the token with other parameters is refused, making nothing
    with pytest.raises(ClientError) as refused:
        create("another release")
    assert refused.value.response["Error"]["Code"] == "IdempotentParameterMismatch"
    listed = ec2.describe_launch_template_versions(LaunchTemplateId=template)["LaunchTemplateVersions"]
    assert len(listed) == 2
