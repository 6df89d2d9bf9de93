"""Containment of quarantined instances, in the order that cuts an attacker off soonest.

After one DescribeInstances (and one write of what it found to the case, before anything changes):
1. network, on every interface: the untracking group (all traffic from and to anywhere, so every flow becomes
   untracked), then the isolation group (no rule: those flows are dropped at once; a group change alone leaves tracked
   connections open until they time out, 5 days for idle TCP by default); then network ACL rules denying the
   instance's own addresses both ways (network_acl_containment: what AWS always tracks, e.g. through a NAT gateway);
2. credentials: the instance role's sessions denied from that instance only (an inline deny conditioned on
   ec2:SourceInstanceARN and on aws:userId <RoleId>:<instance id>; IAM applies it within minutes, and the case says
   when it was written), its instance profile replaced with the stack's deny-all one, Elastic IPs disassociated (which
   alone does not take an instance off the internet, and the case says so);
3. protection: termination protection, volumes kept on termination, the `bluegreen:quarantine` tag;
4. detach from the Auto Scaling group (capacity kept, so a replacement launches); an instance still launching is
   protected from scale-in and detached as soon as Auto Scaling allows (`detach_pending`);
5. deregistration from the group's own target groups and the app's slots' (no scan of the account);
6. evidence: crash-consistent snapshots of all its volumes at once, tagged as created;
7. the role's earlier quarantine denies of released or long-gone instances collected (deny_policies).

Every step records its time and result in the case; a failed step does not stop the others; every step is safe to run
again. Nothing here terminates an instance.
"""

from __future__ import annotations

import contextvars
import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from orchestrator.adapters import autoscaling, ec2, elbv2, iam, notify, state_table
from orchestrator.case_models import QuarantineCase
from orchestrator.domain import deny_policies, network_acl_containment
from orchestrator.errors import DetachBlockedError, IsolationIncompleteError

QUARANTINE_TAG = "bluegreen:quarantine"
RELEASED_TAG = "bluegreen:quarantine-released"
GROUP_TAG = "bluegreen:quarantine-group"
GROUP_NAMES = {"untracking": "bluegreen-quarantine-untracking", "isolation": "bluegreen-quarantine-isolation"}
GROUP_DESCRIPTIONS = {
    "untracking": "bluegreen quarantine, step 1: all traffic from and to anywhere, so every flow becomes untracked",
    "isolation": "bluegreen quarantine, step 2: no rule at all, so every untracked flow is dropped at once",
}
CONFIG_FIELDS = {"untracking": "quarantine.untracking_group_id", "isolation": "quarantine.security_group_id"}
DENY_POLICY_PREFIX = deny_policies.PREFIX
deny_policy = deny_policies.document  # the inline deny (orchestrator.domain.deny_policies)
# Parallel calls for the urgent phases (network, credentials) when a case names several instances.
WORKERS = 10


# --- the two groups ------------------------------------------------------------------------------------------------


def _anywhere(rules: list[dict]) -> tuple[bool, bool]:
    """Whether the rules allow all traffic (every protocol and port) from or to 0.0.0.0/0, and to ::/0."""
    every = [r for r in rules if r.get("IpProtocol") == "-1"]
    v4 = any(any(x.get("CidrIp") == "0.0.0.0/0" for x in r.get("IpRanges", [])) for r in every)
    v6 = any(any(x.get("CidrIpv6") == "::/0" for x in r.get("Ipv6Ranges", [])) for r in every)
    return v4, v6


def _opens_anywhere(rules: list[dict]) -> bool:
    return any(
        any(x.get("CidrIp") == "0.0.0.0/0" for x in r.get("IpRanges", []))
        or any(x.get("CidrIpv6") == "::/0" for x in r.get("Ipv6Ranges", []))
        for r in rules
    )


def group_problem(kind: str, group_id: str, group: dict | None, vpc_id: str | None) -> str | None:
    """Why an app's own quarantine group cannot do its job in this VPC, in one line naming the field; None if it can."""
    where = f"{CONFIG_FIELDS[kind]}: {group_id}"
    if group is None:
        return f"{where} does not exist (name an existing group of the app's VPC, or leave the field out for bluegreen's own)"
    if vpc_id and group.get("VpcId") != vpc_id:
        return (
            f"{where} is in {group.get('VpcId') or 'no VPC'}, not in {vpc_id}: an interface takes groups of its own"
            " VPC only (name a group of that VPC, or leave the field out for bluegreen's own)"
        )
    inbound, outbound = group.get("IpPermissions", []), group.get("IpPermissionsEgress", [])
    if kind == "isolation" and (_opens_anywhere(inbound) or _opens_anywhere(outbound)):
        return f"{where} allows traffic from or to anywhere (0.0.0.0/0 or ::/0), so it would not isolate"
    if kind == "untracking" and not (all(_anywhere(inbound)) and all(_anywhere(outbound))):
        return (
            f"{where} must allow all traffic from and to 0.0.0.0/0 and ::/0: otherwise tracked connections stay"
            " tracked and survive the isolation group"
        )
    return None


