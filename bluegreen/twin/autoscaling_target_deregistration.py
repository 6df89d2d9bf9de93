"""moto 5.2 leaves an instance registered (and `healthy`) in its group's target groups after it leaves the group.

Real AWS (Auto Scaling User Guide, "Use Elastic Load Balancing to distribute incoming application traffic in your Auto
Scaling group"): "instances that are launched by your Auto Scaling group are automatically registered with the load
balancer or target group, and instances that are terminated by your Auto Scaling group are automatically deregistered
from the load balancer or target group." And (Auto Scaling API Reference, "DetachInstances"): "If there are target
groups attached to the Auto Scaling group, the instances are deregistered from the target groups." So an instance that
leaves the group (scale-in, TerminateInstanceInAutoScalingGroup, DetachInstances, DeleteAutoScalingGroup, or an EC2
termination the group notices) leaves the group's target groups. The twin deregisters at once (deregistration delays
are time, which the twin does not model); targets registered by hand, not by the group, are left alone.

moto only ever registers: a scaled-in, detached or force-deleted instance stays a registered target, reported
`healthy`, so the old fleet of a deleted group still counts as healthy capacity of its target group.
"""

from __future__ import annotations

from typing import Any

from moto.autoscaling.models import AutoScalingBackend, FakeAutoScalingGroup

from bluegreen.twin.patching import Patches

_original_update = AutoScalingBackend.update_attached_target_groups
_original_notify = AutoScalingBackend.notify_terminate_instances


def _was_member(backend: AutoScalingBackend, group: FakeAutoScalingGroup, instance_id: str) -> bool:
    # moto tags every instance the group launched or attached with the group, and never clears it.
    instance = backend.ec2_backend.get_instance_by_id(instance_id)
    return getattr(instance, "autoscaling_group", None) is group


def _update(self: AutoScalingBackend, group_name: str) -> None:
    _original_update(self, group_name)
    group = self.autoscaling_groups[group_name]
    if not group.target_group_arns:
        return
    members = {state.instance.id for state in group.instance_states}
    for arn in group.target_group_arns:
        target_group = self.elbv2_backend.target_groups.get(arn)
        if target_group is None:
            continue  # deleted before the group: nothing to deregister from
        leaving: list[dict[str, Any]] = [
            target
            for target in target_group.targets.values()
            if target["Id"] not in members and _was_member(self, group, target["Id"])
        ]
        if leaving:
            target_group.deregister(leaving)


def _notify(self: AutoScalingBackend, instance_ids: list[str]) -> None:
    # An EC2 termination of a member: the group notices, replaces it and deregisters it.
    noticing = [
        name
        for name, group in self.autoscaling_groups.items()
        if any(state.instance.id in instance_ids for state in group.instance_states)
    ]
    _original_notify(self, instance_ids)
    for name in noticing:
        self.update_attached_target_groups(name)


patches = Patches(
    __name__,
    (AutoScalingBackend, "update_attached_target_groups", _update),
    (AutoScalingBackend, "notify_terminate_instances", _notify),
)
install, uninstall = patches.install, patches.uninstall
