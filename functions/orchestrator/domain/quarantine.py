"""The quarantine-and-swap path's tasks: resolve a security event to a case, isolate, preempt, swap, close.

Each public function is one task of statemachine/quarantine.asl.json. Time and the trigger rules come in as values.

Triggers (the EventBridge rules in template.yaml match them; `normalise` checks every rule again, so an event started
by hand behaves the same as one delivered by a rule):
- a GuardDuty finding on an EC2 instance at or above the minimum severity; sample findings are ignored;
- a CloudWatch alarm going into ALARM whose name starts with the security-alarm prefix (that prefix is what marks an
  alarm as a security alarm) and whose metric names an instance (dimension `InstanceId`) or an app's Auto Scaling
  group (`AutoScalingGroupName`: every instance in that group is a suspect);
- by hand: `{"app": ..., "instance_ids": [...], "reason": ..., "ami_id": ...}`; an app alone names every instance of
  its live fleet; `ami_id` names the known-good AMI to swap onto (default: the live one); `reason` is required.
- a swap again, by hand: `{"app": ..., "swap_only": true, "reason": ...}`: the app's latest case whose swap failed
  (or whose isolation was incomplete) swaps the fleet once more, without isolating anything again.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from orchestrator.adapters import autoscaling, config_store, ec2, elbv2, notify, state_table, stepfunctions
from orchestrator.case_models import QuarantineCase, Skipped, Swap, Trigger
from orchestrator.config import APP_NAME, SLOTS, AppConfig
from orchestrator.domain import clone, isolation, routers, security_alarms, split_release
from orchestrator.domain.deploy import find_live, live_launch_template_version
from orchestrator.domain.release import check_ami_id, new_release_id, plan_waits
from orchestrator.errors import (
    AppNotFoundError,
    CaseNotFoundError,
    KnownGoodAmiNotFoundError,
    PreemptTimeoutError,
    SwapFailedError,
    TriggerInvalidError,
)

GUARDDUTY_FINDING = "GuardDuty Finding"
ALARM_STATE_CHANGE = "CloudWatch Alarm State Change"
QUARANTINE_TAG = "bluegreen:quarantine"
INSTANCE_ID = re.compile(r"^i-[0-9a-f]{8}([0-9a-f]{9})?$")
MANUAL_KEYS = {"app", "instance_ids", "reason", "ami_id", "swap_only"}
# Case statuses from which a swap may be run again without isolating again.
SWAPPABLE_AGAIN = ("swap_failed", "isolation_failed")
# Group lifecycle states whose instances can still be detached (and so quarantined).
ACTIVE_IN_GROUP = {"Pending", "Pending:Wait", "Pending:Proceed", "InService", "Standby"}
# Slack on top of the planned waits, for the tasks, retries and backoff between them.
SLACK_SECONDS = 900


@dataclass(frozen=True)
class TriggerRules:
    """The template's trigger settings (QuarantineMinSeverity, SecurityAlarmPrefix), enforced again here."""

    min_severity: float = 7.0
    alarm_prefix: str = "bluegreen-security-"


# --- Resolve ---------------------------------------------------------------------------------------------------


def normalise(raw: Any, rules: TriggerRules, region: str) -> Trigger:
    """A Trigger from a GuardDuty finding, an alarm state change or a manual request; TriggerInvalidError if malformed."""
    if not isinstance(raw, dict):
        raise TriggerInvalidError("input: expected a GuardDuty finding, a CloudWatch alarm state change or an object")
    kind = raw.get("detail-type")
    if kind == GUARDDUTY_FINDING:
        return _from_finding(raw, rules, region)
    if kind == ALARM_STATE_CHANGE:
        return _from_alarm(raw, rules)
    if kind is not None:
        raise TriggerInvalidError(f"detail-type: {kind!r} is not a GuardDuty finding or an alarm state change")
    return _from_request(raw)