@dataclass
class VpcGroups:
    untracking: str
    isolation: str
    problems: list[str] = field(default_factory=list)  # the app's own groups that could not be used, and why


def quarantine_groups(vpc_ids: list[str], isolation_id: str | None, untracking_id: str | None) -> dict[str, VpcGroups]:
    """The two groups to use in each VPC: the app's own when it names them and they fit, else bluegreen's own (made on
    first need, kept right on every use). An app's group that does not fit is reported, and bluegreen's is used: an
    instance is never left unisolated for a configuration mistake."""
    vpc_ids = sorted(set(vpc_ids))
    if not vpc_ids:
        return {}
    configured = {k: v for k, v in (("isolation", isolation_id), ("untracking", untracking_id)) if v}
    described = ec2.security_groups(list(configured.values())) if configured else {}
    owned = {(g["VpcId"], ec2.tag_of(g, GROUP_TAG)): g for g in ec2.tagged_groups(vpc_ids, GROUP_TAG)}
    found: dict[str, VpcGroups] = {}
    for vpc_id in vpc_ids:
        chosen: dict[str, str] = {}
        problems: list[str] = []
        for kind in ("untracking", "isolation"):
            if kind in configured:
                problem = group_problem(kind, configured[kind], described.get(configured[kind]), vpc_id)
                if problem is None:
                    chosen[kind] = configured[kind]
                    continue
                problems.append(problem)
            chosen[kind] = _own_group(kind, vpc_id, owned.get((vpc_id, kind)))
        found[vpc_id] = VpcGroups(chosen["untracking"], chosen["isolation"], problems)
    return found


def _own_group(kind: str, vpc_id: str, group: dict | None) -> str:
    """bluegreen's own group of this kind in the VPC, made if missing, and its rules put right if anyone changed them."""
    if group is None:
        made = ec2.create_group(vpc_id, GROUP_NAMES[kind], GROUP_DESCRIPTIONS[kind], {GROUP_TAG: kind})
        if made:
            group = ec2.security_groups([made]).get(made)
        else:  # a concurrent case made it first (the name is unique in the VPC): use that one
            group = next((g for g in ec2.tagged_groups([vpc_id], GROUP_TAG) if ec2.tag_of(g, GROUP_TAG) == kind), None)
        if group is None:
            raise IsolationIncompleteError(
                f"a group named {GROUP_NAMES[kind]} exists in {vpc_id} without the tag {GROUP_TAG}={kind}: tag it so,"
                " or delete it, and bluegreen uses (or makes) its own"
            )
    if kind == "isolation" and (group.get("IpPermissions") or group.get("IpPermissionsEgress")):
        ec2.revoke_rules(group)  # a new VPC group comes with a rule that allows all egress
    if kind == "untracking":
        inbound, outbound = _anywhere(group.get("IpPermissions", [])), _anywhere(group.get("IpPermissionsEgress", []))
        if not all(inbound):
            ec2.open_to_anywhere(group["GroupId"], "ingress")
        if not all(outbound):
            ec2.open_to_anywhere(group["GroupId"], "egress")
    return group["GroupId"]


# --- one instance's work -------------------------------------------------------------------------------------------


@dataclass
class Work:
    """One instance's isolation: what it looked like before, and each step's time and result."""

    instance_id: str
    instance: dict
    metadata: dict
    steps: dict[str, dict] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    snapshots: dict[str, str] = field(default_factory=dict)
    awaiting_detach: bool = False
    network_isolated_at: str | None = None
    contained_at: str | None = None
    previous: dict[str, dict] = field(default_factory=dict)  # the steps of an earlier attempt (a retried task)

    def step(self, name: str, clock: Callable[[], datetime], action: Callable[[], Any]) -> None:
        """Run one step; record when it ended and what it did (a dict with "result", or a line), or why it failed."""
        try:
            outcome = action()
            detail = outcome if isinstance(outcome, dict) else {"result": str(outcome)}
            self.steps[name] = {"ok": True, "at": clock().isoformat(), **detail}
        except Exception as err:  # keep containing: later steps do not depend on this one
            self.steps[name] = {"ok": False, "at": clock().isoformat(), "result": f"failed: {err}"}
            self.errors.append(f"{name}: {err}")

    def record(self, case: QuarantineCase, clock: Callable[[], datetime]) -> dict:
        status = "failed" if self.errors else "awaiting_detach" if self.awaiting_detach else "isolated"
        record = {
            "status": status,
            "metadata": self.metadata,
            "steps": self.steps,
            "errors": self.errors,
            "snapshots": self.snapshots,
            "network_isolated_at": self.network_isolated_at,
            "contained_at": self.contained_at,
            "isolated_at": clock().isoformat() if status != "failed" else None,
            "seconds_from_event": None,
            "case_execution": case.execution_arn,
        }
        if case.trigger and case.trigger.event_time and self.contained_at:
            record["seconds_from_event"] = seconds_between(case.trigger.event_time, self.contained_at)
        return record


