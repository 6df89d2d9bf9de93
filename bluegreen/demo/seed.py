"""Seed a demo app into an AWS endpoint (the local twin or moto): network, two slots, DNS, a blue fleet, config.

Routed by Route 53 (the default: a load balancer per slot and a weighted record pair) or by one ALB (`router="alb"`:
one load balancer whose listener forwards to the blue slot's target group, as a team has it before bluegreen).

Used by `bluegreen local demo`, the end-to-end tests and the integration tests, so all three see the same world.
"""

from __future__ import annotations

import base64
import functools
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from bluegreen.aws import Aws

TAG_APP = "bluegreen:app"
# A demo AMI tagged so marks a broken build: the slot stand-in servers answer 500 for fleets running it.
TAG_BROKEN = "bluegreen-demo:broken"
# The demo fleet's boot script, as the launch template holds it (base64).
USER_DATA = base64.b64encode(b"#!/bin/bash\nsystemctl start shop\n").decode()


@dataclass
class SeededApp:
    app: str
    config: dict
    base_ami: str
    blue_asg: str
    subnets: list[str]
    vpc_id: str
    isolation_sg: str
    target_groups: dict[str, str]
    alarm_names: list[str] = field(default_factory=list)
    router: str = "route53"
    load_balancer_arn: str = ""  # the ALB router's one load balancer
    green_asg: str = ""  # a split app's green group (seeded with `split=True`)
    listener_arn: str = ""  # its listener forwarding the app's traffic (port 80)
    rule_arns: list[str] = field(default_factory=list)  # its rules forwarding the app's traffic too
    test_route_arn: str = ""  # the test listener (port 8080) or header rule, if asked for


def _tags(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def seed_app(
    aws: Aws,
    app: str = "shop",
    *,
    instances: int = 3,
    test_urls: dict[str, str] | None = None,
    config: dict[str, Any] | None = None,
    put_config: bool = True,
    router: str = "route53",
    rules: int = 0,
    test_route: dict[str, str] | None = None,
    split: bool = False,
) -> SeededApp:
    """Create everything an app needs before its first release; the blue slot holds all traffic.

    `router="alb"`: one Application Load Balancer, whose listener (and `rules` rules, path by path) forward to the
    blue slot's target group alone, not weighted yet; `test_route` ({"kind": "listener" or "header", "url": ...})
    adds a test listener on port 8080, or a rule matching the header `X-Bluegreen-Test: idle`, forwarding to blue
    until a release points it at its idle slot.

    `split=True`: a split app at rest (release_mode "split"): `instances` divided between a blue and a green group,
    the traffic 50/50.
    """
    if split:
        config = {"release_mode": "split", **(config or {})}
    if router == "alb":
        return _seed_alb(aws, app, instances, test_urls or {}, config or {}, put_config, rules, test_route, split)
    elbv2, route53, ssm = aws.client("elbv2"), aws.client("route53"), aws.client("ssm")
    vpc_id, subnets, app_sg, isolation_sg = _network(aws, app)
    base_ami, template_id = _launch_template(aws, app, app_sg)

    zone = f"{app}.example.com"
    zone_id = route53.create_hosted_zone(Name=zone, CallerReference=f"{app}-zone")["HostedZone"]["Id"].split("/")[-1]
    slots: dict[str, Any] = {}
    target_groups: dict[str, str] = {}
    balancers: dict[str, str] = {}
    for slot in ("blue", "green"):
        lb = elbv2.create_load_balancer(Name=f"{app}-{slot}", Subnets=subnets, SecurityGroups=[app_sg])[
            "LoadBalancers"
        ][0]
        tg = elbv2.create_target_group(
            Name=f"{app}-{slot}", Protocol="HTTP", Port=80, VpcId=vpc_id, TargetType="instance"
        )["TargetGroups"][0]["TargetGroupArn"]
        elbv2.modify_target_group_attributes(
            TargetGroupArn=tg, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "30"}]
        )
        elbv2.create_listener(
            LoadBalancerArn=lb["LoadBalancerArn"],
            Protocol="HTTP",
            Port=80,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}],
        )
        target_groups[slot] = tg
        balancers[slot] = lb["LoadBalancerArn"]
        slots[slot] = {
            "target_group_arns": [tg],
            "alias": {"dns_name": lb["DNSName"], "hosted_zone_id": lb["CanonicalHostedZoneId"]},
            "test_base_url": (test_urls or {}).get(slot, f"http://127.0.0.1:9/{slot}"),
        }

    alarm_names = _alarms(aws, app)

    document = {
        "app": app,
        "launch_template_id": template_id,
        "dns": {"hosted_zone_id": zone_id, "record_name": f"www.{zone}", "record_type": "A"},
        "slots": slots,
        "health": {"timeout_seconds": 120, "poll_seconds": 5},
        "smoke_tests": [{"path": "/health", "expect_status": 200, "expect_body_contains": "ok", "attempts": 2}],
        "traffic": {"steps": [10, 50, 100], "bake_seconds": 60, "alarm_names": alarm_names},
        "keep_previous_seconds": 0,
        "quarantine": {"security_group_id": isolation_sg, "snapshot_volumes": True},
    }
    document.update(config or {})
    if put_config:
        ssm.put_parameter(Name=f"/bluegreen/apps/{app}", Value=json.dumps(document), Type="String", Overwrite=True)

    fleets = _slot_fleets(aws, app, template_id, base_ami, instances, subnets, target_groups, balancers, split)
    weights = {"blue": 50, "green": 50} if split else {"blue": 100, "green": 0}
    route53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": f"www.{zone}",
                        "Type": "A",
                        "SetIdentifier": f"{app}-{slot}",
                        "Weight": weights[slot],
                        "AliasTarget": {
                            "DNSName": slots[slot]["alias"]["dns_name"],
                            "HostedZoneId": slots[slot]["alias"]["hosted_zone_id"],
                            "EvaluateTargetHealth": True,
                        },
                    },
                }
                for slot in ("blue", "green")
            ]
        },
    )
    return SeededApp(
        app=app,
        config=document,
        base_ami=base_ami,
        blue_asg=fleets["blue"],
        green_asg=fleets.get("green", ""),
        subnets=subnets,
        vpc_id=vpc_id,
        isolation_sg=isolation_sg,
        target_groups=target_groups,
        alarm_names=alarm_names,
    )


