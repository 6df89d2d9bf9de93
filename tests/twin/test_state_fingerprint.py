"""The twin's state fingerprint changes with every field the invariant monitor reads, and with nothing a read does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bluegreen.twin.autoscaling_detach_validation import set_instance_lifecycle
from bluegreen.twin.state_fingerprint import fingerprint


def changes(action: Callable[[], Any]) -> bool:
    before = fingerprint()
    action()
    return fingerprint() != before


def a_group(aws: Any) -> tuple[str, str]:
    """An Auto Scaling group of two instances; its name and its first instance."""
    ec2, autoscaling = aws("ec2"), aws("autoscaling")
    vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.7.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    template = ec2.create_launch_template(
        LaunchTemplateName="fp", LaunchTemplateData={"ImageId": image, "InstanceType": "t3.micro"}
    )["LaunchTemplate"]["LaunchTemplateId"]
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="shop-blue-1",
        LaunchTemplate={"LaunchTemplateId": template, "Version": "$Latest"},
        MinSize=2,
        MaxSize=6,
        DesiredCapacity=2,
        VPCZoneIdentifier=subnet,
        Tags=[{"Key": "bluegreen:slot", "Value": "blue", "PropagateAtLaunch": True}],
    )
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["shop-blue-1"])["AutoScalingGroups"][0]
    return "shop-blue-1", group["Instances"][0]["InstanceId"]


def test_every_change_to_a_group_the_monitor_reads_changes_the_fingerprint(twin_moto) -> None:
    name, instance = a_group(twin_moto)
    autoscaling = twin_moto("autoscaling")
    assert fingerprint() == fingerprint()  # nothing changed: the same token
    # Reads change nothing
    assert not changes(lambda: autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name]))
    # Its size, its minimum, its tags (slot, AMI, app), an instance's health and lifecycle, its deletion each do
    assert changes(lambda: autoscaling.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=3))
    assert changes(lambda: autoscaling.update_auto_scaling_group(AutoScalingGroupName=name, MinSize=1))
    tag = {"ResourceId": name, "ResourceType": "auto-scaling-group", "PropagateAtLaunch": True}
    assert changes(lambda: autoscaling.create_or_update_tags(Tags=[{**tag, "Key": "bluegreen:slot", "Value": "green"}]))
    assert changes(lambda: autoscaling.set_instance_health(InstanceId=instance, HealthStatus="Unhealthy"))
    assert changes(lambda: set_instance_lifecycle(instance, "Terminating"))
    assert changes(lambda: autoscaling.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True))


def test_every_change_to_a_weighted_record_changes_the_fingerprint(twin_moto) -> None:
    route53 = twin_moto("route53")
    zone = route53.create_hosted_zone(Name="shop.example.", CallerReference="fp")["HostedZone"]["Id"]

    def upsert(slot: str, weight: int, target: str = "blue.elb.amazonaws.com") -> None:
        record = {
            "Name": "www.shop.example.",
            "Type": "A",
            "SetIdentifier": slot,
            "Weight": weight,
            "AliasTarget": {"HostedZoneId": "Z35SXDOTRQ7X7K", "DNSName": target, "EvaluateTargetHealth": False},
        }
        route53.change_resource_record_sets(
            HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": record}]}
        )

    assert changes(lambda: upsert("blue", 100))
    assert not changes(lambda: route53.list_resource_record_sets(HostedZoneId=zone))
    assert changes(lambda: upsert("blue", 50))
    assert changes(lambda: upsert("blue", 50, target="green.elb.amazonaws.com"))


def test_every_change_to_a_forward_action_changes_the_fingerprint(twin_moto) -> None:
    ec2, elbv2 = twin_moto("ec2"), twin_moto("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.8.{n}.0/24", AvailabilityZone=f"us-east-1{zone}")["Subnet"][
            "SubnetId"
        ]
        for n, zone in enumerate("ab")
    ]
    balancer = elbv2.create_load_balancer(Name="fp", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    blue, green = (
        elbv2.create_target_group(Name=f"fp-{slot}", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0][
            "TargetGroupArn"
        ]
        for slot in ("blue", "green")
    )

    def forward(blue_weight: int) -> list[dict]:
        groups = [
            {"TargetGroupArn": blue, "Weight": blue_weight},
            {"TargetGroupArn": green, "Weight": 100 - blue_weight},
        ]
        return [{"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}]

    listener = elbv2.create_listener(LoadBalancerArn=balancer, Protocol="HTTP", Port=80, DefaultActions=forward(100))
    listener_arn = listener["Listeners"][0]["ListenerArn"]
    conditions = [{"Field": "path-pattern", "Values": ["/api/*"]}]
    rule = elbv2.create_rule(ListenerArn=listener_arn, Priority=1, Conditions=conditions, Actions=forward(100))
    rule_arn = rule["Rules"][0]["RuleArn"]

    assert not changes(
        lambda: (elbv2.describe_listeners(ListenerArns=[listener_arn]), elbv2.describe_rules(RuleArns=[rule_arn]))
    )
    assert changes(lambda: elbv2.modify_listener(ListenerArn=listener_arn, DefaultActions=forward(50)))
    assert changes(lambda: elbv2.modify_rule(RuleArn=rule_arn, Actions=forward(0)))
    assert changes(lambda: elbv2.delete_rule(RuleArn=rule_arn))
