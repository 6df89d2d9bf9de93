"""Fidelity of DescribePolicies: each policy type is described with its own fields, as AWS describes it."""

from __future__ import annotations

from typing import Any

import pytest

from bluegreen.twin import autoscaling_policy_descriptions
from tests.twin.conftest import STOCK_AMI

# What PutScalingPolicy takes back from a description (the product's clone copies these).
PUT_FIELDS = (
    "PolicyName",
    "PolicyType",
    "AdjustmentType",
    "MinAdjustmentMagnitude",
    "ScalingAdjustment",
    "Cooldown",
    "MetricAggregationType",
    "StepAdjustments",
    "EstimatedInstanceWarmup",
    "TargetTrackingConfiguration",
    "PredictiveScalingConfiguration",
    "Enabled",
)


def create_group(aws: Any, name: str) -> None:
    ec2 = aws("ec2")
    image = STOCK_AMI
    template = ec2.create_launch_template(
        LaunchTemplateName=f"lt-{name}", LaunchTemplateData={"ImageId": image, "InstanceType": "t3.micro"}
    )["LaunchTemplate"]["LaunchTemplateId"]
    aws("autoscaling").create_auto_scaling_group(
        AutoScalingGroupName=name,
        LaunchTemplate={"LaunchTemplateId": template},
        MinSize=1,
        MaxSize=4,
        DesiredCapacity=1,
        AvailabilityZones=["us-east-1a"],
    )


def put_one_of_each_type(aws: Any, group: str) -> None:
    asg = aws("autoscaling")
    asg.put_scaling_policy(
        AutoScalingGroupName=group,
        PolicyName="cpu50",
        PolicyType="TargetTrackingScaling",
        TargetTrackingConfiguration={
            "PredefinedMetricSpecification": {"PredefinedMetricType": "ASGAverageCPUUtilization"},
            "TargetValue": 50.0,
        },
    )
    asg.put_scaling_policy(
        AutoScalingGroupName=group, PolicyName="add-one", AdjustmentType="ChangeInCapacity", ScalingAdjustment=1
    )
    asg.put_scaling_policy(
        AutoScalingGroupName=group,
        PolicyName="steps",
        PolicyType="StepScaling",
        AdjustmentType="ChangeInCapacity",
        StepAdjustments=[{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}],
        Enabled=False,
    )
    asg.put_scaling_policy(
        AutoScalingGroupName=group,
        PolicyName="forecast",
        PolicyType="PredictiveScaling",
        PredictiveScalingConfiguration={
            "MetricSpecifications": [
                {
                    "TargetValue": 40.0,
                    "PredefinedMetricPairSpecification": {"PredefinedMetricType": "ASGCPUUtilization"},
                }
            ]
        },
    )


@pytest.mark.behaviour(autoscaling_policy_descriptions)
def test_each_policy_type_is_described_with_its_own_fields(aws) -> None:
    # Given a group with a target tracking, a simple, a disabled step and a predictive policy
    create_group(aws, "blue")
    put_one_of_each_type(aws, "blue")

    # When its policies are described
    described = aws("autoscaling").describe_policies(AutoScalingGroupName="blue")["ScalingPolicies"]
    policies = {p["PolicyName"]: p for p in described}

    # Then only the predictive policy has a PredictiveScalingConfiguration, with AWS's defaults filled in
    assert [n for n, p in policies.items() if "PredictiveScalingConfiguration" in p] == ["forecast"]
    forecast = policies["forecast"]["PredictiveScalingConfiguration"]
    assert (forecast["Mode"], forecast["SchedulingBufferTime"], forecast["MaxCapacityBreachBehavior"]) == (
        "ForecastOnly",
        300,
        "HonorMaxCapacity",
    )
    # And the target tracking policy says whether it scales in, and has no step or simple fields
    cpu50 = policies["cpu50"]
    assert cpu50["TargetTrackingConfiguration"]["DisableScaleIn"] is False
    assert cpu50["StepAdjustments"] == [] and "AdjustmentType" not in cpu50
    # And the simple policy was given no cooldown and shows none
    assert "Cooldown" not in policies["add-one"]
    # And each says whether it is enabled: the step policy was put disabled
    assert {n: p["Enabled"] for n, p in policies.items()} == {
        "cpu50": True,
        "add-one": True,
        "steps": False,
        "forecast": True,
    }


@pytest.mark.behaviour(autoscaling_policy_descriptions)
def test_a_described_policy_can_be_put_on_another_group_as_it_is(aws) -> None:
    # Given the policies of a live group, described
    create_group(aws, "blue")
    put_one_of_each_type(aws, "blue")
    create_group(aws, "green")
    described = aws("autoscaling").describe_policies(AutoScalingGroupName="blue")["ScalingPolicies"]

    # When each is put on a new group with the fields PutScalingPolicy takes
    for policy in described:
        fields = {k: policy[k] for k in PUT_FIELDS if policy.get(k) not in (None, "", [])}
        aws("autoscaling").put_scaling_policy(AutoScalingGroupName="green", **fields)

    # Then every one of them is accepted (an empty structure of another type would fail validation)
    copied = aws("autoscaling").describe_policies(AutoScalingGroupName="green")["ScalingPolicies"]
    assert sorted(p["PolicyName"] for p in copied) == ["add-one", "cpu50", "forecast", "steps"]
