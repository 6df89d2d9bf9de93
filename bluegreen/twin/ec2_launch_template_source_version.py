"""moto 5.2 ignores CreateLaunchTemplateVersion's SourceVersion: the new version holds only the fields given.

Real AWS (EC2 API Reference, "CreateLaunchTemplateVersion", `SourceVersion`): "If you specify this parameter, the new
version inherits the launch parameters from the source version. If you specify additional launch parameters for the
new version, they overwrite any corresponding launch parameters inherited from the source version." and "Snapshots
applied to the block device mapping are ignored when creating a new version unless they are explicitly included."
A launch parameter is a top-level field of `LaunchTemplateData`, so a given `NetworkInterfaces` (or
`BlockDeviceMappings`, `TagSpecifications`...) list replaces the inherited list whole; nothing is merged inside it.
The twin also resolves `$Latest` and `$Default` (the aliases DescribeLaunchTemplateVersions takes; the SourceVersion
text itself speaks only of a version); a version that does not exist, or was deleted, is refused with
InvalidLaunchTemplateId.VersionNotFound.

moto stores only what was given, so a new version made of `{"ImageId": ...}` launches instances with no instance
type, security groups, user data or metadata options.
"""

from __future__ import annotations

import copy
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.responses.launch_templates import LaunchTemplates
from moto.ec2.utils import parse_user_data

from bluegreen.twin.patching import Patches

_original_create_version = LaunchTemplates.create_launch_template_version


def _inherited(source_data: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(source_data)
    for mapping in data.get("BlockDeviceMappings") or []:
        # AWS drops inherited snapshot ids; only a mapping given with the new version keeps its snapshot.
        (mapping.get("Ebs") or {}).pop("SnapshotId", None)
    return data


def _create_version(self: LaunchTemplates) -> ActionResult:
    source = self._get_param("SourceVersion")
    if source is None:
        return _original_create_version(self)
    name, template_id = self._get_param("LaunchTemplateName"), self._get_param("LaunchTemplateId")
    template = (
        self.ec2_backend.get_launch_template(template_id)
        if template_id
        else self.ec2_backend.get_launch_template_by_name(name)
    )
    given = self._get_param("LaunchTemplateData", {})
    if "UserData" in given:
        # Stored parsed, as CreateLaunchTemplate stores it, so Auto Scaling can launch from this version.
        given["UserData"] = parse_user_data(self._get_param("LaunchTemplateData.UserData"))
    data = {**_inherited(template.get_version(source).data), **given}
    self.error_on_dryrun()
    version = template.create_version(data, self._get_param("VersionDescription"))
    return ActionResult(
        {
            "LaunchTemplateVersion": {
                "CreateTime": version.create_time,
                "CreatedBy": f"arn:{self.partition}:iam::{self.current_account}:root",
                "DefaultVersion": template.is_default(version),
                "LaunchTemplateData": version.data,
                "LaunchTemplateId": template.id,
                "LaunchTemplateName": template.name,
                "VersionDescription": version.description,
                "VersionNumber": version.number,
            },
        }
    )


patches = Patches(__name__, (LaunchTemplates, "create_launch_template_version", _create_version))
install, uninstall = patches.install, patches.uninstall