def metadata_of(instance: dict, clock: Callable[[], datetime]) -> dict:
    """What the instance looked like before anything changed, from DescribeInstances alone."""
    return {
        "instance_type": instance.get("InstanceType"),
        "image_id": instance.get("ImageId"),
        "state": instance.get("State", {}).get("Name"),
        "lifecycle": instance.get("InstanceLifecycle", "on-demand"),
        "launch_time": str(instance.get("LaunchTime", "")),
        "vpc_id": instance.get("VpcId"),
        "subnet_id": instance.get("SubnetId"),
        "private_ip": instance.get("PrivateIpAddress"),
        "public_ip": instance.get("PublicIpAddress"),
        "iam_instance_profile": (instance.get("IamInstanceProfile") or {}).get("Arn"),
        "security_groups": [g["GroupId"] for g in instance.get("SecurityGroups", [])],
        "network_interfaces": [
            {
                "id": n["NetworkInterfaceId"],
                "device_index": n.get("Attachment", {}).get("DeviceIndex"),
                "groups": [g["GroupId"] for g in n.get("Groups", [])],
                "private_ip": n.get("PrivateIpAddress"),
                "subnet_id": n.get("SubnetId"),
                "public_ips": [
                    {"private_ip": a.get("PrivateIpAddress"), "public_ip": a["Association"]["PublicIp"]}
                    for a in n.get("PrivateIpAddresses", [])
                    if (a.get("Association") or {}).get("PublicIp")
                ],
            }
            for n in instance.get("NetworkInterfaces", [])
        ],
        "auto_scaling_group": ec2.tag_of(instance, "aws:autoscaling:groupName"),
        "tags": {t["Key"]: t["Value"] for t in instance.get("Tags", [])},
        "volumes": [
            {
                "volume_id": m["Ebs"]["VolumeId"],
                "device": m.get("DeviceName"),
                "delete_on_termination": m["Ebs"].get("DeleteOnTermination"),
            }
            for m in instance.get("BlockDeviceMappings", [])
            if m.get("Ebs", {}).get("VolumeId")
        ],
        "recorded_at": clock().isoformat(),
    }


def instance_arn(instance_id: str, region: str, profile_arn: str | None) -> str:
    """arn:<partition>:ec2:<region>:<account>:instance/<id>, partition and account from the stack's profile ARN."""
    parts = (profile_arn or "arn:aws:iam::000000000000:x").split(":")
    return f"arn:{parts[1]}:ec2:{region}:{parts[4]}:instance/{instance_id}"


# --- the isolation task --------------------------------------------------------------------------------------------


def isolate(
    case: QuarantineCase, clock: Callable[[], datetime], region: str, topic: str | None, scale: float = 1.0
) -> QuarantineCase:
    """Isolate every instance of this execution, phase by phase (network first for all, then credentials...)."""
    assert case.app and case.case_id
    item = state_table.get(case.app, f"CASE#{case.case_id}") or {}
    recorded = item.get("instances", {})
    described = ec2.describe_instances(case.instance_ids)  # the one describe before anything changes
    work: dict[str, Work] = {}
    gone: dict[str, dict] = {}
    for instance_id in case.instance_ids:
        previous = recorded.get(instance_id) or {}
        instance = described.get(instance_id)
        if instance is None:
            gone[instance_id] = {**previous, "status": "failed", "errors": ["the instance no longer exists"]}
            continue
        metadata = previous.get("metadata") or metadata_of(instance, clock)
        work[instance_id] = Work(
            instance_id,
            instance,
            metadata,
            snapshots=dict(previous.get("snapshots") or {}),
            previous=dict(previous.get("steps") or {}),
        )
    fresh = {
        i: {"status": "isolating", "metadata": w.metadata}
        for i, w in work.items()
        if not (recorded.get(i) or {}).get("metadata")
    }
    if fresh:  # before anything changes: what each instance looked like, for the investigation
        state_table.record_case_instances(case.app, case.case_id, fresh)

    _network(case, work, clock)
    if case.revoke_credentials:
        _credentials(case, work, clock, region)
    else:
        for w in work.values():
            w.step("revoke_credentials", clock, lambda: "skipped (quarantine.revoke_credentials is false)")
    for w in work.values():
        w.contained_at = clock().isoformat() if not w.errors else None
    _record_contained(case, work, clock)
    _protect(case, work, clock)
    # Where it is registered, read before the detach (which takes it out of its group's own target groups).
    registered = _registrations(case, work, clock)
    _detach(case, work, clock)
    _deregister(work, registered, clock)
    _evidence(case, work, clock)
    _collect_denies(work, clock)

    records = {i: w.record(case, clock) for i, w in work.items()}
    state_table.record_case_instances(case.app, case.case_id, {**records, **gone})
    failures = {i: r["errors"] for i, r in {**records, **gone}.items() if r["errors"]}
    waiting = sorted(i for i, w in work.items() if w.awaiting_detach)
    for instance_id, record in records.items():
        if record["status"] == "isolated" and instance_id not in case.isolated:
            case.isolated.append(instance_id)
    contained = [r["contained_at"] for r in records.values() if r["contained_at"]]
    case.contained_at = max(contained) if contained and not failures else case.contained_at
    case.awaiting_detach = sorted(set(case.awaiting_detach) | set(waiting))
    if case.awaiting_detach and case.detach_by is None:
        case.detach_by = (clock() + timedelta(seconds=max(1, round(DETACH_SECONDS * scale)))).isoformat()
    if failures:
        detail = "; ".join(f"{i}: {', '.join(e)}" for i, e in failures.items())
        raise IsolationIncompleteError(f"case {case.case_id} of {case.app}: {detail}")
    case.isolated_at = clock().isoformat()
    case.status = "detaching" if case.awaiting_detach else "isolated"
    if case.owner:
        state_table.update(
            case.app,
            f"CASE#{case.case_id}",
            {"status": case.status, "isolated_at": case.isolated_at, "contained_at": case.contained_at},
        )
    notify.publish(
        [topic, case.notify_topic_arn],
        f"bluegreen: {case.app} case {case.case_id}: {len(work)} instance(s) isolated",
        {
            "app": case.app,
            "case_id": case.case_id,
            "isolated": sorted(work),
            "awaiting_detach": case.awaiting_detach,
            "skipped": [s.model_dump() for s in case.skipped],
            "reason": case.trigger.reason if case.trigger else "",
            "next": "the fleet is swapped onto fresh instances" if case.owner else "joined the open case",
        },
    )
    return case


