"""The clone plan: green copies live but for the AMI, its name, its slot and its tags."""

from __future__ import annotations

from orchestrator.domain.clone import plan_clone

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
        }
    ],
    "scheduled_actions": [{"ScheduledActionName": "night", "Recurrence": "0 22 * * *", "MinSize": 1, "StartTime": "x"}],
    "lifecycle_hooks": [{"LifecycleHookName": "warmup", "LifecycleTransition": "autoscaling:EC2_INSTANCE_LAUNCHING"}],
    "warm_pool": [{"MinSize": 1, "PoolState": "Stopped", "Instances": []}],
    "notifications": [{"TopicARN": "arn:sns", "NotificationType": "autoscaling:EC2_INSTANCE_LAUNCH"}],
}


def plan():
    return plan_clone(
        LIVE,
        EXTRAS,
        name="shop-green-r2",
        launch_template_id="lt-1",
        lt_version=5,
        target_group_arns=[GREEN_TG],
        tags={"bluegreen:app": "shop", "bluegreen:release": "r2"},
        live_target_group_arns=[LIVE_TG],
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
    policy = after["scaling_policies"][0]
    assert "PolicyARN" not in policy
    label = policy["TargetTrackingConfiguration"]["PredefinedMetricSpecification"]["ResourceLabel"]
    assert label.endswith("targetgroup/shop-green/bbb")
    assert after["scheduled_actions"] == [{"ScheduledActionName": "night", "Recurrence": "0 22 * * *", "MinSize": 1}]
    assert after["warm_pool"] == [{"MinSize": 1, "PoolState": "Stopped"}]
    assert after["notifications"] == [{"TopicARN": "arn:sns", "NotificationTypes": ["autoscaling:EC2_INSTANCE_LAUNCH"]}]


def test_the_plan_says_what_cannot_be_copied() -> None:
    clone_plan, _, _ = plan()
    not_copied = {item.what for item in clone_plan.not_copied}
    assert {"LoadBalancerNames", "SuspendedProcesses"} <= not_copied
    adjusted = {item.what for item in clone_plan.adjusted}
    assert {"LaunchTemplate", "TargetGroupARNs", "ScalingPolicy requests"} <= adjusted
