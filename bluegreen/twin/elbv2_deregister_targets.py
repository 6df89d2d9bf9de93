"""moto 5.2 refuses to deregister a target that is not registered; AWS answers success.

Real AWS (ELB API Reference, "DeregisterTargets"): "Note: If the specified target does not exist, the action returns
successfully." Deregistering is idempotent: a target already deregistered (by a caller, or by its Auto Scaling group
when the instance left it) or never registered is no error. InvalidTarget stays for what cannot be a target at all:
an instance id EC2 does not know.

moto raises InvalidTarget ("The specified target does not exist or is not in the same VPC as the target group.") for
every target not registered, so a step that deregisters an instance its group has already deregistered fails on the
twin and not on AWS.
"""

from __future__ import annotations

from typing import Any

from moto.elbv2.exceptions import InvalidTargetError
from moto.elbv2.models import FakeTargetGroup

from bluegreen.twin.patching import Patches


def _deregister(self: FakeTargetGroup, targets: list[dict[str, Any]]) -> None:
    for target in targets:
        registered = self.targets.pop(target["Id"], None)
        if registered is not None:
            self.deregistered_targets[target["Id"]] = registered
        elif target["Id"].startswith("i-") and self.ec2_backend.get_instance_by_id(target["Id"]) is None:
            raise InvalidTargetError()


patches = Patches(__name__, (FakeTargetGroup, "deregister", _deregister))
install, uninstall = patches.install, patches.uninstall
