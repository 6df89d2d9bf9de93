"""moto keeps each account's snapshots to itself and copies another account's AMI without reading its storage; EC2
shows a snapshot to the accounts it is shared with, and copies a shared AMI only for an account that may read its
snapshots.

Real AWS (EC2 User Guide, "Copy an Amazon EC2 AMI", "Permissions for copying ... shared AMIs"): "To copy an AMI that
was shared with you from another account, the owner of the source AMI must grant you read permissions for the storage
that backs the AMI, which is the associated EBS snapshot (for an Amazon EBS-backed AMI)"; without it CopyImage fails
with "You do not have permission to access the storage of this ami". Launching the AMI needs no such permission ("You
do not need to share the Amazon EBS snapshots that an AMI references in order to share the AMI", "Share an AMI with
specific AWS accounts"). A snapshot is shared with `ModifySnapshotAttribute` `createVolumePermission` (`UserIds`, or
`Group` `all` for public), and (EC2 API, "DescribeSnapshots") the snapshots described include "private snapshots
owned by other Amazon Web Services accounts for which you have explicit create volume permissions"; one by id that is
neither yours nor shared with you is `InvalidSnapshot.NotFound` ("The snapshot '...' does not exist.").

moto's CopyImage reads the source AMI through DescribeImages alone (a shared AMI is copied on its launch permission),
and its DescribeSnapshots finds only the caller's own snapshots. Here a snapshot of another account of the region
that is shared with the caller is found by id (lists without ids stay the caller's own), and CopyImage of another
account's AMI needs every snapshot behind it shared with the caller (or public), else `InvalidRequest` with AWS's
message.

A copy of an encrypted AMI re-encrypts its snapshots, so the copier must be able to use the source key: "the key
policy for the KMS key must give the external account [...] permission to use the KMS key" (KMS Developer Guide,
"Allowing users in other accounts to use a KMS key"), for `kms:Decrypt`, `kms:ReEncrypt*`, `kms:CreateGrant` and
`kms:DescribeKey` (EC2 User Guide, "Copy an AMI": "[...] you must have permissions to use the KMS key"); the copy is
encrypted with a key the copier owns, its AWS managed key for EBS unless it names one. CopyImage returns at once and
the copy is `pending`; a copy that cannot use the key ends `failed` (its `EC2 AMI State Change` event says `failed`,
with the error), which is what the copier sees. Here a copy of another account's AMI encrypted with a key whose policy
does not allow the copier's account those actions (kms_cross_account_keys) is made and left `failed`, the reason in its
`failed` event (ec2_image_states sends it); the caller's own IAM policy for that key use is authorized with CopyImage
(iam_requests).
"""

from __future__ import annotations

from typing import Any

from moto.ec2.exceptions import EC2ClientError, InvalidSnapshotIdError
from moto.ec2.models import ec2_backends
from moto.ec2.models.amis import AmiBackend
from moto.ec2.models.elastic_block_store import EBSBackend, Snapshot

from bluegreen.twin import ec2_encrypted_images, kms_cross_account_keys
from bluegreen.twin.ec2_shared_images import other_accounts
from bluegreen.twin.patching import Patches

_original_describe = EBSBackend.describe_snapshots
_original_copy = AmiBackend.copy_image


# What a copy does with the source key (kms_cross_account_keys checks the owner's key policy for each).
KEY_ACTIONS = ["kms:Decrypt", "kms:ReEncryptFrom", "kms:CreateGrant", "kms:DescribeKey"]
COPY_FAILED = "Copy failed: the KMS key of the source snapshots cannot be used"


class StorageNotReadableError(EC2ClientError):
    def __init__(self) -> None:
        super().__init__("InvalidRequest", "You do not have permission to access the storage of this ami")


def readable_by(snapshot: Snapshot, account: str) -> bool:
    """Whether `account` may read the snapshot: its own, shared with it, or public."""
    return (
        snapshot.owner_id == account
        or account in snapshot.create_volume_permission_userids
        or "all" in snapshot.create_volume_permission_groups
    )


def _others(backend: Any) -> list[Snapshot]:
    """Other accounts' snapshots in this region that this backend's account may read."""
    account = backend.account_id
    return [
        s for _, theirs in other_accounts(backend) for s in list(theirs.snapshots.values()) if readable_by(s, account)
    ]


def _describe(self: EBSBackend, snapshot_ids: list[str] | None = None, filters: Any = None) -> list[Snapshot]:
    if not snapshot_ids:
        return _original_describe(self, snapshot_ids=snapshot_ids, filters=filters)
    theirs = [s for s in _others(self) if s.id in snapshot_ids]
    mine_ids = [i for i in snapshot_ids if i in self.snapshots]  # type: ignore[attr-defined]
    if len(mine_ids) + len(theirs) < len(set(snapshot_ids)):
        raise InvalidSnapshotIdError()
    mine = _original_describe(self, snapshot_ids=mine_ids, filters=filters) if mine_ids else []
    if filters and theirs:
        from moto.ec2.utils import generic_filter

        theirs = generic_filter(filters, theirs)
    return mine + theirs


def snapshots_of(ami: Any) -> list[Snapshot]:
    """The snapshots behind an AMI (moto gives each AMI one, in its owner's backend)."""
    snapshot = getattr(ami, "ebs_snapshot", None)
    return [snapshot] if snapshot is not None else []


def _copy(
    self: AmiBackend,
    source_image_id: str,
    source_region: str,
    name: str | None = None,
    description: str | None = None,
) -> Any:
    source = ec2_backends[self.account_id][source_region].describe_images(ami_ids=[source_image_id])[0]  # type: ignore[attr-defined]
    account = self.account_id  # type: ignore[attr-defined]
    if source.owner_id != account and not all(readable_by(s, account) for s in snapshots_of(source)):
        raise StorageNotReadableError()
    copy = _original_copy(self, source_image_id, source_region, name, description)
    key = ec2_encrypted_images.key_of(source)
    if key is None:
        return copy
    # Re-encrypted with a key of the copier's: its own source key, else its AWS managed key for EBS.
    ec2_encrypted_images.encrypt(copy, key if source.owner_id == account else None)
    problem = kms_cross_account_keys.may_use(key, account, KEY_ACTIONS) if key.split(":")[4:5] != [account] else None
    if problem:
        copy.state = "failed"
        copy.failure = f"{COPY_FAILED}: {problem}"
    return copy


patches = Patches(
    __name__,
    (EBSBackend, "describe_snapshots", _describe),
    (AmiBackend, "copy_image", _copy),
)
install, uninstall = patches.install, patches.uninstall
