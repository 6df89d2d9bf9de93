"""The template's roles give no function a way to widen its own or another stack role's permissions (I6), and the
scoping the template promises holds as IAM evaluates it."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from samtranslator.yaml_helper import yaml_parse

from bluegreen.proof import escalation, iam_lint
from bluegreen.twin.iam_policy_logic import Request, evaluate

ACCOUNT = iam_lint.PSEUDO["AWS::AccountId"]
TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


def role(name: str) -> dict:
    documents = iam_lint.policies()[name]
    return {f"p{n}": d for n, d in enumerate(documents)}


def allowed(name: str, action: str, resource: str, **keys: object) -> bool:
    return evaluate(role(name), Request(action, resource, keys)).allowed


def test_the_template_has_no_escalation_path() -> None:
    assert escalation.findings() == []


def test_a_fleet_path_of_slash_without_the_explicit_denies_would_be_found() -> None:
    # Given the roles as they would be with FleetRolePath "/" and without the stack's explicit denies
    roles = copy.deepcopy(iam_lint.policies())
    for documents in roles.values():
        for document in documents:
            statements = document["Statement"] if isinstance(document["Statement"], list) else [document["Statement"]]
            document["Statement"] = [
                json.loads(json.dumps(s).replace("role/bluegreen/*", "role/*"))
                for s in statements
                if s["Effect"] != "Deny"
            ]
    # When the check looks at them
    found = escalation.findings(roles)
    # Then the quarantine's PutRolePolicy reaches the stack's own roles, its own included
    assert "IsolateInstancesFunctionRole: iam:PutRolePolicy on the stack's own IsolateInstancesFunctionRole" in found
    assert any(line.startswith("CreateGreenGroupFunctionRole: iam:PassRole of the stack's own") for line in found)


def test_the_fleet_role_path_cannot_be_slash() -> None:
    parameter = yaml_parse(TEMPLATE.read_text())["Parameters"]["FleetRolePath"]
    pattern = re.compile(parameter["AllowedPattern"])
    assert not pattern.match("/")
    assert pattern.match("/bluegreen/") and pattern.match("/teams/shop/")
    assert parameter["Default"] == "/bluegreen/"


@pytest.mark.parametrize(
    ("tags", "allowed_to_launch"),
    [({"aws:ResourceTag/bluegreen:app": "shop"}, True), ({}, False)],
    ids=["tagged", "untagged"],
)
def test_green_launches_only_from_launch_templates_tagged_for_an_app(tags: dict, allowed_to_launch: bool) -> None:
    template = f"arn:aws:ec2:us-east-1:{ACCOUNT}:launch-template/lt-0abc"
    keys = {"ec2:LaunchTemplate": template, **tags}
    assert allowed("CreateGreenGroupFunctionRole", "ec2:RunInstances", template, **keys) is allowed_to_launch


def test_the_quarantine_gives_instances_only_the_deny_all_profile() -> None:
    instance = f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-0abc"
    tags = {"aws:ResourceTag/bluegreen:app": "shop"}
    quarantine = f"arn:aws:iam::{ACCOUNT}:instance-profile/stack-quarantineinstanceprofile"  # as iam_lint names it
    other = f"arn:aws:iam::{ACCOUNT}:instance-profile/admin"
    name, action = "IsolateInstancesFunctionRole", "ec2:ReplaceIamInstanceProfileAssociation"
    assert allowed(name, action, instance, **tags, **{"ec2:NewInstanceProfile": quarantine})
    assert not allowed(name, action, instance, **tags, **{"ec2:NewInstanceProfile": other})


def test_prepare_reads_golden_parameters_only_under_their_path() -> None:
    parameter = f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter"
    assert allowed("PrepareReleaseFunctionRole", "ssm:GetParameter", f"{parameter}/golden-ami/shop")
    assert not allowed("PrepareReleaseFunctionRole", "ssm:GetParameter", f"{parameter}/prod/db-password")


def test_cloned_alarms_may_act_only_on_scaling_policies() -> None:
    alarm = f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:bluegreen-scaling-shop-green-1-scale-out"
    policy = f"arn:aws:autoscaling:us-east-1:{ACCOUNT}:scalingPolicy:1:autoScalingGroupName/g:policyName/p"
    terminate = "arn:aws:automate:us-east-1:ec2:terminate"
    name = "CreateGreenGroupFunctionRole"
    assert allowed(name, "cloudwatch:PutMetricAlarm", alarm, **{"cloudwatch:AlarmActions": [policy]})
    assert not allowed(name, "cloudwatch:PutMetricAlarm", alarm, **{"cloudwatch:AlarmActions": [policy, terminate]})
    # and no other name: never one the security-alarm rule takes
    security = f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:bluegreen-security-shop-green-1-scale-out"
    assert not allowed(name, "cloudwatch:PutMetricAlarm", security, **{"cloudwatch:AlarmActions": [policy]})


def test_check_dns_change_may_not_change_records() -> None:
    zone = "arn:aws:route53:::hostedzone/Z123"
    assert not allowed("CheckDnsChangeFunctionRole", "route53:ChangeResourceRecordSets", zone)
    assert allowed(
        "ShiftTrafficFunctionRole",
        "route53:ChangeResourceRecordSets",
        zone,
        **{
            "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["www.shop.example.com"],
            "route53:ChangeResourceRecordSetsRecordTypes": ["A"],
        },
    )
    assert not allowed(
        "ShiftTrafficFunctionRole",
        "route53:ChangeResourceRecordSets",
        zone,
        **{
            "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["www.shop.example.com"],
            "route53:ChangeResourceRecordSetsRecordTypes": ["MX"],
        },
    )