def _detail(raw: dict) -> dict:
    detail = raw.get("detail")
    if not isinstance(detail, dict):
        raise TriggerInvalidError(f"detail: the {raw.get('detail-type')} event has no detail object")
    return detail


def _instance_id(value: Any, where: str) -> str:
    if not isinstance(value, str) or not INSTANCE_ID.match(value):
        raise TriggerInvalidError(f"{where}: {value!r} is not an instance id (expected i- and 8 or 17 hex digits)")
    return value


def _from_finding(raw: dict, rules: TriggerRules, region: str) -> Trigger:
    detail = _detail(raw)
    base = {
        "kind": "guardduty",
        "finding_id": detail.get("id"),
        "finding_type": detail.get("type"),
        "event_id": raw.get("id"),
        "event_time": raw.get("time") or detail.get("updatedAt"),
    }
    resource = detail.get("resource")
    if not isinstance(resource, dict):
        raise TriggerInvalidError("detail.resource: the finding names no resource")
    if resource.get("resourceType") != "Instance":
        return Trigger(**base, ignored=f"the finding is on a {resource.get('resourceType')}, not an EC2 instance")
    additional = (detail.get("service") or {}).get("additionalInfo") or {}
    if additional.get("sample") in (True, "true"):
        return Trigger(**base, ignored="a sample finding (service.additionalInfo.sample)")
    severity = detail.get("severity")
    if isinstance(severity, bool) or not isinstance(severity, int | float):
        raise TriggerInvalidError(f"detail.severity: {severity!r} is not a number")
    base["severity"] = float(severity)
    if severity < rules.min_severity:
        return Trigger(**base, ignored=f"severity {severity} is below the threshold {rules.min_severity}")
    if raw.get("region") and raw["region"] != region:
        return Trigger(**base, ignored=f"the finding is in {raw['region']}, not {region}")
    details = resource.get("instanceDetails") or {}
    instance_id = _instance_id(details.get("instanceId"), "detail.resource.instanceDetails.instanceId")
    title = detail.get("title") or ""
    reason = f"GuardDuty {detail.get('type')} (severity {severity:g}){': ' + title if title else ''}"
    return Trigger(**base, instance_ids=[instance_id], reason=reason)


def _from_alarm(raw: dict, rules: TriggerRules) -> Trigger:
    detail = _detail(raw)
    name = detail.get("alarmName")
    state = (detail.get("state") or {}).get("value")
    if not isinstance(name, str) or not name or not isinstance(state, str):
        raise TriggerInvalidError("detail: an alarm state change needs alarmName and state.value")
    resources = raw.get("resources") if isinstance(raw.get("resources"), list) else []
    arn = next((r for r in resources if isinstance(r, str) and ":alarm:" in r), None)
    base = {
        "kind": "alarm",
        "alarm_name": name,
        "alarm_arn": arn,
        "event_id": raw.get("id"),
        "event_time": raw.get("time"),
    }
    if state != "ALARM":
        return Trigger(**base, ignored=f"alarm {name} went to {state}, not ALARM")
    if name.startswith(clone.ALARM_PREFIX):
        return Trigger(
            **base, ignored=f"alarm {name} is a copy bluegreen made of a scaling alarm, never a security alarm"
        )
    if not name.startswith(rules.alarm_prefix):
        return Trigger(
            **base, ignored=f"alarm {name} is not a security alarm (its name must start {rules.alarm_prefix!r})"
        )
    instance_ids: list[str] = []
    group_names: list[str] = []
    metrics = (detail.get("configuration") or {}).get("metrics") or []
    for metric in metrics if isinstance(metrics, list) else []:
        dimensions = ((metric or {}).get("metricStat") or {}).get("metric", {}).get("dimensions") or {}
        if "InstanceId" in dimensions:
            instance_ids.append(_instance_id(dimensions["InstanceId"], "dimensions.InstanceId"))
        if isinstance(dimensions.get("AutoScalingGroupName"), str) and dimensions["AutoScalingGroupName"]:
            group_names.append(dimensions["AutoScalingGroupName"])
    if not instance_ids and not group_names:
        raise TriggerInvalidError(
            f"alarm {name}: its metric names no instance or group (dimension InstanceId or AutoScalingGroupName)"
        )
    reason = (detail.get("state") or {}).get("reason") or ""
    return Trigger(
        **base,
        instance_ids=list(dict.fromkeys(instance_ids)),
        group_names=list(dict.fromkeys(group_names)),
        reason=f"alarm {name} in ALARM{': ' + reason if reason else ''}"[:1000],
    )


