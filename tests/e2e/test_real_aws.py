"""What a first `sam deploy` into a real account would meet, on the twin that now refuses what AWS refuses: a simple
record beside the weighted pair, a live group that carries more than its own settings, an old fleet that will not
empty, Packer's late tags, and the history each poll costs."""

from __future__ import annotations

import base64
import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
from orchestrator import budget

from bluegreen.cli import ops
from bluegreen.demo.seed import USER_DATA, guardduty_event


def records(app) -> list[dict]:
    zone = app.seeded.config["dns"]["hosted_zone_id"]
    name = app.seeded.config["dns"]["record_name"].rstrip(".") + "."
    listed = app.aws.client("route53").list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    return [r for r in listed if r["Name"] == name and r["Type"] == "A"]


def change(app, *changes: tuple[str, dict]) -> None:
    app.aws.client("route53").change_resource_record_sets(
        HostedZoneId=app.seeded.config["dns"]["hosted_zone_id"],
        ChangeBatch={"Changes": [{"Action": action, "ResourceRecordSet": record} for action, record in changes]},
    )


def make_record_simple(app) -> dict:
    """The app's record as most fleets have it before bluegreen: one simple alias to the blue load balancer."""
    weighted = records(app)
    blue = next(r for r in weighted if r["SetIdentifier"].endswith("-blue"))
    simple = {"Name": blue["Name"], "Type": "A", "AliasTarget": blue["AliasTarget"]}
    change(app, *(("DELETE", r) for r in weighted), ("CREATE", simple))  # one batch: traffic never stops
    return simple


def set_config(app, **changes: object) -> None:
    document = json.loads(ops.load_config(app.aws, app.name).model_dump_json())
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = document
        for key in parents:
            node = node[key]
        node[last] = value
    ops.put_config(app.aws, app.name, json.dumps(document))


def group(app, name: str) -> dict:
    return app.aws.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[name])[
        "AutoScalingGroups"
    ][0]


# --- DNS: weighted records beside a simple one ------------------------------------------------------------------


def test_a_simple_record_refuses_the_release_in_one_line_and_changes_nothing(app) -> None:
    # Given an app adopted as most are: its record is a simple alias, not the weighted pair
    simple = make_record_simple(app)
    ami = app.publish_ami()
    versions = app.launch_template_versions()
    # When a release starts
    execution = app.release(ami)
    # Then Prepare refuses it before any change, saying how to convert the record
    assert (execution.status, execution.error) == ("FAILED", "DnsRecordConflictError")
    assert "simple (non-weighted) record" in execution.cause and "convert_simple_record" in execution.cause
    assert "\n" not in execution.cause
    assert [{k: r[k] for k in ("Name", "Type", "AliasTarget")} for r in records(app)] == [simple]
    assert app.groups() == [app.seeded.blue_asg]
    assert app.launch_template_versions() == versions
    assert app.lock() is None


def test_a_simple_record_becomes_the_weighted_pair_when_the_config_asks(app) -> None:
    # Given a simple alias record to the live (blue) load balancer, and a config that asks for the conversion
    make_record_simple(app)
    set_config(app, dns__convert_simple_record=True)
    ami = app.publish_ami()
    # When a release runs
    execution = app.release(ami)
    # Then it goes all the way, and the record is now bluegreen's weighted pair
    assert execution.status == "SUCCEEDED", execution.cause
    assert "DNS record" in {i["what"] for i in execution.output["release"]["clone_plan"]["adjusted"]}
    assert sorted((r["SetIdentifier"], r["Weight"]) for r in records(app)) == [
        (f"{app.name}-blue", 0),
        (f"{app.name}-green", 100),
    ]


def test_weighted_records_bluegreen_does_not_own_refuse_the_release(app) -> None:
    # Given someone else's weighted record at the app's name, which would keep a share of the traffic
    blue = next(r for r in records(app) if r["SetIdentifier"].endswith("-blue"))
    change(app, ("CREATE", {**blue, "SetIdentifier": "canary-by-hand", "Weight": 5}))
    # When a release starts, Then it is refused naming that record, and nothing moved
    execution = app.release(app.publish_ami())
    assert (execution.status, execution.error) == ("FAILED", "DnsRecordConflictError")
    assert "canary-by-hand" in execution.cause
    assert app.status()["weights"] == {"blue": 100, "green": 0}