def _network(aws: Aws, app: str) -> tuple[str, list[str], str, str]:
    """A VPC with two subnets, the app's security group and its isolation group."""
    ec2 = aws.client("ec2")
    region = ec2.meta.region_name
    vpc_id = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=f"{region}{zone}")["Subnet"][
            "SubnetId"
        ]
        for i, zone in enumerate("ab")
    ]
    app_sg = ec2.create_security_group(GroupName=f"{app}-app", Description=f"{app} instances", VpcId=vpc_id)["GroupId"]
    isolation_sg = ec2.create_security_group(
        GroupName=f"{app}-isolation", Description="no ingress, no egress: forensics only", VpcId=vpc_id
    )["GroupId"]
    # A VPC group comes with a rule that allows all egress: an isolation group has no rule at all.
    ec2.revoke_security_group_egress(
        GroupId=isolation_sg, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    )
    return vpc_id, subnets, app_sg, isolation_sg


def _launch_template(aws: Aws, app: str, app_sg: str) -> tuple[str, str]:
    base_ami = register_ami(aws, f"{app}-base", app=None)
    # A launch template as teams write them: every field but the AMI must reach green unchanged.
    template_id = aws.client("ec2").create_launch_template(
        LaunchTemplateName=f"{app}-lt",
        LaunchTemplateData={
            "ImageId": base_ami,
            "InstanceType": "t3.micro",
            "SecurityGroupIds": [app_sg],
            "UserData": USER_DATA,
            "MetadataOptions": {"HttpTokens": "required", "HttpEndpoint": "enabled"},
            "IamInstanceProfile": {"Arn": fleet_instance_profile(aws, app)},
        },
        # bluegreen may only version launch templates tagged bluegreen:app (its IAM policy says so).
        TagSpecifications=[{"ResourceType": "launch-template", "Tags": _tags({TAG_APP: app})}],
    )["LaunchTemplate"]["LaunchTemplateId"]
    return base_ami, template_id


def _alarms(aws: Aws, app: str) -> list[str]:
    cloudwatch = aws.client("cloudwatch")
    alarm_names = [f"{app}-5xx", f"{app}-p99"]
    for name in alarm_names:
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            MetricName="HTTPCode_Target_5XX_Count" if name.endswith("5xx") else "TargetResponseTime",
            Namespace="AWS/ApplicationELB",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=10,
            ComparisonOperator="GreaterThanThreshold",
        )
        cloudwatch.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="seeded healthy")
    return alarm_names


