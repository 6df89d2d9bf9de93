"""Fidelity of shared snapshots: another account's AMI is copied only when its snapshots are shared with the copier,
and a snapshot shared with an account is described there by id."""

from __future__ import annotations

import pytest

from bluegreen.twin import ec2_image_copy_access
from tests.twin.fidelity.test_trigger_behaviours import THIS_ACCOUNT, build_account, shared_ami


def snapshot_of(ec2, image: str) -> str:
    return ec2.describe_images(ImageIds=[image])["Images"][0]["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"]


@pytest.mark.behaviour(ec2_image_copy_access)
def test_a_shared_ami_whose_snapshot_is_not_shared_cannot_be_copied_or_its_snapshot_seen(aws) -> None:
    # Given an AMI the build account shares with this account, but not its snapshot
    build = build_account(aws)
    image = shared_ami(build)
    ec2 = aws("ec2")
    snapshot = snapshot_of(ec2, image)
    # When this account copies it, Then EC2 refuses: the copy reads storage this account may not read
    with pytest.raises(ec2.exceptions.ClientError) as refused:
        ec2.copy_image(SourceImageId=image, SourceRegion="us-east-1", Name="shop-copy")
    assert refused.value.response["Error"]["Message"] == "You do not have permission to access the storage of this ami"
    # And the snapshot is not found here by id
    with pytest.raises(ec2.exceptions.ClientError, match=r"InvalidSnapshot\.NotFound"):
        ec2.describe_snapshots(SnapshotIds=[snapshot])
    # When the build account shares the snapshot too
    build("ec2").modify_snapshot_attribute(
        SnapshotId=snapshot, Attribute="createVolumePermission", OperationType="add", UserIds=[THIS_ACCOUNT]
    )
    # Then this account sees it by id (moto finds only its own) and the copy is made
    assert [s["SnapshotId"] for s in ec2.describe_snapshots(SnapshotIds=[snapshot])["Snapshots"]] == [snapshot]
    copy = ec2.copy_image(SourceImageId=image, SourceRegion="us-east-1", Name="shop-copy")["ImageId"]
    assert ec2.describe_images(ImageIds=[copy])["Images"][0]["OwnerId"] == THIS_ACCOUNT
