"""Network ACL containment: which ACLs, which rule numbers (before the allows), the quota checked before any change."""

from __future__ import annotations

import pytest
from orchestrator.domain.network_acl_containment import acls_to_use, instance_cidrs, plan
from orchestrator.errors import IsolationIncompleteError


def entry(number: int, egress: bool, action: str = "allow", cidr: str = "0.0.0.0/0") -> dict:
    block = {"Ipv6CidrBlock": cidr} if ":" in cidr else {"CidrBlock": cidr}
    return {"RuleNumber": number, "Egress": egress, "RuleAction": action, "Protocol": "-1", **block}


def acl(entries: list[dict], subnets: list[str], vpc: str = "vpc-1", acl_id: str = "acl-1") -> dict:
    return {
        "NetworkAclId": acl_id,
        "VpcId": vpc,
        "Entries": entries,
        "Associations": [{"SubnetId": s} for s in subnets],
    }


DEFAULT = [entry(100, False), entry(32767, False, "deny"), entry(100, True), entry(32767, True, "deny")]
INSTANCE = {
    "VpcId": "vpc-1",
    "SubnetId": "subnet-a",
    "NetworkInterfaces": [
        {
            "SubnetId": "subnet-a",
            "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.1.5"}, {"PrivateIpAddress": "10.0.1.6"}],
            "Ipv6Addresses": [{"Ipv6Address": "2600:1f18::5"}],
        }
    ],
}


def test_every_address_of_every_interface_is_denied_as_a_single_host() -> None:
    assert instance_cidrs(INSTANCE) == ["10.0.1.5/32", "10.0.1.6/32", "2600:1f18::5/128"]


def test_only_acls_that_serve_another_subnet_can_see_the_instances_flows() -> None:
    own_only = acl(DEFAULT, ["subnet-a"], acl_id="acl-own")
    shared = acl(DEFAULT, ["subnet-a", "subnet-nat"], acl_id="acl-shared")
    other_vpc = acl(DEFAULT, ["subnet-x"], vpc="vpc-2", acl_id="acl-other")
    unused = acl(DEFAULT, [], acl_id="acl-unused")
    chosen = acls_to_use([own_only, shared, other_vpc, unused], "vpc-1", {"subnet-a"})
    assert [a["NetworkAclId"] for a in chosen] == ["acl-shared"]


def test_denies_take_the_lowest_free_numbers_before_the_first_allow_each_way() -> None:
    entries = [entry(1, False, "deny", "192.0.2.1/32"), entry(3, False), *DEFAULT, entry(50, True)]
    add, kept = plan(acl(entries, ["subnet-b"]), ["10.0.1.5/32"], 20)
    assert kept == []
    assert [(e.rule_number, e.egress, e.cidr) for e in add] == [(2, False, "10.0.1.5/32"), (1, True, "10.0.1.5/32")]


def test_a_retry_keeps_the_denies_it_made_and_adds_no_second_one() -> None:
    entries = [entry(1, False, "deny", "10.0.1.5/32"), entry(1, True, "deny", "10.0.1.5/32"), *DEFAULT]
    add, kept = plan(acl(entries, ["subnet-b"]), ["10.0.1.5/32"], 20)
    assert add == []
    assert [(e.rule_number, e.egress) for e in kept] == [(1, False), (1, True)]


def test_no_room_before_the_first_allow_is_refused_before_any_change() -> None:
    entries = [entry(1, False), entry(32767, False, "deny"), entry(100, True), entry(32767, True, "deny")]
    with pytest.raises(IsolationIncompleteError, match="no free inbound rule number below its first allow"):
        plan(acl(entries, ["subnet-b"]), ["10.0.1.5/32"], 20)


def test_the_quota_counts_one_direction_and_family_with_the_default_deny() -> None:
    # 19 inbound IPv4 rules (17 denies, the allow, the default deny): one more fits, two do not
    entries = [entry(n, False, "deny", f"192.0.2.{n}/32") for n in range(1, 18)] + DEFAULT
    add, _ = plan(acl(entries, ["subnet-b"]), ["10.0.1.5/32"], 20)
    assert len(add) == 2
    with pytest.raises(IsolationIncompleteError, match="19 of 20 inbound IPv4 rules used, 2 more needed"):
        plan(acl(entries, ["subnet-b"]), ["10.0.1.5/32", "10.0.1.6/32"], 20)
    # a raised quota (quarantine.network_acl_rule_quota) lets them in; an IPv6 address counts apart
    assert len(plan(acl(entries, ["subnet-b"]), ["10.0.1.5/32", "10.0.1.6/32"], 40)[0]) == 4
    assert len(plan(acl(entries, ["subnet-b"]), ["10.0.1.5/32", "2600:1f18::5/128"], 20)[0]) == 4
