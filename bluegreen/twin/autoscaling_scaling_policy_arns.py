"""moto 5.2 answers PutScalingPolicy with `PolicyArn`, not `PolicyARN`, so boto3 drops it; this answers as AWS does.

Real AWS (Amazon EC2 Auto Scaling API Reference, "PutScalingPolicy", Response Elements): "PolicyARN: The Amazon
Resource Name (ARN) of the policy" and "Alarms: The CloudWatch alarms created for the target tracking scaling
policy." A caller that wires an alarm to the new policy needs that ARN.
"""

from __future__ import annotations

from typing import Any

from moto.autoscaling import responses
from moto.core.responses import ActionResult

from bluegreen.twin.patching import Patches

_original_put = responses.AutoScalingResponse.put_scaling_policy


def _put(self: responses.AutoScalingResponse) -> ActionResult:
    answer: Any = _original_put(self)
    return ActionResult({"PolicyARN": answer.result["PolicyArn"], "Alarms": []})


patches = Patches(__name__, (responses.AutoScalingResponse, "put_scaling_policy", _put))
install, uninstall = patches.install, patches.uninstall