def _from_request(raw: dict) -> Trigger:
    unknown = sorted(set(raw) - MANUAL_KEYS)
    if unknown:
        raise TriggerInvalidError(f"{unknown[0]}: not a field of a quarantine request (use {sorted(MANUAL_KEYS)})")
    app, ids, reason = raw.get("app"), raw.get("instance_ids") or [], raw.get("reason")
    if app is not None and (not isinstance(app, str) or not APP_NAME.match(app)):
        raise TriggerInvalidError(f"app: {app!r} is not a valid app name")
    if not isinstance(ids, list):
        raise TriggerInvalidError("instance_ids: expected a list of instance ids")
    if app is None and not ids:
        raise TriggerInvalidError('input: name an app, instance_ids, or both: {"app": ..., "instance_ids": [...]}')
    if not isinstance(reason, str) or not reason.strip():
        raise TriggerInvalidError("reason: say why (it is recorded in the case and its notifications)")
    swap_only = raw.get("swap_only", False)
    if not isinstance(swap_only, bool):
        raise TriggerInvalidError("swap_only: expected true or false")
    if swap_only and (app is None or ids):
        raise TriggerInvalidError("swap_only: name the app alone: its case whose swap failed is swapped again")
    ami_id = raw.get("ami_id")
    if ami_id is not None:
        try:
            check_ami_id(ami_id)
        except Exception as err:
            raise TriggerInvalidError(str(err)) from None
    return Trigger(
        kind="manual",
        app=app,
        instance_ids=list(dict.fromkeys(_instance_id(i, "instance_ids") for i in ids)),
        ami_id=ami_id,
        reason=reason.strip()[:1000],
        swap_only=swap_only,
    )


def resolve(
    raw: Any,
    *,
    rules: TriggerRules,
    execution_arn: str,
    state_machine_arn: str,
    region: str,
    now: datetime,
    scale: float,
    topic: str | None,
    quarantine_profile_arn: str | None = None,
) -> QuarantineCase:
    """Map the event's instances to apps, and open the app's case or join the one already open."""
    trigger = normalise(raw, rules, region)
    received = now.isoformat()
    trigger.event_time = trigger.event_time or received  # a request by hand happens when it is received
    if trigger.kind == "alarm" and not trigger.ignored:
        trigger.ignored = security_alarms.unmarked(trigger)  # the name alone is not enough: its tag
    if trigger.ignored:
        return QuarantineCase(outcome="Ignored", reason=trigger.ignored, trigger=trigger, received_at=received)
    context = {"execution_arn": execution_arn, "state_machine_arn": state_machine_arn, "now": now, "scale": scale}
    if trigger.swap_only:
        return reopen_for_swap(trigger, quarantine_profile_arn, **context)
    by_app, configs, skipped, slots = find_suspects(trigger)
    refusals: list[str] = []
    if security_alarms.whole_group(trigger):  # a whole fleet at once: at most so many cases per app and window
        for name in sorted(by_app):
            refused = security_alarms.group_case_refusal(name, configs[name], now)
            if refused:
                security_alarms.refuse(name, trigger, refused, now, [topic, configs[name].notify_topic_arn])
                skipped += [Skipped(resource=i, reason=refused) for i in by_app.pop(name)]
                refusals.append(refused)
    if not by_app:
        case = QuarantineCase(
            outcome="Ignored",
            reason="; ".join(refusals) or "no instance of a known app to quarantine",
            trigger=trigger,
            skipped=skipped,
            received_at=received,
        )
        if skipped and not refusals:  # a security event on something bluegreen does not manage: say so, touch nothing
            notify.publish([topic], "bluegreen: security event on unmanaged instances", case.model_dump(mode="json"))
        return case
    app = trigger.app if trigger.app in by_app else sorted(by_app)[0]
    # One execution per app: the others get their own, which isolate at once and swap their own fleets.
    for other in sorted(set(by_app) - {app}):
        payload = {"app": other, "instance_ids": by_app[other], "reason": f"{trigger.reason} (via {execution_arn})"}
        try:
            stepfunctions.start(state_machine_arn, payload)
        except Exception as err:
            skipped += [
                Skipped(resource=i, reason=f"its app {other}'s quarantine did not start: {err}") for i in by_app[other]
            ]
    case = open_or_join(trigger, app, by_app[app], configs[app], skipped, **context)
    case.quarantine_profile_arn = quarantine_profile_arn
    case.swap.first_slot = next((slots[i] for i in by_app[app] if i in slots), None)  # type: ignore[assignment]
    return case


