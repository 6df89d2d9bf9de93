"""AMIs a build account makes for this one: one whose event arrived before it was shared, and the approval its
releases may need.

A forwarded "EC2 AMI State Change" names an AMI of the build account. This account sees it only once the owner shares
it: "The images available to you include [...] private images owned by other Amazon Web Services accounts for which
you have explicit launch permissions" (EC2 API, "DescribeImages"). Packer's amazon-ebs builder shares (`ami_users`)
only after the AMI is available, so the event can arrive first; sharing sends no event of its own. Prepare looks again
until the settle deadline (as for a late tag), then gives up with this reason: from here, an AMI never shared and one
deregistered look the same.

An owner-and-name rule trusts the build account: anyone there who can build an AMI whose name matches the pattern and
share it with this account releases it to production. `ami_source.build_account_approval` makes such a release (and
the release of this account's copy of such an AMI, `copy_shared`) wait for a human before any traffic when an event
started it; a release by name is already a human's decision.
"""

from __future__ import annotations

from orchestrator.adapters import ec2
from orchestrator.config import AppConfig

APPROVAL_NOTE = "approval:"  # the plan's note that this release waits for a human because a build account made it


def not_visible(ami_id: str, owner: str, account: str) -> str:
    """Why a forwarded AMI is ignored once the wait for its share is over, and what to do."""
    return (
        f"AMI {ami_id} of account {owner} is not visible in account {account}: {owner} has not shared it with"
        f" {account} (or deregistered it). Share it first (aws ec2 modify-image-attribute --image-id {ami_id}"
        f" --launch-permission 'Add=[{{UserId={account}}}]', in {owner}), then release it by name:"
        f" bluegreen deploy <app> --ami {ami_id}"
    )


def build_account_approval(config: AppConfig, image: dict, account: str, source: str) -> str | None:
    """Why this release must wait for approval before traffic (the plan's note), or None."""
    if not (config.ami_source and config.ami_source.build_account_approval) or source not in ("event", "queue"):
        return None
    owner = image.get("OwnerId")
    copied_from = ec2.image_tag(image, ec2.TAG_SOURCE_AMI)
    if owner and owner != account:
        made = f"made by build account {owner}"
    elif copied_from:
        made = f"this account's copy of {copied_from}, made by a build account"
    else:
        return None
    return (
        f"{APPROVAL_NOTE} {image['ImageId']} is {made}; ami_source.build_account_approval asks a human before traffic"
    )
