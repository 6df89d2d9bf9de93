"""A copy of another account's AMI is refused in the plan for each snapshot this account cannot read."""

from __future__ import annotations

from orchestrator.domain import shared_ami_access


def test_each_unreadable_snapshot_is_named_with_the_owners_command(monkeypatch) -> None:
    readable = {"snap-shared": {"SnapshotId": "snap-shared"}}
    monkeypatch.setattr(shared_ami_access.ec2, "describe_snapshot", readable.get)
    image = {
        "ImageId": "ami-1",
        "OwnerId": "111122223333",
        "BlockDeviceMappings": [
            {"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": "snap-shared"}},
            {"DeviceName": "/dev/xvdb", "Ebs": {"SnapshotId": "snap-private"}},
            {"DeviceName": "/dev/sdc", "VirtualName": "ephemeral0"},
        ],
    }
    refused = shared_ami_access.copy_refusals(image, "123456789012")
    assert [item.detail for item in refused] == [
        "ami-1: copy_shared needs snapshot snap-private (/dev/xvdb) shared with this account (123456789012), and"
        " account 111122223333 has not shared it: there, run `aws ec2 modify-snapshot-attribute --snapshot-id"
        " snap-private --attribute createVolumePermission --operation-type add --user-ids 123456789012`"
        " (Packer: snapshot_users)"
    ]


def test_an_ami_whose_snapshots_are_all_readable_is_not_refused(monkeypatch) -> None:
    monkeypatch.setattr(shared_ami_access.ec2, "describe_snapshot", lambda snapshot_id: {"SnapshotId": snapshot_id})
    image = {"ImageId": "ami-1", "OwnerId": "1", "BlockDeviceMappings": [{"Ebs": {"SnapshotId": "snap-1"}}]}
    assert shared_ami_access.copy_refusals(image, "2") == []