def find_suspects(
    trigger: Trigger,
) -> tuple[dict[str, list[str]], dict[str, AppConfig], list[Skipped], dict[str, str]]:
    """The trigger's instances by app, each app's config, what is reported but not touched, and the slot of each
    instance's group (a split app's swap replaces that half first)."""
    skipped: list[Skipped] = []
    ids = list(trigger.instance_ids)
    if trigger.group_names:
        groups = autoscaling.describe_groups(trigger.group_names)
        found = {g["AutoScalingGroupName"] for g in groups}
        skipped += [
            Skipped(resource=n, reason="no such Auto Scaling group") for n in trigger.group_names if n not in found
        ]
        for group in groups:
            if not autoscaling.tag_value(group, autoscaling.TAG_APP):
                skipped.append(
                    Skipped(resource=group["AutoScalingGroupName"], reason="group of no app (bluegreen:app)")
                )
                continue
            ids += [i["InstanceId"] for i in group.get("Instances", []) if i["LifecycleState"] in ACTIVE_IN_GROUP]
    configs: dict[str, AppConfig] = {}
    if trigger.app and not ids:
        configs[trigger.app] = config_store.load(trigger.app)
        for group in live_groups(configs[trigger.app]):
            ids += [i["InstanceId"] for i in group.get("Instances", []) if i["LifecycleState"] in ACTIVE_IN_GROUP]
    ids = list(dict.fromkeys(ids))
    described = ec2.describe_instances(ids)
    group_of = autoscaling.groups_of_instances([i for i in ids if i in described])
    of_groups = autoscaling.describe_groups(sorted(set(group_of.values())))
    group_apps = {g["AutoScalingGroupName"]: autoscaling.tag_value(g, autoscaling.TAG_APP) for g in of_groups}
    group_slots = {g["AutoScalingGroupName"]: autoscaling.tag_value(g, autoscaling.TAG_SLOT) for g in of_groups}
    slots = {i: slot for i, group in group_of.items() if (slot := group_slots.get(group)) in SLOTS}
    by_app: dict[str, list[str]] = {}
    for instance_id in ids:
        instance = described.get(instance_id)
        if instance is None:
            skipped.append(Skipped(resource=instance_id, reason="no such instance in this region"))
            continue
        app = ec2.tag_of(instance, autoscaling.TAG_APP) or group_apps.get(group_of.get(instance_id, ""))
        reason = _not_quarantinable(instance, app, trigger.app)
        if reason:
            skipped.append(Skipped(resource=instance_id, reason=reason))
        else:
            by_app.setdefault(app or "", []).append(instance_id)
    for app in list(by_app):
        try:
            configs[app] = configs.get(app) or config_store.load(app)
        except AppNotFoundError:
            skipped += [Skipped(resource=i, reason=f"its app {app!r} has no configuration") for i in by_app.pop(app)]
    return by_app, configs, skipped, slots


