"""moto reports every registered target `healthy` at once; the twin lets tests say what health checks would find.

Real AWS (ELB User Guide, "Target health status"): a newly registered target is `initial` until it passes the health
checks, then `healthy`; it is `unhealthy` when checks fail and `draining` while it is deregistered; a target that is
not registered is `unused`. The twin keeps moto's answer unless an override names the instance (or its whole target
group, including targets registered later); `POST /_twin/target-health` sets one.

A target of a group that no listener or rule forwards to is `unused` with `Target.NotInUse` (ELB API Reference,
"TargetHealth": "The target group is not used by any load balancer or the target is in an Availability Zone that is
not enabled for its load balancer."), whatever an override says: health checks run only for a group in use, so a
slot's target group must join its load balancer (a forward action, even at weight 0) before its fleet can be healthy.
moto says `healthy`.

A registered target whose instance is terminated is `unused` (ELB API Reference, "TargetHealth": `Target.InvalidState`
"The target is in the stopped or terminated state."), whatever an override says; it stays registered until it is
deregistered (an Auto Scaling group deregisters its own: `autoscaling_target_deregistration`). moto says `healthy` for
an instance Auto Scaling terminated, and takes a target whose instance EC2 terminated out of its group at once,
answering `draining` for it for ever.
"""

from __future__ import annotations

import threading
from typing import Any

from moto.elbv2 import models

from bluegreen.twin.elbv2_target_group_load_balancers import forwarding_load_balancers
from bluegreen.twin.patching import Patches

TARGET_STATES = ("healthy", "unhealthy", "initial", "draining")
_REASONS = {
    "unhealthy": ("Target.FailedHealthChecks", "Health checks failed"),
    "initial": ("Elb.RegistrationInProgress", "Target registration is in progress"),
    "draining": ("Target.DeregistrationInProgress", "Target deregistration is in progress"),
    "healthy": (None, None),
}
_GONE = ("shutting-down", "terminated")  # moto reports stopped instances unused already
_lock = threading.Lock()
_by_instance: dict[str, str] = {}
_by_group: dict[str, str] = {}


def set_target_health(instance_ids: list[str], state: str, target_group_arn: str | None = None) -> None:
    """Report `state` for these instances in every target group, or (with `target_group_arn`) for every target of
    that group, including targets registered later."""
    if state not in TARGET_STATES:
        raise ValueError(f"state must be one of {TARGET_STATES}, got {state!r}")
    with _lock:
        _by_instance.update(dict.fromkeys(instance_ids, state))
        if target_group_arn:
            _by_group[target_group_arn] = state


def clear_target_health() -> None:
    with _lock:
        _by_instance.clear()
        _by_group.clear()


def target_health_overrides() -> dict[str, str]:
    """Overrides by instance id, then by target group ARN (an instance's own override wins)."""
    with _lock:
        return {**_by_group, **_by_instance}


def _override_for(target_id: str, target_group_arn: str) -> str | None:
    with _lock:
        return _by_instance.get(target_id) or _by_group.get(target_group_arn)


_original_health_for = models.FakeTargetGroup.health_for


def _health_for(self: Any, target: dict[str, Any], ec2_backend: Any) -> Any:
    status = _original_health_for(self, target, ec2_backend)
    instance = ec2_backend.get_instance_by_id(target["Id"]) if target["Id"] in self.targets else None
    if instance is not None and instance.state in _GONE:
        status.status, status.reason = "unused", "Target.InvalidState"
        status.description = f"Target is in the {instance.state} state"
        return status
    if target["Id"] in self.targets and not _in_use(self):
        status.status, status.reason = "unused", "Target.NotInUse"
        status.description = "Target group is not configured to receive traffic from the load balancer"
        return status
    state = _override_for(target["Id"], self.arn)
    if state and target["Id"] in self.targets:
        status.status = state
        status.reason, status.description = _REASONS[state]
    return status


def _in_use(group: Any) -> bool:
    return bool(forwarding_load_balancers(models.elbv2_backends[group.account_id][group.region_name], group.arn))


def _keep_terminated_targets(self: Any, instance_ids: list[str]) -> None:
    """An EC2 termination leaves a target registered (and `unused`) until it is deregistered."""


patches = Patches(
    __name__,
    (models.FakeTargetGroup, "health_for", _health_for),
    (models.FakeTargetGroup, "deregister_terminated_instances", _keep_terminated_targets),
)
install, uninstall = patches.install, patches.uninstall
