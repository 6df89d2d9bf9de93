"""Auto Scaling groups: read, clone, resize and delete the app's fleets."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from orchestrator.adapters.aws import client, error_code, paginate
from orchestrator.errors import NotFoundError

TAG_APP = "bluegreen:app"
TAG_SLOT = "bluegreen:slot"
TAG_RELEASE = "bluegreen:release"
TAG_AMI = "bluegreen:ami"
TAG_QUARANTINE = "bluegreen:quarantine"
# DetachInstances takes at most 20 instance ids per call; the instance and protection calls take 50.
DETACH_BATCH = 20


def describe_group(name: str, api: Any = None) -> dict | None:
    api = api or client("autoscaling")
    groups = api.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"]
    return groups[0] if groups else None


def require_group(name: str, api: Any = None) -> dict:
    group = describe_group(name, api)
    if group is None:
        raise NotFoundError(f"Auto Scaling group {name!r} does not exist")
    return group


def scaling_activities(name: str, api: Any = None) -> list[dict]:
    """The group's most recent scaling activities (one page, newest first): its launches and why any failed."""
    api = api or client("autoscaling")
    return api.describe_scaling_activities(AutoScalingGroupName=name)["Activities"]


def groups_of_app(app: str, api: Any = None) -> list[dict]:
    api = api or client("autoscaling")
    filters = [{"Name": f"tag:{TAG_APP}", "Values": [app]}]
    return paginate(api, "describe_auto_scaling_groups", "AutoScalingGroups", Filters=filters)


def tag_value(group: dict, key: str) -> str | None:
    return next((t["Value"] for t in group.get("Tags", []) if t["Key"] == key), None)


def group_extras(group: dict, api: Any = None) -> dict[str, list[dict]]:
    """What a group carries beside its own description: policies, schedules, hooks, warm pool, notifications.

    The warm pool's configuration is part of the group's description (DescribeWarmPool adds only its instances)."""
    api = api or client("autoscaling")
    name = group["AutoScalingGroupName"]
    warm_pool = group.get("WarmPoolConfiguration")
    return {
        "scaling_policies": paginate(api, "describe_policies", "ScalingPolicies", AutoScalingGroupName=name),
        "scheduled_actions": paginate(
            api, "describe_scheduled_actions", "ScheduledUpdateGroupActions", AutoScalingGroupName=name
        ),
        "lifecycle_hooks": api.describe_lifecycle_hooks(AutoScalingGroupName=name)["LifecycleHooks"],
        "warm_pool": [warm_pool] if warm_pool else [],
        "notifications": paginate(
            api,
            "describe_notification_configurations",
            "NotificationConfigurations",
            AutoScalingGroupNames=[name],
        ),
    }


def create_group(params: dict, api: Any = None) -> None:
    api = api or client("autoscaling")
    try:
        api.create_auto_scaling_group(**params)
    except ClientError as err:
        if error_code(err) != "AlreadyExists":  # a retried task finds its own group: fine
            raise


def apply_extras(name: str, extras: dict[str, list[dict]], api: Any = None) -> dict[str, str]:
    """Put the cloned policies, schedules, warm pool and notifications on a new group; its policies' ARNs by name."""
    api = api or client("autoscaling")
    arns = {}
    for policy in extras.get("scaling_policies", []):
        arns[policy["PolicyName"]] = api.put_scaling_policy(AutoScalingGroupName=name, **policy)["PolicyARN"]
    for action in extras.get("scheduled_actions", []):
        api.put_scheduled_update_group_action(AutoScalingGroupName=name, **action)
    for pool in extras.get("warm_pool", []):
        api.put_warm_pool(AutoScalingGroupName=name, **pool)
    for note in extras.get("notifications", []):
        api.put_notification_configuration(AutoScalingGroupName=name, **note)
    return arns


def pin_launch_template_version(group: dict, version: int, api: Any = None) -> None:
    """Make a group launch a numbered version instead of `$Latest`/`$Default`, keeping every other setting."""
    api = api or client("autoscaling")
    name = group["AutoScalingGroupName"]
    if "MixedInstancesPolicy" in group:
        mixed = group["MixedInstancesPolicy"]
        spec = {**mixed["LaunchTemplate"]["LaunchTemplateSpecification"], "Version": str(version)}
        spec.pop("LaunchTemplateName", None)  # the id alone names it; giving both is refused
        policy = {**mixed, "LaunchTemplate": {**mixed["LaunchTemplate"], "LaunchTemplateSpecification": spec}}
        api.update_auto_scaling_group(AutoScalingGroupName=name, MixedInstancesPolicy=policy)
    else:
        spec = {"LaunchTemplateId": group["LaunchTemplate"]["LaunchTemplateId"], "Version": str(version)}
        api.update_auto_scaling_group(AutoScalingGroupName=name, LaunchTemplate=spec)


