"""IAM's evaluation logic as the IAM User Guide states it, on the examples it gives."""

from __future__ import annotations

import pytest

from bluegreen.twin.iam_policy_logic import Request, arn_like, evaluate

ROLE = "arn:aws:iam::123456789012:role"


def policy(*statements: dict) -> dict[str, dict]:
    return {"own": {"Version": "2012-10-17", "Statement": list(statements)}}


def decide(statements: list[dict], action: str, resource: str = "*", **context: object):
    return evaluate(policy(*statements), Request(action, resource, context))


def test_nothing_is_allowed_by_default() -> None:
    decision = decide([], "s3:GetObject")
    assert not decision.allowed and not decision.explicit_deny
    assert decision.reason == "no statement allows s3:GetObject"


def test_an_explicit_deny_overrides_any_allow() -> None:
    allow = {"Effect": "Allow", "Action": "iam:*", "Resource": "*"}
    deny = {"Sid": "Never", "Effect": "Deny", "Action": "iam:PutRolePolicy", "Resource": f"{ROLE}/stack-*"}
    assert decide([allow, deny], "iam:PutRolePolicy", f"{ROLE}/fleet").allowed
    denied = decide([allow, deny], "iam:PutRolePolicy", f"{ROLE}/stack-Own")
    assert denied.explicit_deny and denied.statement == "own/Never"


def test_action_names_are_case_insensitive_and_wildcards_match() -> None:
    statement = {"Effect": "Allow", "Action": "EC2:describe*", "Resource": "*"}
    assert decide([statement], "ec2:DescribeInstances").allowed
    assert not decide([statement], "ec2:RunInstances").allowed


def test_not_action_and_not_resource() -> None:
    statement = {"Effect": "Allow", "NotAction": "iam:*", "NotResource": "arn:aws:s3:::secret/*"}
    assert decide([statement], "s3:GetObject", "arn:aws:s3:::public/a").allowed
    assert not decide([statement], "s3:GetObject", "arn:aws:s3:::secret/a").allowed
    assert not decide([statement], "iam:PassRole", f"{ROLE}/x").allowed


def test_a_wildcard_does_not_cross_an_arn_segment_but_matches_within_the_resource() -> None:
    assert arn_like("arn:aws:ec2:us-east-1:123456789012:instance/i-1", "arn:aws:ec2:*:*:instance/*")
    assert not arn_like("arn:aws:ec2:us-east-1:123456789012:instance/i-1", "arn:aws:ec2:us-east-1*instance/*")
    group = "arn:aws:autoscaling:us-east-1:1:autoScalingGroup:uuid:autoScalingGroupName/g"
    assert arn_like(group, "arn:aws:autoscaling:us-east-1:1:autoScalingGroup:*:autoScalingGroupName/*")


@pytest.mark.parametrize(
    ("operator", "present", "expected"),
    [
        ("StringEquals", False, False),  # absent key: the values do not match
        ("StringNotEquals", False, True),  # ...except for a negated operator
        ("StringEqualsIfExists", False, True),
        ("ForAllValues:StringEquals", False, True),  # an absent set: true
        ("ForAnyValue:StringEquals", False, False),
    ],
)
def test_a_condition_on_an_absent_key(operator: str, present: bool, expected: bool) -> None:
    statement = {
        "Effect": "Allow",
        "Action": "ec2:CreateTags",
        "Resource": "*",
        "Condition": {operator: {"ec2:CreateAction": "RunInstances"}},
    }
    assert decide([statement], "ec2:CreateTags").allowed is expected


def test_null_tests_presence() -> None:
    tagged = {
        "Effect": "Allow",
        "Action": "ec2:X",
        "Resource": "*",
        "Condition": {"Null": {"aws:ResourceTag/app": "false"}},
    }
    assert decide([tagged], "ec2:X", **{"aws:ResourceTag/app": "shop"}).allowed
    refused = decide([tagged], "ec2:X")
    assert not refused.allowed
    assert (
        refused.reason
        == "own/#0: condition Null {aws:ResourceTag/app: 'false'} does not hold (aws:ResourceTag/app is absent)"
    )


def test_for_all_values_needs_every_request_value_to_match() -> None:
    statement = {
        "Effect": "Allow",
        "Action": "route53:ChangeResourceRecordSets",
        "Resource": "*",
        "Condition": {
            "ForAllValues:StringLike": {"route53:ChangeResourceRecordSetsNormalizedRecordNames": ["*.shop.example.com"]}
        },
    }
    names = "route53:ChangeResourceRecordSetsNormalizedRecordNames"
    assert decide([statement], "route53:ChangeResourceRecordSets", **{names: ["www.shop.example.com"]}).allowed
    assert not decide(
        [statement], "route53:ChangeResourceRecordSets", **{names: ["www.shop.example.com", "evil.com"]}
    ).allowed


def test_keys_are_case_insensitive_and_values_are_not() -> None:
    statement = {
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": "*",
        "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
    }
    assert decide([statement], "iam:PassRole", **{"IAM:passedtoservice": "ec2.amazonaws.com"}).allowed
    assert not decide([statement], "iam:PassRole", **{"iam:PassedToService": "EC2.amazonaws.com"}).allowed


def test_every_operator_and_every_key_must_hold() -> None:
    statement = {
        "Effect": "Allow",
        "Action": "ec2:ModifyInstanceAttribute",
        "Resource": "*",
        "Condition": {
            "StringEqualsIgnoreCase": {"ec2:Attribute/DisableApiTermination": "true"},
            "Bool": {"aws:SecureTransport": "true"},
        },
    }
    keys = {"ec2:Attribute/DisableApiTermination": "TRUE", "aws:SecureTransport": "true"}
    assert decide([statement], "ec2:ModifyInstanceAttribute", **keys).allowed
    assert not decide([statement], "ec2:ModifyInstanceAttribute", **{**keys, "aws:SecureTransport": "false"}).allowed


def test_an_unknown_operator_is_refused_loudly() -> None:
    statement = {"Effect": "Allow", "Action": "x:Y", "Resource": "*", "Condition": {"StringSoundsLike": {"k": "v"}}}
    with pytest.raises(ValueError, match="StringSoundsLike"):
        decide([statement], "x:Y", k="v")
