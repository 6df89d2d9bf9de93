"""The safety contract (SPEC section 9), checked against a live stack: a monitor that samples while releases run.

I1 traffic: weights sum above zero; every weighted slot has a group with at least its minimum healthy in service. The
weights are the Route 53 record pair's, or, for an ALB-routed app, those of every named listener's and rule's forward
action (each must hold on its own).
A split app (`Monitor.fleet`): the healthy instances of the weighted slots never fewer than the fleet, the instances
never more than 150 % of it.
I2 drain: a group is scaled in or deleted only after its slot's weight has been zero for the drain time (a split app's
group may be scaled in while its slot keeps traffic: the capacity check covers it, Auto Scaling drains what leaves).
I3 no orphans: at rest, exactly one group of the app, holding 100 % of the weight, and the lock free; a split app: one
group per slot, both on one AMI, both weighted.
I4 once: an AMI goes live at most once (a quarantine's swap aside); releases of one app never overlap.
I5 quarantine (`check_quarantine`): a quarantined instance is out of its group and every target group, has only the
isolation group on every interface (`isolation_order` checks the untracking group came first, from the twin's call log),
has no usable credentials (the stack's deny-all profile, and its role's sessions denied from it), keeps termination
protection and its volumes on termination, has its volumes snapshotted together, and is not terminated.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from datetime import datetime

from orchestrator.adapters import route53, state_table
from orchestrator.config import AppConfig
from orchestrator.domain import routers

from bluegreen.aws import Aws
from bluegreen.cli.ops import load_config, table


@dataclass
class Breach:
    invariant: str
    detail: str
    at: float


@dataclass
class Sample:
    at: float  # when the sample was complete
    weights: dict[str, int]  # per slot, the most any split gives it
    groups: dict[str, dict]
    started: float = 0.0  # when its first read began
    splits: list[dict[str, int]] = field(default_factory=list)  # each record pair, listener or rule (empty: weights)


def traffic_weights(config: AppConfig, listed: list[dict]) -> dict[str, int]:
    """Where the app's record sends traffic: its weights, or, while it is still a simple alias to one slot's load
    balancer (an app not yet converted), all of it to that slot."""
    simple, _ = route53.strangers(config, listed)
    if simple is not None:
        return {
            slot: 100 if route53.same_target(simple.get("AliasTarget"), config.slots[slot].alias.dns_name) else 0
            for slot in ("blue", "green")
        }
    return route53.weights_of(config, listed)


def traffic_splits(aws: Aws, config: AppConfig) -> list[dict[str, int]]:
    """Where each place that routes the app's traffic sends it now."""
    if config.router == "route53":
        return [traffic_weights(config, route53.records(config, aws.client("route53")))]
    return [weights for _, weights in routers.of(config, aws.client).splits()]


def sample(aws: Aws, app: str, config: AppConfig | None = None) -> Sample:
    config = config or load_config(aws, app)
    started = time.monotonic()
    splits = traffic_splits(aws, config)
    weights = {slot: max(split.get(slot, 0) for split in splits) for slot in ("blue", "green")}
    described = aws.client("autoscaling").describe_auto_scaling_groups(
        Filters=[{"Name": "tag:bluegreen:app", "Values": [app]}]
    )["AutoScalingGroups"]
    groups = {}
    for group in described:
        tags = {t["Key"]: t["Value"] for t in group.get("Tags", [])}
        healthy = sum(
            1
            for i in group.get("Instances", [])
            if i["LifecycleState"] == "InService" and i["HealthStatus"] == "Healthy"
        )
        groups[group["AutoScalingGroupName"]] = {
            "slot": tags.get("bluegreen:slot"),
            "ami": tags.get("bluegreen:ami"),
            "min": group["MinSize"],
            "desired": group["DesiredCapacity"],
            "healthy": healthy,
            "instances": len(group.get("Instances", [])),
        }
    return Sample(at=time.monotonic(), weights=weights, groups=groups, started=started, splits=splits)