def _slot_fleets(
    aws: Aws,
    app: str,
    template_id: str,
    base_ami: str,
    instances: int,
    subnets: list[str],
    target_groups: dict[str, str],
    balancers: dict[str, str],
    split: bool,
) -> dict[str, str]:
    """The blue fleet (a split app: a blue and a green one, half the instances each), configured like production."""
    slots = ("blue", "green") if split else ("blue",)
    size = instances // len(slots)
    fleets = {}
    for slot in slots:
        fleets[slot] = _blue_fleet(aws, app, template_id, base_ami, size, subnets, target_groups[slot], slot)
        _configure_like_production(aws, app, fleets[slot], balancers[slot], target_groups[slot])
    return fleets


def _blue_fleet(
    aws: Aws, app: str, template_id: str, base_ami: str, instances: int, subnets: list[str], tg: str, slot: str = "blue"
) -> str:
    blue_asg = f"{app}-{slot}-initial"
    aws.client("autoscaling").create_auto_scaling_group(
        AutoScalingGroupName=blue_asg,
        LaunchTemplate={"LaunchTemplateId": template_id, "Version": "1"},
        MinSize=instances,
        MaxSize=instances * 2,
        DesiredCapacity=instances,
        VPCZoneIdentifier=",".join(subnets),
        TargetGroupARNs=[tg],
        HealthCheckType="ELB",
        HealthCheckGracePeriod=120,
        Tags=[
            {"Key": k, "Value": v, "PropagateAtLaunch": True}
            for k, v in {TAG_APP: app, "bluegreen:slot": slot, "bluegreen:ami": base_ami, "team": "shop"}.items()
        ],
    )
    return blue_asg


TEST_HEADER = {"name": "X-Bluegreen-Test", "value": "idle"}


