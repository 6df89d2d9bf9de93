"""Fidelity of the forward actions of ALB listeners and rules: how AWS describes them, what it refuses, which load
balancer a target group serves, and that only a target group in use is health-checked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bluegreen.twin import (
    elbv2_forward_action_shapes,
    elbv2_forward_action_validation,
    elbv2_target_group_load_balancers,
    elbv2_target_health,
)
from tests.twin.conftest import STOCK_AMI


class Alb:
    """An Application Load Balancer with a listener forwarding to target group 0 of seven, in one VPC."""

    def __init__(self, aws: Any, name: str = "shop") -> None:
        self.ec2, self.elbv2 = aws("ec2"), aws("elbv2")
        self.vpc = self.ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
        self.subnets = [
            self.ec2.create_subnet(VpcId=self.vpc, CidrBlock=f"10.7.{n}.0/24", AvailabilityZone=f"us-east-1{z}")[
                "Subnet"
            ]["SubnetId"]
            for n, z in enumerate("ab")
        ]
        self.arn = self.balancer(name)
        self.groups = [
            self.elbv2.create_target_group(Name=f"{name}-{n}", Protocol="HTTP", Port=80, VpcId=self.vpc)[
                "TargetGroups"
            ][0]["TargetGroupArn"]
            for n in range(7)
        ]
        self.listener = self.elbv2.create_listener(
            LoadBalancerArn=self.arn, Protocol="HTTP", Port=80, DefaultActions=[self.single(0)]
        )["Listeners"][0]["ListenerArn"]

    def balancer(self, name: str) -> str:
        return self.elbv2.create_load_balancer(Name=name, Subnets=self.subnets)["LoadBalancers"][0]["LoadBalancerArn"]

    def single(self, n: int) -> dict:
        return {"Type": "forward", "TargetGroupArn": self.groups[n]}

    def weighted(self, *weights: tuple[int, int], **config: Any) -> dict:
        groups = [{"TargetGroupArn": self.groups[n], "Weight": w} for n, w in weights]
        return {"Type": "forward", "ForwardConfig": {"TargetGroups": groups, **config}}

    def actions(self) -> list[dict]:
        return self.elbv2.describe_listeners(ListenerArns=[self.listener])["Listeners"][0]["DefaultActions"]

    def modify(self, action: dict) -> Callable[[], Any]:
        return lambda: self.elbv2.modify_listener(ListenerArn=self.listener, DefaultActions=[action])

    def serving(self, n: int) -> list[str]:
        """The load balancers DescribeTargetGroups says target group n serves."""
        return self.elbv2.describe_target_groups(TargetGroupArns=[self.groups[n]])["TargetGroups"][0].get(
            "LoadBalancerArns", []
        )


def refusal(call: Callable[[], Any]) -> tuple[str, str] | None:
    try:
        call()
    except ClientError as err:
        return err.response["Error"]["Code"], err.response["Error"]["Message"]
    return None


@pytest.mark.behaviour(elbv2_forward_action_shapes)
def test_a_forward_to_one_target_group_is_described_both_ways(aws) -> None:
    # Given a listener created with a forward to one target group, by its ARN
    alb = Alb(aws)

    # Then AWS describes it with its ARN and as a ForwardConfig of weight 1, stickiness off
    single = {
        "TargetGroups": [{"TargetGroupArn": alb.groups[0], "Weight": 1}],
        "TargetGroupStickinessConfig": {"Enabled": False},
    }
    assert alb.actions() == [{"Type": "forward", "TargetGroupArn": alb.groups[0], "ForwardConfig": single}]

    # When it is weighted between two target groups, Then it is a ForwardConfig alone
    alb.modify(alb.weighted((0, 90), (1, 10)))()
    assert [set(a) for a in alb.actions()] == [{"Type", "ForwardConfig"}]

    # When it is a ForwardConfig of one target group again, Then its ARN is shown beside it
    alb.modify(alb.weighted((1, 100)))()
    assert alb.actions()[0]["TargetGroupArn"] == alb.groups[1]
    # And the action as described can be sent back as it is (what the ALB router does to put a listener back)
    assert refusal(alb.modify(alb.actions()[0])) is None


REFUSED = [
    # (id, the listener's new action, code, message)
    ("weight-over-999", lambda alb: alb.weighted((0, 1000), (1, 0)), "ValidationError",
     "The weight for each target group must be between 0 and 999, inclusive"),
    ("weight-negative", lambda alb: alb.weighted((0, -1), (1, 100)), "ValidationError",
     "The weight for each target group must be between 0 and 999, inclusive"),
    ("six-target-groups", lambda alb: alb.weighted(*[(n, 1) for n in range(6)]), "InvalidLoadBalancerAction",
     "A forward action can have at most 5 target groups"),
    ("arn-and-config-differ", lambda alb: {**alb.weighted((1, 1)), "TargetGroupArn": alb.groups[0]},
     "InvalidLoadBalancerAction", "ForwardConfig must name that one target group"),
    ("no-such-target-group", lambda alb: alb.weighted((0, 50), (1, 50)) | {"ForwardConfig": {"TargetGroups": [
        {"TargetGroupArn": alb.groups[0].replace("shop-0", "gone"), "Weight": 1}]}}, "TargetGroupNotFound",
     "The specified target group does not exist."),
    ("stickiness-without-duration", lambda alb: alb.weighted((0, 50), (1, 50), TargetGroupStickinessConfig={"Enabled": True}),
     "ValidationError", "Target group stickiness duration must be between 1 and 604800 seconds"),
    ("stickiness-over-7-days", lambda alb: alb.weighted((0, 50), (1, 50), TargetGroupStickinessConfig={"Enabled": True, "DurationSeconds": 604_801}),
     "ValidationError", "Target group stickiness duration must be between 1 and 604800 seconds"),
    ("sticky-group-without-group-stickiness", lambda alb: (alb.elbv2.modify_target_group_attributes(
        TargetGroupArn=alb.groups[1], Attributes=[{"Key": "stickiness.enabled", "Value": "true"}]),
        alb.weighted((0, 50), (1, 50)))[1], "InvalidConfigurationRequest", "you must enable group stickiness"),
]  # fmt: skip


@pytest.mark.parametrize(("make", "code", "message"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
@pytest.mark.behaviour(elbv2_forward_action_validation)
def test_a_forward_action_outside_the_limits_is_refused(aws, make, code: str, message: str) -> None:
    # Given a listener forwarding to one target group
    alb = Alb(aws)
    before = alb.actions()

    # When its default action is replaced by one AWS refuses
    refused = refusal(alb.modify(make(alb)))

    # Then AWS refuses it with its code, and the listener is as it was
    assert refused is not None and refused[0] == code and message in refused[1], refused
    assert alb.actions() == before


@pytest.mark.behaviour(elbv2_forward_action_validation)
def test_a_rule_refuses_the_same_actions(aws) -> None:
    # Given a rule of the listener
    alb = Alb(aws)
    rule = alb.elbv2.create_rule(
        ListenerArn=alb.listener,
        Priority=5,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}],
        Actions=[alb.single(0)],
    )["Rules"][0]["RuleArn"]

    # When its weights go over 999, or it gets six target groups, Then ModifyRule refuses as ModifyListener does
    change = lambda action: lambda: alb.elbv2.modify_rule(RuleArn=rule, Actions=[action])  # noqa: E731
    assert refusal(change(alb.weighted((0, 1000), (1, 1))))[0] == "ValidationError"
    assert refusal(change(alb.weighted(*[(n, 1) for n in range(6)])))[0] == "InvalidLoadBalancerAction"
    # And five, all weighted within range, are fine
    assert refusal(change(alb.weighted(*[(n, 999) for n in range(5)]))) is None


@pytest.mark.behaviour(elbv2_target_group_load_balancers)
def test_a_target_group_serves_the_load_balancer_that_forwards_to_it_and_no_other(aws) -> None:
    # Given a listener forwarding to target group 0, and target group 1 that no listener forwards to
    alb = Alb(aws)
    assert alb.serving(0) == [alb.arn]
    assert alb.serving(1) == []

    # When the listener weights group 1 in, even at weight 0, Then group 1 serves the load balancer
    alb.modify(alb.weighted((0, 100), (1, 0)))()
    assert alb.serving(1) == [alb.arn]

    # When the listener forwards to group 1 alone, Then group 0 serves no load balancer any more
    alb.modify(alb.single(1))()
    assert alb.serving(0) == []

    # When another load balancer's listener is created with group 1, Then AWS refuses it: one load balancer per group
    other = alb.balancer("other")
    refused = refusal(
        lambda: alb.elbv2.create_listener(
            LoadBalancerArn=other, Protocol="HTTP", Port=80, DefaultActions=[alb.single(1)]
        )
    )
    assert refused == (
        "TargetGroupAssociationLimit",
        f"The following target groups cannot be associated with more than one load balancer: {alb.groups[1]}",
    )
    # And group 0, free again, can serve it
    assert (
        refusal(
            lambda: alb.elbv2.create_listener(
                LoadBalancerArn=other, Protocol="HTTP", Port=80, DefaultActions=[alb.single(0)]
            )
        )
        is None
    )
    assert alb.serving(0) == [other]


@pytest.mark.behaviour(elbv2_target_health)
def test_the_targets_of_a_group_no_load_balancer_uses_are_unused(aws) -> None:
    # Given an instance registered in target group 1, which no listener forwards to
    alb = Alb(aws)
    image = STOCK_AMI
    instance = alb.ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=alb.subnets[0])["Instances"][0]
    alb.elbv2.register_targets(TargetGroupArn=alb.groups[1], Targets=[{"Id": instance["InstanceId"]}])

    def health() -> dict:
        return alb.elbv2.describe_target_health(TargetGroupArn=alb.groups[1])["TargetHealthDescriptions"][0][
            "TargetHealth"
        ]

    # Then it is not health-checked: unused, Target.NotInUse
    assert (health()["State"], health()["Reason"]) == ("unused", "Target.NotInUse")

    # When the listener weights the group in at 0 %, Then its target is checked (and healthy)
    alb.modify(alb.weighted((0, 100), (1, 0)))()
    assert health()["State"] == "healthy"