def _record_contained(case: QuarantineCase, work: dict[str, Work], clock: Callable[[], datetime]) -> None:
    """Network and credentials done: said in the case now (what a responder watches for), the rest follows."""
    assert case.app and case.case_id
    state_table.record_case_instances(
        case.app,
        case.case_id,
        {
            i: {**w.record(case, clock), "status": "failed" if w.errors else "contained", "isolated_at": None}
            for i, w in work.items()
        },
    )
    contained = [w.contained_at for w in work.values()]
    if case.owner and contained and all(contained):
        state_table.update(case.app, f"CASE#{case.case_id}", {"contained_at": max(c for c in contained if c)})


def _parallel(work: dict[str, Work], action: Callable[[Work], None]) -> None:
    """Per instance, at once when there are several (each instance's own calls stay in order)."""
    if len(work) <= 1:
        for w in work.values():
            action(w)
        return
    with ThreadPoolExecutor(min(WORKERS, len(work))) as pool:
        # Each worker in the caller's context (its logging keys, and whatever else the runtime keeps there).
        futures = [pool.submit(contextvars.copy_context().run, action, w) for w in work.values()]
        for future in futures:
            future.result()


def _network(case: QuarantineCase, work: dict[str, Work], clock: Callable[[], datetime]) -> None:
    vpcs = sorted({w.instance.get("VpcId") for w in work.values() if w.instance.get("VpcId")})
    try:
        groups = quarantine_groups(vpcs, case.isolation_group, case.untracking_group)
    except Exception as err:  # no group to isolate with: every instance's network step fails, the rest still run
        for w in work.values():
            w.step("isolate_network", clock, lambda err=err: _raise(err))
        return

    def isolate_one(w: Work) -> None:
        chosen = groups.get(w.instance.get("VpcId") or "")
        w.step("isolate_network", clock, lambda: _isolate_interfaces(w, chosen))
        step = w.steps["isolate_network"]
        if step["ok"]:
            w.network_isolated_at = step["at"]
        if step["ok"] and chosen and chosen.problems:
            # Isolated all the same, with bluegreen's own group; but the case must not say it succeeded.
            problem = "; ".join(chosen.problems)
            step.update(ok=False, result=f"{step['result']}, bluegreen's own group used instead: {problem}")
            w.errors.append(f"isolate_network: {problem}")

    _parallel(work, isolate_one)
    _network_acls(case, work, clock)


def _network_acls(case: QuarantineCase, work: dict[str, Work], clock: Callable[[], datetime]) -> None:
    """Right after the groups: deny each instance's addresses in its VPC's network ACLs (one describe for the case;
    one instance after the other, as they share the ACLs' rule numbers)."""
    if not case.network_acl:
        for w in work.values():
            w.step("network_acl", clock, lambda: NO_NETWORK_ACL)
        return
    try:
        acls = ec2.network_acls(sorted({w.instance["VpcId"] for w in work.values() if w.instance.get("VpcId")}))
    except Exception as err:
        for w in work.values():
            w.step("network_acl", clock, lambda err=err: _raise(err))
        return
    for w in work.values():
        w.step(
            "network_acl",
            clock,
            lambda w=w: network_acl_containment.deny_instance(acls, w.instance, case.network_acl_rule_quota),
        )
        network_acl_containment.taken(acls, w.steps["network_acl"].get("entries") or [])


NO_NETWORK_ACL = (
    "skipped (quarantine.network_acl is false): flows AWS always tracks (through a NAT gateway, a Network Load"
    " Balancer, an endpoint) are NOT cut"
)


def _raise(err: Exception) -> None:
    raise err


