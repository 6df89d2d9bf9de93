"""The clone plan: how green copies live, what it adjusts, what cannot be copied, and what refuses the release."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from orchestrator.models import ClonePlan, PlanItem

# Group settings copied as they are, when live has them.
_COPIED = (
    "MinSize",
    "MaxSize",
    "DesiredCapacity",
    "DefaultCooldown",
    "AvailabilityZones",
    "VPCZoneIdentifier",
    "HealthCheckType",
    "HealthCheckGracePeriod",
    "TerminationPolicies",
    "NewInstancesProtectedFromScaleIn",
    "CapacityRebalance",
    "MaxInstanceLifetime",
    "DefaultInstanceWarmup",
    "InstanceMaintenancePolicy",
    "ServiceLinkedRoleARN",
    "PlacementGroup",
    "Context",
    "DesiredCapacityType",
)
# What PutScalingPolicy takes for each policy type (DescribePolicies may hold more, some of it empty).
_POLICY_FIELDS = {
    "SimpleScaling": ("AdjustmentType", "MinAdjustmentMagnitude", "ScalingAdjustment", "Cooldown", "Enabled"),
    "StepScaling": (
        "AdjustmentType",
        "MinAdjustmentMagnitude",
        "MetricAggregationType",
        "StepAdjustments",
        "EstimatedInstanceWarmup",
        "Enabled",
    ),
    "TargetTrackingScaling": ("TargetTrackingConfiguration", "EstimatedInstanceWarmup", "Enabled"),
    "PredictiveScaling": ("PredictiveScalingConfiguration", "Enabled"),
}
_SCHEDULE_FIELDS = (
    "ScheduledActionName",
    "StartTime",
    "EndTime",
    "Recurrence",
    "MinSize",
    "MaxSize",
    "DesiredCapacity",
    "TimeZone",
)
_HOOK_FIELDS = (
    "LifecycleHookName",
    "LifecycleTransition",
    "NotificationMetadata",
    "HeartbeatTimeout",
    "DefaultResult",
    "NotificationTargetARN",
    "RoleARN",
)
_WARM_POOL_FIELDS = ("MaxGroupPreparedCapacity", "MinSize", "PoolState", "InstanceReusePolicy")
# What PutMetricAlarm takes, from DescribeAlarms' description of an alarm.
_ALARM_FIELDS = (
    "AlarmDescription",
    "ActionsEnabled",
    "OKActions",
    "AlarmActions",
    "InsufficientDataActions",
    "MetricName",
    "Namespace",
    "Statistic",
    "ExtendedStatistic",
    "Dimensions",
    "Period",
    "Unit",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "EvaluateLowSampleCountPercentile",
    "Metrics",
    "ThresholdMetricId",
)
MAX_GROUP_TAGS = 50  # Auto Scaling's limit of tags per group
# Every alarm bluegreen creates (a copy of a step or simple scaling policy's alarm) is named
# bluegreen-scaling-<group>-<policy>: a prefix of its own, so no app name can make it start with the security-alarm
# prefix (bluegreen-<group> did, for an app named security-...: it quarantined itself on its first scale-out).
ALARM_PREFIX = "bluegreen-scaling-"
LEGACY_ALARM_PREFIX = "bluegreen-"  # before: bluegreen-<group>-<policy>; such copies are still deleted with their group


def _pick(source: dict, fields: tuple[str, ...]) -> dict:
    return {k: source[k] for k in fields if source.get(k) not in (None, "", [], {})}


def green_name(app: str, slot: str, release_id: str) -> str:
    return f"{app}-{slot}-{release_id}"


def release_tags(app: str, slot: str, release_id: str, ami_id: str) -> dict[str, str]:
    return {
        "bluegreen:app": app,
        "bluegreen:slot": slot,
        "bluegreen:release": release_id,
        "bluegreen:ami": ami_id,
    }


def alarm_prefix(group: str) -> str:
    """The name prefix of the alarms bluegreen makes for `group` (deleted with it)."""
    return f"{ALARM_PREFIX}{group}-"


def alarm_prefixes(group: str) -> tuple[str, ...]:
    """Every name prefix bluegreen's alarms for `group` may have: today's, and the one before (a group made earlier)."""
    return alarm_prefix(group), f"{LEGACY_ALARM_PREFIX}{group}-"


def names_collide(app: str, security_prefix: str) -> str | None:
    """Why an alarm bluegreen makes for this app's groups (<app>-<slot>-<release>) could start with the security-alarm
    prefix, so be taken for a security alarm; None if none can."""
    for made in (ALARM_PREFIX, LEGACY_ALARM_PREFIX):
        names = f"{made}{app}-"
        if names.startswith(security_prefix) or security_prefix.startswith(names):
            return (
                f"app: {app!r}: copies of its scaling alarms are named {names}<slot>-<release>-<policy>, which the"
                f" security-alarm prefix {security_prefix!r} (SecurityAlarmPrefix) would take for security alarms:"
                " choose another app name"
            )
    return None


def launch_template_spec(group: dict) -> dict:
    """The launch template a group launches: its own, or its mixed instances policy's."""
    return group.get("LaunchTemplate") or group.get("MixedInstancesPolicy", {}).get("LaunchTemplate", {}).get(
        "LaunchTemplateSpecification", {}
    )


