"""Fidelity of DeregisterTargets: deregistering a target that is not registered succeeds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bluegreen.twin import elbv2_deregister_targets
from tests.twin.conftest import STOCK_AMI


def refusal(call: Callable[[], Any]) -> str | None:
    """The AWS error code the call is refused with, or None when it succeeds."""
    try:
        call()
    except ClientError as err:
        return err.response["Error"]["Code"]
    return None


@pytest.mark.behaviour(elbv2_deregister_targets)
def test_deregistering_a_target_that_is_not_registered_succeeds(aws) -> None:
    # Given a target group with one registered instance, and an instance never registered
    ec2, elbv2 = aws("ec2"), aws("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.5.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.5.0.0/24")["Subnet"]["SubnetId"]
    image = STOCK_AMI
    registered, never = (
        i["InstanceId"] for i in ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2, SubnetId=subnet)["Instances"]
    )
    group = elbv2.create_target_group(Name="green", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]
    arn = group["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": registered}])

    def deregister(instance_id: str) -> Callable[[], Any]:
        return lambda: elbv2.deregister_targets(TargetGroupArn=arn, Targets=[{"Id": instance_id}])

    # When the registered instance is deregistered twice, Then both calls succeed (the second finds nothing to do)
    assert refusal(deregister(registered)) is None
    assert refusal(deregister(registered)) is None
    # And deregistering an instance that was never registered succeeds too
    assert refusal(deregister(never)) is None
    assert elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"] == []
    # But an instance EC2 does not know is no target at all
    assert refusal(deregister("i-0123456789abcdef0")) == "InvalidTarget"