def _isolate_interfaces(w: Work, groups: VpcGroups | None) -> dict:
    if groups is None:
        raise IsolationIncompleteError("the instance is in no VPC: security groups cannot isolate it")
    interfaces = w.instance.get("NetworkInterfaces", [])
    for interface in interfaces:
        # The order is the point: all-traffic first (flows become untracked), then no rule (they are dropped at once).
        ec2.set_interface_groups(interface["NetworkInterfaceId"], [groups.untracking])
        ec2.set_interface_groups(interface["NetworkInterfaceId"], [groups.isolation])
    return {
        "result": f"{groups.untracking} then {groups.isolation} on {len(interfaces)} interface(s)",
        "untracking_group": groups.untracking,
        "isolation_group": groups.isolation,
        "interfaces": [i["NetworkInterfaceId"] for i in interfaces],
    }


def _credentials(case: QuarantineCase, work: dict[str, Work], clock: Callable[[], datetime], region: str) -> None:
    ids = sorted(work)
    try:
        associations = ec2.profile_associations(ids)
        addresses = ec2.addresses_of(ids)
        # Elastic IPs taken away: where a subnet assigns public IPv4 addresses, the interface gets one back.
        subnets = {n.get("subnet_id") for w in work.values() for n in w.metadata.get("network_interfaces", [])}
        public_subnets = ec2.subnets_assigning_public_ipv4(sorted(s for s in subnets if s)) if addresses else set()
        originals = {i: _original_profile(case, work[i], associations.get(i)) for i in ids}
        role_ids = {p: iam.role_and_id_of_profile(p) for p in sorted({p for p in originals.values() if p})}
        roles = {p: r[0] if r else None for p, r in role_ids.items()}
    except Exception as err:
        for w in work.values():
            w.step("revoke_credentials", clock, lambda err=err: _raise(err))
        return
    # Sessions already issued (perhaps copied off the instance) first: one inline deny per role for this execution's
    # instances of it (a role's inline policies share 10,240 characters, so one per instance would soon fill it).
    denials: dict[str, tuple[str, Exception | None]] = {}
    by_role: dict[tuple[str, str], list[str]] = {}
    for instance_id, profile in originals.items():
        if profile and role_ids.get(profile):
            by_role.setdefault(role_ids[profile] or ("", ""), []).append(instance_id)
    changed_at: dict[str, str] = {}
    for (role, role_id), members in by_role.items():
        policy = deny_policy_name(case)
        try:
            arns = [instance_arn(i, region, case.quarantine_profile_arn) for i in sorted(members)]
            deny_policies.put(role, policy, deny_policies.document(arns, role_id), clock())
            changed_at.update({i: clock().isoformat() for i in members})
            denials.update({i: (policy, None) for i in members})
        except Exception as err:
            denials.update({i: (policy, err) for i in members})

    def revoke_one(w: Work) -> None:
        profile = originals[w.instance_id]
        role = roles.get(profile) if profile else None
        policy, denied = denials.get(w.instance_id, (None, None))
        association = associations.get(w.instance_id)
        at = changed_at.get(w.instance_id)
        w.step(
            "revoke_credentials", clock, lambda: _replace_profile(case, profile, role, policy, denied, association, at)
        )
        mine = [a for a in addresses if a.get("InstanceId") == w.instance_id]
        # An earlier attempt may have taken some already: they stay on record, for release-instance.
        earlier = (w.previous.get("disassociate_addresses") or {}).get("addresses", [])
        w.step("disassociate_addresses", clock, lambda: _disassociate(mine, earlier, w, public_subnets))

    _parallel(work, revoke_one)


def _collect_denies(work: dict[str, Work], clock: Callable[[], datetime]) -> None:
    """Nothing urgent left: each role this execution denied loses its earlier denies of released or long-gone
    instances (deny_policies.collect), recorded on each instance of the role; never a failure of the case."""
    by_role: dict[tuple[str, str], list[Work]] = {}
    for w in work.values():
        step = w.steps.get("revoke_credentials") or {}
        if step.get("ok") and step.get("role") and step.get("policy"):
            by_role.setdefault((step["role"], step["policy"]), []).append(w)
    for (role, policy), members in sorted(by_role.items(), key=lambda kv: kv[0]):
        line = deny_policies.collect_quietly(role, policy, clock())
        for w in members:
            w.steps["collect_denies"] = {"ok": True, "at": clock().isoformat(), "result": line}


def deny_policy_name(case: QuarantineCase) -> str:
    """One name per case and execution (joiners of the case write their own; a retry rewrites its own)."""
    execution = hashlib.sha256((case.execution_arn or "").encode()).hexdigest()[:8]
    return f"{DENY_POLICY_PREFIX}{case.case_id}-{execution}"


def _original_profile(case: QuarantineCase, w: Work, association: dict | None) -> str | None:
    """The instance profile the instance had before the case (None: none, or the quarantine's own already)."""
    current = ((association or {}).get("IamInstanceProfile") or {}).get("Arn")
    original = w.metadata.get("iam_instance_profile") or current
    return None if original == case.quarantine_profile_arn else original


