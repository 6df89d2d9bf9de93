"""A network ACL holds rules numbered 1 to 32766, at most the quota per direction and address family, the default deny
rule included; a missing rule cannot be deleted (ec2_network_acl_entries)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from bluegreen.twin import ec2_network_acl_entries


def default_acl(ec2: Any) -> str:
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    acls = ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["NetworkAcls"]
    return acls[0]["NetworkAclId"]


def deny(ec2: Any, acl: str, number: int, egress: bool = False, cidr: str = "10.40.0.9/32") -> None:
    block = {"Ipv6CidrBlock": cidr} if ":" in cidr else {"CidrBlock": cidr}
    ec2.create_network_acl_entry(
        NetworkAclId=acl, RuleNumber=number, Protocol="-1", RuleAction="deny", Egress=egress, **block
    )


def numbers(ec2: Any, acl: str, egress: bool) -> list[int]:
    entries = ec2.describe_network_acls(NetworkAclIds=[acl])["NetworkAcls"][0]["Entries"]
    return sorted(e["RuleNumber"] for e in entries if e["Egress"] == egress)


@pytest.mark.behaviour(ec2_network_acl_entries)
def test_a_network_acl_takes_no_more_rules_than_its_quota_per_direction_and_family(aws) -> None:
    # Given a VPC's default ACL: an allow (100) and the default deny (32767) each way, for IPv4
    ec2 = aws("ec2")
    acl = default_acl(ec2)
    # When 18 more inbound IPv4 rules are added: 20 with the allow and the default deny, the quota
    for number in range(1, 19):
        deny(ec2, acl, number)
    # Then the 21st inbound IPv4 rule is refused, and nothing changes
    with pytest.raises(ClientError) as refused:
        deny(ec2, acl, 19)
    assert refused.value.response["Error"]["Code"] == "NetworkAclEntryLimitExceeded"
    assert numbers(ec2, acl, egress=False) == [*range(1, 19), 100, 32767]
    # And the quota is per direction and per address family: an outbound rule, an inbound IPv6 rule still fit
    deny(ec2, acl, 19, egress=True)
    deny(ec2, acl, 19, cidr="2600:1f18::9/128")


@pytest.mark.behaviour(ec2_network_acl_entries)
def test_a_rule_number_outside_1_to_32766_is_refused(aws) -> None:
    ec2 = aws("ec2")
    acl = default_acl(ec2)
    for number in (40000, 32767):
        with pytest.raises(ClientError) as refused:
            deny(ec2, acl, number, egress=True)
        assert refused.value.response["Error"]["Code"] in ("InvalidParameterValue", "NetworkAclEntryAlreadyExists")
    with pytest.raises(ClientError) as refused:
        deny(ec2, acl, 40000)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert numbers(ec2, acl, egress=False) == [100, 32767]


@pytest.mark.behaviour(ec2_network_acl_entries)
def test_deleting_a_rule_that_is_not_there_is_refused_by_name(aws) -> None:
    ec2 = aws("ec2")
    acl = default_acl(ec2)
    with pytest.raises(ClientError) as refused:
        ec2.delete_network_acl_entry(NetworkAclId=acl, RuleNumber=7, Egress=False)
    assert refused.value.response["Error"]["Code"] == "InvalidNetworkAclEntry.NotFound"
