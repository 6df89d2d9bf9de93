"""moto's AMIs are never encrypted; EC2 makes an encrypted AMI (CopyImage with `Encrypted`) and says so.

Real AWS (EC2 API, "CopyImage"): "Encrypted: Specifies whether the destination snapshots of the copied image should be
encrypted. [...] KmsKeyId: The identifier of the symmetric AWS KMS key to use when creating encrypted volumes. If this
parameter is not specified, your AWS managed KMS key for Amazon EBS is used." (EC2 User Guide, "Use encryption with
EBS-backed AMIs"): "Amazon EBS snapshots that back an AMI can be encrypted [...] When you copy an AMI [...] if the
source is encrypted, the copy is encrypted", and a copy of an encrypted AMI another account shared is encrypted with a
key of the copier ("you must re-encrypt it using a key that you own"). DescribeImages shows each mapping's
`Ebs.Encrypted`, and DescribeSnapshots the snapshot's `Encrypted` and `KmsKeyId`.

moto drops CopyImage's `Encrypted` and `KmsKeyId` and shows no `Encrypted` in an AMI's block device mappings. Here
`encrypt` (called by ec2_image_states, which answers CopyImage) encrypts the copy's snapshot with the key asked for, or
the account's AWS managed key for EBS (`alias/aws/ebs`); ec2_image_copy_access encrypts a copy of an encrypted AMI
the same way; and an AMI's block device mappings show `Encrypted` as its snapshot is.
"""

from __future__ import annotations

from typing import Any

from moto.ec2.models.amis import Ami

from bluegreen.twin.patching import Patches

_original_mappings = Ami.block_device_mappings


def default_key(account: str, region: str) -> str:
    """The account's AWS managed key for EBS, as an alias ARN (Auto Scaling needs no grant on it)."""
    return f"arn:aws:kms:{region}:{account}:alias/aws/ebs"


def encrypt(ami: Any, key_id: str | None) -> None:
    """Make the AMI's snapshot encrypted with `key_id` (the account's AWS managed key for EBS when None)."""
    snapshot = ami.ebs_snapshot
    snapshot.encrypted = True
    snapshot.kms_key_id = key_id or default_key(ami.ec2_backend.account_id, ami.ec2_backend.region_name)


def key_of(ami: Any) -> str | None:
    """The KMS key that encrypts the AMI's snapshot; None when it is not encrypted."""
    snapshot = getattr(ami, "ebs_snapshot", None)
    return snapshot.kms_key_id if snapshot is not None and snapshot.encrypted else None


def _mappings(self: Ami) -> list[dict[str, Any]]:
    mappings = _original_mappings.fget(self)  # type: ignore[attr-defined]
    encrypted = bool(getattr(self.ebs_snapshot, "encrypted", False))
    for mapping in mappings:
        if "Ebs" in mapping:
            mapping["Ebs"]["Encrypted"] = encrypted
    return mappings


patches = Patches(__name__, (Ami, "block_device_mappings", property(_mappings)))
install, uninstall = patches.install, patches.uninstall