def _replace_profile(
    case: QuarantineCase,
    original: str | None,
    role: str | None,
    policy: str | None,
    denied: Exception | None,
    association: dict | None,
    iam_changed_at: str | None = None,
) -> dict:
    """No new credentials from the instance profile: the stack's deny-all one in its place, even if the deny failed."""
    if not original:
        return {"result": "no instance profile of its own: the instance has no role credentials to revoke"}
    current = ((association or {}).get("IamInstanceProfile") or {}).get("Arn")
    if association and current != case.quarantine_profile_arn:
        if not case.quarantine_profile_arn:
            raise IsolationIncompleteError("the stack's quarantine instance profile is not known to this case")
        ec2.replace_profile(association["AssociationId"], case.quarantine_profile_arn)
    if denied is not None:
        raise denied
    sessions = (
        f"sessions of role {role} denied from this instance ({policy}: ec2:SourceInstanceARN and aws:userId), written"
        f" at {iam_changed_at}: {IAM_DELAY}"
        if role
        else "its profile holds no role"
    )
    return {
        "result": f"{sessions}; instance profile {original} replaced by {case.quarantine_profile_arn}",
        "original_profile": original,
        "role": role,
        "policy": policy,
        "iam_changed_at": iam_changed_at,
        "takes_effect": IAM_DELAY if role else None,
        "quarantine_profile": case.quarantine_profile_arn,
    }


# IAM User Guide, "Disabling permissions for temporary security credentials" / "Changes that I make are not always
# immediately visible": a change takes time to reach every endpoint.
IAM_DELAY = "IAM changes take effect within minutes, not at once (the network cut is what stops the instance meanwhile)"


def _disassociate(addresses: list[dict], earlier: list[dict], w: Work, public_subnets: set[str]) -> dict:
    """Take its Elastic IPs, and say what that does and does not do: it is not what takes the instance off the
    internet (the network isolation is)."""
    for address in addresses:
        ec2.disassociate_address(address["AssociationId"])
    now = {a.get("AllocationId") for a in addresses}
    taken = [a for a in earlier if a.get("allocation_id") not in now] + [
        {
            "public_ip": a.get("PublicIp"),
            "allocation_id": a.get("AllocationId"),
            "network_interface_id": a.get("NetworkInterfaceId"),
            "private_ip": a.get("PrivateIpAddress"),
        }
        for a in addresses
    ]
    interfaces = w.metadata.get("network_interfaces", [])
    taken_from = {a.get("network_interface_id") for a in taken}
    public = sorted(
        n["id"]
        for n in interfaces
        if n["id"] in taken_from and n.get("subnet_id") in public_subnets and n.get("device_index") == 0
    )
    kept = sorted(
        {p["public_ip"] for n in interfaces for p in n.get("public_ips", [])} - {a.get("public_ip") for a in taken}
    )
    said = f"{len(taken)} Elastic IP(s) disassociated"
    if public:
        said += (
            f"; the interface {', '.join(public)} is in a subnet that assigns public IPv4 addresses, so EC2 may give it a"
            " new one: this does not take the instance off the internet (its network isolation does)"
        )
    if kept:
        said += (
            f"; public IPv4 {', '.join(kept)} not an Elastic IP, still on the instance (its network isolation cuts it)"
        )
    return {"result": said, "addresses": taken, "public_ipv4_remains": bool(public or kept)}


def _protect(case: QuarantineCase, work: dict[str, Work], clock: Callable[[], datetime]) -> None:
    assert case.case_id
    _parallel(work, lambda w: w.step("protect", clock, lambda: _protect_one(w)))
    ids = sorted(work)
    tagged: Exception | None = None
    try:
        if ids:  # one call for every instance of the case; the app tag finds the case again (release-instance)
            ec2.tag_resources(ids, {QUARANTINE_TAG: case.case_id, "bluegreen:app": case.app or ""})
    except Exception as err:
        tagged = err
    for w in work.values():
        w.step("tag", clock, lambda: _raise(tagged) if tagged else f"tagged {QUARANTINE_TAG}={case.case_id}")


def _protect_one(w: Work) -> dict:
    devices = [v["device"] for v in w.metadata.get("volumes", []) if v.get("device")]
    ec2.keep_volumes_on_termination(w.instance_id, devices)
    if w.metadata.get("lifecycle") == "spot":  # EC2 refuses termination protection on Spot Instances
        return {
            "result": f"DeleteOnTermination off on {len(devices)} volume(s); a Spot Instance cannot be protected from"
            " termination (EC2 may still interrupt it: its volumes stay)"
        }
    ec2.protect_from_termination(w.instance_id)
    return {"result": f"termination protection on; DeleteOnTermination off on {len(devices)} volume(s)"}


# Auto Scaling detaches only InService and Standby instances; a launching one is waited for, up to this long.
DETACH_SECONDS = 3_600
LAUNCHING = ("Pending", "Pending:Wait", "Pending:Proceed", "EnteringStandby", "Quarantined")