# --- the clone ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("app", [{"approval": {"before_traffic": True}}], indirect=True, ids=["approval"])
def test_green_carries_everything_live_carries(app) -> None:
    # Given a live group that launches $Latest and carries, beside the seeded tracking policy, hook, notifications
    # and launch template: a step policy with its alarm, and schedules of every kind
    asg, cloudwatch = app.aws.client("autoscaling"), app.aws.client("cloudwatch")
    live = app.seeded.blue_asg
    template = app.seeded.config["launch_template_id"]
    asg.update_auto_scaling_group(
        AutoScalingGroupName=live, LaunchTemplate={"LaunchTemplateId": template, "Version": "$Latest"}
    )
    step = asg.put_scaling_policy(
        AutoScalingGroupName=live,
        PolicyName="cpu-high",
        PolicyType="StepScaling",
        AdjustmentType="ChangeInCapacity",
        StepAdjustments=[{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}],
    )["PolicyARN"]
    cloudwatch.put_metric_alarm(
        AlarmName=f"{app.name}-cpu-high",
        MetricName="CPUUtilization",
        Namespace="AWS/EC2",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=2,
        Threshold=70.0,
        ComparisonOperator="GreaterThanThreshold",
        Dimensions=[{"Name": "AutoScalingGroupName", "Value": live}],
        AlarmActions=[step],
    )
    now = datetime.now(UTC)
    for name, start, recurrence in [
        ("nightly", None, "0 22 * * *"),
        ("launch-day", now + timedelta(days=30), None),
        ("last-sale", now - timedelta(days=30), None),
    ]:
        timing = {"Recurrence": recurrence} if recurrence else {"StartTime": start}
        asg.put_scheduled_update_group_action(
            AutoScalingGroupName=live, ScheduledActionName=name, DesiredCapacity=3, **timing
        )
    ami = app.publish_ami()
    # When it is released, up to the approval gate
    arn = app.start(ami)
    app.wait_for_phase("AwaitingApproval")
    green = app.releases()[0]
    green_name = next(g for g in app.groups() if g != live)

    # Then live was pinned to the number it launched, and green's version differs from it in the AMI alone
    pinned = group(app, live)["LaunchTemplate"]["Version"]
    assert pinned.isdigit()
    ec2 = app.aws.client("ec2")
    versions = ec2.describe_launch_template_versions(LaunchTemplateId=template)["LaunchTemplateVersions"]
    data = {str(v["VersionNumber"]): v["LaunchTemplateData"] for v in versions}
    green_version = group(app, green_name)["LaunchTemplate"]["Version"]
    assert {k: v for k, v in data[green_version].items() if k != "ImageId"} == {
        k: v for k, v in data[pinned].items() if k != "ImageId"
    }
    assert data[green_version]["ImageId"] == ami
    assert base64.b64decode(data[green_version]["UserData"]) == base64.b64decode(USER_DATA)
    assert data[green_version]["MetadataOptions"]["HttpTokens"] == "required"

    # And green has the hook, both notification types, the policies (the label on its own load balancer), the
    # step policy's alarm acting on green's policy, and the schedules still ahead
    hooks = asg.describe_lifecycle_hooks(AutoScalingGroupName=green_name)["LifecycleHooks"]
    assert [(h["LifecycleHookName"], h["DefaultResult"]) for h in hooks] == [("drain-connections", "CONTINUE")]
    notes = asg.describe_notification_configurations(AutoScalingGroupNames=[green_name])["NotificationConfigurations"]
    assert sorted(n["NotificationType"] for n in notes) == [
        "autoscaling:EC2_INSTANCE_LAUNCH",
        "autoscaling:EC2_INSTANCE_TERMINATE",
    ]
    policies = {p["PolicyName"]: p for p in asg.describe_policies(AutoScalingGroupName=green_name)["ScalingPolicies"]}
    label = policies["requests-per-target"]["TargetTrackingConfiguration"]["PredefinedMetricSpecification"]
    assert label["ResourceLabel"].startswith(f"app/{app.name}-green/")
    assert label["ResourceLabel"].endswith(
        "/targetgroup/" + app.seeded.target_groups["green"].split(":targetgroup/")[1]
    )
    copy = cloudwatch.describe_alarms(AlarmNames=[f"bluegreen-scaling-{green_name}-cpu-high"])["MetricAlarms"][0]
    assert copy["AlarmActions"] == [policies["cpu-high"]["PolicyARN"]]
    assert copy["Dimensions"] == [{"Name": "AutoScalingGroupName", "Value": green_name}]
    schedules = asg.describe_scheduled_actions(AutoScalingGroupName=green_name)["ScheduledUpdateGroupActions"]
    assert sorted(s["ScheduledActionName"] for s in schedules) == ["launch-day", "nightly"]
    assert green["status"] == "in_flight"

    # When it is approved and goes live, and then the next release replaces it
    app.approve()
    execution = app.wait(arn)
    assert execution.status == "SUCCEEDED", execution.cause
    plan = execution.output["release"]["clone_plan"]
    assert "ScheduledAction last-sale" in {i["what"] for i in plan["not_copied"]}
    assert "Live LaunchTemplate version" in {i["what"] for i in plan["adjusted"]}
    following = app.start(app.publish_ami())
    app.wait_for_phase("AwaitingApproval")
    app.approve()
    assert app.wait(following).status == "SUCCEEDED"
    # Then the alarm bluegreen made for the replaced group went with it; the user's own alarm stays theirs
    names = [a["AlarmName"] for a in cloudwatch.describe_alarms(AlarmNamePrefix="bluegreen-")["MetricAlarms"]]
    assert f"bluegreen-scaling-{green_name}-cpu-high" not in names
    assert cloudwatch.describe_alarms(AlarmNames=[f"{app.name}-cpu-high"])["MetricAlarms"]