def live_groups(config: AppConfig) -> list[dict]:
    """The groups that serve the app: the live one, or a split app's two."""
    weights = routers.of(config).weights()
    if all(weights.get(slot, 0) > 0 for slot in SLOTS):
        return list(split_release.slot_groups(config.app).values())
    return [autoscaling.require_group(find_live(config, weights).asg_name)]


def _not_quarantinable(instance: dict, app: str | None, wanted_app: str | None) -> str | None:
    state = instance.get("State", {}).get("Name")
    if state in ("shutting-down", "terminated"):
        return f"the instance is {state}"
    case_id = ec2.tag_of(instance, QUARANTINE_TAG)
    if case_id:
        return f"already quarantined in case {case_id}"
    if not app:
        return "unknown: in no app's Auto Scaling group and not tagged bluegreen:app"
    if wanted_app and app != wanted_app:
        return f"belongs to app {app!r}, not {wanted_app!r}"
    return None


def open_or_join(
    trigger: Trigger,
    app: str,
    instance_ids: list[str],
    config: AppConfig,
    skipped: list[Skipped],
    execution_arn: str,
    state_machine_arn: str,
    now: datetime,
    scale: float,
) -> QuarantineCase:
    """Two events for one app make one case: the first opens it (and will swap); later ones join it."""
    preempt, lease, poll = _case_times(config, scale)
    case_id, owner = state_table.open_case(app, new_release_id(now), int(now.timestamp()), lease, execution_arn)
    received = now.isoformat()
    state_table.join_case(
        app,
        case_id,
        {
            "kind": "case",
            "case_id": case_id,
            "app": app,
            "status": "open",
            "opened_at": received,
            "event_time": trigger.event_time,
            "source": trigger.kind,
            "reason": trigger.reason,
            "execution_arn": execution_arn,
        },
        trigger={
            **trigger.model_dump(mode="json", exclude_none=True),
            "instance_ids": instance_ids,
            "received_at": received,
            "execution_arn": execution_arn,
        },
        skipped=[s.model_dump(mode="json") for s in skipped],
    )
    return QuarantineCase(
        case_id=case_id,
        app=app,
        owner=owner,
        trigger=trigger,
        instance_ids=instance_ids,
        skipped=skipped,
        isolation_group=config.quarantine.security_group_id,
        untracking_group=config.quarantine.untracking_group_id,
        snapshot_volumes=config.quarantine.snapshot_volumes,
        revoke_credentials=config.quarantine.revoke_credentials,
        network_acl=config.quarantine.network_acl,
        network_acl_rule_quota=config.quarantine.network_acl_rule_quota,
        target_group_arns=[arn for slot in config.slots.values() for arn in slot.target_group_arns],
        notify_topic_arn=config.notify_topic_arn,
        received_at=received,
        poll_seconds=poll,
        preempt_seconds=preempt,
        swap=Swap(ami_id=trigger.ami_id),
        execution_arn=execution_arn,
        state_machine_arn=state_machine_arn,
    )


def _case_times(config: AppConfig, scale: float) -> tuple[int, int, int]:
    """(preempt deadline, case lease, poll interval) in seconds, scaled."""
    delay = elbv2.DEFAULT_DEREGISTRATION_DELAY
    normal = plan_waits(config, scale=scale, deregistration_delay=delay)
    swap = plan_waits(config, scale=scale, deregistration_delay=delay, emergency=True)
    # A release asked to abort reads the flag at its next gate, at most its longest wait away, then rolls back.
    preempt = max(normal.bake_seconds, normal.drain_seconds, normal.keep_seconds, normal.health_timeout_seconds)
    preempt += SLACK_SECONDS
    # The case stays open (later events join it) while it may wait for launching instances to leave their group and
    # its swap may still run; it expires should its execution crash.
    detach = max(1, round(isolation.DETACH_SECONDS * scale))
    lease = detach + preempt + swap.health_timeout_seconds + swap.bake_seconds + swap.drain_seconds + SLACK_SECONDS
    return preempt, lease, swap.poll_seconds


