"""moto 5.2 loses an instance's instance profile in two places; here an instance has the profile its association names.

Real AWS:
- an instance launched from a launch template that names an instance profile gets that profile ("IamInstanceProfile:
  The name or Amazon Resource Name (ARN) of an IAM instance profile", EC2 API, "RequestLaunchTemplateData"), whether
  RunInstances or Auto Scaling launches it; DescribeIamInstanceProfileAssociations lists the association, and
  DescribeInstances shows the profile ("IamInstanceProfile: The IAM instance profile associated with the instance, if
  applicable", EC2 API, "Instance"). moto associates a profile only when RunInstances names one, and then only with
  the first of the instances it launches; an Auto Scaling group's instances never get their template's profile;
- ReplaceIamInstanceProfileAssociation "Replaces an IAM instance profile for the specified running instance" (EC2
  API, "ReplaceIamInstanceProfileAssociation"): afterwards the association and DescribeInstances name the new
  profile. moto changes the association but DescribeInstances keeps showing the old profile, so a quarantined
  instance would look as if it still had its role.
"""

from __future__ import annotations

from typing import Any

from moto.ec2.models.iam_instance_profile import IamInstanceProfileAssociationBackend
from moto.ec2.models.instances import InstanceBackend

from bluegreen.twin.patching import Patches

_original_run = InstanceBackend.run_instances
_original_replace = IamInstanceProfileAssociationBackend.replace_iam_instance_profile_association


def _run_instances(
    self: Any, image_id: str, count: int, user_data: Any, security_group_names: Any, **kwargs: Any
) -> Any:
    reservation = _original_run(self, image_id, count, user_data, security_group_names, **kwargs)
    named = {"Arn": kwargs.get("iam_instance_profile_arn"), "Name": kwargs.get("iam_instance_profile_name")}
    profile = {k: v for k, v in named.items() if v}
    skip_first = bool(profile)  # moto's RunInstances response associates the first instance itself
    if not profile and kwargs.get("launch_template"):
        profile = self._get_template_from_args(kwargs["launch_template"]).data.get("IamInstanceProfile") or {}
    if not profile:
        return reservation
    for index, instance in enumerate(reservation.instances):
        if (skip_first and index == 0) or instance.id in self.iam_instance_profile_associations:
            continue
        self.associate_iam_instance_profile(
            instance_id=instance.id,
            iam_instance_profile_name=profile.get("Name"),
            iam_instance_profile_arn=profile.get("Arn"),
        )
    return reservation


def _replace(
    self: Any,
    association_id: str,
    iam_instance_profile_name: str | None = None,
    iam_instance_profile_arn: str | None = None,
) -> Any:
    association = _original_replace(self, association_id, iam_instance_profile_name, iam_instance_profile_arn)
    profile = association.iam_instance_profile
    self.modify_instance_attribute(
        association.instance_id, "iam_instance_profile", {"Arn": profile.arn, "Id": profile.id}
    )
    return association


patches = Patches(
    __name__,
    (InstanceBackend, "run_instances", _run_instances),
    (IamInstanceProfileAssociationBackend, "replace_iam_instance_profile_association", _replace),
)
install, uninstall = patches.install, patches.uninstall
