"""moto 5.2 describes scaling policies without their alarms; this lists the CloudWatch alarms that act on each.

Real AWS (Auto Scaling API Reference, "ScalingPolicy", `Alarms`): "The CloudWatch alarms related to the policy."
DescribePolicies names, for each policy, the metric alarms whose actions invoke it (for a step or simple policy, the
alarms its owner created; for target tracking, those Auto Scaling created). Without them a copy of the group cannot
know which alarms to copy with its step and simple policies.
"""

from __future__ import annotations

from typing import Any

from moto.autoscaling.models import FakeScalingPolicy
from moto.cloudwatch.models import cloudwatch_backends

from bluegreen.twin.patching import Patches


def _alarms(self: FakeScalingPolicy) -> list[dict[str, Any]]:
    backend = cloudwatch_backends[self.autoscaling_backend.account_id][self.autoscaling_backend.region_name]
    acting = [
        a
        for a in backend.alarms.values()
        if self.arn in [*(a.alarm_actions or []), *(a.ok_actions or []), *(a.insufficient_data_actions or [])]
    ]
    return [{"AlarmName": a.name, "AlarmARN": a.alarm_arn} for a in sorted(acting, key=lambda a: a.name)]


patches = Patches(__name__, (FakeScalingPolicy, "alarms", property(_alarms)))
install, uninstall = patches.install, patches.uninstall
