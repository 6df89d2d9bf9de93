"""moto 5.2 keeps one scaling policy per name in a region; in AWS a policy belongs to its group.

Real AWS (Auto Scaling API Reference, "PutScalingPolicy"): "Creates or updates a scaling policy for an Auto Scaling
group." A name is looked up within the group: two groups can each have a policy `cpu50`, and PutScalingPolicy updates
only the named group's. "DescribePolicies": "If a group name is provided, the results are limited to that group.";
DeletePolicy and ExecutePolicy take the group's name with the policy's "name or ARN" (the ARN holds
`autoScalingGroupName/<group>:policyName/<name>`).

moto stores policies by name alone, so copying a group's policy onto a new group (a clone keeps the names) replaces
the original: the old group then describes no policy, and a rollback to it has lost its scaling.
"""

from __future__ import annotations

from typing import Any

from moto.autoscaling.models import AutoScalingBackend, FakeScalingPolicy
from moto.autoscaling.responses import AutoScalingResponse
from moto.core.responses import ActionResult, EmptyResult

from bluegreen.twin.patching import Patches

_original_put = AutoScalingBackend.put_scaling_policy
_original_delete = AutoScalingResponse.delete_policy
_original_execute = AutoScalingResponse.execute_policy


def _key(group_name: str | None, policy_name: str) -> str:
    return f"{group_name}/{policy_name}"


def find(backend: AutoScalingBackend, group_name: str | None, name_or_arn: str) -> FakeScalingPolicy | None:
    """The policy the group has under that name (or the policy of that ARN)."""
    for policy in backend.policies.values():
        if policy.arn == name_or_arn or (
            policy.name == name_or_arn and (group_name is None or policy.auto_scaling_group_name == group_name)
        ):
            return policy
    return None


def _put(self: AutoScalingBackend, name: str, *args: Any, **kwargs: Any) -> FakeScalingPolicy:
    displaced = self.policies.pop(name, None)  # a same-named policy of another group, kept aside
    policy = _original_put(self, name, *args, **kwargs)
    del self.policies[name]
    if displaced is not None:
        self.policies[name] = displaced
    self.policies[_key(policy.auto_scaling_group_name, name)] = policy
    return policy


def _delete(self: AutoScalingResponse) -> ActionResult:
    backend = self.autoscaling_backend
    policy = find(backend, self._get_param("AutoScalingGroupName"), self._get_param("PolicyName"))
    if policy is None:
        return _original_delete(self)  # moto's answer for a policy nobody has
    backend.policies = {k: p for k, p in backend.policies.items() if p is not policy}
    return EmptyResult()


def _execute(self: AutoScalingResponse) -> ActionResult:
    policy = find(self.autoscaling_backend, self._get_param("AutoScalingGroupName"), self._get_param("PolicyName"))
    if policy is None:
        return _original_execute(self)
    policy.execute()
    return EmptyResult()


patches = Patches(
    __name__,
    (AutoScalingBackend, "put_scaling_policy", _put),
    (AutoScalingResponse, "delete_policy", _delete),
    (AutoScalingResponse, "execute_policy", _execute),
)
install, uninstall = patches.install, patches.uninstall
