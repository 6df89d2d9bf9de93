"""moto 5.2 lacks DeleteLaunchTemplateVersions; this adds it to moto, for the twin and the tests.

Real AWS: deleting version N removes it (the default version cannot be deleted); later reads of N fail with
InvalidLaunchTemplateId.VersionNotFound, listings skip it, and version numbers are never reused. moto keeps versions
in a list indexed by number, so a deleted version stays in the list, marked, and is hidden from every read.
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.exceptions import InvalidLaunchTemplateVersionNotFound
from moto.ec2.models.launch_templates import LaunchTemplate, LaunchTemplateBackend
from moto.ec2.responses.launch_templates import LaunchTemplates

from bluegreen.twin.patching import Patches

_original_get_version = LaunchTemplate.get_version
_original_describe_versions = LaunchTemplateBackend.describe_launch_template_versions


def _deleted(template: LaunchTemplate) -> set[int]:
    return template.__dict__.setdefault("_deleted_versions", set())


def _get_version(self: LaunchTemplate, num: Any) -> Any:
    version = _original_get_version(self, num)
    if version.number in _deleted(self):
        raise InvalidLaunchTemplateVersionNotFound(template_id=self.id, version=num)
    return version


def _describe_versions(self: LaunchTemplateBackend, *args: Any, **kwargs: Any) -> list:
    found = _original_describe_versions(self, *args, **kwargs)
    return [(template, version) for template, version in found if version.number not in _deleted(template)]


def _delete_versions(self: LaunchTemplates) -> ActionResult:
    template_id = self._get_param("LaunchTemplateId")
    name = self._get_param("LaunchTemplateName")
    template = (
        self.ec2_backend.get_launch_template(template_id)
        if template_id
        else self.ec2_backend.get_launch_template_by_name(name)
    )
    done, failed = [], []
    for raw in self._get_param("Versions", []):
        number = int(raw)
        row = {"LaunchTemplateId": template.id, "LaunchTemplateName": template.name, "VersionNumber": number}
        if number == template.default_version_number:
            failed.append({**row, "ResponseError": {"Code": "launchTemplateVersionIsDefault"}})
        elif number < 1 or number > len(template.versions) or number in _deleted(template):
            failed.append({**row, "ResponseError": {"Code": "launchTemplateVersionDoesNotExist"}})
        else:
            _deleted(template).add(number)
            done.append(row)
    return ActionResult(
        {"SuccessfullyDeletedLaunchTemplateVersions": done, "UnsuccessfullyDeletedLaunchTemplateVersions": failed}
    )


patches = Patches(
    __name__,
    (LaunchTemplate, "get_version", _get_version),
    (LaunchTemplateBackend, "describe_launch_template_versions", _describe_versions),
    (LaunchTemplates, "delete_launch_template_versions", _delete_versions),
)
install, uninstall = patches.install, patches.uninstall
