"""What IAM authorizes for one API call: the actions, each resource ARN, and the condition keys AWS supplies.

Real AWS (Service Authorization Reference, "Actions, resources, and condition keys for <service>"): each action lists
the resource types it is authorized on (`*`: required, always checked; others when the request involves them), the
condition keys of each resource type and of the action as a whole, and the actions it depends on. A key that the
reference does not list for a resource type is not in the request context when that resource is authorized (so
`ec2:Attribute` is there for the instance of ModifyInstanceAttribute and not for its volumes). The reference's data is
the copy parliament ships (`iam_definition.json`).

The resources and tags come from moto's own state at the moment of the call, as IAM reads the resource's tags then.
An operation whose action requires a resource this module cannot name raises `Unmodelled`: the twin says so rather
than let a call through unchecked.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import parliament
from moto.backends import get_backend

from bluegreen.twin import api_calls
from bluegreen.twin.iam_policy_logic import Request

ANY_GROUP_ID = "00000000-0000-0000-0000-000000000000"  # a new group's id: not known until it exists


class Unmodelled(Exception):
    """The twin cannot say which resources AWS would authorize for this call."""


@dataclass(frozen=True)
class Call:
    service: str  # IAM prefix: ec2, autoscaling, elasticloadbalancing, states...
    operation: str
    params: Mapping[str, Any]
    account: str
    region: str


@dataclass
class Target:
    """One (action, resource) AWS authorizes, with every key the twin knows of it (filtered by the reference later)."""

    action: str
    resource_type: str  # as the Service Authorization Reference names it ("" for none)
    arn: str
    keys: dict[str, Any] = field(default_factory=dict)


# --- the Service Authorization Reference ---------------------------------------------------------------------------


@functools.cache
def _reference() -> dict[str, dict[str, dict[str, set[str]]]]:
    """prefix -> action (lower case) -> resource type ('' for the action's own keys) -> its condition keys (lower)."""
    return _indexes()[0]


@functools.cache
def _indexes() -> tuple[dict[str, dict[str, dict[str, set[str]]]], dict[str, dict[str, set[str]]]]:
    """The reference read once: (the condition keys of each action's resource types, each action's required types)."""
    path = Path(parliament.__file__).parent / "iam_definition.json"
    keys: dict[str, dict[str, dict[str, set[str]]]] = {}
    required: dict[str, dict[str, set[str]]] = {}
    for service in json.loads(path.read_text()):
        actions, needs = keys.setdefault(service["prefix"], {}), required.setdefault(service["prefix"], {})
        for privilege in service["privileges"]:
            name = privilege["privilege"].lower()
            types = actions.setdefault(name, {})
            for entry in privilege["resource_types"]:
                kind = entry["resource_type"].rstrip("*")
                types.setdefault(kind, set()).update(k.lower() for k in entry["condition_keys"])
                if entry["resource_type"].endswith("*"):
                    needs.setdefault(name, set()).add(kind)
    return keys, required


def required_types(action: str) -> set[str]:
    """The resource types the reference marks required for the action (empty: it is authorized on `*`)."""
    prefix, _, name = action.partition(":")
    return _indexes()[1].get(prefix, {}).get(name.lower(), set())


def known_action(action: str) -> bool:
    prefix, _, name = action.partition(":")
    return name.lower() in _reference().get(prefix, {})


_GLOBAL = re.compile(
    r"aws:(principal|requestedregion|securetransport|currenttime|epochtime|userid|sourceip|via|resourceaccount)"
)


def _applies(action: str, resource_type: str, key: str) -> bool:
    """Whether AWS supplies `key` when it authorizes `action` on a resource of `resource_type`."""
    if _GLOBAL.match(key.lower()):
        return True
    prefix, _, name = action.partition(":")
    types = _reference().get(prefix, {}).get(name.lower(), {})
    listed = types.get(resource_type, set()) | types.get("", set())
    general = re.sub(r"/.*$", lambda m: "/${tagkey}" if "tag" in key.lower() else "/${attributename}", key.lower())
    return general in listed


def requests(call: Call, principal_keys: Mapping[str, Any]) -> list[Request]:
    """Every authorization AWS makes for `call`, each with the keys the reference says apply to it."""
    targets = _targets(call)
    made = []
    for target in targets:
        context = {
            k: v
            for k, v in {**principal_keys, **target.keys}.items()
            if _applies(target.action, target.resource_type, k)
        }
        made.append(Request(target.action, target.arn, context))
    return made


def _targets(call: Call) -> list[Target]:
    action = f"{call.service}:{call.operation}"
    resolver = RESOLVERS.get(action)
    if resolver is not None:
        return resolver(call)
    if not known_action(action):
        raise Unmodelled(f"{action} is not in the Service Authorization Reference the twin holds")
    if required_types(action):
        raise Unmodelled(
            f"{action} is authorized on {sorted(required_types(action))}: bluegreen/twin/iam_requests.py names no "
            "resource for it yet"
        )
    return [Target(action, "", "*")]


# --- moto's state --------------------------------------------------------------------------------------------------


def _backend(service: str, call: Call) -> Any:
    region = "global" if service == "iam" else call.region
    return get_backend(service)[call.account][region]


def _tag_keys(tags: Mapping[str, str], service_prefix: str) -> dict[str, str]:
    keys = {f"aws:ResourceTag/{k}": v for k, v in tags.items()}
    keys.update({f"{service_prefix}:ResourceTag/{k}": v for k, v in tags.items()})
    return keys


def _request_tags(tags: Mapping[str, str]) -> dict[str, Any]:
    keys: dict[str, Any] = {f"aws:RequestTag/{k}": v for k, v in tags.items()}
    if tags:
        keys["aws:TagKeys"] = list(tags)
    return keys


def _tag_pairs(items: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in items or []}


def _spec_tags(params: Mapping[str, Any], resource_type: str | None = None) -> dict[str, str]:
    found: dict[str, str] = {}
    for spec in params.get("TagSpecifications") or []:
        if resource_type is None or spec.get("ResourceType") == resource_type:
            found.update(_tag_pairs(spec.get("Tags")))
    return found


# --- EC2 -----------------------------------------------------------------------------------------------------------

_EC2_TYPES = {
    "i": "instance",
    "vol": "volume",
    "sg": "security-group",
    "ami": "image",
    "snap": "snapshot",
    "eni": "network-interface",
    "lt": "launch-template",
    "subnet": "subnet",
    "vpc": "vpc",
    "eipalloc": "elastic-ip",
    "igw": "internet-gateway",
    "acl": "network-acl",
    "rtb": "route-table",
}


def _ec2_type(resource_id: str) -> str:
    kind = _EC2_TYPES.get(resource_id.split("-", 1)[0])
    if kind is None:
        raise Unmodelled(f"the twin does not know the EC2 resource type of {resource_id}")
    return kind


def _ec2_arn(call: Call, kind: str, resource_id: str, region: str | None = None) -> str:
    account = "" if kind in ("image", "snapshot") else call.account  # images and snapshots: no account in the ARN
    return f"arn:aws:ec2:{region or call.region}:{account}:{kind}/{resource_id}"


def _ec2_target(call: Call, action: str, resource_id: str, **keys: Any) -> Target:
    kind = _ec2_type(resource_id)
    tags = _backend("ec2", call).tags.get(resource_id, {})
    return Target(action, kind, _ec2_arn(call, kind, resource_id), {**_tag_keys(tags, "ec2"), **keys})


def _new_ec2(call: Call, action: str, kind: str, tags: Mapping[str, str], **keys: Any) -> Target:
    return Target(action, kind, _ec2_arn(call, kind, "*"), {**_request_tags(tags), **keys})


def _tag_on_create(call: Call, kind: str, tags: Mapping[str, str], operation: str = "") -> list[Target]:
    """Tags in a create request are authorized as ec2:CreateTags with ec2:CreateAction (EC2 User Guide, "Grant
    permission to tag Amazon EC2 resources during creation")."""
    if not tags:
        return []
    return [_new_ec2(call, "ec2:CreateTags", kind, tags, **{"ec2:CreateAction": operation or call.operation})]


def _launch_template(call: Call, spec: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The launch template's id and the data of the version a launch spec names."""
    ec2 = _backend("ec2", call)
    template = (
        ec2.get_launch_template(spec["LaunchTemplateId"])
        if spec.get("LaunchTemplateId")
        else ec2.get_launch_template_by_name(spec["LaunchTemplateName"])
    )
    version = str(spec.get("Version") or "$Default")
    if version == "$Latest":
        chosen = template.latest_version()
    elif version == "$Default":
        chosen = template.default_version()
    else:
        chosen = template.get_version(version)
    return template.id, dict(chosen.data)


def _role_of_profile(call: Call, profile: Mapping[str, Any]) -> str | None:
    iam = _backend("iam", call)
    for candidate in iam.instance_profiles.values():
        if profile.get("Arn") == candidate.arn or profile.get("Name") == candidate.name:
            return candidate.roles[0].arn if candidate.roles else None
    return None


def _pass_role(role_arn: str, service: str) -> Target:
    return Target("iam:PassRole", "role", role_arn, {"iam:PassedToService": service})


def _launch_checks(call: Call, spec: Mapping[str, Any], subnets: list[str]) -> list[Target]:
    """A group launching from a launch template: Auto Scaling checks that the caller may launch it, as RunInstances
    on each resource the launch uses, pass its instance role, and tag on launch (Auto Scaling User Guide, "Control
    the use of launch templates in Auto Scaling groups": ec2:RunInstances, iam:PassRole, ec2:CreateTags)."""
    template_id, data = _launch_template(call, spec)
    template_arn = _ec2_arn(call, "launch-template", template_id)
    on = {"ec2:LaunchTemplate": template_arn, "ec2:IsLaunchTemplateResource": "true"}
    run = "ec2:RunInstances"
    targets = [_ec2_target(call, run, template_id, **on)]
    if data.get("ImageId"):
        targets.append(_ec2_target(call, run, data["ImageId"], **on, **{"ec2:ImageID": data["ImageId"]}))
    groups = list(data.get("SecurityGroupIds") or [])
    for interface in data.get("NetworkInterfaces") or []:
        groups.extend(interface.get("Groups") or [])
    targets += [_ec2_target(call, run, g, **on) for g in groups]
    targets += [_ec2_target(call, run, s, **on) for s in subnets]
    targets += [_new_ec2(call, run, kind, {}, **on) for kind in ("instance", "volume", "network-interface")]
    profile = data.get("IamInstanceProfile")
    role = _role_of_profile(call, profile) if profile else None
    if role:
        targets.append(_pass_role(role, "ec2.amazonaws.com"))
    for kind in ("instance", "volume"):
        targets += _tag_on_create(call, kind, _spec_tags(data, kind), "RunInstances")
    return targets


def _ec2_ids(*names: str) -> Callable[[Call], list[Target]]:
    """An EC2 action authorized on the resources its parameters name (a single id or a list)."""

    def resolve(call: Call) -> list[Target]:
        action = f"ec2:{call.operation}"
        ids: list[str] = []
        for name in names:
            value = call.params.get(name)
            ids += value if isinstance(value, list) else [value] if value else []
        return [_ec2_target(call, action, i) for i in ids]

    return resolve


def _attribute_keys(call: Call, skip: set[str]) -> dict[str, Any]:
    """ec2:Attribute (the attributes a Modify call sets) and ec2:Attribute/<name> (each scalar value set)."""
    names = [k for k in call.params if k not in skip and k != "DryRun"]
    keys: dict[str, Any] = {"ec2:Attribute": names}
    for name in names:
        value = call.params[name]
        value = value.get("Value") if isinstance(value, dict) else value
        if isinstance(value, bool):
            keys[f"ec2:Attribute/{name}"] = str(value).lower()
        elif isinstance(value, str | int):
            keys[f"ec2:Attribute/{name}"] = str(value)
    return keys


def _modify_instance_attribute(call: Call) -> list[Target]:
    instance_id = call.params["InstanceId"]
    action = "ec2:ModifyInstanceAttribute"
    targets = [_ec2_target(call, action, instance_id, **_attribute_keys(call, {"InstanceId"}))]
    devices = {m["DeviceName"] for m in call.params.get("BlockDeviceMappings") or []}
    if devices:
        instance = _backend("ec2", call).get_instance(instance_id)
        targets += [
            _ec2_target(call, action, mapping.volume_id)
            for device, mapping in instance.block_device_mapping.items()
            if device in devices
        ]
    targets += [_ec2_target(call, action, g) for g in call.params.get("Groups") or []]
    return targets


def _modify_interface_attribute(call: Call) -> list[Target]:
    interface_id = call.params["NetworkInterfaceId"]
    action = "ec2:ModifyNetworkInterfaceAttribute"
    targets = [_ec2_target(call, action, interface_id, **_attribute_keys(call, {"NetworkInterfaceId"}))]
    targets += [_ec2_target(call, action, g) for g in call.params.get("Groups") or []]
    interface = _backend("ec2", call).get_network_interface(interface_id)
    if getattr(interface, "instance", None) is not None:
        targets.append(_ec2_target(call, action, interface.instance.id))
    return targets


def _replace_profile(call: Call) -> list[Target]:
    ec2 = _backend("ec2", call)
    # moto keeps associations by instance id
    association = next(
        a for a in ec2.iam_instance_profile_associations.values() if a.association_id == call.params["AssociationId"]
    )
    profile = call.params["IamInstanceProfile"]
    profile_arn = profile.get("Arn") or f"arn:aws:iam::{call.account}:instance-profile/{profile.get('Name')}"
    targets = [
        _ec2_target(
            call,
            "ec2:ReplaceIamInstanceProfileAssociation",
            association.instance.id,
            **{"ec2:NewInstanceProfile": profile_arn},
        )
    ]
    role = _role_of_profile(call, profile)
    if role:
        targets.append(_pass_role(role, "ec2.amazonaws.com"))
    return targets


def _create_security_group(call: Call) -> list[Target]:
    tags = _spec_tags(call.params, "security-group")
    targets = [_new_ec2(call, "ec2:CreateSecurityGroup", "security-group", tags)]
    if call.params.get("VpcId"):
        targets.append(_ec2_target(call, "ec2:CreateSecurityGroup", call.params["VpcId"]))
    return targets + _tag_on_create(call, "security-group", tags)


def _create_snapshots(call: Call) -> list[Target]:
    instance_id = call.params["InstanceSpecification"]["InstanceId"]
    action = "ec2:CreateSnapshots"
    instance = _backend("ec2", call).get_instance(instance_id)
    tags = _spec_tags(call.params, "snapshot")
    targets = [_ec2_target(call, action, instance_id)]
    targets += [_ec2_target(call, action, m.volume_id) for m in instance.block_device_mapping.values()]
    targets.append(_new_ec2(call, action, "snapshot", tags))
    return targets + _tag_on_create(call, "snapshot", tags)


def _copy_image(call: Call) -> list[Target]:
    source = call.params["SourceImageId"]
    region = call.params.get("SourceRegion") or call.region
    tags = _spec_tags(call.params, "image")
    targets = [
        Target("ec2:CopyImage", "image", _ec2_arn(call, "image", source, region)),
        _new_ec2(call, "ec2:CopyImage", "image", tags),
        _new_ec2(call, "ec2:CopyImage", "snapshot", {}),
    ]
    return targets + _tag_on_create(call, "image", tags) + _copy_key_targets(call, source, region)


def _tags_on(call: Call) -> list[Target]:
    tags = _tag_pairs(call.params.get("Tags"))
    action = f"ec2:{call.operation}"
    if call.operation == "DeleteTags":
        keys: dict[str, Any] = {"aws:TagKeys": list(tags)}
    else:
        keys = _request_tags(tags)
    return [_ec2_target(call, action, r, **keys) for r in call.params.get("Resources") or []]


def _addresses(call: Call) -> list[Target]:
    ec2 = _backend("ec2", call)
    action = f"ec2:{call.operation}"
    if call.operation == "AssociateAddress":
        allocation, interface = call.params.get("AllocationId"), call.params.get("NetworkInterfaceId")
        instance = call.params.get("InstanceId")
    else:
        address = next(a for a in ec2.addresses if a.association_id == call.params.get("AssociationId"))
        allocation, instance = address.allocation_id, None
        interface = address.eni.id if address.eni else None
    return [_ec2_target(call, action, i) for i in (allocation, instance, interface) if i]


# --- Auto Scaling ----------------------------------------------------------------------------------------------------


def _group_target(call: Call, action: str, name: str) -> Target:
    group = _backend("autoscaling", call).autoscaling_groups.get(name)
    if group is None:
        arn = f"arn:aws:autoscaling:{call.region}:{call.account}:autoScalingGroup:{ANY_GROUP_ID}:autoScalingGroupName/{name}"
        return Target(action, "autoScalingGroup", arn)
    tags = {t["Key"]: t.get("Value", "") for t in group.tags}
    return Target(action, "autoScalingGroup", group.arn, _tag_keys(tags, "autoscaling"))


def _group_operation(call: Call) -> list[Target]:
    action = f"autoscaling:{call.operation}"
    targets = [_group_target(call, action, call.params["AutoScalingGroupName"])]
    if call.operation == "UpdateAutoScalingGroup":
        targets += _group_launch_checks(call)
    if call.operation == "PutLifecycleHook" and call.params.get("RoleARN"):
        targets.append(_pass_role(call.params["RoleARN"], "autoscaling.amazonaws.com"))
    return targets


def _group_launch_checks(call: Call) -> list[Target]:
    spec = call.params.get("LaunchTemplate") or (
        (call.params.get("MixedInstancesPolicy") or {}).get("LaunchTemplate", {}).get("LaunchTemplateSpecification")
    )
    if not spec:
        return []
    subnets = [s for s in (call.params.get("VPCZoneIdentifier") or "").split(",") if s]
    if not subnets and call.operation == "UpdateAutoScalingGroup":
        group = _backend("autoscaling", call).autoscaling_groups[call.params["AutoScalingGroupName"]]
        subnets = [s for s in (group.vpc_zone_identifier or "").split(",") if s]
    return _launch_checks(call, spec, subnets)


def _create_group(call: Call) -> list[Target]:
    target = _group_target(call, "autoscaling:CreateAutoScalingGroup", call.params["AutoScalingGroupName"])
    target.keys = _request_tags(_tag_pairs(call.params.get("Tags")))
    spec = call.params.get("LaunchTemplate") or {}
    if spec:
        target.keys["autoscaling:LaunchTemplateVersionSpecified"] = str(
            spec.get("Version") not in (None, "$Latest", "$Default")
        ).lower()
    return [target, *_group_launch_checks(call)]


def _group_tags(call: Call) -> list[Target]:
    tags = call.params.get("Tags") or []
    names = {t["ResourceId"] for t in tags}
    targets = [_group_target(call, f"autoscaling:{call.operation}", n) for n in sorted(names)]
    for target in targets:
        target.keys.update(_request_tags(_tag_pairs(tags)))
    return targets


# --- the other services ------------------------------------------------------------------------------------------------


def _route53(kind: str, parameter: str) -> Callable[[Call], list[Target]]:
    """A Route 53 action on the zone or change a parameter names (`/hostedzone/Z1` or `Z1`)."""

    def resolve(call: Call) -> list[Target]:
        resource_id = str(call.params[parameter]).split("/")[-1]
        return [Target(f"route53:{call.operation}", kind, f"arn:aws:route53:::{kind}/{resource_id}")]

    return resolve


def _as_is(*names: str) -> Callable[[Call], list[Target]]:
    """An action authorized on an ARN that a parameter holds as it is (a topic, a target group, a listener...)."""

    def resolve(call: Call) -> list[Target]:
        action = f"{call.service}:{call.operation}"
        arn = next(str(call.params[n]) for n in names if call.params.get(n))
        return [Target(action, _type_of_arn(call.service, arn), arn)]

    return resolve


def _type_of_arn(service: str, arn: str) -> str:
    resource = arn.split(":", 5)[5] if arn.count(":") >= 5 else ""
    if service == "elasticloadbalancing":
        kind, _, rest = resource.partition("/")
        return f"{kind}/{rest.split('/')[0]}" if kind in ("listener", "listener-rule") else kind
    return re.split(r"[:/]", resource)[0]


def _queue(call: Call) -> list[Target]:
    name = str(call.params["QueueUrl"]).rstrip("/").rsplit("/", 1)[-1]
    return [Target(f"sqs:{call.operation}", "queue", f"arn:aws:sqs:{call.region}:{call.account}:{name}")]


def _table(call: Call) -> list[Target]:
    action = f"dynamodb:{call.operation}"
    name = str(call.params.get("TableName", ""))
    arn = name if name.startswith("arn:") else f"arn:aws:dynamodb:{call.region}:{call.account}:table/{name}"
    targets = [Target(action, "table", arn)]
    if call.params.get("IndexName"):
        targets.append(Target(action, "index", f"{arn}/index/{call.params['IndexName']}"))
    return targets


def _transact_write(call: Call) -> list[Target]:
    targets = []
    for item in call.params.get("TransactItems") or []:
        for verb, body in item.items():
            sub = Call("dynamodb", api_calls.TRANSACTION_ITEMS[verb], body, call.account, call.region)
            targets += _table(sub)
    return targets


def _batch_get(call: Call) -> list[Target]:
    """BatchGetItem is authorized per table it reads, as its own action."""
    targets = []
    for name in call.params.get("RequestItems") or {}:
        targets += _table(Call("dynamodb", "BatchGetItem", {"TableName": name}, call.account, call.region))
    return targets


def _parameter(call: Call) -> list[Target]:
    name = str(call.params.get("Name") or call.params.get("Path"))
    arn = name if name.startswith("arn:") else f"arn:aws:ssm:{call.region}:{call.account}:parameter/{name.lstrip('/')}"
    keys = _request_tags(_tag_pairs(call.params.get("Tags"))) if call.operation == "PutParameter" else {}
    return [Target(f"ssm:{call.operation}", "parameter", arn, keys)]


def _alarms(call: Call) -> list[Target]:
    action = f"cloudwatch:{call.operation}"
    base = f"arn:aws:cloudwatch:{call.region}:{call.account}:alarm:"
    if call.operation == "PutMetricAlarm":
        actions = [*(call.params.get("AlarmActions") or []), *(call.params.get("OKActions") or [])]
        actions += call.params.get("InsufficientDataActions") or []
        keys = {**_request_tags(_tag_pairs(call.params.get("Tags"))), "cloudwatch:AlarmActions": actions}
        return [Target(action, "alarm", base + call.params["AlarmName"], keys)]
    names = call.params.get("AlarmNames") or []
    if not names and call.params.get("AlarmNamePrefix"):
        names = [call.params["AlarmNamePrefix"] + "*"]
    return [Target(action, "alarm", base + n) for n in names or ["*"]]


def _record_change(call: Call) -> list[Target]:
    changes = (call.params.get("ChangeBatch") or {}).get("Changes") or []
    names = sorted({c["ResourceRecordSet"]["Name"].rstrip(".").lower() for c in changes})
    keys = {
        "route53:ChangeResourceRecordSetsNormalizedRecordNames": names,
        "route53:ChangeResourceRecordSetsRecordTypes": sorted({c["ResourceRecordSet"]["Type"] for c in changes}),
        "route53:ChangeResourceRecordSetsActions": sorted({c["Action"] for c in changes}),
    }
    zone = str(call.params["HostedZoneId"]).split("/")[-1]
    return [Target("route53:ChangeResourceRecordSets", "hostedzone", f"arn:aws:route53:::hostedzone/{zone}", keys)]


def _role(call: Call) -> list[Target]:
    role = _backend("iam", call).get_role(call.params["RoleName"])
    return [Target(f"iam:{call.operation}", "role", role.arn)]


def _instance_profile(call: Call) -> list[Target]:
    profile = _backend("iam", call).get_instance_profile(call.params["InstanceProfileName"])
    return [Target("iam:GetInstanceProfile", "instance-profile", profile.arn)]


def _key(call: Call) -> list[Target]:
    key = str(call.params["KeyId"])
    if not key.startswith("arn:"):
        key = f"arn:aws:kms:{call.region}:{call.account}:{'alias/' if key.startswith('alias/') else 'key/'}{key.removeprefix('alias/')}"
    return [Target(f"kms:{call.operation}", "key", key, {"aws:ResourceAccount": key.split(":")[4]})]


def _create_grant(call: Call) -> list[Target]:
    """CreateGrant called directly (not by an AWS service on the caller's behalf: kms:GrantIsForAWSResource false)."""
    [target] = _key(call)
    target.keys.update(
        {
            "kms:GranteePrincipal": call.params.get("GranteePrincipal"),
            "kms:GrantOperations": list(call.params.get("Operations") or []),
            "kms:GrantIsForAWSResource": "false",
        }
    )
    return [target]


# What EC2 does with the source key, as the caller, when CopyImage re-encrypts another account's encrypted snapshots
# (KMS Developer Guide, "How Amazon EBS uses AWS KMS"; kms:ViaService names EC2, and its grant is for an AWS resource).
COPY_KEY_ACTIONS = ("kms:Decrypt", "kms:ReEncryptFrom", "kms:DescribeKey", "kms:CreateGrant")


def _copy_key_targets(call: Call, source: str, region: str) -> list[Target]:
    try:
        image = get_backend("ec2")[call.account][region].describe_images(ami_ids=[source])[0]
    except Exception:  # no such image: EC2 answers that, after authorizing on the ARN
        return []
    snapshot = getattr(image, "ebs_snapshot", None)
    key = str(getattr(snapshot, "kms_key_id", "") or "") if getattr(snapshot, "encrypted", False) else ""
    parts = key.split(":")
    if len(parts) != 6 or not parts[5].startswith("key/") or parts[4] == call.account:
        return []  # not encrypted, the account's own or AWS managed key: its own key policy answers
    keys = {"aws:ResourceAccount": parts[4], "kms:ViaService": f"ec2.{region}.amazonaws.com"}
    return [
        Target(
            action, "key", key, {**keys, "kms:GrantIsForAWSResource": "true"} if action == "kms:CreateGrant" else keys
        )
        for action in COPY_KEY_ACTIONS
    ]


RESOLVERS: dict[str, Callable[[Call], list[Target]]] = {
    # EC2
    "ec2:CreateLaunchTemplateVersion": _ec2_ids("LaunchTemplateId"),
    "ec2:DeleteLaunchTemplateVersions": _ec2_ids("LaunchTemplateId"),
    "ec2:AuthorizeSecurityGroupIngress": _ec2_ids("GroupId"),
    "ec2:AuthorizeSecurityGroupEgress": _ec2_ids("GroupId"),
    "ec2:RevokeSecurityGroupIngress": _ec2_ids("GroupId"),
    "ec2:RevokeSecurityGroupEgress": _ec2_ids("GroupId"),
    "ec2:CreateSecurityGroup": _create_security_group,
    "ec2:CreateSnapshots": _create_snapshots,
    "ec2:CopyImage": _copy_image,
    "ec2:CreateTags": _tags_on,
    "ec2:DeleteTags": _tags_on,
    "ec2:ModifyInstanceAttribute": _modify_instance_attribute,
    "ec2:ModifyNetworkInterfaceAttribute": _modify_interface_attribute,
    "ec2:ReplaceIamInstanceProfileAssociation": _replace_profile,
    "ec2:AssociateAddress": _addresses,
    "ec2:DisassociateAddress": _addresses,
    "ec2:CreateNetworkAclEntry": _ec2_ids("NetworkAclId"),
    "ec2:DeleteNetworkAclEntry": _ec2_ids("NetworkAclId"),
    # Auto Scaling
    "autoscaling:CreateAutoScalingGroup": _create_group,
    "autoscaling:CreateOrUpdateTags": _group_tags,
    **{
        f"autoscaling:{op}": _group_operation
        for op in (
            "UpdateAutoScalingGroup",
            "DeleteAutoScalingGroup",
            "DetachInstances",
            "SetInstanceProtection",
            "SuspendProcesses",
            "ResumeProcesses",
            "PutScalingPolicy",
            "PutScheduledUpdateGroupAction",
            "DeleteScheduledAction",
            "PutWarmPool",
            "PutNotificationConfiguration",
            "PutLifecycleHook",
        )
    },
    # the rest
    **{f"dynamodb:{op}": _table for op in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan")},
    "dynamodb:TransactWriteItems": _transact_write,
    "dynamodb:BatchGetItem": _batch_get,
    **{f"ssm:{op}": _parameter for op in ("GetParameter", "GetParametersByPath", "PutParameter")},
    **{f"cloudwatch:{op}": _alarms for op in ("DescribeAlarms", "PutMetricAlarm", "DeleteAlarms")},
    "cloudwatch:ListTagsForResource": _as_is("ResourceARN"),
    "route53:ChangeResourceRecordSets": _record_change,
    "route53:ListResourceRecordSets": _route53("hostedzone", "HostedZoneId"),
    "route53:GetHostedZone": _route53("hostedzone", "Id"),
    "route53:GetChange": _route53("change", "Id"),
    "elasticloadbalancing:DeregisterTargets": _as_is("TargetGroupArn"),
    "elasticloadbalancing:ModifyListener": _as_is("ListenerArn"),
    "elasticloadbalancing:ModifyRule": _as_is("RuleArn"),
    "sns:Publish": _as_is("TopicArn", "TargetArn"),
    "sqs:SendMessage": _queue,
    "states:StartExecution": _as_is("stateMachineArn"),
    "states:DescribeExecution": _as_is("executionArn"),
    "states:StopExecution": _as_is("executionArn"),
    "iam:GetRolePolicy": _role,
    "iam:ListRolePolicies": _role,
    "iam:PutRolePolicy": _role,
    "iam:DeleteRolePolicy": _role,
    "iam:GetInstanceProfile": _instance_profile,
    "kms:DescribeKey": _key,
    "kms:CreateGrant": _create_grant,
}