def reopen_for_swap(
    trigger: Trigger,
    quarantine_profile_arn: str | None,
    *,
    execution_arn: str,
    state_machine_arn: str,
    now: datetime,
    scale: float,
) -> QuarantineCase:
    """The app's latest case, whose swap failed (or whose isolation was incomplete), reopened to swap the fleet again.

    Nothing is isolated again; its instances must still be out of their groups before the swap (detach_pending).
    """
    app = trigger.app or ""
    config = config_store.load(app)
    latest = state_table.history(app, "CASE#", 1)
    if not latest or latest[0].get("status") not in SWAPPABLE_AGAIN:
        found = f"its latest case {latest[0].get('case_id')} is {latest[0].get('status')}" if latest else "it has none"
        raise CaseNotFoundError(
            f"app: {app} has no case whose swap failed ({found}); quarantine instances with `bluegreen quarantine`"
        )
    item = latest[0]
    preempt, lease, poll = _case_times(config, scale)
    case_id, owner = state_table.open_case(app, item["case_id"], int(now.timestamp()), lease, execution_arn)
    received = now.isoformat()
    if not owner:
        return QuarantineCase(
            outcome="Ignored",
            reason=f"case {case_id} of {app} is open and swaps the fleet itself",
            trigger=trigger,
            received_at=received,
        )
    state_table.join_case(
        app,
        case_id,
        {},
        trigger={
            **trigger.model_dump(mode="json", exclude_none=True),
            "received_at": received,
            "execution_arn": execution_arn,
        },
        skipped=[],
    )
    state_table.update(app, f"CASE#{case_id}", {"status": "isolated", "swap_again_at": received})
    instances = item.get("instances", {})
    return QuarantineCase(
        case_id=case_id,
        app=app,
        owner=True,
        status="isolated",
        trigger=trigger,
        swap_only=True,
        isolated=sorted(i for i, r in instances.items() if r.get("status") == "isolated"),
        awaiting_detach=sorted(instances),  # each is checked to be out of its group before the swap
        detach_by=(now + timedelta(seconds=max(1, round(isolation.DETACH_SECONDS * scale)))).isoformat(),
        isolated_at=item.get("isolated_at"),
        contained_at=item.get("contained_at"),
        target_group_arns=[arn for slot in config.slots.values() for arn in slot.target_group_arns],
        notify_topic_arn=config.notify_topic_arn,
        quarantine_profile_arn=quarantine_profile_arn,
        received_at=received,
        poll_seconds=poll,
        preempt_seconds=preempt,
        swap=Swap(ami_id=trigger.ami_id),
        execution_arn=execution_arn,
        state_machine_arn=state_machine_arn,
    )


# --- Isolate: orchestrator.domain.isolation ---------------------------------------------------------------------


# --- Preempt ---------------------------------------------------------------------------------------------------


