"""EC2: AMIs, launch template versions and instance types."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from orchestrator.adapters.aws import client, error_code
from orchestrator.errors import AmiInvalidError, NotFoundError


def describe_image(ami_id: str, api: Any = None) -> dict:
    api = api or client("ec2")
    try:
        images = api.describe_images(ImageIds=[ami_id])["Images"]
    except ClientError as err:
        if error_code(err).startswith("InvalidAMIID"):
            images = []
        else:
            raise
    if not images:
        region = api.meta.region_name
        raise AmiInvalidError(
            f"ami_id: {ami_id} does not exist in {region} (AMIs are regional: copy it here with `aws ec2 copy-image`)"
        )
    return images[0]


def image_tag(image: dict, key: str) -> str | None:
    return next((t["Value"] for t in image.get("Tags", []) if t["Key"] == key), None)


def launch_template_data(template_id: str, version: str, api: Any = None) -> dict:
    api = api or client("ec2")
    try:
        versions = api.describe_launch_template_versions(LaunchTemplateId=template_id, Versions=[version])
    except ClientError as err:
        if error_code(err).startswith("InvalidLaunchTemplate"):
            raise NotFoundError(f"launch_template_id: {template_id} version {version} does not exist") from None
        raise
    return versions["LaunchTemplateVersions"][0]


def create_launch_template_version(
    template_id: str, source_version: str, ami_id: str, note: str, api: Any = None
) -> int:
    """A new version identical to the source but for the AMI."""
    api = api or client("ec2")
    created = api.create_launch_template_version(
        LaunchTemplateId=template_id,
        SourceVersion=source_version,
        VersionDescription=note[:255],
        LaunchTemplateData={"ImageId": ami_id},
    )
    return int(created["LaunchTemplateVersion"]["VersionNumber"])


def delete_launch_template_version(template_id: str, version: int, api: Any = None) -> None:
    api = api or client("ec2")
    try:
        api.delete_launch_template_versions(LaunchTemplateId=template_id, Versions=[str(version)])
    except ClientError as err:
        if not error_code(err).startswith("InvalidLaunchTemplate"):
            raise


def architectures_of(instance_types: list[str], api: Any = None) -> set[str]:
    """The CPU architectures every one of these instance types supports."""
    api = api or client("ec2")
    found = api.describe_instance_types(InstanceTypes=instance_types)["InstanceTypes"]
    sets = [set(t["ProcessorInfo"]["SupportedArchitectures"]) for t in found]
    return set.intersection(*sets) if sets else set()
