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
    template_id: str, source_version: str, ami_id: str, note: str, token: str, api: Any = None
) -> int:
    """A new version identical to the source but for the AMI. The same request with the same `token` (a retry) makes
    nothing and returns the version the first one made (EC2's client tokens: at most 64 characters here)."""
    api = api or client("ec2")
    created = api.create_launch_template_version(
        LaunchTemplateId=template_id,
        SourceVersion=source_version,
        VersionDescription=note[:255],
        LaunchTemplateData={"ImageId": ami_id},
        ClientToken=token[:64],
    )
    return int(created["LaunchTemplateVersion"]["VersionNumber"])


def version_described(template_id: str, ami_id: str, note: str, api: Any = None) -> int | None:
    """The number of the template's version for this AMI whose description is `note` (None if there is none)."""
    api = api or client("ec2")
    filters = [{"Name": "image-id", "Values": [ami_id]}]
    found = paginate(
        api,
        "describe_launch_template_versions",
        "LaunchTemplateVersions",
        LaunchTemplateId=template_id,
        Filters=filters,
    )
    return next((int(v["VersionNumber"]) for v in found if v.get("VersionDescription") == note[:255]), None)


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


def architectures_of(instance_types: list[str], api: Any = None) -> dict[str, list[str]]:
    """The CPU architectures each of these instance types supports."""
    api = api or client("ec2")
    found = api.describe_instance_types(InstanceTypes=instance_types)["InstanceTypes"]
    return {t["InstanceType"]: sorted(t["ProcessorInfo"]["SupportedArchitectures"]) for t in found}


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


def tag_resources(resource_ids: list[str], tags: dict[str, str], api: Any = None) -> None:
    (api or client("ec2")).create_tags(Resources=resource_ids, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])


def set_interface_groups(interface_id: str, group_ids: list[str], api: Any = None) -> None:
    """Replace (not add to) the security groups of one network interface."""
    (api or client("ec2")).modify_network_interface_attribute(NetworkInterfaceId=interface_id, Groups=group_ids)


# --- the quarantine groups: an untracking (all traffic) and an isolation (no rule) group per VPC -------------------

ANYWHERE = ({"IpRanges": [{"CidrIp": "0.0.0.0/0"}]}, {"Ipv6Ranges": [{"CidrIpv6": "::/0"}]})


def security_groups(group_ids: list[str], api: Any = None) -> dict[str, dict]:
    """Each of these groups that exists, by id (an unknown id is left out, not an error)."""
    api = api or client("ec2")
    found: dict[str, dict] = {}
    for group_id in dict.fromkeys(group_ids):
        try:
            found.update({g["GroupId"]: g for g in api.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]})
        except ClientError as err:
            if error_code(err) not in ("InvalidGroup.NotFound", "InvalidGroupId.Malformed"):
                raise
    return found


def tagged_groups(vpc_ids: list[str], tag_key: str, api: Any = None) -> list[dict]:
    """The security groups of these VPCs that carry the tag key (bluegreen's own quarantine groups)."""
    api = api or client("ec2")
    filters = [{"Name": "vpc-id", "Values": sorted(set(vpc_ids))}, {"Name": "tag-key", "Values": [tag_key]}]
    return paginate(api, "describe_security_groups", "SecurityGroups", Filters=filters)


def create_group(vpc_id: str, name: str, description: str, tags: dict[str, str], api: Any = None) -> str | None:
    """A new security group, tagged as it is created; None when a group of that name exists in the VPC already."""
    api = api or client("ec2")
    try:
        created = api.create_security_group(
            GroupName=name,
            Description=description,
            VpcId=vpc_id,
            TagSpecifications=[{"ResourceType": "security-group", "Tags": _tag_list(tags)}],
        )
    except ClientError as err:
        if error_code(err) == "InvalidGroup.Duplicate":  # made meanwhile by another case in the same VPC
            return None
        raise
    return created["GroupId"]


def open_to_anywhere(group_id: str, direction: str, api: Any = None) -> None:
    """Allow all traffic from (ingress) or to (egress) anywhere, IPv4 and IPv6; a rule already there is fine."""
    api = api or client("ec2")
    call = api.authorize_security_group_ingress if direction == "ingress" else api.authorize_security_group_egress
    for ranges in ANYWHERE:
        try:
            call(GroupId=group_id, IpPermissions=[{"IpProtocol": "-1", **ranges}])
        except ClientError as err:
            if error_code(err) != "InvalidPermission.Duplicate":
                raise