def pinned_version(group: dict, default_version: int | None, latest_version: int | None) -> tuple[str, int | None]:
    """The version live launches now, and the number to pin it to if it names `$Default` or `$Latest`.

    A new launch template version changes what `$Latest` resolves to (and an operator may change `$Default`), so
    live is pinned to the number first: making green's version must never change what live launches.
    """
    version = str(launch_template_spec(group).get("Version") or "$Default")
    if version == "$Latest":
        return version, latest_version
    if version == "$Default":
        return version, default_version
    return version, None


def plan_clone(
    live: dict,
    extras: dict[str, Any],
    *,
    name: str,
    launch_template_id: str,
    lt_version: int | str,
    target_group_arns: list[str],
    tags: dict[str, str],
    live_target_group_arns: list[str],
    load_balancer_labels: dict[str, str | None],
    now: datetime,
) -> tuple[ClonePlan, dict, dict[str, list[dict]]]:
    """From live's description, the CreateAutoScalingGroup parameters, what to put on it after, and the plan.

    `load_balancer_labels` maps each target group to the `app/<name>/<id>` of the load balancer that routes to it.
    """
    plan = ClonePlan()
    copied = _pick(live, _COPIED)
    if copied.get("VPCZoneIdentifier"):
        copied.pop("AvailabilityZones", None)  # the subnets decide the zones
    params: dict[str, Any] = {"AutoScalingGroupName": name, **copied}
    plan.copied.extend(PlanItem(what=k, detail=str(v)) for k, v in copied.items())

    version = str(lt_version)
    if "MixedInstancesPolicy" in live:
        mixed = _copy(live["MixedInstancesPolicy"])
        mixed["LaunchTemplate"]["LaunchTemplateSpecification"] = {
            "LaunchTemplateId": launch_template_id,
            "Version": version,
        }
        params["MixedInstancesPolicy"] = mixed
        plan.copied.append(PlanItem(what="MixedInstancesPolicy", detail="instance types, overrides and distribution"))
        for override in mixed["LaunchTemplate"].get("Overrides", []):
            if override.get("LaunchTemplateSpecification"):
                spec = override["LaunchTemplateSpecification"]
                plan.refused.append(
                    PlanItem(
                        what=f"MixedInstancesPolicy override {override.get('InstanceType', '')}".rstrip(),
                        detail=f"names its own launch template {spec.get('LaunchTemplateId') or spec.get('LaunchTemplateName')}"
                        ", whose instances would keep the old AMI: remove the override's LaunchTemplateSpecification",
                    )
                )
    else:
        params["LaunchTemplate"] = {"LaunchTemplateId": launch_template_id, "Version": version}
    plan.adjusted.append(
        PlanItem(what="LaunchTemplate", detail=f"{launch_template_id} version {version}: only the AMI differs")
    )
    plan.adjusted.append(PlanItem(what="AutoScalingGroupName", detail=name))
    params["TargetGroupARNs"] = list(target_group_arns)
    plan.adjusted.append(
        PlanItem(what="TargetGroupARNs", detail="the idle slot's target groups: " + ", ".join(target_group_arns))
    )

    copied_tags = [
        t for t in live.get("Tags", []) if not t["Key"].startswith(("bluegreen:", "aws:")) and t["Key"] != "Name"
    ]
    params["Tags"] = [
        {"Key": t["Key"], "Value": t["Value"], "PropagateAtLaunch": t.get("PropagateAtLaunch", True)}
        for t in copied_tags
    ]
    params["Tags"] += [{"Key": "Name", "Value": name, "PropagateAtLaunch": True}]
    params["Tags"] += [{"Key": k, "Value": v, "PropagateAtLaunch": True} for k, v in tags.items()]
    plan.copied.append(PlanItem(what="Tags", detail=f"{len(copied_tags)} user tags"))
    plan.adjusted.append(PlanItem(what="Tags", detail="Name and bluegreen:* tags name the new release"))
    if len(params["Tags"]) > MAX_GROUP_TAGS:
        plan.refused.append(
            PlanItem(
                what="Tags",
                detail=f"{len(copied_tags)} user tags plus bluegreen's {len(tags) + 1} pass Auto Scaling's limit of"
                f" {MAX_GROUP_TAGS} per group: remove {len(params['Tags']) - MAX_GROUP_TAGS} from the live group",
            )
        )

    hooks = [_pick(h, _HOOK_FIELDS) for h in extras.get("lifecycle_hooks", [])]
    if hooks:
        # Hooks go in with the group so that its very first instances pass through them.
        params["LifecycleHookSpecificationList"] = hooks
        plan.copied.append(PlanItem(what="LifecycleHooks", detail=", ".join(h["LifecycleHookName"] for h in hooks)))

    after: dict[str, list[dict]] = {
        "scaling_policies": [],
        "alarms": [],
        "scheduled_actions": [],
        "warm_pool": [],
        "notifications": [],
    }
    alarms = extras.get("alarms", {})
    for policy in extras.get("scaling_policies", []):
        kind = policy.get("PolicyType", "SimpleScaling")
        picked = _copy({"PolicyName": policy["PolicyName"], "PolicyType": kind, **_pick(policy, _POLICY_FIELDS[kind])})
        label = _retarget_policy(picked, live_target_group_arns, target_group_arns, load_balancer_labels)
        if label.startswith("not copied"):
            plan.not_copied.append(PlanItem(what=f"ScalingPolicy {picked['PolicyName']}", detail=label))
            continue
        after["scaling_policies"].append(picked)
        (plan.adjusted if label else plan.copied).append(
            PlanItem(what=f"ScalingPolicy {picked['PolicyName']}", detail=label)
        )
        if kind in ("SimpleScaling", "StepScaling"):
            # Auto Scaling makes the alarms of target tracking itself; step and simple policies act only through
            # alarms of their own, which name live's policy ARN and, usually, live's group in their metric.
            for alarm in policy.get("Alarms", []):
                described = alarms.get(alarm["AlarmName"])
                if described is None:
                    plan.not_copied.append(
                        PlanItem(what=f"Alarm {alarm['AlarmName']}", detail="could not be described")
                    )
                    continue
                after["alarms"].append(
                    _clone_alarm(described, policy["PolicyName"], policy.get("PolicyARN", ""), live, name)
                )
                plan.adjusted.append(
                    PlanItem(
                        what=f"Alarm {alarm['AlarmName']}",
                        detail=f"copied as {after['alarms'][-1]['AlarmName']}, acting on green's policy",
                    )
                )
    for action in extras.get("scheduled_actions", []):
        picked = _pick(action, _SCHEDULE_FIELDS)
        start = _as_datetime(picked.get("StartTime"))
        if not picked.get("Recurrence") and (start is None or start <= now):
            plan.not_copied.append(
                PlanItem(
                    what=f"ScheduledAction {picked['ScheduledActionName']}", detail="a one-time action in the past"
                )
            )
            continue
        if start is None or start <= now:
            picked.pop("StartTime", None)  # a start time in the past is refused; the recurrence carries the schedule
        else:
            picked["StartTime"] = start
        if _as_datetime(picked.get("EndTime")) is not None:
            picked["EndTime"] = _as_datetime(picked["EndTime"])
        after["scheduled_actions"].append(picked)
        plan.copied.append(PlanItem(what=f"ScheduledAction {picked['ScheduledActionName']}"))
    for pool in extras.get("warm_pool", []):
        after["warm_pool"].append(_pick(pool, _WARM_POOL_FIELDS))
        plan.copied.append(PlanItem(what="WarmPool"))
    by_topic: dict[str, list[str]] = {}
    for note in extras.get("notifications", []):
        by_topic.setdefault(note["TopicARN"], []).append(note["NotificationType"])
    for topic, kinds in by_topic.items():
        # PutNotificationConfiguration replaces a topic's configuration: one call per topic, with all its types.
        after["notifications"].append({"TopicARN": topic, "NotificationTypes": sorted(kinds)})
        plan.copied.append(PlanItem(what="Notification", detail=f"{topic}: {', '.join(sorted(kinds))}"))

    if live.get("LoadBalancerNames"):
        plan.not_copied.append(
            PlanItem(
                what="LoadBalancerNames",
                detail="Classic Load Balancers are not slots; green uses the slot's target groups",
            )
        )
    if live.get("SuspendedProcesses"):
        names = ", ".join(p["ProcessName"] for p in live["SuspendedProcesses"])
        plan.not_copied.append(
            PlanItem(what="SuspendedProcesses", detail=f"{names}: green starts with every process running")
        )
    if live.get("TrafficSources"):
        others = [s for s in live["TrafficSources"] if s.get("Type") not in (None, "elbv2")]
        if others:
            plan.not_copied.append(PlanItem(what="TrafficSources", detail="VPC Lattice and other non-ELB sources"))
    plan.not_copied.append(PlanItem(what="Instance scale-in protection", detail="set per instance, not per group"))
    return plan, params, after


