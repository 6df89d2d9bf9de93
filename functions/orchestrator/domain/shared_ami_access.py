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

from orchestrator.adapters import ec2
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