def revoke_rules(group: dict, api: Any = None) -> None:
    """Take every rule off a group (a new VPC group comes with one that allows all egress)."""
    api = api or client("ec2")
    for key, call in (
        ("IpPermissions", api.revoke_security_group_ingress),
        ("IpPermissionsEgress", api.revoke_security_group_egress),
    ):
        rules = [_permission(p) for p in group.get(key, [])]
        if not rules:
            continue
        try:
            call(GroupId=group["GroupId"], IpPermissions=rules)
        except ClientError as err:
            if error_code(err) != "InvalidPermission.NotFound":  # revoked meanwhile by another case
                raise


def _permission(rule: dict) -> dict:
    """A rule as DescribeSecurityGroups shows it, in the shape Revoke takes (no empty lists, no rule ids)."""
    keep = ("IpProtocol", "FromPort", "ToPort", "IpRanges", "Ipv6Ranges", "PrefixListIds", "UserIdGroupPairs")
    return {k: v for k, v in rule.items() if k in keep and v not in ([], None)}


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


# --- credentials: instance profiles and Elastic IPs -----------------------------------------------------------------


def profile_associations(instance_ids: list[str], api: Any = None) -> dict[str, dict]:
    """The current (associated or associating) instance profile association of each instance that has one."""
    api = api or client("ec2")
    if not instance_ids:
        return {}
    filters = [{"Name": "instance-id", "Values": instance_ids}]
    found = paginate(
        api, "describe_iam_instance_profile_associations", "IamInstanceProfileAssociations", Filters=filters
    )
    return {a["InstanceId"]: a for a in found if a.get("State") in ("associated", "associating")}


def replace_profile(association_id: str, profile_arn: str, api: Any = None) -> dict:
    """Put another instance profile on a running instance, in place of the associated one."""
    answer = (api or client("ec2")).replace_iam_instance_profile_association(
        AssociationId=association_id, IamInstanceProfile={"Arn": profile_arn}
    )
    return answer["IamInstanceProfileAssociation"]


def addresses_of(instance_ids: list[str], api: Any = None) -> list[dict]:
    """The Elastic IP addresses associated with these instances."""
    api = api or client("ec2")
    if not instance_ids:
        return []
    filters = [{"Name": "instance-id", "Values": instance_ids}]
    return api.describe_addresses(Filters=filters)["Addresses"]


def subnets_assigning_public_ipv4(subnet_ids: list[str], api: Any = None) -> set[str]:
    """Those of these subnets that give a new interface (and one whose Elastic IP goes) a public IPv4 address."""
    if not subnet_ids:
        return set()
    found = (api or client("ec2")).describe_subnets(SubnetIds=subnet_ids)["Subnets"]
    return {s["SubnetId"] for s in found if s.get("MapPublicIpOnLaunch")}


def address_by_ip(public_ip: str, api: Any = None) -> dict | None:
    api = api or client("ec2")
    try:
        found = api.describe_addresses(PublicIps=[public_ip])["Addresses"]
    except ClientError as err:
        if error_code(err) in ("InvalidAddress.NotFound", "AuthFailure"):
            return None
        raise
    return found[0] if found else None


def disassociate_address(association_id: str, api: Any = None) -> bool:
    """False when it was no longer associated (a retried isolation)."""
    try:
        (api or client("ec2")).disassociate_address(AssociationId=association_id)
    except ClientError as err:
        if error_code(err) == "InvalidAssociationID.NotFound":
            return False
        raise
    return True


def associate_address(allocation_id: str, interface_id: str, private_ip: str | None, api: Any = None) -> None:
    """Give an Elastic IP back to the interface it was taken from; refused if it is associated elsewhere now."""
    params: dict[str, Any] = {"AllocationId": allocation_id, "NetworkInterfaceId": interface_id}
    if private_ip:
        params["PrivateIpAddress"] = private_ip
    (api or client("ec2")).associate_address(AllowReassociation=False, **params)


# --- network ACL entries: what cuts the flows AWS always tracks (quarantine) ----------------------------------------


def network_acls(vpc_ids: list[str], api: Any = None) -> list[dict]:
    """The network ACLs of these VPCs, with their entries and subnet associations (one call for the case)."""
    api = api or client("ec2")
    if not vpc_ids:
        return []
    filters = [{"Name": "vpc-id", "Values": sorted(set(vpc_ids))}]
    return paginate(api, "describe_network_acls", "NetworkAcls", Filters=filters)


def network_acl(acl_id: str, api: Any = None) -> dict | None:
    """One network ACL as it is now; None when it no longer exists."""
    api = api or client("ec2")
    try:
        found = api.describe_network_acls(NetworkAclIds=[acl_id])["NetworkAcls"]
    except ClientError as err:
        if error_code(err) == "InvalidNetworkAclID.NotFound":
            return None
        raise
    return found[0] if found else None