def _seed_alb(
    aws: Aws,
    app: str,
    instances: int,
    test_urls: dict[str, str],
    overrides: dict[str, Any],
    put_config: bool,
    rules: int,
    test_route: dict[str, str] | None,
    split: bool = False,
) -> SeededApp:
    elbv2 = aws.client("elbv2")
    vpc_id, subnets, app_sg, isolation_sg = _network(aws, app)
    base_ami, template_id = _launch_template(aws, app, app_sg)
    balancer = elbv2.create_load_balancer(Name=app, Subnets=subnets, SecurityGroups=[app_sg])["LoadBalancers"][0]
    target_groups = {}
    for slot in ("blue", "green"):
        target_groups[slot] = elbv2.create_target_group(
            Name=f"{app}-{slot}", Protocol="HTTP", Port=80, VpcId=vpc_id, TargetType="instance"
        )["TargetGroups"][0]["TargetGroupArn"]
        elbv2.modify_target_group_attributes(
            TargetGroupArn=target_groups[slot],
            Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "30"}],
        )
    to_blue = [{"Type": "forward", "TargetGroupArn": target_groups["blue"]}]
    both = [
        {
            "Type": "forward",
            "ForwardConfig": {
                "TargetGroups": [{"TargetGroupArn": target_groups[s], "Weight": 50} for s in target_groups]
            },
        }
    ]
    live = both if split else to_blue
    listener = elbv2.create_listener(
        LoadBalancerArn=balancer["LoadBalancerArn"], Protocol="HTTP", Port=80, DefaultActions=live
    )["Listeners"][0]["ListenerArn"]
    rule_arns = [
        elbv2.create_rule(
            ListenerArn=listener,
            Priority=10 * (n + 1),
            Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": [f"/api{n + 1}/*"]}}],
            Actions=live,
        )["Rules"][0]["RuleArn"]
        for n in range(rules)
    ]
    alb: dict[str, Any] = {"listener_arns": [listener], "rule_arns": rule_arns}
    test_route_arn = ""
    if test_route:
        if test_route["kind"] == "listener":
            test_route_arn = elbv2.create_listener(
                LoadBalancerArn=balancer["LoadBalancerArn"], Protocol="HTTP", Port=8080, DefaultActions=to_blue
            )["Listeners"][0]["ListenerArn"]
            alb["test_route"] = {"listener_arn": test_route_arn, "url": test_route["url"]}
        else:
            condition = {"HttpHeaderName": TEST_HEADER["name"], "Values": [TEST_HEADER["value"]]}
            test_route_arn = elbv2.create_rule(
                ListenerArn=listener,
                Priority=1,
                Conditions=[{"Field": "http-header", "HttpHeaderConfig": condition}],
                Actions=to_blue,
            )["Rules"][0]["RuleArn"]
            alb["test_route"] = {"rule_arn": test_route_arn, "url": test_route["url"], "header": TEST_HEADER}
    slots: dict[str, Any] = {
        slot: {"target_group_arns": [target_groups[slot]]}
        | ({} if test_route else {"test_base_url": test_urls.get(slot, f"http://127.0.0.1:9/{slot}")})
        for slot in ("blue", "green")
    }
    alarm_names = _alarms(aws, app)
    document = {
        "app": app,
        "launch_template_id": template_id,
        "router": "alb",
        "alb": alb,
        "slots": slots,
        "health": {"timeout_seconds": 120, "poll_seconds": 5},
        "smoke_tests": [{"path": "/health", "expect_status": 200, "expect_body_contains": "ok", "attempts": 2}],
        "traffic": {"steps": [10, 50, 100], "bake_seconds": 60, "alarm_names": alarm_names},
        "keep_previous_seconds": 0,
        "quarantine": {"security_group_id": isolation_sg, "snapshot_volumes": True},
    }
    document.update(overrides)
    if put_config:
        aws.client("ssm").put_parameter(
            Name=f"/bluegreen/apps/{app}", Value=json.dumps(document), Type="String", Overwrite=True
        )
    balancers = dict.fromkeys(target_groups, balancer["LoadBalancerArn"])
    fleets = _slot_fleets(aws, app, template_id, base_ami, instances, subnets, target_groups, balancers, split)
    return SeededApp(
        app=app,
        config=document,
        base_ami=base_ami,
        blue_asg=fleets["blue"],
        green_asg=fleets.get("green", ""),
        subnets=subnets,
        vpc_id=vpc_id,
        isolation_sg=isolation_sg,
        target_groups=target_groups,
        alarm_names=alarm_names,
        router="alb",
        load_balancer_arn=balancer["LoadBalancerArn"],
        listener_arn=listener,
        rule_arns=rule_arns,
        test_route_arn=test_route_arn,
    )


FLEET_ROLE_PATH = "/bluegreen/"  # the template's FleetRolePath default: bluegreen passes and restricts only these


def fleet_instance_profile(aws: Aws, app: str) -> str:
    """The fleet's own instance role (what its instances' credentials are), in an instance profile: its ARN."""
    iam = aws.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    role = f"{app}-fleet"
    iam.create_role(RoleName=role, Path=FLEET_ROLE_PATH, AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(
        RoleName=role,
        PolicyName="read-app-bucket",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{app}-assets/*"}
                ],
            }
        ),
    )
    profile = iam.create_instance_profile(InstanceProfileName=role, Path=FLEET_ROLE_PATH)["InstanceProfile"]
    iam.add_role_to_instance_profile(InstanceProfileName=role, RoleName=role)
    return profile["Arn"]


def _configure_like_production(aws: Aws, app: str, group: str, balancer_arn: str, target_group_arn: str) -> None:
    """What a real fleet carries beside its own settings, so every release proves the clone copies it: request-count
    tracking (its label names the slot's load balancer and target group), a termination lifecycle hook, and
    notifications of two kinds to one topic."""
    asg = aws.client("autoscaling")
    label = balancer_arn.split(":loadbalancer/")[-1] + "/targetgroup/" + target_group_arn.split(":targetgroup/")[-1]
    asg.put_scaling_policy(
        AutoScalingGroupName=group,
        PolicyName="requests-per-target",
        PolicyType="TargetTrackingScaling",
        TargetTrackingConfiguration={
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "ALBRequestCountPerTarget",
                "ResourceLabel": label,
            },
            "TargetValue": 500.0,
        },
    )
    asg.put_lifecycle_hook(
        AutoScalingGroupName=group,
        LifecycleHookName="drain-connections",
        LifecycleTransition="autoscaling:EC2_INSTANCE_TERMINATING",
        HeartbeatTimeout=120,
        DefaultResult="CONTINUE",
    )
    topic = aws.client("sns").create_topic(Name=f"{app}-fleet-events")["TopicArn"]
    asg.put_notification_configuration(
        AutoScalingGroupName=group,
        TopicARN=topic,
        NotificationTypes=["autoscaling:EC2_INSTANCE_LAUNCH", "autoscaling:EC2_INSTANCE_TERMINATE"],
    )


def register_ami(aws: Aws, name: str, app: str | None, broken: bool = False, architecture: str = "x86_64") -> str:
    """Publish an AMI as an image pipeline would; tagged bluegreen:app=<app> (when app is given) as it is created.

    EC2 announces it with an "EC2 AMI State Change" event (the twin does too), so an AMI tagged for an app starts its
    release; an untagged one is looked at until its tag wait ends, then ignored. Tagging later, with CreateTags, is
    what Packer's amazon-ebs builder does.
    """
    ec2 = aws.client("ec2")
    # Bake it the way Packer does: launch a builder from a stock image, snapshot it into an AMI, drop the builder.
    source = _stock_image(aws, architecture)
    instance_type = "t3.micro" if architecture == "x86_64" else "t4g.micro"
    builder = ec2.run_instances(ImageId=source, MinCount=1, MaxCount=1, InstanceType=instance_type)["Instances"][0]
    tags = {}
    if app:
        tags[TAG_APP] = app
    if broken:
        tags[TAG_BROKEN] = "true"
    specifications = [{"ResourceType": "image", "Tags": _tags(tags)}] if tags else []
    image_id = ec2.create_image(InstanceId=builder["InstanceId"], Name=name, TagSpecifications=specifications)[
        "ImageId"
    ]
    ec2.terminate_instances(InstanceIds=[builder["InstanceId"]])
    return image_id


@functools.cache
def _stock_image(aws: Aws, architecture: str) -> str:
    """A stock Amazon image to bake from; listing them takes about a second, so once per endpoint is enough."""
    stock = aws.client("ec2").describe_images(
        Owners=["amazon"], Filters=[{"Name": "architecture", "Values": [architecture]}]
    )
    return sorted(i["ImageId"] for i in stock["Images"])[0]


def ami_event(ami_id: str, region: str, state: str = "available") -> dict:
    """The EventBridge entry of an "EC2 AMI State Change", as EC2 publishes it."""
    return {
        "Source": "aws.ec2",
        "DetailType": "EC2 AMI State Change",
        "Resources": [f"arn:aws:ec2:{region}::image/{ami_id}"],
        "Detail": json.dumps({"RequestId": "3b1c7f0e-demo", "ImageId": ami_id, "State": state, "ErrorMessage": ""}),
    }


def guardduty_event(
    instance_id: str,
    region: str,
    *,
    severity: float = 8.0,
    finding_type: str = "Backdoor:EC2/C&CActivity.B!DNS",
    sample: bool = False,
    account: str = "123456789012",
) -> dict:
    """The EventBridge entry of a "GuardDuty Finding" on an EC2 instance, as GuardDuty publishes it."""
    finding_id = uuid.uuid4().hex
    additional: dict[str, Any] = {"value": '{"domain":"command.example.net"}', "type": "default"}
    if sample:
        additional["sample"] = True
    detail = {
        "schemaVersion": "2.0",
        "accountId": account,
        "region": region,
        "partition": "aws",
        "id": finding_id,
        "arn": f"arn:aws:guardduty:{region}:{account}:detector/6ab6e6e1d7a1cdd3f5c1a7d3f1e1f0aa/finding/{finding_id}",
        "type": finding_type,
        "resource": {
            "resourceType": "Instance",
            "instanceDetails": {"instanceId": instance_id, "instanceState": "running", "tags": []},
        },
        "service": {
            "serviceName": "guardduty",
            "detectorId": "6ab6e6e1d7a1cdd3f5c1a7d3f1e1f0aa",
            "action": {
                "actionType": "DNS_REQUEST",
                "dnsRequestAction": {"domain": "command.example.net", "protocol": "UDP", "blocked": False},
            },
            "resourceRole": "ACTOR",
            "additionalInfo": additional,
            "archived": False,
            "count": 1,
        },
        "severity": severity,
        "title": f"Command and Control server domain name queried by EC2 instance {instance_id}.",
        "description": f"EC2 instance {instance_id} is querying a domain name of a known Command & Control server.",
    }
    return {"Source": "aws.guardduty", "DetailType": "GuardDuty Finding", "Resources": [], "Detail": json.dumps(detail)}


def security_alarm(
    aws: Aws, name: str, *, instance_id: str | None = None, group_name: str | None = None, marked: bool = True
) -> str:
    """A CloudWatch alarm on one instance or one group's metric; named with the security prefix, it quarantines."""
    dimension = (
        {"Name": "InstanceId", "Value": instance_id}
        if instance_id
        else {"Name": "AutoScalingGroupName", "Value": group_name}
    )
    aws.client("cloudwatch").put_metric_alarm(
        AlarmName=name,
        MetricName="NetworkOut",
        Namespace="AWS/EC2",
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=5e9,
        ComparisonOperator="GreaterThanThreshold",
        Dimensions=[dimension],
        # what marks it as a security alarm, besides its name (the security team's role sets it)
        Tags=[{"Key": "bluegreen:security-alarm", "Value": "true"}] if marked else [],
    )
    return name