def _detach(case: QuarantineCase, work: dict[str, Work], clock: Callable[[], datetime]) -> None:
    try:
        states = autoscaling.instance_states(sorted(work))
    except Exception as err:
        for w in work.values():
            w.step("detach", clock, lambda err=err: _raise(err))
        return
    outcome = detach_instances(states, sorted(work))
    for w in work.values():
        result = outcome[w.instance_id]
        w.awaiting_detach = result.get("awaiting", False)
        w.step("detach", clock, lambda result=result: _raise(result["error"]) if "error" in result else result)


def detach_instances(states: dict[str, dict], instance_ids: list[str]) -> dict[str, dict]:
    """Detach what Auto Scaling lets go now (capacity kept); protect from scale-in what is still launching, so nothing
    ends it meanwhile; report what can never be detached. Instance id -> step result (with "error" when it failed)."""
    outcome: dict[str, dict] = {}
    ready: dict[str, list[str]] = {}
    for instance_id in instance_ids:
        state = states.get(instance_id)
        if state is None:
            outcome[instance_id] = {"result": "in no Auto Scaling group"}
        elif state["state"] in autoscaling.DETACHABLE:
            ready.setdefault(state["group"], []).append(instance_id)
        elif state["state"] in LAUNCHING:
            outcome[instance_id] = {
                "result": f"waiting: {state['state']} in {state['group']} (Auto Scaling detaches only InService or"
                " Standby instances); protected from scale-in meanwhile",
                "awaiting": True,
                "group": state["group"],
            }
        elif state["state"].startswith(autoscaling.WARM_POOL_PREFIX):
            outcome[instance_id] = {
                "result": f"blocked: {state['state']} in the warm pool of {state['group']} (Auto Scaling detaches"
                " only InService or Standby instances)",
                "awaiting": True,
                "blocked": True,
                "group": state["group"],
            }
        else:
            outcome[instance_id] = {
                "error": DetachBlockedError(
                    f"{state['state']} in {state['group']}: Auto Scaling is taking it out of service and will not"
                    " detach it (its volumes are kept on termination and snapshotted)"
                )
            }
    for group, ids in ready.items():
        try:
            autoscaling.detach(group, ids)
            outcome.update(
                {i: {"result": f"detached from {group}; capacity kept, a replacement launches"} for i in ids}
            )
        except Exception as err:
            outcome.update({i: {"error": err} for i in ids})
    waiting: dict[str, list[str]] = {}
    for instance_id, result in outcome.items():
        if result.get("awaiting"):
            waiting.setdefault(result["group"], []).append(instance_id)
    for group, ids in waiting.items():
        try:
            autoscaling.protect_from_scale_in(group, ids)
        except Exception as err:
            outcome.update({i: {"error": err} for i in ids})
    return outcome


def _registrations(
    case: QuarantineCase, work: dict[str, Work], clock: Callable[[], datetime]
) -> dict[str, dict[str, list[dict]]] | Exception:
    """Target group -> instance -> its registrations, in the groups' own target groups and the app's slots'."""
    groups = sorted({w.metadata["auto_scaling_group"] for w in work.values() if w.metadata.get("auto_scaling_group")})
    try:
        return registrations(sorted(work), groups, case.target_group_arns)
    except Exception as err:
        return err


def registrations(
    instance_ids: list[str], groups: list[str], slot_target_groups: list[str]
) -> dict[str, dict[str, list[dict]]]:
    """One describe per target group (the groups' own and the app's slots'), whatever the number of target groups in
    the account: target group -> instance -> its registrations (id and port)."""
    arns = list(slot_target_groups)
    for own in autoscaling.target_groups_of(groups).values():
        arns += own
    return {arn: elbv2.registrations_of(arn, instance_ids) for arn in dict.fromkeys(arns)}


def deregister_all(registered: dict[str, dict[str, list[dict]]]) -> dict[str, list[str]]:
    """Deregister every registration found (one that its group already took out succeeds all the same): instance ->
    the target groups it was in."""
    done: dict[str, list[str]] = {}
    for arn, by_instance in registered.items():
        targets = [t for ts in by_instance.values() for t in ts]
        if targets:
            elbv2.deregister(arn, targets)
        for instance_id in by_instance:
            done.setdefault(instance_id, []).append(arn)
    return done


def _deregister(
    work: dict[str, Work], registered: dict[str, dict[str, list[dict]]] | Exception, clock: Callable[[], datetime]
) -> None:
    try:
        if isinstance(registered, Exception):
            raise registered
        done = deregister_all(registered)
    except Exception as err:
        for w in work.values():
            w.step("deregister", clock, lambda err=err: _raise(err))
        return
    for w in work.values():
        arns = done.get(w.instance_id, [])
        w.step(
            "deregister",
            clock,
            lambda arns=arns: {"result": f"deregistered from {len(arns)} target group(s)", "target_groups": arns},
        )


def _evidence(case: QuarantineCase, work: dict[str, Work], clock: Callable[[], datetime]) -> None:
    taken: dict[str, dict[str, str]] = {}
    if case.snapshot_volumes:
        try:  # what an earlier attempt took already (a retry takes no second set): one describe for the case
            for snapshot in ec2.tagged_snapshots({QUARANTINE_TAG: case.case_id or ""}):
                owner = ec2.tag_of(snapshot, "bluegreen:instance") or ""
                taken.setdefault(owner, {})[snapshot["VolumeId"]] = snapshot["SnapshotId"]
        except Exception as err:
            for w in work.values():
                w.step("snapshot", clock, lambda err=err: _raise(err))
            return
    _parallel(work, lambda w: w.step("snapshot", clock, lambda: _snapshot(case, w, taken.get(w.instance_id, {}))))