def deny_acl_entry(acl_id: str, rule_number: int, egress: bool, cidr: str, api: Any = None) -> bool:
    """A rule denying all traffic from (inbound) or to (outbound) `cidr`; False when the number is taken already."""
    block = {"Ipv6CidrBlock": cidr} if ":" in cidr else {"CidrBlock": cidr}
    try:
        (api or client("ec2")).create_network_acl_entry(
            NetworkAclId=acl_id, RuleNumber=rule_number, Protocol="-1", RuleAction="deny", Egress=egress, **block
        )
    except ClientError as err:
        if error_code(err) == "NetworkAclEntryAlreadyExists":
            return False
        raise
    return True


def delete_acl_entry(acl_id: str, rule_number: int, egress: bool, api: Any = None) -> None:
    (api or client("ec2")).delete_network_acl_entry(NetworkAclId=acl_id, RuleNumber=rule_number, Egress=egress)


# --- protection and evidence ---------------------------------------------------------------------------------------


def keep_volumes_on_termination(instance_id: str, device_names: list[str], api: Any = None) -> None:
    """Turn DeleteOnTermination off on these EBS volumes, so they outlive the instance."""
    if device_names:
        (api or client("ec2")).modify_instance_attribute(
            InstanceId=instance_id,
            BlockDeviceMappings=[{"DeviceName": d, "Ebs": {"DeleteOnTermination": False}} for d in device_names],
        )


def snapshot_instance(instance_id: str, description: str, tags: dict[str, str], api: Any = None) -> dict[str, str]:
    """Crash-consistent snapshots of every EBS volume of the instance, taken together and tagged as created: volume id
    -> snapshot id."""
    created = (api or client("ec2")).create_snapshots(
        InstanceSpecification={"InstanceId": instance_id, "ExcludeBootVolume": False},
        Description=description[:255],
        TagSpecifications=[{"ResourceType": "snapshot", "Tags": _tag_list(tags)}],
    )
    return {s["VolumeId"]: s["SnapshotId"] for s in created["Snapshots"]}


def tagged_snapshots(tags: dict[str, str], api: Any = None) -> list[dict]:
    """This account's snapshots that carry all these tags (one call, whatever the number of instances)."""
    api = api or client("ec2")
    filters = [{"Name": f"tag:{k}", "Values": [v]} for k, v in tags.items()]
    return paginate(api, "describe_snapshots", "Snapshots", OwnerIds=["self"], Filters=filters)


def delete_tags(resource_ids: list[str], keys: list[str], api: Any = None) -> None:
    (api or client("ec2")).delete_tags(Resources=resource_ids, Tags=[{"Key": k} for k in keys])


# --- AMIs shared by a build account ----------------------------------------------------------------------------------

TAG_SOURCE_AMI = "bluegreen:source-ami"


def describe_snapshot(snapshot_id: str, api: Any = None) -> dict | None:
    """The snapshot as this account may see it; None when it cannot (another account's snapshot that was not shared
    with it: an AMI can be shared without its snapshots)."""
    api = api or client("ec2")
    try:
        found = api.describe_snapshots(SnapshotIds=[snapshot_id])["Snapshots"]
    except ClientError as err:
        if error_code(err).startswith("InvalidSnapshot") or error_code(err) in ("AuthFailure", "UnauthorizedOperation"):
            return None
        raise
    return found[0] if found else None


def copy_of(source_ami: str, api: Any = None) -> dict | None:
    """This account's copy of a shared AMI (tagged bluegreen:source-ami when bluegreen made it), newest first."""
    api = api or client("ec2")
    filters = [{"Name": f"tag:{TAG_SOURCE_AMI}", "Values": [source_ami]}]
    found = paginate(api, "describe_images", "Images", Owners=["self"], Filters=filters)
    found = [i for i in found if i.get("State") in ("pending", "available")]
    return max(found, key=lambda i: i.get("CreationDate", ""), default=None)


def copy_image(source_ami: str, region: str, name: str, tags: dict[str, str], api: Any = None) -> str:
    """Copy an AMI (shared with this account) into this account, tagged as the copy is made."""
    copied = (api or client("ec2")).copy_image(
        SourceImageId=source_ami,
        SourceRegion=region,
        Name=name[:128],
        Description=f"bluegreen copy of {source_ami}"[:255],
        TagSpecifications=[{"ResourceType": "image", "Tags": _tag_list(tags)}],
    )
    return copied["ImageId"]
