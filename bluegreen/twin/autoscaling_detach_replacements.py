"""moto 5.2 detaches an instance and only then launches its replacement; this launches the replacement first.

Real AWS: DetachInstances with ShouldDecrementDesiredCapacity=false takes the instances out of the group at once and
launches replacements, which are Pending until they boot (the group is short for that long; quarantine accepts it,
isolation comes first). moto models capacity as instant: replacements are InService at once. But it mutates the group
in two steps (remove, then launch), so a concurrent DescribeAutoScalingGroups can catch the group short in a way moto's
own model never intends, and the invariant monitor flags it at random. Launching the replacements before the removal
keeps moto's instant model consistent for every reader.
"""

from __future__ import annotations

from typing import Any

from moto.autoscaling.models import AutoScalingBackend

from bluegreen.twin.patching import Patches

_original_detach = AutoScalingBackend.detach_instances


def _detach(self: AutoScalingBackend, group_name: str, instance_ids: list[str], should_decrement: bool) -> Any:
    group = self.autoscaling_groups[group_name]
    leaving = [s for s in group.instance_states if s.instance.id in instance_ids]
    if leaving and not should_decrement:
        group.replace_autoscaling_group_instances(len(leaving), group.get_propagated_tags())
    return _original_detach(self, group_name, instance_ids, should_decrement)


patches = Patches(__name__, (AutoScalingBackend, "detach_instances", _detach))
install, uninstall = patches.install, patches.uninstall
