"""Fidelity of encrypted AMIs a build account shares: its key, used across accounts (key policy and grants), by this
account's copies and by Auto Scaling's launches: ec2_encrypted_images, kms_cross_account_keys, ec2_image_copy_access,
autoscaling_launch_failures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bluegreen.twin import (
    autoscaling_launch_failures,
    ec2_encrypted_images,
    ec2_image_copy_access,
    kms_cross_account_keys,
)
from tests.build_keys import SERVICE_ROLE, THIS_ACCOUNT, build_key
from tests.twin.fidelity.test_trigger_behaviours import build_account, shared_ami


def encrypted_shared_ami(build: Callable[[str], Any], key: str) -> tuple[str, str]:
    """Packer's encrypt_boot in the build account: an AMI copied encrypted with `key`, shared with this account with its
    snapshot. (AMI id, snapshot id)."""
    ec2 = build("ec2")
    plain = shared_ami(build)
    image = ec2.copy_image(
        SourceImageId=plain, SourceRegion="us-east-1", Name="shop-enc", Encrypted=True, KmsKeyId=key
    )["ImageId"]
    ec2.modify_image_attribute(ImageId=image, LaunchPermission={"Add": [{"UserId": THIS_ACCOUNT}]})
    snapshot = ec2.describe_images(ImageIds=[image])["Images"][0]["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"]
    ec2.modify_snapshot_attribute(
        SnapshotId=snapshot, Attribute="createVolumePermission", OperationType="add", UserIds=[THIS_ACCOUNT]
    )
    return image, snapshot


@pytest.mark.behaviour(ec2_encrypted_images)
def test_a_copy_made_encrypted_is_an_encrypted_ami_with_its_snapshot_under_that_key(aws) -> None:
    build = build_account(aws)
    key = build_key(build, None)
    # When the build account copies an AMI encrypted with its key
    image, snapshot = encrypted_shared_ami(build, key)
    # Then the AMI's mapping says Encrypted, and its snapshot names the key
    mapping = build("ec2").describe_images(ImageIds=[image])["Images"][0]["BlockDeviceMappings"][0]
    assert mapping["Ebs"]["Encrypted"] is True
    described = build("ec2").describe_snapshots(SnapshotIds=[snapshot])["Snapshots"][0]
    assert (described["Encrypted"], described["KmsKeyId"]) == (True, key)


@pytest.mark.behaviour(kms_cross_account_keys)
def test_another_accounts_key_is_described_by_arn_when_its_policy_allows_and_grants_are_idempotent(aws) -> None:
    build = build_account(aws)
    shared, private = build_key(build, THIS_ACCOUNT), build_key(build, None)
    kms = aws("kms")
    # When this account describes the build account's keys by ARN
    # Then the one whose policy allows it is found (moto looks among this account's keys only), the other refused
    assert kms.describe_key(KeyId=shared)["KeyMetadata"]["Arn"] == shared
    with pytest.raises(kms.exceptions.ClientError, match="AccessDeniedException"):
        kms.describe_key(KeyId=private)
    # And a grant for its Auto Scaling role, asked twice with the same parameters, is one grant, on the owner's key
    ask = {"KeyId": shared, "GranteePrincipal": SERVICE_ROLE, "Operations": ["Decrypt", "CreateGrant"], "Name": "asg"}
    assert kms.create_grant(**ask)["GrantId"] == kms.create_grant(**ask)["GrantId"]
    grants = build("kms").list_grants(KeyId=shared)["Grants"]
    assert [g["GranteePrincipal"] for g in grants] == [SERVICE_ROLE]


@pytest.mark.behaviour(ec2_image_copy_access)
def test_a_copy_of_an_encrypted_ami_fails_unless_the_key_policy_lets_this_account_use_the_key(aws) -> None:
    build = build_account(aws)
    ec2 = aws("ec2")
    refused_image, _ = encrypted_shared_ami(build, build_key(build, None))
    allowed_image, _ = encrypted_shared_ami(build, build_key(build, THIS_ACCOUNT))
    # When this account copies both
    refused = ec2.copy_image(SourceImageId=refused_image, SourceRegion="us-east-1", Name="copy-a")["ImageId"]
    allowed = ec2.copy_image(SourceImageId=allowed_image, SourceRegion="us-east-1", Name="copy-b")["ImageId"]
    # Then the copy whose key this account may not use ends failed; the other is available, encrypted with this
    # account's own AWS managed key for EBS
    assert ec2.describe_images(ImageIds=[refused])["Images"][0]["State"] == "failed"
    image = ec2.describe_images(ImageIds=[allowed])["Images"][0]
    assert image["State"] == "available"
    snapshot = ec2.describe_snapshots(SnapshotIds=[image["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"]])["Snapshots"]
    assert snapshot[0]["KmsKeyId"] == f"arn:aws:kms:us-east-1:{THIS_ACCOUNT}:alias/aws/ebs"


@pytest.mark.behaviour(autoscaling_launch_failures)
def test_a_launch_from_another_accounts_encrypted_ami_needs_a_grant_for_the_service_linked_role(aws) -> None:
    build = build_account(aws)
    key = build_key(build, THIS_ACCOUNT)
    image, _ = encrypted_shared_ami(build, key)
    ec2, asg = aws("ec2"), aws("autoscaling")
    template = ec2.create_launch_template(
        LaunchTemplateName="fleet", LaunchTemplateData={"ImageId": image, "InstanceType": "t3.micro"}
    )["LaunchTemplate"]["LaunchTemplateId"]

    def launch(name: str) -> tuple[list[str], list[str]]:
        asg.create_auto_scaling_group(
            AutoScalingGroupName=name,
            LaunchTemplate={"LaunchTemplateId": template, "Version": "1"},
            MinSize=1,
            MaxSize=1,
            DesiredCapacity=1,
            AvailabilityZones=["us-east-1a"],
        )
        group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
        activities = asg.describe_scaling_activities(AutoScalingGroupName=name)["Activities"]
        return [i["InstanceId"] for i in group["Instances"]], [
            a.get("StatusMessage", a["StatusCode"]) for a in activities
        ]

    # When a group launches from it before its Auto Scaling role has a grant on the key, Then nothing launches, and
    # the activity says what AWS says
    assert launch("without") == ([], [autoscaling_launch_failures.CLIENT_ERROR])
    # When this account creates the grant (the key policy lets it), Then a group launches
    aws("kms").create_grant(
        KeyId=key,
        GranteePrincipal=SERVICE_ROLE,
        Operations=["Decrypt", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom", "DescribeKey", "CreateGrant"],
    )
    launched, said = launch("with")
    assert len(launched) == 1 and said == ["Successful"]