def preempt(case: QuarantineCase, now: datetime) -> QuarantineCase:
    """Ask the app's release in flight to roll back; report whether the lock is free. Loops until it is."""
    assert case.app and case.case_id
    held = case.preempt
    if held.deadline is None:
        held.deadline = (now + timedelta(seconds=case.preempt_seconds)).isoformat()
    elif now >= datetime.fromisoformat(held.deadline):
        raise PreemptTimeoutError(
            f"case {case.case_id}: the release in flight of {case.app} ({', '.join(held.aborted) or '?'}) still holds"
            f" the lock at {held.deadline}"
        )
    held.attempts += 1
    # A queued release would start as soon as the aborted one frees the lock: hold it back until after the swap.
    queued = state_table.pop_queue(case.app)
    if queued and queued.get("source") != "quarantine":
        held.deferred_ami = queued["ami_id"]
    lock = state_table.get(case.app, "LOCK")
    held.lock_free = lock is None or int(lock.get("expires_at", 0)) < int(now.timestamp())
    if not held.lock_free:
        _abort(case, lock or {})
        return case
    case.swap.ami_id = case.swap.ami_id or known_good_ami(case.app)
    case.status = "swapping"
    state_table.update(
        case.app,
        f"CASE#{case.case_id}",
        {
            "status": "swapping",
            "ami_id": case.swap.ami_id,
            "preempted": held.aborted or None,
            "deferred_ami": held.deferred_ami,
            "swap_started_at": now.isoformat(),
        },
    )
    return case


def _abort(case: QuarantineCase, lock: dict) -> None:
    release_id = lock.get("release_id", "?")
    if release_id not in case.preempt.aborted:
        case.preempt.aborted.append(release_id)
    if lock.get("abort_requested"):
        return
    why = f"quarantine case {case.case_id}: {case.trigger.reason if case.trigger else ''}".strip()
    state_table.flag_lock(case.app or "", "abort_requested", why)
    # A release waiting for approval reads no flag until answered: reject it now (its Catch rolls it back).
    if lock.get("phase") == "AwaitingApproval" and lock.get("task_token"):
        stepfunctions.fail_task(lock["task_token"], "ReleaseAbortedError", why)


def known_good_ami(app: str) -> str:
    """The live release's AMI: the state table's pointer, else the live group's bluegreen:ami tag, else (a fleet
    adopted before its first release) the AMI of the launch template version the live group launches."""
    pointer = state_table.get(app, "LIVE")
    if pointer and pointer.get("ami_id"):
        return pointer["ami_id"]
    config = config_store.load(app)
    groups = live_groups(config)
    tagged = {autoscaling.tag_value(g, autoscaling.TAG_AMI) for g in groups}
    if len(tagged) == 1 and None not in tagged:
        return tagged.pop()  # type: ignore[return-value]
    group = groups[0]
    version = live_launch_template_version(group)
    ami_id = ec2.launch_template_data(config.launch_template_id, version)["LaunchTemplateData"].get("ImageId")
    if not ami_id:
        raise KnownGoodAmiNotFoundError(
            f"{app}: no live AMI on record and {config.launch_template_id} version {version} names none (tag"
            f" {group['AutoScalingGroupName']} bluegreen:ami=<ami>, or name one: ami_id in the request)"
        )
    return ami_id


# --- Close -----------------------------------------------------------------------------------------------------


def close(
    case: QuarantineCase, swap_execution: dict | None, deploy_arn: str, now: datetime, topic: str | None
) -> QuarantineCase:
    """Record the swap. A swap that was queued behind a release that took the lock first goes round again."""
    assert case.app and case.case_id
    release = (swap_execution or {}).get("release") or {}
    case.swap.outcome = release.get("outcome")
    case.swap.release_id = release.get("release_id")
    case.swap.green_asg = release.get("green_asg")
    case.swap.execution_arn = (swap_execution or {}).get("execution_arn")
    if case.swap.outcome == "Queued":
        case.status = "requeued"
        case.preempt.lock_free = False
        return case
    if case.swap.outcome != "Proceed":
        raise SwapFailedError(f"the swap release ended {case.swap.outcome}: {release.get('reason', '')}")
    case.status = "swapped"
    deferred = None
    if case.preempt.deferred_ami:
        deferred = stepfunctions.start(
            deploy_arn, {"app": case.app, "ami_id": case.preempt.deferred_ami, "source": "queue"}
        )
    state_table.update(
        case.app,
        f"CASE#{case.case_id}",
        {
            "status": "swapped",
            "swapped_at": now.isoformat(),
            "closed_at": now.isoformat(),
            "swap": case.swap.model_dump(mode="json"),
            "deferred_release": deferred,
        },
    )
    state_table.close_case(case.app, case.case_id)
    _report(case, topic, "swapped onto fresh instances")
    return case