def snapshot_tags(case: QuarantineCase, instance_id: str) -> dict[str, str]:
    assert case.case_id and case.app
    return {
        QUARANTINE_TAG: case.case_id,
        "bluegreen:app": case.app,
        "bluegreen:instance": instance_id,
        # One CreateSnapshots call per instance: all its volumes' snapshots carry the same set, taken at one moment.
        "bluegreen:snapshot-set": f"{case.case_id}/{instance_id}",
    }


def _snapshot(case: QuarantineCase, w: Work, taken: dict[str, str]) -> dict:
    if not case.snapshot_volumes:
        return {"result": "skipped (quarantine.snapshot_volumes is false)"}
    tags = snapshot_tags(case, w.instance_id)
    volumes = {v["volume_id"] for v in w.metadata.get("volumes", [])}
    if not volumes or not volumes <= set(taken):  # a retry takes no second set
        taken = ec2.snapshot_instance(
            w.instance_id, f"bluegreen quarantine case {case.case_id}: {w.instance_id}, all volumes at once", tags
        )
    w.snapshots.update(taken)
    return {"result": f"{len(taken)} volume(s) snapshotted together", "snapshots": taken}


# --- instances still in their group: detached as soon as Auto Scaling allows --------------------------------------


def detach_pending(case: QuarantineCase, now: datetime) -> QuarantineCase:
    """Detach the case's instances that were still launching (the case record holds every execution's), and take them
    out of the target groups; DetachBlockedError past the deadline, or at once for one in the warm pool (Auto Scaling
    detaches only InService or Standby instances, and deleting the group would terminate it)."""
    assert case.app and case.case_id
    item = state_table.get(case.app, f"CASE#{case.case_id}") or {}
    recorded = item.get("instances", {})
    waiting = sorted(
        set(case.awaiting_detach) | {i for i, r in recorded.items() if r.get("status") == "awaiting_detach"}
    )
    states = autoscaling.instance_states(waiting) if waiting else {}
    leaving = [i for i in waiting if i not in states or states[i]["state"] in autoscaling.DETACHABLE]
    groups = sorted(
        {states[i]["group"] for i in leaving if i in states}
        | {g for i in leaving if (g := ((recorded.get(i) or {}).get("metadata") or {}).get("auto_scaling_group"))}
    )
    # Where they are registered, read before the detach takes them out of their group's own target groups.
    registered = registrations(leaving, groups, case.target_group_arns) if leaving else {}
    outcome = detach_instances(states, waiting)
    done = [i for i, r in outcome.items() if not r.get("awaiting") and "error" not in r]
    if done:  # out of the group: deregistered too, and their entries (if they were waiting) say so
        deregistered = deregister_all(registered)
        stamp = now.isoformat()
        state_table.record_case_instances(
            case.app,
            case.case_id,
            {
                i: {
                    **recorded.get(i, {}),
                    "status": "isolated",
                    "isolated_at": stamp,
                    "steps": {
                        **(recorded.get(i, {}).get("steps") or {}),
                        "detach": {"ok": True, "at": stamp, "result": outcome[i]["result"]},
                        "deregister": {
                            "ok": True,
                            "at": stamp,
                            "result": f"deregistered from {len(deregistered.get(i, []))} target group(s)",
                        },
                    },
                }
                for i in done
                if (recorded.get(i) or {}).get("status") == "awaiting_detach"
            },
        )
    case.awaiting_detach = sorted(i for i, r in outcome.items() if r.get("awaiting"))
    case.isolated = sorted(set(case.isolated) | (set(done) & set(case.instance_ids)))
    failed = {i: str(r["error"]) for i, r in outcome.items() if "error" in r}
    blocked = [i for i, r in outcome.items() if r.get("blocked")]
    late = case.detach_by is not None and now >= datetime.fromisoformat(case.detach_by)
    if failed or blocked or (case.awaiting_detach and late):
        stuck = {**failed, **{i: outcome[i]["result"] for i in case.awaiting_detach}}
        raise DetachBlockedError(
            f"case {case.case_id} of {case.app}: no swap while a quarantined instance is in its group (deleting the"
            f" group would terminate it): {'; '.join(f'{i}: {why}' for i, why in stuck.items())}. Take it out (or"
            f" end it knowingly), then `bluegreen quarantine {case.app} --swap-only`"
        )
    if not case.awaiting_detach and case.status == "detaching":
        case.status = "isolated"
    return case


def seconds_between(start: str, end: str) -> float | None:
    try:
        began = datetime.fromisoformat(start.replace("Z", "+00:00"))
        return round((datetime.fromisoformat(end) - began).total_seconds(), 3)
    except (TypeError, ValueError):
        return None
