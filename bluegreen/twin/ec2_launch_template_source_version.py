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

The same request's `ClientToken` (EC2 API Reference, "CreateLaunchTemplateVersion"; EC2 Developer Guide, "Ensuring
idempotency in Amazon EC2 API requests"): a request repeated with a token already used, and the same parameters,
makes nothing and returns the original version; with other parameters it fails with IdempotentParameterMismatch.
moto ignores the token and makes a second version, so a retried CreateGreenGroup would leave an orphan version.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.exceptions import EC2ClientError
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


def _template(self: LaunchTemplates) -> Any:
    name, template_id = self._get_param("LaunchTemplateName"), self._get_param("LaunchTemplateId")
    if template_id:
        return self.ec2_backend.get_launch_template(template_id)
    return self.ec2_backend.get_launch_template_by_name(name)


def _create_version(self: LaunchTemplates) -> ActionResult:
    """The request's token first: a repeated request returns what the first one made."""
    token = self._get_param("ClientToken")
    if not token:
        return _create_new_version(self)
    template = _template(self)
    request = json.dumps(
        [self._get_param(p) for p in ("SourceVersion", "VersionDescription", "LaunchTemplateData")], sort_keys=True
    )
    made = template.__dict__.setdefault("_client_tokens", {})
    if token in made:
        if made[token][0] != request:
            raise EC2ClientError(
                "IdempotentParameterMismatch",
                "Arguments on this idempotent request are inconsistent with arguments used in previous request(s).",
            )
        return ActionResult(copy.deepcopy(made[token][1]))
    result = _create_new_version(self)
    made[token] = (request, copy.deepcopy(result.result))
    return result


def _create_new_version(self: LaunchTemplates) -> ActionResult:
    source = self._get_param("SourceVersion")
    if source is None:
        return _original_create_version(self)
    template = _template(self)
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