def test_an_old_fleet_that_protects_itself_and_scales_itself_back_still_goes(app) -> None:
    # Given a live fleet whose instances are protected from scale-in, with a recurring action that sets its size
    asg = app.aws.client("autoscaling")
    live = app.seeded.blue_asg
    ids = [i["InstanceId"] for i in group(app, live)["Instances"]]
    asg.set_instance_protection(AutoScalingGroupName=live, InstanceIds=ids, ProtectedFromScaleIn=True)
    asg.put_scheduled_update_group_action(
        AutoScalingGroupName=live, ScheduledActionName="business-hours", Recurrence="0 8 * * *", DesiredCapacity=3
    )
    # When a release runs
    execution = app.release(app.publish_ami())
    # Then the old fleet was emptied and deleted: nothing kept it alive
    assert execution.status == "SUCCEEDED", execution.cause
    assert app.groups() == [execution.output["release"]["green_asg"]]


# --- Packer's late tags --------------------------------------------------------------------------------------------


def test_an_ami_event_that_comes_before_the_tag_releases_once_the_tag_is_there(app) -> None:
    # Given an AMI available but not yet tagged (Packer's amazon-ebs tags after `available`), and its event
    ami = app.publish_ami(tagged=False)
    arn = app.execution_for(ami)  # EC2 announced it
    app.wait_until(lambda: _visits(app, arn, "WaitForAmiToSettle") >= 1, what="the tag wait")
    # When the tag arrives
    app.aws.client("ec2").create_tags(Resources=[ami], Tags=[{"Key": "bluegreen:app", "Value": app.name}])
    # Then the release goes all the way
    execution = app.wait(arn)
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output["release"]["outcome"] == "Proceed"
    assert app.status()["live"]["ami_id"] == ami


def test_an_untagged_ami_is_ignored_once_its_wait_is_over(app) -> None:
    ami = app.publish_ami(tagged=False)
    execution = app.wait(app.execution_for(ami))
    assert execution.status == "SUCCEEDED"
    assert execution.output["release"]["outcome"] == "Ignored"
    assert _visits(app, execution.arn, "WaitForAmiToSettle") >= 2
    assert app.groups() == [app.seeded.blue_asg]


def _visits(app, arn: str, state: str) -> int:
    events = app.aws.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return sum((e.get("stateEnteredEventDetails") or {}).get("name") == state for e in events)


# --- the history budget ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("app", [{"health": {"timeout_seconds": 900, "poll_seconds": 5}}], indirect=True, ids=["15m"])
def test_a_poll_of_a_loop_costs_the_history_events_the_budget_counts(app) -> None:
    # Given green that reports `initial` for a while
    app.set_slot_health("green", "initial")
    arn = app.start(app.publish_ami())
    app.wait_until(lambda: _visits(app, arn, "CheckGreenHealth") >= 3, what="three health polls")
    app.clear_slot_health()
    assert app.wait(arn).status == "SUCCEEDED"
    # When its history is read, Then consecutive health checks are EVENTS_PER_POLL events apart
    events = app.aws.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)["events"]
    entered = [
        i for i, e in enumerate(events) if (e.get("stateEnteredEventDetails") or {}).get("name") == "CheckGreenHealth"
    ]
    assert {b - a for a, b in itertools.pairwise(entered)} == {budget.EVENTS_PER_POLL}


# --- an adopted fleet ---------------------------------------------------------------------------------------------


def test_a_fleet_adopted_with_two_tags_can_be_swapped_before_its_first_release(app) -> None:
    # Given a fleet adopted exactly as the README says: its group tagged bluegreen:app and bluegreen:slot only
    asg = app.aws.client("autoscaling")
    asg.delete_tags(
        Tags=[{"ResourceId": app.seeded.blue_asg, "ResourceType": "auto-scaling-group", "Key": "bluegreen:ami"}]
    )
    group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[app.seeded.blue_asg])["AutoScalingGroups"][0]
    victim = group["Instances"][0]["InstanceId"]
    # When GuardDuty reports one of its instances
    entry = guardduty_event(victim, "us-east-1")
    assert app.aws.client("events").put_events(Entries=[entry])["FailedEntryCount"] == 0
    arn = app.wait_until(lambda: _quarantine_of(app, victim), timeout=15, what="the quarantine")
    execution = app.wait(arn)
    # Then the swap redeployed the AMI its launch template launches, and the fleet is fresh
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output["case"]["swap"]["ami_id"] == app.seeded.base_ami
    assert app.status()["live"]["ami_id"] == app.seeded.base_ami
    assert app.groups() != [app.seeded.blue_asg]


def _quarantine_of(app, instance_id: str) -> str | None:
    sfn = app.aws.client("stepfunctions")
    for summary in sfn.list_executions(stateMachineArn=app.stack.outputs["QuarantineStateMachineArn"])["executions"]:
        if instance_id in sfn.describe_execution(executionArn=summary["executionArn"])["input"]:
            return summary["executionArn"]
    return None
