"""The quarantine path end to end on the twin: from each trigger, isolation (I5), and the swap (I1-I3 by the fixture)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bluegreen.cli import ops
from bluegreen.demo.seed import guardduty_event, security_alarm
from bluegreen.proof.invariants import check_quarantine

BLUEGREEN = str(Path(sys.executable).parent / "bluegreen")
REGION = "us-east-1"


# --- helpers -------------------------------------------------------------------------------------------------------


def fleet(app) -> list[str]:
    group = app.aws.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[app.seeded.blue_asg])
    return sorted(i["InstanceId"] for i in group["AutoScalingGroups"][0]["Instances"])


def put_finding(app, instance_id: str, **options: object) -> None:
    entry = guardduty_event(instance_id, REGION, **options)  # type: ignore[arg-type]
    result = app.aws.client("events").put_events(Entries=[entry])
    assert result["FailedEntryCount"] == 0


def quarantines(app, mentioning: str) -> list[str]:
    """Quarantine executions whose input mentions `mentioning` (an instance id, an alarm name), oldest first."""
    sfn = app.aws.client("stepfunctions")
    found = []
    for summary in sfn.list_executions(stateMachineArn=app.stack.outputs["QuarantineStateMachineArn"])["executions"]:
        described = sfn.describe_execution(executionArn=summary["executionArn"])
        if mentioning in described["input"]:
            found.append((described["startDate"], summary["executionArn"]))
    return [arn for _, arn in sorted(found)]


def quarantine_for(app, mentioning: str, timeout: float = 15) -> str:
    return app.wait_until(
        lambda: (arns := quarantines(app, mentioning)) and arns[0], timeout, f"a quarantine of {mentioning}"
    )


def case_item(app, case_id: str) -> dict:
    return ops.state_table.get(app.name, f"CASE#{case_id}", ops.table(app.aws))


def instance_state(app, instance_id: str) -> dict:
    """What a quarantine would change on an instance."""
    ec2 = app.aws.client("ec2")
    instance = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    protected = ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="disableApiTermination")
    return {
        "state": instance["State"]["Name"],
        "tags": sorted((t["Key"], t["Value"]) for t in instance.get("Tags", [])),
        "groups": sorted(g["GroupId"] for n in instance["NetworkInterfaces"] for g in n["Groups"]),
        "protected": protected["DisableApiTermination"]["Value"],
        "snapshots": len(
            ec2.describe_snapshots(
                OwnerIds=["self"],
                Filters=[
                    {"Name": "volume-id", "Values": [m["Ebs"]["VolumeId"] for m in instance["BlockDeviceMappings"]]}
                ],
            )["Snapshots"]
        ),
    }


def swapped(app, case: dict, quarantined: list[str]) -> None:
    """The case closed after isolating `quarantined` and swapping the fleet onto fresh instances of the live AMI."""
    assert case["status"] == "swapped"
    assert sorted(case["isolated"]) == sorted(quarantined)
    status = app.status()
    assert status["weights"] == {"blue": 0, "green": 100}
    assert status["live"]["ami_id"] == app.seeded.base_ami
    assert app.groups() == [case["swap"]["green_asg"]]
    emergency = app.releases()[0]
    assert (emergency["source"], emergency["status"], emergency["release_id"]) == (
        "quarantine",
        "succeeded",
        case["swap"]["release_id"],
    )
    item = case_item(app, case["case_id"])
    assert item["status"] == "swapped"
    assert item["event_time"] and item["opened_at"] <= item["isolated_at"] <= item["swapped_at"]
    for instance_id in quarantined:
        # I5, after the compromised group was drained and deleted: the quarantined instances survive, isolated
        assert check_quarantine(app.aws, instance_id, app.seeded.isolation_sg, case["case_id"]) == []
        assert item["instances"][instance_id]["status"] == "isolated"
    assert ops.state_table.get(app.name, "CASE", ops.table(app.aws)) is None


def cli(app, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    return subprocess.run(
        [BLUEGREEN, *args, "--endpoint-url", app.endpoint, "--region", REGION],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- from each trigger ---------------------------------------------------------------------------------------------


def test_a_guardduty_finding_isolates_the_instance_and_swaps_the_fleet(app) -> None:
    app.subscribe()
    victim = fleet(app)[0]
    # When GuardDuty reports a high-severity finding on one instance of the live fleet
    put_finding(app, victim)
    execution = app.wait(quarantine_for(app, victim))
    # Then the execution succeeds: the instance is quarantined and the fleet swapped onto fresh instances
    assert execution.status == "SUCCEEDED", execution.cause
    case = execution.output["case"]
    swapped(app, case, [victim])
    item = case_item(app, case["case_id"])
    assert item["source"] == "guardduty"
    assert item["triggers"][0]["finding_type"] == "Backdoor:EC2/C&CActivity.B!DNS"
    record = item["instances"][victim]
    assert record["metadata"]["auto_scaling_group"] == app.seeded.blue_asg
    assert record["seconds_from_event"] is not None
    # And responders were told when it was isolated and when the case closed, and the history shows the case
    subjects = [n["subject"] for n in app.notifications() if n.get("case_id") == case["case_id"]]
    assert any("isolated" in s for s in subjects) and any("swapped" in s for s in subjects)
    history = ops.history(app.aws, app.name)
    assert [h.get("kind", "release") for h in history][:2] == ["release", "case"]
    assert f"isolated {victim}" in ops.history_detail(history[1])


@pytest.mark.parametrize(
    "app", [{"traffic": {"steps": [50, 100], "bake_seconds": 600, "alarm_names": []}}], indirect=True
)
def test_a_finding_during_a_release_aborts_the_release_first(app) -> None:
    # Given a release halfway through its traffic shift, baking at 50 %
    ami = app.publish_ami()
    release = app.start(ami)
    app.wait_for_phase("ShiftTraffic")
    victim = fleet(app)[0]
    # When a finding names an instance of the live fleet
    put_finding(app, victim)
    quarantine = app.wait(quarantine_for(app, victim))
    # Then the release was aborted and rolled back before the swap
    aborted = app.wait(release)
    assert (aborted.status, aborted.error) == ("FAILED", "ReleaseAbortedError")
    assert "quarantine case" in aborted.cause
    assert quarantine.status == "SUCCEEDED", quarantine.cause
    case = quarantine.output["case"]
    aborted_id = next(r["release_id"] for r in app.releases() if r["ami_id"] == ami)
    assert case["preempt"]["aborted"] == [aborted_id]
    # And the swap put the known-good (live, not the aborted) AMI onto fresh instances
    swapped(app, case, [victim])
    records = {r["release_id"]: r for r in app.releases()}
    assert records[case["swap"]["release_id"]]["ami_id"] == app.seeded.base_ami
    assert [r["status"] for r in records.values() if r["ami_id"] == ami] == ["rolled_back"]


@pytest.mark.parametrize("app", [{"approval": {"before_traffic": True}}], indirect=True)
def test_a_queued_release_is_held_back_until_the_swap_is_done(app) -> None:
    # Given a release waiting for approval and a newer AMI queued behind it
    first, second = app.publish_ami(), app.publish_ami()
    release = app.start(first)
    app.wait_for_phase("AwaitingApproval")
    queued = app.start(second)
    assert app.wait(queued).output["release"]["outcome"] == "Queued"
    # When a finding arrives
    victim = fleet(app)[0]
    put_finding(app, victim)
    quarantine = app.wait(quarantine_for(app, victim))
    # Then the release in flight rolled back, the swap ran (no approval: emergency), and only then did the queued AMI
    # start, as a normal release (which waits for its approval)
    assert app.wait(release).error == "ReleaseAbortedError"
    assert quarantine.status == "SUCCEEDED", quarantine.cause
    case = quarantine.output["case"]
    assert case["preempt"]["deferred_ami"] == second
    deferred = app.wait_until(
        lambda: [a for a in app.executions_for(second) if a != queued], 10, "the held-back release"
    )
    app.wait_for_phase("AwaitingApproval")
    app.approve()
    assert app.wait(deferred[0]).status == "SUCCEEDED"
    releases = app.releases()
    assert [(r["ami_id"], r["source"], r["status"]) for r in releases[:2]] == [
        (second, "queue", "succeeded"),
        (app.seeded.base_ami, "quarantine", "succeeded"),
    ]
    assert case_item(app, case["case_id"])["deferred_release"] == deferred[0]
    assert check_quarantine(app.aws, victim, app.seeded.isolation_sg, case["case_id"]) == []


@pytest.mark.parametrize("app", [{"approval": {"before_traffic": True}}], indirect=True)
def test_a_release_waiting_for_approval_is_rejected_at_once(app) -> None:
    # Given a release waiting at its approval gate (it reads no abort flag until it is answered)
    ami = app.publish_ami()
    release = app.start(ami)
    app.wait_for_phase("AwaitingApproval")
    victim = fleet(app)[0]
    # When a finding names an instance of the live fleet
    put_finding(app, victim)
    # Then the quarantine answers the gate with a failure, the release rolls back, and the swap follows
    aborted = app.wait(release)
    assert (aborted.status, aborted.error) == ("FAILED", "ReleaseAbortedError")
    quarantine = app.wait(quarantine_for(app, victim))
    assert quarantine.status == "SUCCEEDED", quarantine.cause
    swapped(app, quarantine.output["case"], [victim])


def test_an_instance_with_two_interfaces_is_isolated_on_both_by_the_cli(app) -> None:
    # Given an instance with a second network interface
    ec2 = app.aws.client("ec2")
    victim = fleet(app)[1]
    second = ec2.create_network_interface(SubnetId=app.seeded.subnets[1])["NetworkInterface"]["NetworkInterfaceId"]
    ec2.attach_network_interface(NetworkInterfaceId=second, InstanceId=victim, DeviceIndex=1)
    # When a responder quarantines it by hand
    done = cli(app, "quarantine", victim, "--reason", "outbound SSH to an unknown host", "--wait")
    # Then both interfaces hold only the isolation group, and the fleet is swapped
    assert done.returncode == 0, done.stderr
    assert "swapped" in done.stdout and victim in done.stdout
    arn = quarantines(app, victim)[0]
    case = ops.describe(app.aws, arn).output["case"]
    swapped(app, case, [victim])
    interfaces = ec2.describe_network_interfaces(Filters=[{"Name": "attachment.instance-id", "Values": [victim]}])
    assert {i["NetworkInterfaceId"] for i in interfaces["NetworkInterfaces"]} >= {second}
    assert all(
        [g["GroupId"] for g in i["Groups"]] == [app.seeded.isolation_sg] for i in interfaces["NetworkInterfaces"]
    )
    assert case_item(app, case["case_id"])["reason"] == "outbound SSH to an unknown host"


def test_an_instance_in_a_group_at_its_minimum_gets_a_replacement(app) -> None:
    # Given the live group at its minimum size
    asg = app.aws.client("autoscaling")
    group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[app.seeded.blue_asg])["AutoScalingGroups"][0]
    assert group["MinSize"] == group["DesiredCapacity"] == len(group["Instances"]) == 3
    victim = group["Instances"][0]["InstanceId"]
    # When a finding names one of its instances
    put_finding(app, victim)
    arn = quarantine_for(app, victim)
    # Then, once it is isolated (and before the swap deletes the group), the group is whole again without it
    app.wait_until(lambda: instance_state(app, victim)["protected"] and victim not in fleet(app), 15, "detached")
    group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[app.seeded.blue_asg])["AutoScalingGroups"]
    if group:  # the swap may already have deleted it
        assert group[0]["DesiredCapacity"] == 3
    execution = app.wait(arn)
    assert execution.status == "SUCCEEDED", execution.cause
    swapped(app, execution.output["case"], [victim])


def test_a_security_alarm_on_an_instance_quarantines_it(app) -> None:
    # Given a security alarm on one instance's outbound traffic
    victim = fleet(app)[2]
    name = security_alarm(app.aws, f"bluegreen-security-{app.name}-egress-{victim}", instance_id=victim)
    # When it goes into ALARM (CloudWatch sends the state change to EventBridge)
    app.aws.client("cloudwatch").set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="egress 9 GB")
    execution = app.wait(quarantine_for(app, name))
    # Then that instance is quarantined and the fleet swapped
    assert execution.status == "SUCCEEDED", execution.cause
    case = execution.output["case"]
    swapped(app, case, [victim])
    assert case_item(app, case["case_id"])["triggers"][0]["alarm_name"] == name


def test_a_security_alarm_on_the_group_quarantines_every_instance_in_it(app) -> None:
    suspects = fleet(app)
    name = security_alarm(app.aws, f"bluegreen-security-{app.name}-fleet", group_name=app.seeded.blue_asg)
    app.aws.client("cloudwatch").set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="fleet egress")
    execution = app.wait(quarantine_for(app, name))
    assert execution.status == "SUCCEEDED", execution.cause
    swapped(app, execution.output["case"], suspects)


def test_two_findings_for_one_app_make_one_case_and_one_swap(app) -> None:
    first, second = fleet(app)[:2]
    # When two findings arrive back to back
    put_finding(app, first)
    put_finding(app, second, finding_type="CryptoCurrency:EC2/BitcoinTool.B!DNS")
    executions = [app.wait(quarantine_for(app, first)), app.wait(quarantine_for(app, second))]
    # Then both succeed: one opened the case and swapped, the other joined it
    assert [e.status for e in executions] == ["SUCCEEDED", "SUCCEEDED"], [e.cause for e in executions]
    cases = [e.output["case"] for e in executions]
    assert cases[0]["case_id"] == cases[1]["case_id"]
    owner = next(c for c in cases if c["owner"])
    item = case_item(app, owner["case_id"])
    assert sorted(item["instances"]) == sorted([first, second])
    assert len(item["triggers"]) == 2
    assert [r["source"] for r in app.releases()] == ["quarantine"]  # one swap
    for instance_id in (first, second):
        assert check_quarantine(app.aws, instance_id, app.seeded.isolation_sg, owner["case_id"]) == []
    assert app.groups() == [owner["swap"]["green_asg"]]


def test_a_swap_that_fails_rolls_back_and_keeps_the_instance_isolated(app) -> None:
    app.subscribe()
    # Given a responder who names a known-good AMI that is in fact broken
    broken = app.publish_ami(broken=True)
    victim = fleet(app)[0]
    done = cli(app, "quarantine", app.name, victim, "--reason", "suspicious process", "--ami", broken, "--wait")
    # Then the quarantine fails with SwapFailedError naming the swap's own error, after the swap rolled back
    assert done.returncode == 1
    assert "SwapFailedError" in done.stderr and "SmokeTestFailedError" in done.stderr
    execution = ops.describe(app.aws, quarantines(app, victim)[0])
    assert (execution.status, execution.error) == ("FAILED", "SwapFailedError")
    case_id = next(h["case_id"] for h in ops.history(app.aws, app.name) if h.get("kind") == "case")
    item = case_item(app, case_id)
    assert item["status"] == "swap_failed" and "SmokeTestFailedError" in item["cause"]
    assert app.releases()[0]["status"] == "rolled_back"
    assert app.status()["weights"] == {"blue": 100, "green": 0}
    assert app.groups() == [app.seeded.blue_asg]
    # And the instance stays quarantined, the case is closed, and responders were told
    assert check_quarantine(app.aws, victim, app.seeded.isolation_sg, case_id) == []
    assert ops.state_table.get(app.name, "CASE", ops.table(app.aws)) is None
    assert any("FAILED" in n["subject"] for n in app.notifications() if n.get("case_id") == case_id)


# --- what is not quarantined ---------------------------------------------------------------------------------------


def test_an_unknown_instance_is_reported_and_left_alone(app) -> None:
    app.subscribe()
    ec2 = app.aws.client("ec2")
    image = ec2.describe_images(ImageIds=[app.seeded.base_ami])["Images"][0]["ImageId"]
    stranger = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=app.seeded.subnets[0])["Instances"][0]
    stranger_id = stranger["InstanceId"]
    before = instance_state(app, stranger_id)
    put_finding(app, stranger_id)
    execution = app.wait(quarantine_for(app, stranger_id))
    assert execution.status == "SUCCEEDED", execution.cause
    case = execution.output["case"]
    assert case["outcome"] == "Ignored"
    assert [s["resource"] for s in case["skipped"]] == [stranger_id]
    assert instance_state(app, stranger_id) == before
    assert app.groups() == [app.seeded.blue_asg]
    assert not [h for h in ops.history(app.aws, app.name) if h.get("kind") == "case"]


def test_a_sample_finding_changes_nothing(app) -> None:
    victim = fleet(app)[0]
    before = instance_state(app, victim)
    put_finding(app, victim, sample=True)
    execution = app.wait(quarantine_for(app, victim))
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output["case"]["outcome"] == "Ignored"
    assert "sample" in execution.output["case"]["reason"]
    assert instance_state(app, victim) == before
    assert fleet(app)[0] == victim and app.groups() == [app.seeded.blue_asg]


def test_a_low_severity_finding_starts_nothing(app) -> None:
    victim = fleet(app)[0]
    # The rule's numeric matcher keeps it from starting the state machine at all
    put_finding(app, victim, severity=2.0, finding_type="Recon:EC2/PortProbeUnprotectedPort")
    time.sleep(1)
    assert quarantines(app, victim) == []
    # And started by hand with the same event, ResolveCase ignores it as well
    entry = guardduty_event(victim, REGION, severity=2.0)
    event = {"version": "0", "id": "e-low", "detail-type": entry["DetailType"], "source": entry["Source"]}
    event |= {"account": "123456789012", "time": "2026-11-22T03:52:10Z", "region": REGION, "resources": []}
    event["detail"] = json.loads(entry["Detail"])
    started = app.aws.client("stepfunctions").start_execution(
        stateMachineArn=app.stack.outputs["QuarantineStateMachineArn"], input=json.dumps(event)
    )
    execution = app.wait(started["executionArn"])
    assert execution.output["case"]["outcome"] == "Ignored"
    assert "below the threshold" in execution.output["case"]["reason"]
    assert fleet(app)[0] == victim


def test_a_malformed_finding_fails_cleanly_and_changes_nothing(app) -> None:
    victim = fleet(app)[0]
    before = instance_state(app, victim)
    entry = guardduty_event(victim, REGION)
    detail = json.loads(entry["Detail"])
    detail["resource"]["instanceDetails"]["instanceId"] = "i-not-an-id"
    detail["resource"]["instanceDetails"]["note"] = victim  # to find the execution
    entry["Detail"] = json.dumps(detail)
    app.aws.client("events").put_events(Entries=[entry])
    execution = app.wait(quarantine_for(app, victim))
    assert (execution.status, execution.error) == ("FAILED", "TriggerInvalidError")
    assert "instanceId" in execution.cause
    assert instance_state(app, victim) == before
    assert fleet(app)[0] == victim and app.groups() == [app.seeded.blue_asg]
    assert ops.state_table.get(app.name, "CASE", ops.table(app.aws)) is None
