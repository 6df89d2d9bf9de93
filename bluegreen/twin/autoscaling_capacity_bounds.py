"""moto 5 takes any MinSize, MaxSize and DesiredCapacity in UpdateAutoScalingGroup; AWS keeps min <= desired <= max.

Real AWS (Auto Scaling API Reference, "UpdateAutoScalingGroup", DesiredCapacity): "This number must be greater than or
equal to the minimum size of the group and less than or equal to the maximum size of the group." A request that
breaks it, counting the group's current values for the sizes it does not give, fails with ValidationError "Desired
capacity:<d> must be between the specified min size:<min> and max size:<max>", and a minimum above the maximum with
"Max bound, <max>, must be greater than or equal to min bound, <min>" (the messages real AWS answers, as reported by its
users). moto stores whatever it is given, so a split release that pinned a group's minimum above its maximum, or set a
desired capacity its maximum cannot hold, would pass on the twin and fail in an account.
"""

from __future__ import annotations

from typing import Any

from moto.autoscaling.exceptions import ValidationError
from moto.autoscaling.models import AutoScalingBackend

from bluegreen.twin.patching import Patches

_original = AutoScalingBackend.update_auto_scaling_group


def _update(self: AutoScalingBackend, name: str, *args: Any, **kwargs: Any) -> Any:
    group = self.autoscaling_groups.get(name)
    if group is not None:
        low = kwargs["min_size"] if kwargs.get("min_size") is not None else group.min_size
        high = kwargs["max_size"] if kwargs.get("max_size") is not None else group.max_size
        if low > high:
            raise ValidationError(f"Max bound, {high}, must be greater than or equal to min bound, {low}")
        desired = kwargs.get("desired_capacity")
        if desired is not None and not low <= desired <= high:
            raise ValidationError(
                f"Desired capacity:{desired} must be between the specified min size:{low} and max size:{high}"
            )
    return _original(self, name, *args, **kwargs)


patches = Patches(__name__, (AutoScalingBackend, "update_auto_scaling_group", _update))
install, uninstall = patches.install, patches.uninstall
