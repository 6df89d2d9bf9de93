"""Fidelity of targets whose instance goes: a group deregisters its own; a hand-registered one reads `unused`."""

from __future__ import annotations

from typing import Any

import pytest

from bluegreen.twin import autoscaling_target_deregistration, elbv2_target_health
from tests.twin.conftest import STOCK_AMI


def network(aws: Any) -> tuple[str, str, str]:
    """A VPC, a subnet in it, and an instance target group there that a load balancer's listener forwards to (a
    group no load balancer uses reads `unused`); returns (subnet, target group ARN, image)."""
    ec2, elbv2 = aws("ec2"), aws("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.6.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.6.0.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    other = ec2.create_subnet(VpcId=vpc, CidrBlock="10.6.1.0/24", AvailabilityZone="us-east-1b")["Subnet"]["SubnetId"]
    group = elbv2.create_target_group(Name="blue", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="instance")
    group_arn = group["TargetGroups"][0]["TargetGroupArn"]
    balancer = elbv2.create_load_balancer(Name="blue", Subnets=[subnet, other])["LoadBalancers"][0]["LoadBalancerArn"]
    elbv2.create_listener(
        LoadBalancerArn=balancer,
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group_arn}],
    )
    image = STOCK_AMI
    return subnet, group_arn, image


def registered(aws: Any, target_group: str) -> dict[str, tuple[str, str | None]]:
    """Every registered target of the group: its state and reason."""
    described = aws("elbv2").describe_target_health(TargetGroupArn=target_group)["TargetHealthDescriptions"]
    return {d["Target"]["Id"]: (d["TargetHealth"]["State"], d["TargetHealth"].get("Reason")) for d in described}


def members(aws: Any) -> list[str]:
    group = aws("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=["fleet"])["AutoScalingGroups"][0]
    return sorted(i["InstanceId"] for i in group["Instances"])


@pytest.mark.behaviour(autoscaling_target_deregistration)
def test_instances_that_leave_a_group_leave_its_target_groups(aws) -> None:
    # Given a group of three attached to a target group, which also has an instance registered by hand
    subnet, target_group, image = network(aws)
    ec2, asg = aws("ec2"), aws("autoscaling")
    by_hand = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnet)["Instances"][0]["InstanceId"]
    aws("elbv2").register_targets(TargetGroupArn=target_group, Targets=[{"Id": by_hand}])
    template = ec2.create_launch_template(
        LaunchTemplateName="fleet", LaunchTemplateData={"ImageId": image, "InstanceType": "t3.micro"}
    )["LaunchTemplate"]["LaunchTemplateId"]
    asg.create_auto_scaling_group(
        AutoScalingGroupName="fleet",
        LaunchTemplate={"LaunchTemplateId": template},
        MinSize=0,
        MaxSize=4,
        DesiredCapacity=3,
        VPCZoneIdentifier=subnet,
        TargetGroupARNs=[target_group],
    )
    assert set(registered(aws, target_group)) == {by_hand, *members(aws)}

    # When the group scales in by one, Then the instance it terminated is no longer a target
    before = members(aws)
    asg.set_desired_capacity(AutoScalingGroupName="fleet", DesiredCapacity=2)
    assert set(registered(aws, target_group)) == {by_hand, *members(aws)}
    assert len(set(before) - set(members(aws))) == 1

    # When an instance is detached (the group replaces it), Then it is deregistered and its replacement registered
    detached = members(aws)[0]
    asg.detach_instances(AutoScalingGroupName="fleet", InstanceIds=[detached], ShouldDecrementDesiredCapacity=False)
    assert detached not in registered(aws, target_group)
    assert set(registered(aws, target_group)) == {by_hand, *members(aws)}

    # When the group is force-deleted, Then only the target registered by hand is left
    asg.delete_auto_scaling_group(AutoScalingGroupName="fleet", ForceDelete=True)
    assert registered(aws, target_group) == {by_hand: ("healthy", None)}


@pytest.mark.behaviour(elbv2_target_health)
def test_a_target_registered_by_hand_reads_unused_once_its_instance_is_terminated(aws) -> None:
    # Given two instances registered by hand in a target group
    subnet, target_group, image = network(aws)
    ec2 = aws("ec2")
    kept, gone = (
        i["InstanceId"] for i in ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2, SubnetId=subnet)["Instances"]
    )
    aws("elbv2").register_targets(TargetGroupArn=target_group, Targets=[{"Id": kept}, {"Id": gone}])

    # When one of them is terminated through EC2
    ec2.terminate_instances(InstanceIds=[gone])

    # Then it is still registered, and reads unused because its instance is terminated
    assert registered(aws, target_group) == {kept: ("healthy", None), gone: ("unused", "Target.InvalidState")}
    # And an override cannot make a terminated instance healthy
    elbv2_target_health.set_target_health([gone], "healthy")
    assert registered(aws, target_group)[gone] == ("unused", "Target.InvalidState")

    # When it is deregistered, Then it is gone from the group
    aws("elbv2").deregister_targets(TargetGroupArn=target_group, Targets=[{"Id": gone}])
    assert registered(aws, target_group) == {kept: ("healthy", None)}
