"""moto 5.2 drops CreateAutoScalingGroup's lifecycle hooks and describes every hook with a made-up role and queue.

Real AWS (Auto Scaling API Reference, "CreateAutoScalingGroup", `LifecycleHookSpecificationList`): "One or more
lifecycle hooks to add to the Auto Scaling group before instances are launched." DescribeLifecycleHooks lists them
with the hooks added by PutLifecycleHook. A hook keeps what it was given (a notification target, role and metadata
only when given) and otherwise AWS's defaults ("PutLifecycleHook"): `HeartbeatTimeout` "The default value is 3600
seconds (1 hour).", `DefaultResult` "The default value is ABANDON."; and ("LifecycleHook") `GlobalTimeout` "The
maximum is 172800 seconds (48 hours) or 100 times HeartbeatTimeout, whichever is smaller." PutLifecycleHook on an
existing hook updates it: `LifecycleTransition` is "Required for new lifecycle hooks, but optional when updating
existing hooks", so what an update does not name is kept; an empty `NotificationTargetARN` "overrides the current ARN".

moto ignores the list (the new group has no hooks), drops a hook's target, role and metadata, replaces a hook whole
on update, and describes every hook with the role `arn:aws:iam::1234567890:role/my-auto-scaling-role`, the queue
`my-queue` and a 172800 s global timeout: a clone of a hook then carries a role and a target its source never had.
"""

from __future__ import annotations

from typing import Any

from moto.autoscaling.models import LifecycleHook
from moto.autoscaling.responses import AutoScalingResponse
from moto.core.responses import ActionResult, EmptyResult

from bluegreen.twin.patching import Patches

_MAX_GLOBAL_TIMEOUT = 172800
# PutLifecycleHook's fields, and the attribute of moto's hook that holds each.
_FIELDS = {
    "LifecycleTransition": "lifecycle_transition",
    "HeartbeatTimeout": "heartbeat_timeout",
    "DefaultResult": "default_result",
    "NotificationTargetARN": "notification_target_arn",
    "RoleARN": "role_arn",
    "NotificationMetadata": "notification_metadata",
}
_original_hook_init = LifecycleHook.__init__
_original_create_group = AutoScalingResponse.create_auto_scaling_group


def _hook_init(self: LifecycleHook, *args: Any, **kwargs: Any) -> None:
    _original_hook_init(self, *args, **kwargs)
    self.role_arn = None
    self.notification_target_arn = None
    self.notification_metadata = None
    self.global_timeout = min(_MAX_GLOBAL_TIMEOUT, 100 * self.heartbeat_timeout)


def _keep(response: AutoScalingResponse, group_name: str, spec: dict[str, Any]) -> None:
    """Store one hook with everything it was given."""
    timeout = spec.get("HeartbeatTimeout")
    hook = response.autoscaling_backend.create_lifecycle_hook(
        name=spec["LifecycleHookName"],
        as_name=group_name,
        transition=spec.get("LifecycleTransition"),
        timeout=int(timeout) if timeout is not None else None,
        result=spec.get("DefaultResult"),
    )
    hook.notification_target_arn = spec.get("NotificationTargetARN") or None  # "" clears it
    hook.role_arn = spec.get("RoleARN")
    hook.notification_metadata = spec.get("NotificationMetadata")


def _create_group(self: AutoScalingResponse) -> ActionResult:
    result = _original_create_group(self)
    name = self._get_param("AutoScalingGroupName")
    for spec in self._get_param("LifecycleHookSpecificationList", []):
        _keep(self, name, spec)
    return result


def _put_hook(self: AutoScalingResponse) -> ActionResult:
    group_name, name = self._get_param("AutoScalingGroupName"), self._get_param("LifecycleHookName")
    given = {field: self._get_param(field) for field in _FIELDS}
    existing = self.autoscaling_backend.lifecycle_hooks.get(f"{group_name}_{name}")
    if existing is not None:
        # An update changes what it names and keeps the rest of the hook.
        kept = {field: getattr(existing, attribute) for field, attribute in _FIELDS.items()}
        given = {field: kept[field] if value is None else value for field, value in given.items()}
    _keep(self, group_name, {"LifecycleHookName": name, **given})
    return EmptyResult()


patches = Patches(
    __name__,
    (LifecycleHook, "__init__", _hook_init),
    (AutoScalingResponse, "create_auto_scaling_group", _create_group),
    (AutoScalingResponse, "put_lifecycle_hook", _put_hook),
)
install, uninstall = patches.install, patches.uninstall
