"""AMIs owned by another account (a central build account): can this account launch them, and copy them.

"You do not need to share the Amazon EBS snapshots that an AMI references in order to share the AMI. Only the AMI
itself needs to be shared [...] However, you do need to share the KMS keys used to encrypt snapshots that the AMI
references" (EC2 User Guide, "Share an AMI with specific AWS accounts"). An instance launched from an AMI whose
encrypted snapshot uses a key this account cannot use fails to launch, so that is said in the plan, before anything
changes.
"""

from __future__ import annotations

from orchestrator.adapters import ec2, kms
from orchestrator.models import PlanItem


def owner_of(image: dict) -> str:
    return str(image.get("OwnerId", ""))


def is_shared(image: dict, account: str) -> bool:
    return bool(account) and owner_of(image) != account


def check(image: dict, account: str) -> tuple[list[PlanItem], list[str]]:
    """(what refuses the release, what the plan should say) for an AMI of another account.

    That this account sees the AMI at all is its launch permission: DescribeImages lists "private images owned by other
    AWS accounts for which you have explicit launch permissions" (EC2 API, "DescribeImages").
    """
    if not is_shared(image, account):
        return [], []
    refused: list[PlanItem] = []
    notes = [f"AMI {image['ImageId']} is owned by {owner_of(image)} and shared with this account ({account})"]
    for mapping in image.get("BlockDeviceMappings", []):
        ebs = mapping.get("Ebs") or {}
        if not ebs.get("Encrypted"):
            continue
        snapshot = ec2.describe_snapshot(ebs["SnapshotId"]) if ebs.get("SnapshotId") else None
        key = (snapshot or {}).get("KmsKeyId")
        if not key:
            notes.append(
                f"{mapping.get('DeviceName')}: snapshot {ebs.get('SnapshotId')} is encrypted with a key this account"
                " cannot see (the snapshot is not shared with it): the launch fails unless account"
                f" {owner_of(image)} allows this account to use that key"
            )
            continue
        problem = kms.key_problem(key)
        if problem:
            refused.append(
                PlanItem(
                    what="AMI",
                    detail=(
                        f"{image['ImageId']}: {mapping.get('DeviceName')} (snapshot {ebs['SnapshotId']}) is encrypted"
                        f" with KMS key {key}, which this account cannot use ({problem}): instances would fail to"
                        f" launch. Ask account {owner_of(image)} to allow this account kms:DescribeKey, kms:Decrypt,"
                        " kms:ReEncrypt*, kms:GenerateDataKey* and kms:CreateGrant in the key's policy"
                    ),
                )
            )
    return refused, notes
