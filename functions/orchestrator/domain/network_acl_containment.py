"""Network ACL entries that deny a quarantined instance's own addresses: they cut the flows security groups cannot.

Why: "Untracked" is not enough. "Automatically tracked connections" (EC2 User Guide, "Security group connection
tracking": flows through a NAT gateway, a Network Load Balancer, a Gateway Load Balancer, an interface endpoint, a
transit gateway attachment, ...) stay tracked whatever the instance's groups say, so an open session through a NAT
gateway survives the untracking and isolation groups. The same page: "To ensure that traffic is immediately interrupted
..., use a network ACL for your subnet. Network ACLs are stateless and therefore do not automatically allow response
traffic. Adding a network ACL that blocks traffic in either direction breaks existing traffic."

Where the entries go: a network ACL rule matches the far end of a flow (an inbound rule its source, an outbound rule
its destination), and traffic that stays inside one subnet is not evaluated at all. So an entry naming the instance's
address does its work at the boundary of every *other* subnet: bluegreen adds, to each network ACL of the instance's
VPC that serves a subnet other than the instance's own, an inbound rule denying all traffic from each of the
instance's addresses (IPv4 /32, IPv6 /128) and an outbound rule denying all traffic to it. A NAT gateway, a load
balancer node, an endpoint or a transit gateway attachment lives in some subnet of the VPC: its flows with the
instance cross that subnet's ACL and are dropped both ways at once. No other instance is touched: the rules name one
instance's addresses. What they cannot cut: traffic between the instance and others of its own subnet (no ACL sees
it: the isolation group drops it), and a network ACL that serves the instance's own subnet alone is left as it is.

Rule numbers: the lowest free numbers below the ACL's first allow rule in that direction (rules are evaluated "in
order, starting with the lowest numbered rule"), so the deny comes first. Quota (Amazon VPC User Guide, "Amazon VPC
quotas", Network ACLs): "Rules per network ACL: 20. This is the one-way quota for a single network ACL. This quota is
enforced separately for IPv4 rules and IPv6 rules ... This quota includes the default deny rules ... can be increased
up to a maximum of 40". The case checks it (quarantine.network_acl_rule_quota, the account's value) before it adds
anything to an ACL: if the entries do not fit, none are added there and the step fails saying so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orchestrator.adapters import ec2
from orchestrator.errors import IsolationIncompleteError

FIRST_RULE, LAST_RULE = 1, 32766
DEFAULT_DENY = (32767, 32768)  # the `*` rules (IPv4, IPv6): they count against the quota, and are never ours
ATTEMPTS = 3  # a concurrent case may take a number between the read and the write: read again and take the next


@dataclass(frozen=True)
class Entry:
    network_acl_id: str
    rule_number: int
    egress: bool
    cidr: str

    def record(self) -> dict:
        return {
            "network_acl_id": self.network_acl_id,
            "rule_number": self.rule_number,
            "egress": self.egress,
            "cidr": self.cidr,
        }


def instance_cidrs(instance: dict) -> list[str]:
    """Every private address of every interface, as /32 (IPv4) and /128 (IPv6) blocks."""
    found: list[str] = []
    for interface in instance.get("NetworkInterfaces", []):
        found += [f"{a['PrivateIpAddress']}/32" for a in interface.get("PrivateIpAddresses", [])]
        found += [f"{a['Ipv6Address']}/128" for a in interface.get("Ipv6Addresses", [])]
    if not found and instance.get("PrivateIpAddress"):
        found.append(f"{instance['PrivateIpAddress']}/32")
    return list(dict.fromkeys(found))


def own_subnets(instance: dict) -> set[str]:
    subnets = {n["SubnetId"] for n in instance.get("NetworkInterfaces", []) if n.get("SubnetId")}
    return subnets | ({instance["SubnetId"]} if instance.get("SubnetId") else set())


def acls_to_use(acls: list[dict], vpc_id: str, subnets: set[str]) -> list[dict]:
    """The VPC's ACLs that serve a subnet other than the instance's own (only those can see its flows)."""
    return [
        acl
        for acl in acls
        if acl.get("VpcId") == vpc_id
        and any(a.get("SubnetId") and a["SubnetId"] not in subnets for a in acl.get("Associations", []))
    ]


def _family(entry: dict) -> str:
    return "IPv6" if entry.get("Ipv6CidrBlock") else "IPv4"


def _cidr(entry: dict) -> str | None:
    return entry.get("CidrBlock") or entry.get("Ipv6CidrBlock")


def _is_ours(entry: dict, egress: bool, cidr: str) -> bool:
    return (
        entry.get("Egress") == egress
        and entry.get("RuleAction") == "deny"
        and str(entry.get("Protocol")) == "-1"
        and _cidr(entry) == cidr
    )


def plan(acl: dict, cidrs: list[str], quota: int) -> tuple[list[Entry], list[Entry]]:
    """(entries to add, entries already there from an earlier attempt) for one ACL; IsolationIncompleteError when they
    do not fit below its first allow, or in its rule quota."""
    acl_id = acl["NetworkAclId"]
    entries = acl.get("Entries", [])
    add: list[Entry] = []
    kept: list[Entry] = []
    for egress in (False, True):
        direction = "outbound" if egress else "inbound"
        mine = [e for e in entries if e.get("Egress") == egress]
        allows = [e["RuleNumber"] for e in mine if e.get("RuleAction") == "allow"]
        first_allow = min(allows, default=LAST_RULE + 1)
        taken = {e["RuleNumber"] for e in mine}
        wanted: list[str] = []
        for cidr in cidrs:
            there = next((e for e in mine if _is_ours(e, egress, cidr) and e["RuleNumber"] < first_allow), None)
            if there:
                kept.append(Entry(acl_id, there["RuleNumber"], egress, cidr))
            else:
                wanted.append(cidr)
        for family in ("IPv4", "IPv6"):
            needed = sum(1 for c in wanted if (":" in c) == (family == "IPv6"))
            used = sum(1 for e in mine if _family(e) == family)
            if needed and used + needed > quota:
                raise IsolationIncompleteError(
                    f"network ACL {acl_id}: {used} of {quota} {direction} {family} rules used, {needed} more needed"
                    " to deny the instance: free rules there, or raise the VPC quota 'Rules per network ACL' (up to"
                    " 40) and set quarantine.network_acl_rule_quota to it"
                )
        free = [n for n in range(FIRST_RULE, first_allow) if n not in taken][: len(wanted)]
        if len(free) < len(wanted):
            raise IsolationIncompleteError(
                f"network ACL {acl_id}: no free {direction} rule number below its first allow (rule {first_allow})"
                f" for {len(wanted)} deny rule(s): renumber its allows upwards (e.g. from 100)"
            )
        add += [Entry(acl_id, n, egress, c) for n, c in zip(free, wanted, strict=True)]
    return add, kept


def deny_instance(acls: list[dict], instance: dict, quota: int) -> dict:
    """The step: deny the instance's addresses in each ACL that can see its flows. Its result records every entry."""
    vpc_id = instance.get("VpcId")
    if not vpc_id:
        raise IsolationIncompleteError("the instance is in no VPC: no network ACL can cut its flows")
    cidrs = instance_cidrs(instance)
    chosen = acls_to_use(acls, vpc_id, own_subnets(instance))
    if not chosen:
        return {
            "result": f"no network ACL of {vpc_id} serves another subnet: nothing for one to cut",
            "entries": [],
        }
    done: list[Entry] = []
    for acl in chosen:
        done += _deny_in(acl, cidrs, quota)
    return {
        "result": f"{len(cidrs)} address(es) denied both ways in {len(chosen)} network ACL(s): flows through a NAT"
        " gateway, load balancer, endpoint or transit gateway in another subnet are cut",
        "addresses": cidrs,
        "entries": [e.record() for e in done],
    }


