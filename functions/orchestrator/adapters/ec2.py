"""EC2: AMIs, launch template versions and instance types; instances, interfaces and snapshots (quarantine)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from orchestrator.adapters.aws import client, error_code, paginate
from orchestrator.errors import AmiInvalidError, LaunchTemplateVersionNotDeletedError, NotFoundError


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
            f"ami_id: {ami_id} does not exist in {region} (deregistered, or made in another region: AMIs are"
            f" regional, copy it here with `aws ec2 copy-image --source-region ...`)"
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


def launch_template_versions(template_id: str, api: Any = None) -> tuple[int, int]:
    """The (default, latest) version numbers of a launch template."""
    api = api or client("ec2")
    try:
        template = api.describe_launch_templates(LaunchTemplateIds=[template_id])["LaunchTemplates"][0]
    except ClientError as err:
        if error_code(err).startswith("InvalidLaunchTemplate"):
            raise NotFoundError(f"launch_template_id: {template_id} does not exist") from None
        raise
    return int(template["DefaultVersionNumber"]), int(template["LatestVersionNumber"])


# DeleteLaunchTemplateVersions reports each version's failure in the response body, not as an error.
_GONE = "launchTemplateVersionDoesNotExist"
KEPT_AS_DEFAULT = "launchTemplateVersionIsDefault"


def delete_launch_template_version(template_id: str, version: int, api: Any = None) -> str | None:
    """Delete one version. None when it is gone (also when it already was); the failure code when AWS keeps it
    for good (it is the template's default); LaunchTemplateVersionNotDeletedError for any other failure."""
    api = api or client("ec2")
    try:
        answer = api.delete_launch_template_versions(LaunchTemplateId=template_id, Versions=[str(version)])
    except ClientError as err:
        if error_code(err).startswith("InvalidLaunchTemplate"):
            return None
        raise
    for failed in answer.get("UnsuccessfullyDeletedLaunchTemplateVersions", []):
        code = failed.get("ResponseError", {}).get("Code", "")
        if code == _GONE:
            return None
        if code == KEPT_AS_DEFAULT:
            return code
        message = failed.get("ResponseError", {}).get("Message", "")
        raise LaunchTemplateVersionNotDeletedError(f"{template_id} version {version}: {code} {message}".strip())
    return None


def architectures_of(instance_types: list[str], api: Any = None) -> set[str]:
    """The CPU architectures every one of these instance types supports."""
    api = api or client("ec2")
    found = api.describe_instance_types(InstanceTypes=instance_types)["InstanceTypes"]
    sets = [set(t["ProcessorInfo"]["SupportedArchitectures"]) for t in found]
    return set.intersection(*sets) if sets else set()


# --- instances, interfaces, volumes and snapshots: the quarantine path ------------------------------------------


def describe_instances(instance_ids: list[str], api: Any = None) -> dict[str, dict]:
    """Each instance that exists, by id; ids that do not exist (or are malformed) are left out."""
    api = api or client("ec2")
    if not instance_ids:
        return {}
    try:
        pages = api.get_paginator("describe_instances").paginate(InstanceIds=instance_ids)
        return {i["InstanceId"]: i for page in pages for r in page["Reservations"] for i in r["Instances"]}
    except ClientError as err:
        # One unknown id fails the whole call; ask one by one to find which ones exist.
        if not error_code(err).startswith("InvalidInstanceID") or len(instance_ids) == 1:
            if error_code(err).startswith("InvalidInstanceID"):
                return {}
            raise
    found: dict[str, dict] = {}
    for instance_id in instance_ids:
        found.update(describe_instances([instance_id], api))
    return found


def tag_of(resource: dict, key: str) -> str | None:
    return next((t["Value"] for t in resource.get("Tags", []) if t["Key"] == key), None)


def protect_from_termination(instance_id: str, api: Any = None) -> None:
    (api or client("ec2")).modify_instance_attribute(InstanceId=instance_id, DisableApiTermination={"Value": True})


def is_termination_protected(instance_id: str, api: Any = None) -> bool:
    found = (api or client("ec2")).describe_instance_attribute(
        InstanceId=instance_id, Attribute="disableApiTermination"
    )
    return bool(found.get("DisableApiTermination", {}).get("Value"))


def tag_resources(resource_ids: list[str], tags: dict[str, str], api: Any = None) -> None:
    (api or client("ec2")).create_tags(Resources=resource_ids, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])


def set_interface_groups(interface_id: str, group_ids: list[str], api: Any = None) -> None:
    """Replace (not add to) the security groups of one network interface."""
    (api or client("ec2")).modify_network_interface_attribute(NetworkInterfaceId=interface_id, Groups=group_ids)


def interfaces_of(instance_id: str, api: Any = None) -> list[dict]:
    """Every network interface attached to the instance, as EC2 describes it now."""
    api = api or client("ec2")
    filters = [{"Name": "attachment.instance-id", "Values": [instance_id]}]
    return paginate(api, "describe_network_interfaces", "NetworkInterfaces", Filters=filters)


def case_snapshot(volume_id: str, tag_key: str, case_id: str, api: Any = None) -> str | None:
    """The snapshot of this volume already taken for this case, if any (a retried isolation takes no second one)."""
    api = api or client("ec2")
    filters = [{"Name": "volume-id", "Values": [volume_id]}, {"Name": f"tag:{tag_key}", "Values": [case_id]}]
    found = paginate(api, "describe_snapshots", "Snapshots", OwnerIds=["self"], Filters=filters)
    return found[0]["SnapshotId"] if found else None


def snapshot_volume(volume_id: str, description: str, tags: dict[str, str], api: Any = None) -> str:
    """Start a snapshot (point in time now; it completes in the background), tagged as it is created."""
    created = (api or client("ec2")).create_snapshot(
        VolumeId=volume_id,
        Description=description[:255],
        TagSpecifications=[{"ResourceType": "snapshot", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}],
    )
    return created["SnapshotId"]
