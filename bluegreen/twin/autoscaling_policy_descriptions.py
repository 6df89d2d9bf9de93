"""moto 5.2 describes every scaling policy with an empty PredictiveScalingConfiguration; this describes each type as AWS.

Real AWS (Auto Scaling API Reference, "PutScalingPolicy" and "DescribePolicies"; the AWS CLI's describe-policies
example): a policy is described with the fields of its type and nothing of other types. A target tracking policy has
its `TargetTrackingConfiguration` (`DisableScaleIn`: "The default is false."), `StepAdjustments: []` and `Enabled`,
and no `PredictiveScalingConfiguration`, which is "Required if the policy type is PredictiveScaling" and then
described with its defaults (`Mode` "Defaults to ForecastOnly if not specified.", `SchedulingBufferTime` "Defaults to
300 seconds if not specified.", `MaxCapacityBreachBehavior` "Defaults to HonorMaxCapacity if not specified.").
`Cooldown` is "Valid only if the policy type is SimpleScaling" with "Default: None", so a policy given none shows
none. `Enabled`: "The default is enabled."

PutScalingPolicy answers ("Response Elements") "PolicyARN: The Amazon Resource Name (ARN) of the policy" and
"Alarms: The CloudWatch alarms created for the target tracking scaling policy"; a caller wires its own alarm to a step
or simple policy with that ARN.

moto answers PutScalingPolicy with `PolicyArn` (which boto3 drops), describes `PredictiveScalingConfiguration: {}` on every policy (a clone that passes it back to PutScalingPolicy
fails botocore's validation: MetricSpecifications is required), invents `Cooldown: 300` for simple policies, and drops
`Enabled` (a disabled policy reads as enabled).
"""

from __future__ import annotations

import inspect
from typing import Any

from moto.autoscaling.models import FakeScalingPolicy
from moto.autoscaling.responses import AutoScalingResponse
from moto.core.responses import ActionResult

from bluegreen.twin.patching import Patches

_PREDICTIVE_DEFAULTS = {
    "Mode": "ForecastOnly",
    "SchedulingBufferTime": 300,
    "MaxCapacityBreachBehavior": "HonorMaxCapacity",
}
_original_init = FakeScalingPolicy.__init__
_original_put = AutoScalingResponse.put_scaling_policy
_signature = inspect.signature(_original_init)


def _init(self: FakeScalingPolicy, *args: Any, **kwargs: Any) -> None:
    _original_init(self, *args, **kwargs)
    given = _signature.bind(self, *args, **kwargs).arguments
    self.cooldown = given.get("cooldown") if self.policy_type == "SimpleScaling" else None
    if self.policy_type == "PredictiveScaling":
        self.predictive_scaling_configuration = {
            **_PREDICTIVE_DEFAULTS,
            **(given["predictive_scaling_configuration"] or {}),
        }
    else:
        self.predictive_scaling_configuration = None
    if self.target_tracking_configuration is not None:
        vars(self.target_tracking_configuration).setdefault("DisableScaleIn", False)
    self.enabled = True


def _put(self: AutoScalingResponse) -> ActionResult:
    result: Any = _original_put(self)
    # moto's backend never sees Enabled: set it on the policy just stored (the one with this group and name).
    group, name = self._get_param("AutoScalingGroupName"), self._get_param("PolicyName")
    for policy in self.autoscaling_backend.policies.values():
        if (policy.auto_scaling_group_name, policy.name) == (group, name):
            policy.enabled = self._get_bool_param("Enabled", True)
    return ActionResult({"PolicyARN": result.result["PolicyArn"], "Alarms": []})


patches = Patches(
    __name__,
    (FakeScalingPolicy, "__init__", _init),
    (AutoScalingResponse, "put_scaling_policy", _put),
)
install, uninstall = patches.install, patches.uninstall
