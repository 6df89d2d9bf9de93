"""moto launches a group's instances whatever stands in the way and records no scaling activity; Auto Scaling fails
the launch and says why in the group's activities.

Real AWS (Auto Scaling API Reference, "DescribeScalingActivities"): "Gets information about the scaling activities
in the account and Region. [...] When scaling events occur, you see a record of the scaling activity in the scaling
activities"; an activity has `ActivityId`, `AutoScalingGroupName`, `Description`, `Cause`, `StartTime`, `EndTime`,
`StatusCode` (`Successful`, `Failed`, ...), `StatusMessage` ("A friendly, more verbose description of the activity
status") and `Progress`. (Auto Scaling User Guide, "Troubleshoot Amazon EC2 Auto Scaling: EC2 instance launch
failures"): when an instance cannot be launched, the activity's status is `Failed` and its message says why, e.g.
"Value (...) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name. Launching EC2
instance failed." and "There are not enough free addresses in subnet '...' to satisfy the requested number of
instances. Launching EC2 instance failed."; Auto Scaling keeps trying later, and the group stays short of its desired
capacity meanwhile. An instance whose encrypted volumes use a customer managed key the group's service-linked role may
not use "failed to launch" (Knowledge Center, "kms-launch-ec2-instance"): the activity says "Instance became unhealthy
while waiting for instance to be in InService state. Termination Reason: Client.InternalError: Client error on
launch". For another account's key the role needs a grant (Auto Scaling User Guide, "Required AWS KMS key policy for
use with encrypted volumes", example 2).

moto launches the instances with a profile that does not exist, or into a subnet with no address left, and its
DescribeScalingActivities always answers an empty list. Here a launch whose template names an instance profile that
does not exist in the account, or whose subnet (the one moto launches into: the first of the group's
VPCZoneIdentifier) has fewer free addresses than instances to launch, or whose AMI's snapshot is encrypted with another
account's key on which the account's AWSServiceRoleForAutoScaling holds no grant for Decrypt, GenerateDataKeyWithoutPlaintext and
CreateGrant (kms_cross_account_keys), launches nothing and records a `Failed` activity with AWS's message; every launch that succeeds records a `Successful` one. DescribeScalingActivities answers
the group's activities, newest first. Other causes (capacity, quotas, a key of its own account) are not modelled.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from moto.autoscaling.models import FakeAutoScalingGroup
from moto.autoscaling.responses import AutoScalingResponse
from moto.core.responses import ActionResult
from moto.iam.models import iam_backends

from bluegreen.twin import ec2_encrypted_images, kms_cross_account_keys
from bluegreen.twin.patching import Patches

_original_replace = FakeAutoScalingGroup.replace_autoscaling_group_instances
_lock = threading.Lock()
# (account, region, group name) -> the group's activities, oldest first. A group deleted and made again under the same
# name starts afresh (its ARN differs): the key keeps the ARN too.
_activities: dict[tuple[str, str, str], list[dict[str, Any]]] = {}


def _key(group: FakeAutoScalingGroup) -> tuple[str, str, str]:
    return (group.autoscaling_backend.account_id, group.region, group.arn)


def _record(group: FakeAutoScalingGroup, code: str, description: str, message: str | None = None) -> None:
    at = datetime.now(UTC)
    activity = {
        "ActivityId": str(uuid.uuid4()),
        "AutoScalingGroupName": group.name,
        "AutoScalingGroupARN": group.arn,
        "Description": description,
        "Cause": f"At {at:%Y-%m-%dT%H:%M:%SZ} an instance was started in response to a difference between desired and"
        " actual capacity.",
        "StartTime": at,
        "EndTime": at,
        "StatusCode": code,
        "Progress": 100,
        "Details": "{}",
    }
    if message:
        activity["StatusMessage"] = message
    with _lock:
        _activities.setdefault(_key(group), []).append(activity)


def _template_data(group: FakeAutoScalingGroup) -> dict[str, Any]:
    if not group.ec2_launch_template:
        return {}
    return group.ec2_launch_template.get_version(group.launch_template_version).data or {}


def _profile_problem(group: FakeAutoScalingGroup) -> str | None:
    named = _template_data(group).get("IamInstanceProfile") or {}
    if not named:
        return None
    profiles = iam_backends[group.autoscaling_backend.account_id]["global"].instance_profiles.values()
    if named.get("Arn") and any(p.arn == named["Arn"] for p in profiles):
        return None
    if named.get("Name") and any(p.name == named["Name"] for p in profiles):
        return None
    if named.get("Arn"):
        return (
            f"Value ({named['Arn']}) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile"
            " ARN. Launching EC2 instance failed."
        )
    return (
        f"Value ({named.get('Name')}) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile"
        " name. Launching EC2 instance failed."
    )


def _subnet_problem(group: FakeAutoScalingGroup, count: int) -> str | None:
    subnet_id = (group.vpc_zone_identifier or "").split(",")[0]
    if not subnet_id:
        return None
    subnet = group.autoscaling_backend.ec2_backend.get_subnet(subnet_id)
    if subnet.available_ip_address_count >= count:
        return None
    return (
        f"There are not enough free addresses in subnet '{subnet_id}' to satisfy the requested number of instances."
        " Launching EC2 instance failed."
    )


# What EBS does with the key when Auto Scaling launches from an encrypted snapshot, through the role's grant.
GRANT_OPERATIONS = {"Decrypt", "GenerateDataKeyWithoutPlaintext", "CreateGrant"}
CLIENT_ERROR = (
    "Instance became unhealthy while waiting for instance to be in InService state. Termination Reason:"
    " Client.InternalError: Client error on launch"
)


def _key_problem(group: FakeAutoScalingGroup) -> str | None:
    account = group.autoscaling_backend.account_id
    try:
        image = group.autoscaling_backend.ec2_backend.describe_images(ami_ids=[group.image_id])[0]
    except Exception:  # no such image: moto's own launch answers that
        return None
    key = ec2_encrypted_images.key_of(image)
    parts = kms_cross_account_keys.split_arn(key or "")
    if parts is None or parts[1] == account:  # not encrypted, an AWS managed key, or the account's own key
        return None
    role = kms_cross_account_keys.autoscaling_role(account)
    return None if kms_cross_account_keys.grantee_may_use(key or "", role, GRANT_OPERATIONS) else CLIENT_ERROR


def launch_problem(group: FakeAutoScalingGroup, count: int) -> str | None:
    """Why Auto Scaling could not launch `count` instances for the group now, as its activity says; None if it can."""
    return _profile_problem(group) or _subnet_problem(group, count) or _key_problem(group)


def _replace(self: FakeAutoScalingGroup, count_needed: int, propagated_tags: dict[str, str]) -> None:
    problem = launch_problem(self, count_needed)
    if problem:
        _record(self, "Failed", f"Launching a new EC2 instance.  Status Reason: {problem}", problem)
        return
    before = {state.instance.id for state in self.instance_states}
    _original_replace(self, count_needed, propagated_tags)
    for state in self.instance_states:
        if state.instance.id not in before:
            _record(self, "Successful", f"Launching a new EC2 instance: {state.instance.id}")


def _describe(self: AutoScalingResponse) -> ActionResult:
    backend = self.autoscaling_backend
    name = self._get_param("AutoScalingGroupName")
    groups = [g for g in backend.autoscaling_groups.values() if name in (None, g.name)]
    with _lock:
        found = [a for g in groups for a in _activities.get(_key(g), [])]
    found.sort(key=lambda a: a["StartTime"], reverse=True)
    limit = int(self._get_param("MaxRecords") or 100)
    return ActionResult({"Activities": found[:limit]})


def reset() -> None:
    with _lock:
        _activities.clear()


patches = Patches(
    __name__,
    (FakeAutoScalingGroup, "replace_autoscaling_group_instances", _replace),
    (AutoScalingResponse, "describe_scaling_activities", _describe),
)
install, uninstall = patches.install, patches.uninstall