def set_capacity(name: str, *, min_size: int, max_size: int, desired: int, api: Any = None) -> None:
    api = api or client("autoscaling")
    api.update_auto_scaling_group(
        AutoScalingGroupName=name, MinSize=min_size, MaxSize=max_size, DesiredCapacity=desired
    )


def stop_scaling(name: str, schedules: list[str] | None = None, api: Any = None) -> None:
    """Before a group is emptied: delete its scheduled actions (`schedules`: their names, when the caller has read
    them already), so none raises its capacity again."""
    api = api or client("autoscaling")
    if schedules is None:
        found = paginate(api, "describe_scheduled_actions", "ScheduledUpdateGroupActions", AutoScalingGroupName=name)
        schedules = [action["ScheduledActionName"] for action in found]
    for action in schedules:
        try:
            api.delete_scheduled_action(AutoScalingGroupName=name, ScheduledActionName=action)
        except ClientError as err:
            if error_code(err) != "ValidationError":  # deleted by a previous attempt
                raise


def lift_protection(group: dict, api: Any = None) -> bool:
    """Lift scale-in protection from a group's instances (a quarantined one keeps it); whether any was lifted."""
    return _lift_protection(group["AutoScalingGroupName"], group, api or client("autoscaling"))


def _lift_protection(name: str, group: dict | None, api: Any) -> bool:
    protected = [i["InstanceId"] for i in (group or {}).get("Instances", []) if i.get("ProtectedFromScaleIn")]
    # A quarantined instance that could not leave the group yet keeps its protection: the scale-in must not end it.
    quarantined = _quarantined(protected)
    protected = [i for i in protected if i not in quarantined]
    for start in range(0, len(protected), 50):  # SetInstanceProtection takes at most 50 ids
        api.set_instance_protection(
            AutoScalingGroupName=name, InstanceIds=protected[start : start + 50], ProtectedFromScaleIn=False
        )
    return bool(protected)


# Kept while a group is held empty for a rollback: its alarms' scaling and its schedule must not bring it back.
HELD_PROCESSES = ["AlarmNotification", "ScheduledActions"]


def hold_empty(group: dict, max_size: int, api: Any = None) -> None:
    """Empty a group but keep it whole (launch template version, policies, schedule) to be scaled out again."""
    api = api or client("autoscaling")
    name = group["AutoScalingGroupName"]
    api.suspend_processes(AutoScalingGroupName=name, ScalingProcesses=HELD_PROCESSES)
    _lift_protection(name, group, api)
    set_capacity(name, min_size=0, max_size=max_size, desired=0, api=api)


def scale_to(group: dict, *, min_size: int, max_size: int, desired: int, resume: list[str], api: Any = None) -> None:
    """Set a group's capacity; a group held empty gets back the processes in `resume` first (those it ran before)."""
    api = api or client("autoscaling")
    name = group["AutoScalingGroupName"]
    held = [p["ProcessName"] for p in group.get("SuspendedProcesses", []) if p.get("ProcessName") in resume]
    if held and desired > 0:
        api.resume_processes(AutoScalingGroupName=name, ScalingProcesses=held)
    set_capacity(name, min_size=min_size, max_size=max_size, desired=desired, api=api)


def set_min_size(name: str, min_size: int, api: Any = None) -> None:
    (api or client("autoscaling")).update_auto_scaling_group(AutoScalingGroupName=name, MinSize=min_size)


def delete_group(name: str, api: Any = None, *, empty: bool = False) -> bool:
    """Delete a group and its instances; True once it no longer exists.

    ForceDelete terminates every instance, termination-protected or not: a quarantined instance still in the group is
    detached first, and while one cannot be (still launching), the group is left for the next poll. `empty`: the
    caller has just seen the group hold no instance (nothing to detach), so it is not described first, nor after an
    accepted delete: a group with no instance has nothing left to terminate, and Auto Scaling deletes it ("Delete in
    progress" until then; the old group, at size 0 with its schedules gone, launches nothing meanwhile).
    """
    api = api or client("autoscaling")
    group = {} if empty else describe_group(name, api)
    if group is None:
        return True
    states = {i["InstanceId"]: i["LifecycleState"] for i in group.get("Instances", [])}
    quarantined = _quarantined(list(states))
    if quarantined:
        detach(name, [i for i in quarantined if states[i] in DETACHABLE], decrement=True, api=api)
        if any(states[i] not in DETACHABLE for i in quarantined):
            return False
    try:
        api.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)
    except ClientError as err:
        # Real AWS answers ScalingActivityInProgress while a previous delete runs; poll again later.
        if error_code(err) not in ("ScalingActivityInProgress", "ResourceInUse", "ValidationError"):
            raise
    else:
        if empty:
            return True
    return describe_group(name, api) is None


