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


KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ENCRYPTED = {
    "ImageId": "ami-1",
    "OwnerId": "111122223333",
    "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": "snap-1", "Encrypted": True}}],
}


def test_launching_another_accounts_encrypted_ami_grants_auto_scaling_its_key(monkeypatch) -> None:
    monkeypatch.setattr(shared_ami_access.ec2, "describe_snapshot", lambda s: {"SnapshotId": s, "KmsKeyId": KEY})
    granted = []
    monkeypatch.setattr(shared_ami_access.kms, "create_grant", lambda *args: granted.append(args))
    # A dry run only says so
    assert shared_ami_access.launch_grants(ENCRYPTED, "123456789012", dry_run=True) == (
        [],
        [f"snapshot snap-1: AWSServiceRoleForAutoScaling would be granted use of KMS key {KEY}"],
    )
    assert granted == []
    # A release grants it
    refused, notes = shared_ami_access.launch_grants(ENCRYPTED, "123456789012", dry_run=False)
    role = "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
    assert refused == [] and granted == [(KEY, role, shared_ami_access.GRANT_OPERATIONS, "bluegreen-autoscaling")]
    assert notes == [f"snapshot snap-1: AWSServiceRoleForAutoScaling may use KMS key {KEY} (grant)"]


def test_a_grant_kms_refuses_refuses_the_release_with_the_command(monkeypatch) -> None:
    monkeypatch.setattr(shared_ami_access.ec2, "describe_snapshot", lambda s: {"SnapshotId": s, "KmsKeyId": KEY})
    monkeypatch.setattr(
        shared_ami_access.kms, "create_grant", lambda *args: "CreateGrant answered AccessDeniedException"
    )
    refused, _ = shared_ami_access.launch_grants(ENCRYPTED, "123456789012", dry_run=False)
    assert len(refused) == 1
    assert "the key's policy must allow account 123456789012 kms:CreateGrant" in refused[0].detail
    assert f"`aws kms create-grant --key-id {KEY} --grantee-principal" in refused[0].detail


def test_this_accounts_own_key_or_an_unencrypted_ami_needs_no_grant(monkeypatch) -> None:
    own = KEY.replace("111122223333", "123456789012")
    monkeypatch.setattr(shared_ami_access.ec2, "describe_snapshot", lambda s: {"SnapshotId": s, "KmsKeyId": own})
    assert shared_ami_access.foreign_keys(ENCRYPTED, "123456789012") == []
    plain = {**ENCRYPTED, "BlockDeviceMappings": [{"Ebs": {"SnapshotId": "snap-1"}}]}
    assert shared_ami_access.foreign_keys(plain, "123456789012") == []
