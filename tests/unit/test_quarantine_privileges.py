"""Least privilege for issue 8: roles passed only from the fleets' path, launch templates changed only when tagged for an
app, instance attributes changed only to protect, the quarantine's IAM writes only on fleet roles."""

from __future__ import annotations

from pathlib import Path

import pytest
from samtranslator.yaml_helper import yaml_parse

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = yaml_parse((REPO / "template.yaml").read_text())
RESOURCES = TEMPLATE["Resources"]


def statements() -> list[tuple[str, dict]]:
    """(function, statement) for every inline statement of every function."""
    found = []
    for name, resource in RESOURCES.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for policy in resource["Properties"].get("Policies", []):
            if isinstance(policy, dict) and "Statement" in policy:
                found += [(name, s) for s in policy["Statement"]]
    return found


def granting(action: str) -> list[tuple[str, dict]]:
    """The Allow statements that name the action (a Deny takes away; it grants nothing)."""
    return [
        (f, s)
        for f, s in statements()
        if s["Effect"] == "Allow" and action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    ]


def resources_of(statement: dict) -> list[str]:
    listed = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    return [r.get("Fn::Sub", r.get("Fn::GetAtt")) if isinstance(r, dict) else r for r in listed]


def test_roles_are_passed_only_from_the_fleets_path_or_the_quarantine_role() -> None:
    found = granting("iam:PassRole")
    assert found
    for function, statement in found:
        for resource in resources_of(statement):
            assert resource == ["QuarantineInstanceRole", "Arn"] or str(resource).endswith(":role${FleetRolePath}*"), (
                function,
                resource,
            )
        assert statement["Condition"]["StringEquals"]["iam:PassedToService"]


@pytest.mark.parametrize("action", ["ec2:CreateLaunchTemplateVersion", "ec2:DeleteLaunchTemplateVersions"])
def test_launch_templates_are_changed_only_when_tagged_for_an_app(action: str) -> None:
    found = granting(action)
    assert found
    assert all(s["Condition"]["Null"] == {"aws:ResourceTag/bluegreen:app": "false"} for _, s in found)


def test_instance_attributes_are_changed_only_to_protect_the_instance_and_keep_its_volumes() -> None:
    found = granting("ec2:ModifyInstanceAttribute")
    assert {f for f, _ in found} == {"IsolateInstancesFunction"}
    conditions = [s["Condition"] for _, s in found if "Condition" in s]
    assert {"StringEqualsIgnoreCase": {"ec2:Attribute/DisableApiTermination": "true"}} in conditions
    # The volumes of a block device mapping change are authorized where ec2:Attribute is not a key (the Service
    # Authorization Reference): their statement has no condition, and names volumes only, so it grants nothing alone.
    (volumes_only,) = [s for _, s in found if "Condition" not in s]
    assert [str(r).split(":")[-1] for r in resources_of(volumes_only)] == ["volume/*"]
    volumes = next(c for c in conditions if "ForAllValues:StringEqualsIgnoreCase" in c)
    assert volumes["ForAllValues:StringEqualsIgnoreCase"]["ec2:Attribute"] == [
        "BlockDeviceMapping",
        "BlockDeviceMappings",
    ]
    assert volumes["Null"] == {"ec2:Attribute": "false"}


def test_the_quarantine_writes_inline_policies_only_on_fleet_roles() -> None:
    found = granting("iam:PutRolePolicy")
    assert [f for f, _ in found] == ["IsolateInstancesFunction"]
    assert [str(r).endswith(":role${FleetRolePath}*") for _, s in found for r in resources_of(s)] == [True]
    # Deleting: only the isolation, only on fleet roles, to collect its own denies of instances released or long gone
    # (orchestrator.domain.deny_policies deletes no policy but those named bluegreen-quarantine-*); it ends no
    # quarantine: a quarantined instance keeps its deny until an operator releases it (release-instance).
    deleting = granting("iam:DeleteRolePolicy")
    assert [f for f, _ in deleting] == ["IsolateInstancesFunction"]
    assert [str(r).endswith(":role${FleetRolePath}*") for _, s in deleting for r in resources_of(s)] == [True]


def test_the_quarantine_profile_denies_everything() -> None:
    role = RESOURCES["QuarantineInstanceRole"]["Properties"]
    (policy,) = role["Policies"]
    assert policy["PolicyDocument"]["Statement"] == [{"Effect": "Deny", "Action": "*", "Resource": "*"}]
    assert RESOURCES["QuarantineInstanceProfile"]["Properties"]["Roles"] == [{"Ref": "QuarantineInstanceRole"}]