def _retarget_policy(
    policy: dict, live_tgs: list[str], green_tgs: list[str], load_balancer_labels: dict[str, str | None]
) -> str:
    """ALBRequestCountPerTarget names a load balancer and a target group: point it at green's pair."""
    spec = policy.get("TargetTrackingConfiguration", {}).get("PredefinedMetricSpecification", {})
    label = spec.get("ResourceLabel")
    if not label:
        return ""
    for old, new in zip(live_tgs, green_tgs, strict=False):
        old_suffix, new_suffix = _target_group_label(old), _target_group_label(new)
        if label.endswith(old_suffix):
            balancer = load_balancer_labels.get(new)
            if not balancer:
                return f"not copied: {new_suffix} is behind no load balancer, and the metric needs one"
            spec["ResourceLabel"] = f"{balancer}/{new_suffix}"
            return f"ResourceLabel names the idle slot's {balancer} and {new_suffix}"
    return "ResourceLabel kept: it names no target group of the live slot"


def _target_group_label(arn: str) -> str:
    """`targetgroup/<name>/<id>` of a target group ARN."""
    return "targetgroup/" + arn.split(":targetgroup/")[-1]


def _clone_alarm(alarm: dict, policy_name: str, live_policy_arn: str, live: dict, green: str) -> dict:
    """PutMetricAlarm parameters of green's copy: green's group in the metric, green's policy (filled in later)."""
    clone = _copy(_pick(alarm, _ALARM_FIELDS))
    clone["AlarmName"] = f"{alarm_prefix(green)}{policy_name}"[:255]
    live_name = live["AutoScalingGroupName"]
    for dimension in clone.get("Dimensions", []):
        if dimension["Name"] == "AutoScalingGroupName" and dimension["Value"] == live_name:
            dimension["Value"] = green
    for query in clone.get("Metrics", []):
        for dimension in query.get("MetricStat", {}).get("Metric", {}).get("Dimensions", []):
            if dimension["Name"] == "AutoScalingGroupName" and dimension["Value"] == live_name:
                dimension["Value"] = green
    # The live policy's ARN becomes a placeholder that apply_extras replaces with green's policy ARN.
    for actions in ("AlarmActions", "OKActions", "InsufficientDataActions"):
        clone[actions] = [f"policy:{policy_name}" if a == live_policy_arn else a for a in clone.get(actions, [])]
        if not clone[actions]:
            del clone[actions]
    return clone


def with_policy_arns(alarm: dict, policy_arns: dict[str, str]) -> dict:
    """A cloned alarm whose `policy:<name>` placeholders name green's policies by ARN."""
    filled = dict(alarm)
    for actions in ("AlarmActions", "OKActions", "InsufficientDataActions"):
        if actions in filled:
            filled[actions] = [
                policy_arns[a.removeprefix("policy:")] if a.startswith("policy:") else a for a in filled[actions]
            ]
    return filled


def _as_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
