"""moto 5.2 answers DescribeLaunchTemplates for an id that does not exist with an empty list; AWS refuses it.

Real AWS (EC2 API Reference, "DescribeLaunchTemplates"; the error as EC2 returns it, quoted in
aws/karpenter-provider-aws#5665): asking for a launch template by an id that does not exist fails with
`InvalidLaunchTemplateId.NotFound` "The specified launch template, with template ID lt-..., does not exist." (moto
already refuses an unknown name.) A caller that reads the first template of the answer meets an error it can name,
not an empty list.
"""

from __future__ import annotations

from typing import Any

from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models.launch_templates import LaunchTemplateBackend

from bluegreen.twin.patching import Patches

_original_describe = LaunchTemplateBackend.describe_launch_templates


def _describe(
    self: LaunchTemplateBackend, template_names: Any = None, template_ids: Any = None, filters: Any = None
) -> Any:
    for template_id in template_ids or []:
        if template_id not in self.launch_templates:
            raise EC2ClientError(
                "InvalidLaunchTemplateId.NotFound",
                f"The specified launch template, with template ID {template_id}, does not exist.",
            )
    return _original_describe(self, template_names, template_ids, filters)


patches = Patches(__name__, (LaunchTemplateBackend, "describe_launch_templates", _describe))
install, uninstall = patches.install, patches.uninstall
