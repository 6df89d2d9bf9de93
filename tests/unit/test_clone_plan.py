"""The clone plan: green copies live but for the AMI, its name, its slot and its tags."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from orchestrator.domain.clone import pinned_version, plan_clone, with_policy_arns

LIVE_TG = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/shop-blue/aaa"
GREEN_TG = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/shop-green/bbb"

LIVE = {
    "AutoScalingGroupName": "shop-blue-1",
    "MinSize": 2,
    "MaxSize": 6,
    "DesiredCapacity": 3,
    "AvailabilityZones": ["us-east-1a"],
    "VPCZoneIdentifier": "subnet-1,subnet-2",
    "HealthCheckType": "ELB",
    "HealthCheckGracePeriod": 90,
    "TerminationPolicies": ["OldestInstance"],
    "MixedInstancesPolicy": {
        "LaunchTemplate": {
            "LaunchTemplateSpecification": {"LaunchTemplateId": "lt-1", "Version": "4"},
            "Overrides": [{"InstanceType": "m6i.large"}, {"InstanceType": "m5.large"}],
        },
        "InstancesDistribution": {"OnDemandPercentageAboveBaseCapacity": 50},
    },
    "Tags": [
        {"Key": "team", "Value": "shop", "PropagateAtLaunch": True},
        {"Key": "bluegreen:release", "Value": "old", "PropagateAtLaunch": True},
        {"Key": "aws:cloudformation:stack-name", "Value": "x", "PropagateAtLaunch": True},
    ],
    "SuspendedProcesses": [{"ProcessName": "AZRebalance"}],
    "LoadBalancerNames": ["classic-1"],
}
EXTRAS = {
    "scaling_policies": [
        {
            "PolicyName": "requests",
            "PolicyType": "TargetTrackingScaling",
            "PolicyARN": "arn:policy",
            "TargetTrackingConfiguration": {
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "ALBRequestCountPerTarget",
                    "ResourceLabel": "app/shop-blue/123/targetgroup/shop-blue/aaa",
                },
                "TargetValue": 100.0,
            },
            # DescribePolicies as moto once answered: empty structures of other policy types
            "PredictiveScalingConfiguration": {},
            "StepAdjustments": [],
        },
        {
            "PolicyName": "cpu-high",
            "PolicyType": "StepScaling",
            "PolicyARN": "arn:aws:autoscaling:us-east-1:1:scalingPolicy:x:autoScalingGroupName/shop-blue-1:policyName/cpu-high",
            "AdjustmentType": "ChangeInCapacity",
            "StepAdjustments": [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}],
            "Alarms": [{"AlarmName": "shop-cpu-high", "AlarmARN": "arn:alarm"}],
        },
    ],
    "alarms": {
        "shop-cpu-high": {
            "AlarmName": "shop-cpu-high",
            "AlarmArn": "arn:alarm",
            "StateValue": "OK",
            "MetricName": "CPUUtilization",
            "Namespace": "AWS/EC2",
            "Statistic": "Average",
            "Dimensions": [{"Name": "AutoScalingGroupName", "Value": "shop-blue-1"}],
            "Period": 60,
            "EvaluationPeriods": 2,
            "Threshold": 70.0,
            "ComparisonOperator": "GreaterThanThreshold",
            "AlarmActions": [
                "arn:aws:autoscaling:us-east-1:1:scalingPolicy:x:autoScalingGroupName/shop-blue-1:policyName/cpu-high",
                "arn:aws:sns:us-east-1:1:pager",
            ],
        }
    },
    "scheduled_actions": [
        {"ScheduledActionName": "night", "Recurrence": "0 22 * * *", "MinSize": 1, "StartTime": "2026-01-01T00:00:00Z"},
        {"ScheduledActionName": "launch-day", "StartTime": "2026-12-01T08:00:00Z", "DesiredCapacity": 9},
        {"ScheduledActionName": "last-sale", "StartTime": "2026-06-01T08:00:00Z", "DesiredCapacity": 9},
    ],
    "lifecycle_hooks": [{"LifecycleHookName": "warmup", "LifecycleTransition": "autoscaling:EC2_INSTANCE_LAUNCHING"}],
    "warm_pool": [{"MinSize": 1, "PoolState": "Stopped", "Instances": []}],
    "notifications": [
        {"TopicARN": "arn:sns", "NotificationType": "autoscaling:EC2_INSTANCE_LAUNCH"},
        {"TopicARN": "arn:sns", "NotificationType": "autoscaling:EC2_INSTANCE_TERMINATE"},
    ],
}
NOW = datetime(2026, 11, 22, tzinfo=UTC)


def plan(live: dict = LIVE, extras: dict = EXTRAS, labels: dict | None = None):
    return plan_clone(
        live,
        extras,
        name="shop-green-r2",
        launch_template_id="lt-1",
        lt_version=5,
        target_group_arns=[GREEN_TG],
        tags={"bluegreen:app": "shop", "bluegreen:release": "r2"},
        live_target_group_arns=[LIVE_TG],
        load_balancer_labels={GREEN_TG: "app/shop-green/456"} if labels is None else labels,
        now=NOW,
    )


def test_green_copies_capacity_network_and_health_settings() -> None:
    _, params, _ = plan()
    assert (params["MinSize"], params["MaxSize"], params["DesiredCapacity"]) == (2, 6, 3)
    assert params["VPCZoneIdentifier"] == "subnet-1,subnet-2"
    assert "AvailabilityZones" not in params  # the subnets decide
    assert (params["HealthCheckType"], params["HealthCheckGracePeriod"]) == ("ELB", 90)
    assert params["TerminationPolicies"] == ["OldestInstance"]


def test_only_the_launch_template_version_changes_in_the_mixed_policy() -> None:
    _, params, _ = plan()
    mixed = params["MixedInstancesPolicy"]
    assert mixed["LaunchTemplate"]["LaunchTemplateSpecification"] == {"LaunchTemplateId": "lt-1", "Version": "5"}
    assert mixed["LaunchTemplate"]["Overrides"] == LIVE["MixedInstancesPolicy"]["LaunchTemplate"]["Overrides"]
    assert LIVE["MixedInstancesPolicy"]["LaunchTemplate"]["LaunchTemplateSpecification"]["Version"] == "4"


def test_green_joins_the_idle_slot_with_its_own_tags() -> None:
    _, params, _ = plan()
    assert params["TargetGroupARNs"] == [GREEN_TG]
    tags = {t["Key"]: t["Value"] for t in params["Tags"]}
    assert tags["team"] == "shop"
    assert tags["bluegreen:release"] == "r2"
    assert tags["Name"] == "shop-green-r2"
    assert not any(k.startswith("aws:") for k in tags)


def test_policies_schedules_hooks_warm_pool_and_notifications_follow() -> None:
    _, params, after = plan()
    assert params["LifecycleHookSpecificationList"][0]["LifecycleHookName"] == "warmup"
    assert after["warm_pool"] == [{"MinSize": 1, "PoolState": "Stopped"}]


def test_a_policy_takes_only_the_fields_of_its_type() -> None:
    _, _, after = plan()
    requests, cpu = after["scaling_policies"]
    assert set(requests) == {"PolicyName", "PolicyType", "TargetTrackingConfiguration"}
    assert set(cpu) == {"PolicyName", "PolicyType", "AdjustmentType", "StepAdjustments"}


def test_request_count_tracking_names_the_idle_slots_load_balancer_and_target_group() -> None:
    _, _, after = plan()
    label = after["scaling_policies"][0]["TargetTrackingConfiguration"]["PredefinedMetricSpecification"]
    assert label["ResourceLabel"] == "app/shop-green/456/targetgroup/shop-green/bbb"


def test_request_count_tracking_is_not_copied_when_the_idle_target_group_has_no_load_balancer() -> None:
    clone_plan, _, after = plan(labels={GREEN_TG: None})
    assert [p["PolicyName"] for p in after["scaling_policies"]] == ["cpu-high"]
    assert "ScalingPolicy requests" in {i.what for i in clone_plan.not_copied}


def test_a_step_policys_alarm_is_cloned_onto_green_and_its_policy() -> None:
    _, _, after = plan()
    (alarm,) = after["alarms"]
    assert alarm["AlarmName"] == "bluegreen-scaling-shop-green-r2-cpu-high"
    assert alarm["Dimensions"] == [{"Name": "AutoScalingGroupName", "Value": "shop-green-r2"}]
    filled = with_policy_arns(alarm, {"cpu-high": "arn:green-policy"})
    assert filled["AlarmActions"] == ["arn:green-policy", "arn:aws:sns:us-east-1:1:pager"]
    assert "StateValue" not in alarm and "AlarmArn" not in alarm


def test_one_time_schedules_are_copied_only_when_still_ahead_and_keep_their_start() -> None:
    clone_plan, _, after = plan()
    by_name = {a["ScheduledActionName"]: a for a in after["scheduled_actions"]}
    assert by_name["night"] == {"ScheduledActionName": "night", "Recurrence": "0 22 * * *", "MinSize": 1}
    assert by_name["launch-day"]["StartTime"] == datetime(2026, 12, 1, 8, tzinfo=UTC)
    assert "last-sale" not in by_name
    assert "ScheduledAction last-sale" in {i.what for i in clone_plan.not_copied}


def test_notifications_are_one_call_per_topic_with_all_its_types() -> None:
    _, _, after = plan()
    assert after["notifications"] == [
        {
            "TopicARN": "arn:sns",
            "NotificationTypes": ["autoscaling:EC2_INSTANCE_LAUNCH", "autoscaling:EC2_INSTANCE_TERMINATE"],
        }
    ]


def test_an_override_with_its_own_launch_template_refuses_the_release() -> None:
    live = {**LIVE, "MixedInstancesPolicy": {**LIVE["MixedInstancesPolicy"]}}
    live["MixedInstancesPolicy"]["LaunchTemplate"] = {
        **LIVE["MixedInstancesPolicy"]["LaunchTemplate"],
        "Overrides": [
            {"InstanceType": "m6g.large", "LaunchTemplateSpecification": {"LaunchTemplateId": "lt-arm", "Version": "2"}}
        ],
    }
    clone_plan, _, _ = plan(live=live)
    assert [i.what for i in clone_plan.refused] == ["MixedInstancesPolicy override m6g.large"]
    assert "lt-arm" in clone_plan.refused[0].detail


def test_more_tags_than_auto_scaling_allows_refuse_the_release() -> None:
    tags = [{"Key": f"k{i}", "Value": "v", "PropagateAtLaunch": False} for i in range(48)]
    clone_plan, _, _ = plan(live={**LIVE, "Tags": tags})
    assert [i.what for i in clone_plan.refused] == ["Tags"]
    assert "remove 1 " in clone_plan.refused[0].detail
    assert not plan()[0].refused


@pytest.mark.parametrize(
    ("version", "pin"),
    [("$Latest", 7), ("$Default", 3), ("4", None), (None, 3)],
    ids=["latest", "default", "4", "none"],
)
def test_live_on_latest_or_default_is_pinned_to_the_number_it_launches_now(version, pin) -> None:
    group = {"LaunchTemplate": {"LaunchTemplateId": "lt-1", **({"Version": version} if version else {})}}
    assert pinned_version(group, default_version=3, latest_version=7)[1] == pin


def test_the_plan_says_what_cannot_be_copied() -> None:
    clone_plan, _, _ = plan()
    not_copied = {item.what for item in clone_plan.not_copied}
    assert {"LoadBalancerNames", "SuspendedProcesses"} <= not_copied
    adjusted = {item.what for item in clone_plan.adjusted}
    assert {"LaunchTemplate", "TargetGroupARNs", "ScalingPolicy requests"} <= adjusted
