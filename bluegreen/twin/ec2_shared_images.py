"""moto keeps each account's AMIs to itself; the twin lets an account see, launch and copy an AMI another account
shared with it, without the owner's tags, as EC2 does.

Real AWS (EC2 API, "DescribeImages"): "The images available to you include public images, private images that you
own, and private images owned by other Amazon Web Services accounts for which you have explicit launch permissions."
`Owners` filters by the owner's account id and `ExecutableUsers=self` lists the images this account may launch. (EC2
User Guide, "Share an AMI with specific AWS accounts"): sharing is a launch permission (`ModifyImageAttribute`
`LaunchPermission.Add` `UserId`), and "User-defined tags that you attach to a shared AMI are available only in your
AWS account and not in the other accounts that the AMI is shared with" (EC2 User Guide, "Tag your Amazon EC2
resources"); an account may tag a shared AMI for itself, seen only by itself. The account it is shared with can
launch it (RunInstances, a launch template version) and copy it into its own account (CopyImage, "Copy an AMI":
"you can copy an AMI that another account shared with you").

moto lists only the caller's own AMIs (and its copies of the public catalogue), so a shared AMI is
`InvalidAMIID.NotFound` in the account it is shared with, and CopyImage cannot find it. Here DescribeImages (and so
CopyImage and an instance's image lookup, which use it) also finds the other accounts' AMIs of the region that are
shared with the caller, each seen through a view that carries the caller's own tags on it, not the owner's.
"""

from __future__ import annotations

from typing import Any

from moto.ec2.models import ec2_backends
from moto.ec2.models.amis import Ami, AmiBackend

from bluegreen.twin.patching import Patches

_original = AmiBackend.describe_images


class SharedAmi(Ami):
    """Another account's AMI as the account it is shared with sees it: the viewer's tags, not the owner's."""

    viewer: Any

    def get_tags(self) -> list[dict[str, str]]:
        return self.viewer.describe_tags(filters={"resource-id": [self.id]})


def _view(ami: Ami, viewer: Any) -> SharedAmi:
    view = object.__new__(SharedAmi)
    view.__dict__.update(ami.__dict__)
    view.viewer = viewer
    return view


def other_accounts(backend: Any) -> list[tuple[str, Any]]:
    """(account, its EC2 backend) of every other account that has one in this backend's region."""
    account, region = backend.account_id, backend.region_name
    return [
        (other, regions[region])
        for other, regions in list(ec2_backends.items())
        if other != account and region in regions
    ]


def shared_with(backend: Any) -> list[SharedAmi]:
    """The AMIs other accounts own in this region and share with this backend's account (or with everyone)."""
    account = backend.account_id
    found = []
    for other, theirs in other_accounts(backend):
        for ami in list(theirs.amis.values()):
            # The public catalogue is copied into every account's backend: only AMIs the other account made count.
            if ami.owner_id != other:
                continue
            if {"UserId": account} in ami.launch_permissions or ami.is_public:
                found.append(_view(ami, backend))
    return found


def _describe_images(
    self: AmiBackend,
    ami_ids: list[str] | None = None,
    filters: dict[str, Any] | None = None,
    exec_users: list[str] | None = None,
    owners: list[str] | None = None,
) -> list[Ami]:
    shared = shared_with(self)
    if ami_ids:
        mine_or_gone = [i for i in ami_ids if i in self.amis or i in self.deleted_amis]
        theirs = [view for view in shared if view.id in ami_ids]
        if not mine_or_gone and theirs:
            return list(theirs)
        images = _original(self, ami_ids=ami_ids, filters=filters, exec_users=exec_users, owners=owners)
        return images + [view for view in theirs if view not in images]
    images = _original(self, ami_ids=ami_ids, filters=filters, exec_users=exec_users, owners=owners)
    if owners:
        wanted = {self.account_id if o == "self" else o for o in owners}  # type: ignore[attr-defined]
        shared = [view for view in shared if view.owner_id in wanted]
    # Every shared AMI has this account in its launch permissions, so ExecutableUsers=self keeps them all.
    if exec_users and not ({"self", self.account_id} & set(exec_users)):  # type: ignore[attr-defined]
        shared = [view for view in shared if any({"UserId": u} in view.launch_permissions for u in exec_users)]
    if filters:
        from moto.ec2.utils import generic_filter

        shared = generic_filter(filters, shared)
    return images + shared


patches = Patches(__name__, (AmiBackend, "describe_images", _describe_images))
install, uninstall = patches.install, patches.uninstall
