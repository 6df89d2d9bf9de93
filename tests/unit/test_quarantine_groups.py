"""Which quarantine groups can do their job: the isolation group allows nothing from or to anywhere, the untracking
group allows everything from and to anywhere (IPv4 and IPv6), both in the instance's VPC."""

from __future__ import annotations

import pytest
from orchestrator.domain.isolation import deny_policy, group_problem, instance_arn

EVERYTHING = [
    {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
]


def group(ingress: list[dict], egress: list[dict], vpc: str = "vpc-1") -> dict:
    return {"GroupId": "sg-1", "VpcId": vpc, "IpPermissions": ingress, "IpPermissionsEgress": egress}


@pytest.mark.parametrize(
    ("kind", "described", "says"),
    [
        ("isolation", None, "quarantine.security_group_id: sg-1 does not exist"),
        ("untracking", None, "quarantine.untracking_group_id: sg-1 does not exist"),
        ("isolation", group([], [], vpc="vpc-2"), "is in vpc-2, not in vpc-1"),
        ("isolation", group([], EVERYTHING), "allows traffic from or to anywhere"),
        (
            "isolation",
            group([{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}], []),
            "anywhere",
        ),
        ("untracking", group(EVERYTHING, []), "must allow all traffic from and to 0.0.0.0/0 and ::/0"),
        ("untracking", group([{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}], EVERYTHING), "::/0"),
        (
            "untracking",
            group([{**EVERYTHING[0], "IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535}], EVERYTHING),
            "all traffic",
        ),
    ],
)
def test_a_group_that_cannot_do_its_job_is_named_with_its_field(kind, described, says) -> None:
    # Given a group as DescribeSecurityGroups shows it (or none), When it is checked for the instance's VPC
    problem = group_problem(kind, "sg-1", described, "vpc-1")
    # Then the one line names the field and what is wrong
    assert problem is not None and says in problem


@pytest.mark.parametrize(
    ("kind", "described"),
    [
        ("isolation", group([], [])),
        # an isolation group may keep a forensic way in that is not open to anywhere
        (
            "isolation",
            group([{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.9.0.0/24"}]}], []),
        ),
        ("untracking", group(EVERYTHING, EVERYTHING)),
    ],
)
def test_a_group_that_fits_is_accepted(kind, described) -> None:
    assert group_problem(kind, "sg-1", described, "vpc-1") is None


def test_the_deny_names_the_instance_it_comes_from_only() -> None:
    # Given the stack's quarantine profile, When the deny for one instance is made
    arn = instance_arn("i-0123456789abcdef0", "eu-west-1", "arn:aws-cn:iam::111122223333:instance-profile/q")
    other = instance_arn("i-0fedcba9876543210", "eu-west-1", "arn:aws-cn:iam::111122223333:instance-profile/q")
    statement = deny_policy([other, arn])["Statement"][0]
    # Then it denies everything, from those instances (ARNs in the stack's partition and account) and no other
    assert arn == "arn:aws-cn:ec2:eu-west-1:111122223333:instance/i-0123456789abcdef0"
    assert (statement["Effect"], statement["Action"], statement["Resource"]) == ("Deny", "*", "*")
    assert statement["Condition"] == {"StringEquals": {"ec2:SourceInstanceARN": [arn, other]}}