# --- instances: the quarantine path ----------------------------------------------------------------------------


def groups_of_instances(instance_ids: list[str], api: Any = None) -> dict[str, str]:
    """The Auto Scaling group of each instance that belongs to one."""
    api = api or client("autoscaling")
    found: list[dict] = []
    for start in range(0, len(instance_ids), 50):  # the API takes at most 50 ids per call
        chunk = instance_ids[start : start + 50]
        found += paginate(api, "describe_auto_scaling_instances", "AutoScalingInstances", InstanceIds=chunk)
    return {i["InstanceId"]: i["AutoScalingGroupName"] for i in found}


def describe_groups(names: list[str], api: Any = None) -> list[dict]:
    api = api or client("autoscaling")
    if not names:
        return []
    return paginate(api, "describe_auto_scaling_groups", "AutoScalingGroups", AutoScalingGroupNames=names)


# Lifecycle states from which DetachInstances takes an instance out of its group.
DETACHABLE = ("InService", "Standby")
# Warm pool states: the instance is not in service and cannot be detached from the pool.
WARM_POOL_PREFIX = "Warmed:"


def instance_states(instance_ids: list[str], api: Any = None) -> dict[str, dict]:
    """Each instance that belongs to a group: its group, lifecycle state and scale-in protection."""
    api = api or client("autoscaling")
    found: list[dict] = []
    for start in range(0, len(instance_ids), 50):  # the API takes at most 50 ids per call
        chunk = instance_ids[start : start + 50]
        found += paginate(api, "describe_auto_scaling_instances", "AutoScalingInstances", InstanceIds=chunk)
    return {
        i["InstanceId"]: {
            "group": i["AutoScalingGroupName"],
            "state": i["LifecycleState"],
            "protected": bool(i.get("ProtectedFromScaleIn")),
        }
        for i in found
    }


def detach(name: str, instance_ids: list[str], decrement: bool = False, api: Any = None) -> list[str]:
    """Take instances out of their group; without `decrement` the group launches a replacement for each (also at its
    minimum size). The ids it detached (one no longer in the group is left out)."""
    api = api or client("autoscaling")
    done: list[str] = []
    for start in range(0, len(instance_ids), DETACH_BATCH):
        batch = instance_ids[start : start + DETACH_BATCH]
        try:
            api.detach_instances(AutoScalingGroupName=name, InstanceIds=batch, ShouldDecrementDesiredCapacity=decrement)
            done += batch
        except ClientError as err:
            if error_code(err) != "ValidationError":
                raise
            if len(batch) > 1:  # one refused instance fails the batch: one by one, to learn which
                for one in batch:
                    done += detach(name, [one], decrement, api)
            elif "not part of" not in str(err):  # AWS has no code of its own for "detached already"
                raise
    return done


def protect_from_scale_in(name: str, instance_ids: list[str], api: Any = None) -> None:
    api = api or client("autoscaling")
    for start in range(0, len(instance_ids), 50):
        api.set_instance_protection(
            AutoScalingGroupName=name, InstanceIds=instance_ids[start : start + 50], ProtectedFromScaleIn=True
        )


def target_groups_of(names: list[str], api: Any = None) -> dict[str, list[str]]:
    """Each group's own target groups (the ones it registers its instances with)."""
    return {g["AutoScalingGroupName"]: list(g.get("TargetGroupARNs", [])) for g in describe_groups(names, api)}


def _quarantined(instance_ids: list[str]) -> list[str]:
    """Those of the instances that carry the quarantine tag (one EC2 call, none when there are no instances)."""
    if not instance_ids:
        return []
    api = client("ec2")
    # A filter, not InstanceIds: an id EC2 no longer knows is left out instead of failing the call.
    filters = [{"Name": "instance-id", "Values": instance_ids}, {"Name": "tag-key", "Values": [TAG_QUARANTINE]}]
    found = paginate(api, "describe_instances", "Reservations", Filters=filters)
    return [i["InstanceId"] for r in found for i in r["Instances"]]
