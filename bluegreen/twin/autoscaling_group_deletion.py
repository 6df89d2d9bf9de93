"""moto 5.2 deletes an Auto Scaling group with instances without ForceDelete, and with it leaves protected ones running.

Real AWS (Auto Scaling API Reference, "DeleteAutoScalingGroup"): "If the group has instances or scaling activities in
progress, you must specify the option to force the deletion in order for it to succeed. The force delete operation
will also terminate the EC2 instances." Without it the call fails with ResourceInUse ("You cannot delete an
AutoScalingGroup while there are instances or pending Spot instance request(s) still in the group."). With it every
instance goes, whatever its scale-in protection (which only stops Auto Scaling choosing it "when scaling in";
"ForceDelete": "the group is to be deleted along with all instances associated with the group"). And "If the group
has scaling policies, deleting the group deletes the policies"; its lifecycle hooks are the group's and go too.

moto ignores ForceDelete: it scales the group to 0, which skips protected instances (they keep running, in no group)
and terminates the others even when the caller did not ask for it; it keeps the group's policies and hooks, which a
new group of the same name then inherits.
"""

from __future__ import annotations

from moto.autoscaling.exceptions import AutoscalingClientError
from moto.autoscaling.responses import AutoScalingResponse
from moto.core.responses import ActionResult

from bluegreen.twin.patching import Patches

_original_delete = AutoScalingResponse.delete_auto_scaling_group


class ResourceInUseError(AutoscalingClientError):
    code = "ResourceInUse"


def _delete(self: AutoScalingResponse) -> ActionResult:
    name = self._get_param("AutoScalingGroupName")
    backend = self.autoscaling_backend
    group = backend.autoscaling_groups.get(name)
    if group is None:
        return _original_delete(self)  # moto's own "not found" answer
    if group.instance_states and not self._get_bool_param("ForceDelete", False):
        raise ResourceInUseError(
            "You cannot delete an AutoScalingGroup while there are instances or pending Spot instance request(s)"
            " still in the group."
        )
    for state in group.instance_states:
        # Straight to the instance: neither scale-in protection nor EC2 termination protection stops a force delete.
        state.instance.terminate()
    group.instance_states = []
    result = _original_delete(self)
    for policy_name, policy in list(backend.policies.items()):
        if policy.auto_scaling_group_name == name:
            del backend.policies[policy_name]
    for key, hook in list(backend.lifecycle_hooks.items()):
        if hook.auto_scaling_group_name == name:
            del backend.lifecycle_hooks[key]
    return result


patches = Patches(__name__, (AutoScalingResponse, "delete_auto_scaling_group", _delete))
install, uninstall = patches.install, patches.uninstall
