"""moto 5.2 detaches any instance id it is given; AWS detaches only instances of the group that are InService or Standby.

Real AWS (Auto Scaling User Guide, "Detach or attach instances from your Auto Scaling group", considerations): "You can
detach an instance only when it's either in an InService or StandBy state." Otherwise DetachInstances fails with
ValidationError "The instance <id> is not in InService or Standby."; an instance that is not in the group fails with
ValidationError "The instance <id> is not part of Auto Scaling group <name>." (the messages real AWS answers, as
reported by its users). moto detaches whatever it finds and silently skips ids that are not in the group.

moto also launches every instance InService at once, so no instance is ever in another state. `set_instance_lifecycle`
(`POST /_twin/instance-lifecycle`) puts one in any lifecycle state of the Auto Scaling API (e.g. `Pending`,
`Pending:Wait`, `Warmed:Stopped`, `Standby`); instances that are `Pending` still count toward the desired capacity, as
in AWS, where the instances launched to reach it "start in the Pending state" ("Amazon EC2 Auto Scaling instance
lifecycle"), so setting one does not make the group launch another.
"""

from __future__ import annotations

from moto.autoscaling.exceptions import ValidationError
from moto.autoscaling.models import FakeAutoScalingGroup, InstanceState, autoscaling_backends
from moto.autoscaling.responses import AutoScalingResponse
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.responses import ActionResult

from bluegreen.twin.patching import Patches

# The Auto Scaling API's LifecycleState values.
LIFECYCLE_STATES = (
    "Pending",
    "Pending:Wait",
    "Pending:Proceed",
    "Quarantined",
    "InService",
    "Terminating",
    "Terminating:Wait",
    "Terminating:Proceed",
    "Terminating:Retained",
    "Terminated",
    "Detaching",
    "Detached",
    "EnteringStandby",
    "Standby",
    "ReplacingRootVolume",
    "ReplacingRootVolume:Wait",
    "ReplacingRootVolume:Proceed",
    "RootVolumeReplaced",
    "Warmed:Pending",
    "Warmed:Pending:Wait",
    "Warmed:Pending:Proceed",
    "Warmed:Pending:Retained",
    "Warmed:Terminating",
    "Warmed:Terminating:Wait",
    "Warmed:Terminating:Proceed",
    "Warmed:Terminating:Retained",
    "Warmed:Terminated",
    "Warmed:Stopped",
    "Warmed:Running",
    "Warmed:Hibernated",
)
DETACHABLE = ("InService", "Standby")
# moto counts only these toward the desired capacity (it knows no other state but Standby).
_IN_CAPACITY = ("Pending", "Pending:Wait", "Pending:Proceed", "InService")

_original_detach = AutoScalingResponse.detach_instances


def _state_of(instance_id: str, region: str) -> InstanceState | None:
    for group in autoscaling_backends[DEFAULT_ACCOUNT_ID][region].autoscaling_groups.values():
        for state in group.instance_states:
            if state.instance.id == instance_id:
                return state
    return None


def set_instance_lifecycle(instance_id: str, state: str, region: str = "us-east-1") -> None:
    """Make Auto Scaling report the instance in lifecycle `state` (as it would be while launching, waiting, ...)."""
    if state not in LIFECYCLE_STATES:
        raise ValueError(f"state must be one of {LIFECYCLE_STATES}, got {state!r}")
    found = _state_of(instance_id, region)
    if found is None:
        raise ValueError(f"no Auto Scaling instance {instance_id} in {region}")
    found.lifecycle_state = state


def _active_instances(self: FakeAutoScalingGroup) -> list[InstanceState]:
    return [s for s in self.instance_states if s.lifecycle_state in _IN_CAPACITY]


def _detach(self: AutoScalingResponse) -> ActionResult:
    name = self._get_param("AutoScalingGroupName")
    group = self.autoscaling_backend.autoscaling_groups.get(name)
    if group is not None:
        states = {s.instance.id: s.lifecycle_state for s in group.instance_states}
        for instance_id in self._get_param("InstanceIds", []):
            if instance_id not in states:
                raise ValidationError(f"The instance {instance_id} is not part of Auto Scaling group {name}.")
            if states[instance_id] not in DETACHABLE:
                raise ValidationError(f"The instance {instance_id} is not in InService or Standby.")
    return _original_detach(self)


patches = Patches(
    __name__,
    (AutoScalingResponse, "detach_instances", _detach),
    (FakeAutoScalingGroup, "active_instances", _active_instances),
)
install, uninstall = patches.install, patches.uninstall