def _deny_in(acl: dict, cidrs: list[str], quota: int) -> list[Entry]:
    current: dict | None = acl
    for _ in range(ATTEMPTS):
        if current is None:
            raise IsolationIncompleteError(f"network ACL {acl['NetworkAclId']} no longer exists")
        add, kept = plan(current, cidrs, quota)
        made = [e for e in add if ec2.deny_acl_entry(e.network_acl_id, e.rule_number, e.egress, e.cidr)]
        if len(made) == len(add):
            return kept + made
        current = ec2.network_acl(acl["NetworkAclId"])  # a number was taken meanwhile: look again
    raise IsolationIncompleteError(
        f"network ACL {acl['NetworkAclId']}: its rule numbers kept being taken by others while denying the instance"
    )


def taken(acls: list[dict], made: list[dict]) -> None:
    """The ACLs as they are after an instance's entries (in place), for the next instance's rule numbers."""
    for entry in made:
        acl = next(a for a in acls if a["NetworkAclId"] == entry["network_acl_id"])
        block = {"Ipv6CidrBlock" if ":" in entry["cidr"] else "CidrBlock": entry["cidr"]}
        there = {(e["RuleNumber"], e["Egress"]) for e in acl.get("Entries", [])}
        if (entry["rule_number"], entry["egress"]) not in there:
            acl.setdefault("Entries", []).append(
                {"RuleNumber": entry["rule_number"], "Egress": entry["egress"], "RuleAction": "deny", "Protocol": "-1"}
                | block
            )


def remove(recorded: list[dict], api: Any = None) -> list[str]:
    """Delete the entries a case recorded (release-instance), each only if it is still the deny the case made; one line
    per entry saying what happened."""
    lines: list[str] = []
    by_acl: dict[str, list[dict]] = {}
    for entry in recorded:
        by_acl.setdefault(entry["network_acl_id"], []).append(entry)
    for acl_id, entries in by_acl.items():
        acl = ec2.network_acl(acl_id, api)
        if acl is None:
            lines.append(f"{acl_id}: gone (nothing to remove)")
            continue
        for entry in entries:
            egress, number = bool(entry["egress"]), int(entry["rule_number"])
            where = f"{acl_id} {'outbound' if egress else 'inbound'} rule {number} ({entry['cidr']})"
            now = next((e for e in acl.get("Entries", []) if e["RuleNumber"] == number and e["Egress"] == egress), None)
            if now is None:
                lines.append(f"{where}: already gone")
            elif not _is_ours(now, egress, entry["cidr"]):
                lines.append(f"{where}: the number holds another rule now, left alone")
            else:
                ec2.delete_acl_entry(acl_id, number, egress, api)
                lines.append(f"{where}: removed")
    return lines