@dataclass
class Monitor:
    """Samples an app every `period` seconds in a thread; `breaches` lists every violation seen."""

    aws: Aws
    app: str
    drain_seconds: float
    period: float = 0.1
    # A split app's fleet size: serving capacity (healthy instances in weighted slots) never below it, instances never
    # above 150 % of it, and a group in a slot that keeps its weight may be scaled in (Auto Scaling drains it).
    fleet: int = 0
    ceiling: int = 150  # percent of `fleet` (a split app joining blue/green peaks like a blue/green release: 200)
    # A cheap token of what a sample reads, from the twin in this process (`bluegreen.twin.state_fingerprint`): while
    # it is what it was before the last reads, a sample keeps those reads with its own time (None: a token could not be
    # taken, read). Without it every sample reads.
    fingerprint: Callable[[], Hashable | None] | None = None
    breaches: list[Breach] = field(default_factory=list)
    samples: int = 0
    reads: int = 0  # samples that read the app through the API (the others kept the previous reads)
    _stop: threading.Event = field(default_factory=threading.Event)
    _zero_since: dict[str, float] = field(default_factory=dict)
    _last: Sample | None = None
    _config: AppConfig | None = None
    _read: Sample | None = None  # the last sample that read, and the token taken before it read
    _token: Hashable | None = None

    def sample(self) -> Sample:
        """The app's DNS names do not change while it is watched: its configuration is read once (so a test may
        store an invalid one without blinding the monitor)."""
        self._config = self._config or load_config(self.aws, self.app)
        return sample(self.aws, self.app, self._config)

    def next_sample(self) -> Sample:
        """The app now: read, or, when the fingerprint says nothing it reads has changed since the last read, that read
        at this time. The token is taken before reading, so a change made while reading makes the next token differ."""
        if self.fingerprint is None:
            self.reads += 1
            return self.sample()
        started = time.monotonic()
        token = self.fingerprint()
        if token is not None and token == self._token and self._read is not None:
            return replace(self._read, started=started, at=time.monotonic())
        self.reads += 1
        self._read, self._token = self.sample(), token
        return self._read

    def __enter__(self) -> Monitor:
        self._config = load_config(self.aws, self.app)
        self._thread = threading.Thread(target=self._run, name=f"invariants-{self.app}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.observe(self.next_sample())
            except Exception as err:  # a sample that fails is a gap, not a breach; keep watching
                self.breaches.append(Breach("monitor", f"sample failed: {err}", time.monotonic()))
            self._stop.wait(self.period)

    def _breach(self, invariant: str, detail: str, at: float) -> None:
        self.breaches.append(Breach(invariant, detail, at))

    def observe(self, now: Sample) -> None:
        self.samples += 1
        for split in now.splits or [now.weights]:
            if sum(split.values()) <= 0:
                self._breach("I1", f"all weights zero: {split}", now.at)
        for slot, weight in now.weights.items():
            if weight > 0:
                self._zero_since.pop(slot, None)
                serving = [g for g in now.groups.values() if g["slot"] == slot]
                # A split app's group pinned at a surge counts in the capacity check instead (_split_capacity).
                least = (lambda g: 1) if self.fleet else (lambda g: max(g["min"], 1))
                if not any(g["healthy"] >= least(g) for g in serving):
                    self._breach("I1", f"{slot} has weight {weight} but no healthy group: {serving}", now.at)
            elif slot not in self._zero_since:
                # The weight reached zero after the previous sample began: the earliest it can have (a slot at zero
                # when watching starts has had no traffic as far as we know).
                self._zero_since[slot] = float("-inf") if self._last is None else self._last.started
        if self.fleet:
            self._split_capacity(now)
        previous = self._last
        if previous is not None:
            for name, before in previous.groups.items():
                after = now.groups.get(name)
                shrunk = after is None or after["desired"] < before["desired"]
                if not shrunk or (self.fleet and now.weights.get(before["slot"], 0) > 0):
                    continue
                # The longest the weight can have been zero when the group shrank (by the end of this sample): a
                # breach only when even that is short of the drain time, so a stalled sampler never reports one.
                zero_for = now.at - self._zero_since.get(before["slot"], now.at)
                if zero_for < self.drain_seconds:
                    what = "deleted" if after is None else f"scaled in to {after['desired']}"
                    self._breach("I2", f"{name} {what} after {zero_for:.2f}s at zero weight", now.at)
        self._last = now

    def _split_capacity(self, now: Sample) -> None:
        serving = sum(g["healthy"] for g in now.groups.values() if now.weights.get(g["slot"], 0) > 0)
        if serving < self.fleet:
            self._breach("I1", f"serving capacity {serving} below the fleet of {self.fleet}: {now.groups}", now.at)
        running = sum(g["instances"] for g in now.groups.values())
        if 100 * running > self.ceiling * self.fleet:
            self._breach("I1", f"{running} instances, above {self.ceiling} % of the fleet of {self.fleet}", now.at)

    def check_at_rest(self) -> list[Breach]:
        """I3 and I4, once every execution has ended."""
        now = self.sample()
        found = shape_at_rest(now)
        at = now.at
        if state_table.get(self.app, "LOCK", table(self.aws)):
            found.append(Breach("I3", "the lock is still held", at))
        releases = state_table.history(self.app, "RELEASE#", 1000, table(self.aws))
        # A quarantine's swap redeploys the live AMI onto fresh instances on purpose: it is no second release of it.
        live_amis = [
            r["ami_id"] for r in releases if r.get("status") == "succeeded" and r.get("source") != "quarantine"
        ]
        for ami in {a for a in live_amis if live_amis.count(a) > 1}:
            found.append(Breach("I4", f"{ami} went live {live_amis.count(ami)} times", at))
        spans = sorted(
            (datetime.fromisoformat(r["started_at"]), datetime.fromisoformat(r.get("finished_at") or r["started_at"]))
            for r in releases
        )
        for (_, end), (start, _) in itertools.pairwise(spans):
            if start < end:
                found.append(Breach("I4", f"two releases overlapped at {start.isoformat()}", at))
        self.breaches.extend(found)
        return found


def shape_at_rest(now: Sample) -> list[Breach]:
    """I3's shape: one live group holding all the traffic, or (both slots weighted) a split app's one group per slot,
    both on one AMI."""
    found: list[Breach] = []
    at = now.at
    slots = {g["slot"] for g in now.groups.values()}
    split_now = all(w > 0 for w in now.weights.values())
    if split_now:  # a split app: one group per slot, both on one version, both slots weighted everywhere
        if sorted(g["slot"] for g in now.groups.values()) != ["blue", "green"]:
            found.append(Breach("I3", f"expected one group per slot, found {sorted(now.groups)}", at))
        if len({g["ami"] for g in now.groups.values()}) != 1:
            versions = {name: g["ami"] for name, g in now.groups.items()}
            found.append(Breach("I3", f"the halves run different AMIs at rest: {versions}", at))
        for split in now.splits or [now.weights]:
            if not all(w > 0 for w in split.values()):
                found.append(Breach("I3", f"weights {split} do not split the traffic between the halves", at))
    elif len(now.groups) != 1:
        found.append(Breach("I3", f"expected one group, found {sorted(now.groups)}", at))
    for split in [] if split_now else now.splits or [now.weights]:
        full = [s for s, w in split.items() if w == 100]
        if len(full) != 1 or full[0] not in slots:
            found.append(Breach("I3", f"weights {split} do not put 100 % on the live group {slots}", at))
    return found


def check_quarantine(
    aws: Aws,
    instance_id: str,
    isolation_group: str,
    case_id: str | None = None,
    quarantine_profile: str | None = None,
    fleet_role: str | None = None,
) -> list[Breach]:
    """I5 for one quarantined instance, from what AWS reports now (the case record is not trusted for it).

    With `quarantine_profile`, the instance must hold it (and nothing else); with `fleet_role`, that role must deny
    every request signed by the instance (its sessions issued before the quarantine included).
    """
    at = time.monotonic()
    found: list[Breach] = []

    def breach(detail: str) -> None:
        found.append(Breach("I5", f"{instance_id}: {detail}", at))

    ec2 = aws.client("ec2")
    reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    instance = reservations[0]["Instances"][0]
    state = instance["State"]["Name"]
    if state in ("shutting-down", "terminated"):
        breach(f"is {state}")
    tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
    if case_id and tags.get("bluegreen:quarantine") != case_id:
        breach(f"tag bluegreen:quarantine is {tags.get('bluegreen:quarantine')!r}, not {case_id!r}")
    groups = aws.client("autoscaling").describe_auto_scaling_instances(InstanceIds=[instance_id])
    for membership in groups["AutoScalingInstances"]:
        breach(f"still in Auto Scaling group {membership['AutoScalingGroupName']}")
    elbv2 = aws.client("elbv2")
    for page in elbv2.get_paginator("describe_target_groups").paginate():
        for target_group in page["TargetGroups"]:
            described = elbv2.describe_target_health(TargetGroupArn=target_group["TargetGroupArn"])
            if any(d["Target"]["Id"] == instance_id for d in described["TargetHealthDescriptions"]):
                breach(f"still registered in {target_group['TargetGroupName']}")
    interfaces = ec2.describe_network_interfaces(Filters=[{"Name": "attachment.instance-id", "Values": [instance_id]}])
    for interface in interfaces["NetworkInterfaces"]:
        held = sorted(g["GroupId"] for g in interface.get("Groups", []))
        if held != [isolation_group]:
            breach(f"interface {interface['NetworkInterfaceId']} has groups {held}, not only {isolation_group}")
    if not interfaces["NetworkInterfaces"]:
        breach("has no network interface to check")
    if quarantine_profile is not None:
        shown = (instance.get("IamInstanceProfile") or {}).get("Arn")
        associations = ec2.describe_iam_instance_profile_associations(
            Filters=[{"Name": "instance-id", "Values": [instance_id]}]
        )["IamInstanceProfileAssociations"]
        held = sorted(
            a["IamInstanceProfile"]["Arn"] for a in associations if a["State"] in ("associating", "associated")
        )
        if shown != quarantine_profile or held != [quarantine_profile]:
            breach(f"instance profile is {shown} (associations {held}), not only {quarantine_profile}")
    if fleet_role is not None and not _denied_from(aws, fleet_role, instance):
        breach(f"role {fleet_role} does not deny the requests signed by this instance")
    if ec2.describe_addresses(Filters=[{"Name": "instance-id", "Values": [instance_id]}])["Addresses"]:
        breach("still has an Elastic IP")
    protected = ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="disableApiTermination")
    if not protected["DisableApiTermination"]["Value"]:
        breach("termination protection is off")
    sets = set()
    for mapping in instance.get("BlockDeviceMappings", []):
        volume_id = mapping.get("Ebs", {}).get("VolumeId")
        if not volume_id:
            continue
        if mapping["Ebs"].get("DeleteOnTermination"):
            breach(f"volume {volume_id} would be deleted with the instance (DeleteOnTermination)")
        filters = [{"Name": "volume-id", "Values": [volume_id]}]
        if case_id:
            filters.append({"Name": "tag:bluegreen:quarantine", "Values": [case_id]})
        snapshots = ec2.describe_snapshots(OwnerIds=["self"], Filters=filters)["Snapshots"]
        if not snapshots:
            breach(f"volume {volume_id} has no snapshot{f' tagged with case {case_id}' if case_id else ''}")
        sets |= {
            next((t["Value"] for t in s.get("Tags", []) if t["Key"] == "bluegreen:snapshot-set"), None)
            for s in snapshots
        }
    if case_id and sets and sets != {f"{case_id}/{instance_id}"}:
        breach(f"its volumes were not snapshotted together (snapshot sets {sorted(map(str, sets))})")
    return found


