"""Fidelity of UpdateAutoScalingGroup's sizes: the minimum never above the maximum, the desired capacity between them."""

from __future__ import annotations

import pytest

from bluegreen.twin import autoscaling_capacity_bounds
from tests.twin.fidelity.test_autoscaling_detach_validation import create_group, refusal


@pytest.mark.behaviour(autoscaling_capacity_bounds)
def test_sizes_out_of_order_are_refused_as_aws_refuses_them(aws) -> None:
    # Given a group with MinSize 0, MaxSize 6 and 3 instances
    create_group(aws, "bounded")
    asg = aws("autoscaling")

    def update(**sizes: int):
        return lambda: asg.update_auto_scaling_group(AutoScalingGroupName="bounded", **sizes)

    # When a desired capacity above the maximum (given, or the group's own) is asked for, it is refused
    assert refusal(update(MinSize=8, MaxSize=8, DesiredCapacity=9)) == (
        "ValidationError",
        "Desired capacity:9 must be between the specified min size:8 and max size:8",
    )
    assert refusal(update(DesiredCapacity=7)) == (
        "ValidationError",
        "Desired capacity:7 must be between the specified min size:0 and max size:6",
    )
    # And so is a minimum above the maximum
    assert refusal(update(MinSize=7)) == (
        "ValidationError",
        "Max bound, 6, must be greater than or equal to min bound, 7",
    )
    # And nothing changed; sizes in order go through
    group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["bounded"])["AutoScalingGroups"][0]
    assert (group["MinSize"], group["MaxSize"], group["DesiredCapacity"]) == (0, 6, 3)
    assert refusal(update(MinSize=4, MaxSize=8, DesiredCapacity=4)) is None
