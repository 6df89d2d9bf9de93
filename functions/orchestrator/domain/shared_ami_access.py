"""Can this account copy another account's AMI: a copy reads the AMI's storage, which a launch does not.

"To copy an AMI that was shared with you from another account, the owner of the source AMI must grant you read
permissions for the storage that backs the AMI, which is the associated EBS snapshot" (EC2 User Guide, "Copy an Amazon
EC2 AMI"); without it CopyImage fails ("You do not have permission to access the storage of this ami"). This account
cannot read the attributes of a snapshot it does not own (DescribeSnapshotAttribute is the owner's), but
DescribeSnapshots by id lists "private snapshots owned by other Amazon Web Services accounts for which you have
explicit create volume permissions" (EC2 API, "DescribeSnapshots") and answers InvalidSnapshot.NotFound for one that
is not shared with it: that look-up is the plan's test. So the plan refuses the copy before anything changes, naming
each snapshot and the owner's command that shares it.
"""

from __future__ import annotations

from orchestrator.adapters import ec2, kms
from orchestrator.models import PlanItem


def share_command(snapshot_id: str, account: str) -> str:
    """What the AMI's owner runs, in its own account, so that `account` may read the snapshot."""
    return (
        f"aws ec2 modify-snapshot-attribute --snapshot-id {snapshot_id} --attribute createVolumePermission"
        f" --operation-type add --user-ids {account}"
    )


def unreadable_snapshots(image: dict) -> list[tuple[str, str]]:
    """(device, snapshot id) of each EBS snapshot behind the AMI that this account cannot read."""
    found = []
    for mapping in image.get("BlockDeviceMappings", []):
        snapshot_id = (mapping.get("Ebs") or {}).get("SnapshotId")
        if snapshot_id and ec2.describe_snapshot(snapshot_id) is None:
            found.append((str(mapping.get("DeviceName")), snapshot_id))
    return found


def copy_refusals(image: dict, account: str) -> list[PlanItem]:
    """What refuses a copy of another account's AMI into `account`: each snapshot it may not read."""
    owner = str(image.get("OwnerId", ""))
    return [
        PlanItem(
            what="AMI",
            detail=(
                f"{image['ImageId']}: copy_shared needs snapshot {snapshot_id} ({device}) shared with this account"
                f" ({account}), and account {owner} has not shared it: there, run"
                f" `{share_command(snapshot_id, account)}` (Packer: snapshot_users)"
            ),
        )
        for device, snapshot_id in unreadable_snapshots(image)
    ]


# Launching from another account's encrypted AMI: Auto Scaling's service-linked role needs a grant on the key, created
# from this account (Auto Scaling User Guide, "Required AWS KMS key policy for use with encrypted volumes", example 2;
# Knowledge Center, "kms-launch-ec2-instance": "You must create AWS KMS grants from the account that owns the Amazon
# EC2 Auto Scaling group, not the AWS KMS account").
AUTOSCALING_ROLE = "role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
GRANT_NAME = "bluegreen-autoscaling"
GRANT_OPERATIONS = [
    "Encrypt",
    "Decrypt",
    "ReEncryptFrom",
    "ReEncryptTo",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "DescribeKey",
    "CreateGrant",
]


def autoscaling_role(account: str) -> str:
    return f"arn:aws:iam::{account}:{AUTOSCALING_ROLE}"


def grant_command(key_arn: str, account: str) -> str:
    """What someone allowed kms:CreateGrant on the key runs in this account, once the key's owner allows it."""
    return (
        f"aws kms create-grant --key-id {key_arn} --grantee-principal {autoscaling_role(account)}"
        f" --operations {' '.join(GRANT_OPERATIONS)} --name {GRANT_NAME}"
    )


def key_account(key_arn: str) -> str:
    parts = key_arn.split(":")
    return parts[4] if len(parts) > 5 and parts[0] == "arn" else ""


def foreign_keys(image: dict, account: str) -> list[tuple[str, str]]:
    """(snapshot id, key ARN) of each encrypted snapshot behind the AMI whose key another account owns (and that this
    account can see: a snapshot not shared here hides its key)."""
    found = []
    for mapping in image.get("BlockDeviceMappings", []):
        ebs = mapping.get("Ebs") or {}
        if not ebs.get("Encrypted") or not ebs.get("SnapshotId"):
            continue
        key = (ec2.describe_snapshot(ebs["SnapshotId"]) or {}).get("KmsKeyId") or ""
        if key_account(key) not in ("", account):
            found.append((ebs["SnapshotId"], key))
    return found


def launch_grants(image: dict, account: str, dry_run: bool) -> tuple[list[PlanItem], list[str]]:
    """(what refuses the release, what the plan says) for launching another account's encrypted AMI: bluegreen grants
    the group's service-linked role use of each key (not in a dry run), or refuses naming the command that would."""
    refused: list[PlanItem] = []
    notes: list[str] = []
    for snapshot_id, key in dict.fromkeys(foreign_keys(image, account)):
        if dry_run:
            notes.append(f"snapshot {snapshot_id}: AWSServiceRoleForAutoScaling would be granted use of KMS key {key}")
            continue
        problem = kms.create_grant(key, autoscaling_role(account), GRANT_OPERATIONS, GRANT_NAME)
        if problem is None:
            notes.append(f"snapshot {snapshot_id}: AWSServiceRoleForAutoScaling may use KMS key {key} (grant)")
            continue
        refused.append(
            PlanItem(
                what="AMI",
                detail=(
                    f"{image['ImageId']}: Auto Scaling cannot launch it: snapshot {snapshot_id} is encrypted with KMS"
                    f" key {key} of account {key_account(key)}, and bluegreen could not grant this account's"
                    f" AWSServiceRoleForAutoScaling use of it ({problem}): the key's policy must allow account"
                    f" {account} kms:CreateGrant; then bluegreen grants it, or run `{grant_command(key, account)}`"
                ),
            )
        )
    return refused, notes