def _denied_from(aws: Aws, role: str, instance: dict) -> bool:
    """Whether one of the role's inline policies denies everything signed by this instance (ec2:SourceInstanceARN)."""
    iam = aws.client("iam")
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        for statement in document.get("Statement", []):
            condition = (statement.get("Condition") or {}).get("StringEquals", {})
            sources = condition.get("ec2:SourceInstanceARN", [])
            sources = [sources] if isinstance(sources, str) else sources
            if (
                statement.get("Effect") == "Deny"
                and statement.get("Action") in ("*", ["*"])
                and any(str(s).endswith(f":instance/{instance['InstanceId']}") for s in sources)
            ):
                return True
    return False


def isolation_order(calls: list[dict], interface_ids: list[str], untracking: str, isolation: str) -> list[Breach]:
    """I5's "after the untracking group", from a function's ordered AWS calls (the twin's call log): each interface
    got the untracking group alone, then the isolation group alone, before any other change to the instance."""
    at = time.monotonic()
    found: list[Breach] = []
    changes = [c for c in calls if not c["action"].split(":")[1].startswith(("Describe", "Get", "List"))]
    changes = [c for c in changes if not c["action"].startswith(("dynamodb:", "sns:"))]
    network = [i for i, c in enumerate(changes) if c["action"] == "ec2:ModifyNetworkInterfaceAttribute"]
    group_setup = ("ec2:CreateSecurityGroup", "ec2:AuthorizeSecurityGroup", "ec2:RevokeSecurityGroup")
    before = [c["action"] for c in changes[: network[0]]] if network else []
    if any(not a.startswith(group_setup) for a in before):
        found.append(Breach("I5", f"changes before the network isolation: {before}", at))
    for interface_id in interface_ids:
        mine = [c["params"].get("Groups") for c in changes if c["params"].get("NetworkInterfaceId") == interface_id]
        if mine[:2] != [[untracking], [isolation]]:
            found.append(Breach("I5", f"{interface_id} got groups {mine}, not [{untracking}] then [{isolation}]", at))
    return found