def record_failure(case: QuarantineCase, error: dict, now: datetime, topic: str | None) -> QuarantineCase:
    """The case failed (isolation incomplete, preempt timed out, swap failed): record, free, notify. Isolation stays."""
    assert case.app and case.case_id
    name, cause = error.get("Error", "States.Unknown"), _cause_text(error.get("Cause", ""))
    # The execution ends with a project error name; a Step Functions one (a failed swap, a timeout) is kept in the cause.
    case.error = name
    case.cause = cause[:30_000]
    if name.startswith("States."):
        case.error = "SwapFailedError" if case.isolated_at else "IsolationIncompleteError"
        case.cause = f"{name}: {cause}"[:30_000]
    if not case.owner:  # a joiner only adds its error; the owner's execution still closes the case
        failure = {"error": case.error, "cause": (case.cause or "")[:2000], "at": now.isoformat()}
        state_table.append_case_error(case.app, case.case_id, failure)
        _report(case, topic, f"FAILED to isolate: {case.cause[:500] if case.cause else case.error}")
        return case
    case.status = "swap_failed" if case.isolated_at else "isolation_failed"
    state_table.update(
        case.app,
        f"CASE#{case.case_id}",
        {"status": case.status, "error": case.error, "cause": (case.cause or "")[:4000], "closed_at": now.isoformat()},
    )
    if case.preempt.deferred_ami:
        state_table.requeue(case.app, {"ami_id": case.preempt.deferred_ami, "queued_at": int(now.timestamp())})
    state_table.close_case(case.app, case.case_id)
    _report(case, topic, f"FAILED: {case.error}")
    return case


def _report(case: QuarantineCase, topic: str | None, outcome: str) -> None:
    """The case summary, from the state table (it holds every instance, also those that joined later)."""
    assert case.app and case.case_id
    item = state_table.get(case.app, f"CASE#{case.case_id}") or {}
    instances = item.get("instances", {})
    notify.publish(
        [topic, case.notify_topic_arn],
        f"bluegreen: {case.app} case {case.case_id} {outcome}"[:100],
        {
            "app": case.app,
            "case_id": case.case_id,
            "status": item.get("status", case.status),
            "outcome": outcome,
            "reason": item.get("reason"),
            "triggers": [
                {k: t.get(k) for k in ("kind", "finding_type", "severity", "alarm_name", "event_time", "instance_ids")}
                for t in item.get("triggers", [])
            ],
            "instances": {
                i: {
                    "status": r.get("status"),
                    "isolated_at": r.get("isolated_at"),
                    "snapshots": r.get("snapshots"),
                    "errors": r.get("errors"),
                }
                for i, r in instances.items()
            },
            "skipped": item.get("skipped", []),
            "swap": item.get("swap"),
            "timings": {k: item.get(k) for k in ("event_time", "opened_at", "isolated_at", "swapped_at", "closed_at")},
            "next": "quarantined instances keep running, isolated and termination-protected, for forensics;"
            " terminate them by hand when the investigation is done",
        },
    )


def _cause_text(cause: str) -> str:
    """A Lambda error's message, or a failed child execution's error and cause."""
    try:
        parsed = json.loads(cause)
    except (TypeError, ValueError):
        return str(cause)
    if not isinstance(parsed, dict):
        return str(cause)
    if "errorMessage" in parsed:
        return parsed["errorMessage"]
    error = parsed.get("Error") or parsed.get("error")
    detail = parsed.get("Cause") or parsed.get("cause") or ""
    return f"{error}: {_cause_text(detail)}" if error else str(cause)
