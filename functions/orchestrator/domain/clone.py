"""The clone plan: how green copies live, what it adjusts, and what cannot be copied."""

from __future__ import annotations

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
_POLICY_FIELDS = (
    "PolicyName",
    "PolicyType",
    "AdjustmentType",
    "MinAdjustmentMagnitude",
    "ScalingAdjustment",
    "Cooldown",
    "MetricAggregationType",
    "StepAdjustments",
    "EstimatedInstanceWarmup",
    "TargetTrackingConfiguration",
    "PredictiveScalingConfiguration",
    "Enabled",
)
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


def _pick(source: dict, fields: tuple[str, ...]) -> dict:
    return {k: source[k] for k in fields if source.get(k) not in (None, "", [])}


def green_name(app: str, slot: str, release_id: str) -> str:
    return f"{app}-{slot}-{release_id}"


def release_tags(app: str, slot: str, release_id: str, ami_id: str) -> dict[str, str]:
    return {
        "bluegreen:app": app,
        "bluegreen:slot": slot,
        "bluegreen:release": release_id,
        "bluegreen:ami": ami_id,
    }


def plan_clone(
    live: dict,
    extras: dict[str, list[dict]],
    *,
    name: str,
    launch_template_id: str,
    lt_version: int | str,
    target_group_arns: list[str],
    tags: dict[str, str],
    live_target_group_arns: list[str],
) -> tuple[ClonePlan, dict, dict[str, list[dict]]]:
    """From live's description, the CreateAutoScalingGroup parameters, what to put on it after, and the plan."""
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

    hooks = [_pick(h, _HOOK_FIELDS) for h in extras.get("lifecycle_hooks", [])]
    if hooks:
        # Hooks go in with the group so that its very first instances pass through them.
        params["LifecycleHookSpecificationList"] = hooks
        plan.copied.append(PlanItem(what="LifecycleHooks", detail=", ".join(h["LifecycleHookName"] for h in hooks)))

    after: dict[str, list[dict]] = {
        "scaling_policies": [],
        "scheduled_actions": [],
        "warm_pool": [],
        "notifications": [],
    }
    for policy in extras.get("scaling_policies", []):
        picked = _pick(policy, _POLICY_FIELDS)
        label = _retarget_policy(picked, live_target_group_arns, target_group_arns)
        after["scaling_policies"].append(picked)
        (plan.adjusted if label else plan.copied).append(
            PlanItem(what=f"ScalingPolicy {picked['PolicyName']}", detail=label)
        )
    for action in extras.get("scheduled_actions", []):
        picked = _pick(action, _SCHEDULE_FIELDS)
        picked.pop("StartTime", None)  # a start time in the past is refused; the recurrence carries the schedule
        after["scheduled_actions"].append(picked)
        plan.copied.append(PlanItem(what=f"ScheduledAction {picked['ScheduledActionName']}"))
    for pool in extras.get("warm_pool", []):
        after["warm_pool"].append(_pick(pool, _WARM_POOL_FIELDS))
        plan.copied.append(PlanItem(what="WarmPool"))
    for note in extras.get("notifications", []):
        after["notifications"].append({"TopicARN": note["TopicARN"], "NotificationTypes": [note["NotificationType"]]})
        plan.copied.append(PlanItem(what="Notification", detail=note["NotificationType"]))

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


def _retarget_policy(policy: dict, live_tgs: list[str], green_tgs: list[str]) -> str:
    """ALBRequestCountPerTarget names a target group: point it at green's counterpart."""
    spec = policy.get("TargetTrackingConfiguration", {}).get("PredefinedMetricSpecification", {})
    label = spec.get("ResourceLabel")
    if not label:
        return ""
    for old, new in zip(live_tgs, green_tgs, strict=False):
        old_suffix, new_suffix = old.split(":targetgroup/")[-1], new.split(":targetgroup/")[-1]
        if label.endswith(old_suffix):
            spec["ResourceLabel"] = label[: -len(old_suffix)] + new_suffix
            return "ResourceLabel points at the idle slot's target group"
    return "ResourceLabel kept: it names no target group of the live slot"


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
