"""The quarantine handlers against moto, in-process: resolve, isolate (I5), merge cases, preempt, close."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from orchestrator.adapters import state_table
from orchestrator.errors import DetachBlockedError, IsolationIncompleteError
from orchestrator.handlers import quarantine as handlers

from bluegreen.demo.seed import guardduty_event
from bluegreen.proof.invariants import check_quarantine
from bluegreen.twin.autoscaling_detach_validation import set_instance_lifecycle
from tests.integration.conftest import QUARANTINE_PROFILE
from tests.integration.test_deploy_handlers import Context

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:quarantine:one"
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:quarantine"
EVENTS = Path(__file__).resolve().parents[2] / "events"


def finding(instance_id: str, **options: object) -> dict:
    entry = guardduty_event(instance_id, "us-east-1", **options)  # type: ignore[arg-type]
    return {
        "version": "0",
        "id": "e-1",
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "time": "2026-11-22T03:52:10Z",
        "region": "us-east-1",
        "resources": [],
        "detail": json.loads(entry["Detail"]),
    }


def resolve(raw: object, execution: str = EXECUTION) -> dict:
    event = {
        "input": raw,
        "execution_arn": execution,
        "state_machine_arn": MACHINE,
        "min_severity": "7",
        "alarm_prefix": "bluegreen-security-",
        "quarantine_profile_arn": f"arn:aws:iam::123456789012:instance-profile/{QUARANTINE_PROFILE}",
    }
    return handlers.resolve_case(event, Context())


def step(name: str, case: dict, **extra: object) -> dict:
    return getattr(handlers, name)({"case": case, **extra}, Context())


def own_groups(world) -> dict[str, str]:
    """bluegreen's own quarantine groups in the app's VPC, by kind (untracking, isolation)."""
    found = world.client("ec2").describe_security_groups(
        Filters=[
            {"Name": "vpc-id", "Values": [world.app.vpc_id]},
            {"Name": "tag-key", "Values": ["bluegreen:quarantine-group"]},
        ]
    )["SecurityGroups"]
    return {
        next(t["Value"] for t in g["Tags"] if t["Key"] == "bluegreen:quarantine-group"): g["GroupId"] for g in found
    }


def fleet(world) -> list[str]:
    group = world.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[world.app.blue_asg])
    return [i["InstanceId"] for i in group["AutoScalingGroups"][0]["Instances"]]


def test_isolation_follows_the_spec_on_an_instance_with_two_interfaces(world) -> None:
    # Given a fleet at its minimum size, and an instance of it with a second network interface
    ec2, asg = world.client("ec2"), world.client("autoscaling")
    before = fleet(world)
    victim = before[0]
    second = ec2.create_network_interface(SubnetId=world.app.subnets[1])["NetworkInterface"]["NetworkInterfaceId"]
    ec2.attach_network_interface(NetworkInterfaceId=second, InstanceId=victim, DeviceIndex=1)
    # When a finding on it is resolved and the instance isolated
    case = resolve(finding(victim))
    assert (case["outcome"], case["app"], case["owner"], case["instance_ids"]) == ("Proceed", "shop", True, [victim])
    case = step("isolate_instances", case)
    # Then I5 holds: out of the group and every target group, only the isolation group on both interfaces,
    # termination protection on, its volume snapshotted with the case id, still running
    assert check_quarantine(world.aws, victim, world.app.isolation_sg, case["case_id"]) == []
    assert case["status"] == "isolated" and case["isolated"] == [victim]
    # And the group launched a replacement: its desired capacity is unchanged even though it was at its minimum
    group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[world.app.blue_asg])["AutoScalingGroups"][0]
    assert group["DesiredCapacity"] == group["MinSize"] == 3
    assert len(group["Instances"]) == 3 and victim not in fleet(world)
    # And the case records what the instance looked like before isolation
    record = state_table.get("shop", f"CASE#{case['case_id']}")["instances"][victim]
    metadata = record["metadata"]
    assert metadata["auto_scaling_group"] == world.app.blue_asg
    assert record["steps"]["deregister"]["target_groups"] == [world.app.target_groups["blue"]]
    assert {n["id"] for n in metadata["network_interfaces"]} >= {second}
    assert all(world.app.isolation_sg not in n["groups"] for n in metadata["network_interfaces"])
    assert metadata["tags"]["bluegreen:app"] == "shop"
    assert record["status"] == "isolated" and len(record["snapshots"]) == len(metadata["volumes"]) == 1


def test_isolating_again_changes_nothing_more(world) -> None:
    # Given an isolated instance, which had an Elastic IP
    victim = fleet(world)[0]
    ec2 = world.client("ec2")
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.associate_address(AllocationId=allocation, InstanceId=victim)
    case = step("isolate_instances", resolve(finding(victim)))
    snapshots = ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]
    # When the isolation task runs again (a retry)
    again = step("isolate_instances", case)
    # Then it succeeds, takes no second snapshot and keeps the first metadata
    assert again["isolated"] == [victim]
    assert len(ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]) == len(snapshots)
    record = state_table.get("shop", f"CASE#{case['case_id']}")["instances"][victim]
    assert record["metadata"]["auto_scaling_group"] == world.app.blue_asg
    assert check_quarantine(world.aws, victim, world.app.isolation_sg, case["case_id"]) == []
    # And the Elastic IP the first attempt took stays on record (release-instance gives it back)
    taken = record["steps"]["disassociate_addresses"]["addresses"]
    assert [a["allocation_id"] for a in taken] == [allocation]


def test_two_findings_for_one_app_make_one_case(world) -> None:
    first, second = fleet(world)[:2]
    # When two findings arrive for two instances of one app
    opened = resolve(finding(first), "arn:aws:states:us-east-1:123456789012:execution:quarantine:a")
    joined = resolve(finding(second, finding_type="CryptoCurrency:EC2/BitcoinTool.B!DNS"))
    # Then the second joins the first's case and will not swap
    assert opened["owner"] is True and joined["owner"] is False
    assert joined["case_id"] == opened["case_id"]
    step("isolate_instances", opened)
    step("isolate_instances", joined)
    item = state_table.get("shop", f"CASE#{opened['case_id']}")
    assert sorted(item["instances"]) == sorted([first, second])
    assert [t["finding_type"] for t in item["triggers"]] == [
        "Backdoor:EC2/C&CActivity.B!DNS",
        "CryptoCurrency:EC2/BitcoinTool.B!DNS",
    ]
    # And a repeated finding on an instance already quarantined touches nothing
    repeat = resolve(finding(first))
    assert repeat["outcome"] == "Ignored"
    assert "already quarantined" in repeat["skipped"][0]["reason"]


def test_unknown_instances_are_reported_and_left_alone(world) -> None:
    # Given an instance in no app's group and without the app tag
    ec2 = world.client("ec2")
    image = "ami-12c6146b"  # a stock Amazon image moto knows (listing them all costs a second)
    stranger = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=world.app.subnets[0])["Instances"][0]
    # When a finding names it
    case = resolve(finding(stranger["InstanceId"]))
    # Then nothing is quarantined, the instance is reported, and it is unchanged
    assert case["outcome"] == "Ignored"
    assert case["skipped"][0]["resource"] == stranger["InstanceId"]
    assert "unknown" in case["skipped"][0]["reason"]
    attribute = ec2.describe_instance_attribute(InstanceId=stranger["InstanceId"], Attribute="disableApiTermination")
    assert attribute["DisableApiTermination"]["Value"] is False
    assert state_table.get("shop", "CASE") is None


def test_an_isolation_group_that_does_not_exist_fails_the_case_but_the_instance_is_isolated_all_the_same(world) -> None:
    # Given an app whose configured isolation group does not exist (deleted since the config was stored)
    victim = fleet(world)[0]
    case = resolve(finding(victim))
    case["isolation_group"] = "sg-0123456789abcdef0"
    # When its instance is isolated
    with pytest.raises(
        IsolationIncompleteError, match=re.escape("quarantine.security_group_id: sg-0123456789abcdef0 does not")
    ):
        step("isolate_instances", case)
    # Then the case does not say it succeeded, but the network was isolated with bluegreen's own group of the VPC,
    # and every other step was still done
    record = state_table.get("shop", f"CASE#{case['case_id']}")["instances"][victim]
    assert record["status"] == "failed"
    network = record["steps"]["isolate_network"]
    assert network["ok"] is False and "bluegreen's own group used instead" in network["result"]
    own = own_groups(world)
    assert check_quarantine(world.aws, victim, own["isolation"], case["case_id"]) == []
    assert all(record["steps"][s]["ok"] for s in ("revoke_credentials", "protect", "detach", "deregister", "snapshot"))


def test_preempt_aborts_the_release_in_flight_and_holds_back_the_queue(world) -> None:
    victim = fleet(world)[0]
    case = step("isolate_instances", resolve(finding(victim)))
    # Given a release in flight and another queued
    state_table.put("shop", "LOCK", {"release_id": "r-1", "phase": "Bake", "execution_arn": "x", "expires_at": 10**10})
    state_table.put("shop", "QUEUE", {"ami_id": "ami-12345678", "queued_at": 1, "source": "event"})
    # When the quarantine preempts
    case = step("preempt_release", case)
    # Then the release is asked to abort, the queued AMI is held back, and the lock is not free yet
    assert case["preempt"]["lock_free"] is False
    assert case["preempt"]["aborted"] == ["r-1"]
    assert case["preempt"]["deferred_ami"] == "ami-12345678"
    assert "quarantine case" in state_table.get("shop", "LOCK")["abort_requested"]
    assert state_table.get("shop", "QUEUE") is None
    # When the release has rolled back and freed the lock
    state_table.release_lock("shop", "r-1")
    case = step("preempt_release", case)
    # Then the swap may start, onto the live group's AMI
    assert case["preempt"]["lock_free"] is True
    assert case["swap"]["ami_id"] == world.app.base_ami
    assert case["status"] == "swapping"


def test_a_swap_queued_behind_another_release_goes_round_again(world) -> None:
    case = step("isolate_instances", resolve(finding(fleet(world)[0])))
    case = step("preempt_release", case)
    swap = {"execution_arn": "x", "status": "SUCCEEDED", "release": {"outcome": "Queued"}}
    again = step("close_case", case, swap_execution=swap, deploy_state_machine_arn="arn:aws:states:::deploy")
    assert again["status"] == "requeued" and again["preempt"]["lock_free"] is False
    assert state_table.get("shop", "CASE")["case_id"] == case["case_id"]  # still open


def test_closing_records_the_swap_and_frees_the_case(world) -> None:
    case = step("preempt_release", step("isolate_instances", resolve(finding(fleet(world)[0]))))
    swap = {
        "execution_arn": "arn:x",
        "status": "SUCCEEDED",
        "release": {"outcome": "Proceed", "release_id": "r-2", "green_asg": "shop-green-r-2"},
    }
    closed = step("close_case", case, swap_execution=swap, deploy_state_machine_arn="arn:aws:states:::deploy")
    assert closed["status"] == "swapped"
    item = state_table.get("shop", f"CASE#{case['case_id']}")
    assert item["status"] == "swapped" and item["swap"]["release_id"] == "r-2"
    assert item["opened_at"] <= item["isolated_at"] <= item["swapped_at"]
    assert state_table.get("shop", "CASE") is None
    # And the responders were told
    assert world.client("sns").list_topics()["Topics"]


def test_a_failed_swap_is_recorded_and_keeps_isolation(world) -> None:
    victim = fleet(world)[0]
    case = step("preempt_release", step("isolate_instances", resolve(finding(victim))))
    child = {"Status": "FAILED", "Error": "SmokeTestFailedError", "Cause": '{"errorMessage": "status 500"}'}
    error = {"Error": "States.TaskFailed", "Cause": json.dumps(child)}
    failed = step("record_case_failure", case, error=error)
    assert failed["error"] == "SwapFailedError"
    assert "SmokeTestFailedError: status 500" in failed["cause"]
    item = state_table.get("shop", f"CASE#{case['case_id']}")
    assert item["status"] == "swap_failed"
    assert state_table.get("shop", "CASE") is None
    assert check_quarantine(world.aws, victim, world.app.isolation_sg, case["case_id"]) == []


def test_a_launching_instance_waits_protected_from_scale_in_then_is_detached(world) -> None:
    # Given an instance the group is still launching, as it scales out
    asg = world.client("autoscaling")
    before = fleet(world)
    asg.set_desired_capacity(AutoScalingGroupName=world.app.blue_asg, DesiredCapacity=4)
    (victim,) = set(fleet(world)) - set(before)
    set_instance_lifecycle(victim, "Pending")
    # When it is isolated
    case = step("isolate_instances", resolve(finding(victim)))
    # Then it is contained but waits in its group, protected from scale-in
    assert (case["status"], case["awaiting_detach"]) == ("detaching", [victim])
    described = asg.describe_auto_scaling_instances(InstanceIds=[victim])["AutoScalingInstances"][0]
    assert described["ProtectedFromScaleIn"] is True
    record = state_table.get("shop", f"CASE#{case['case_id']}")["instances"][victim]
    assert record["status"] == "awaiting_detach" and record["contained_at"]
    # When it is still launching at the next poll, Then it keeps waiting
    case = step("detach_pending_instances", case)
    assert case["awaiting_detach"] == [victim]
    # When it is in service, Then it is detached (capacity kept) and taken out of its target groups
    set_instance_lifecycle(victim, "InService")
    case = step("detach_pending_instances", case)
    assert (case["awaiting_detach"], case["status"]) == ([], "isolated")
    assert check_quarantine(world.aws, victim, world.app.isolation_sg, case["case_id"]) == []
    record = state_table.get("shop", f"CASE#{case['case_id']}")["instances"][victim]
    assert record["status"] == "isolated" and record["steps"]["detach"]["ok"]


def test_a_launching_instance_past_the_deadline_blocks_the_swap(world) -> None:
    # Given a case waiting for an instance still launching, past its deadline
    asg = world.client("autoscaling")
    before = fleet(world)
    asg.set_desired_capacity(AutoScalingGroupName=world.app.blue_asg, DesiredCapacity=4)
    (victim,) = set(fleet(world)) - set(before)
    set_instance_lifecycle(victim, "Pending:Wait")
    case = step("isolate_instances", resolve(finding(victim)))
    case["detach_by"] = "2000-01-01T00:00:00+00:00"
    # When the case looks again, Then it refuses to go on to a swap that would delete the group with it inside
    with pytest.raises(DetachBlockedError, match=f"{victim}: waiting: Pending:Wait"):
        step("detach_pending_instances", case)
    assert victim in fleet(world)


def test_deleting_a_group_detaches_a_quarantined_instance_first_and_waits_for_one_still_launching(world) -> None:
    # Given a group with two quarantined instances left in it: one in service, one still launching
    from orchestrator.adapters import autoscaling

    asg, ec2 = world.client("autoscaling"), world.client("ec2")
    in_service, launching = fleet(world)[:2]
    ec2.create_tags(Resources=[in_service, launching], Tags=[{"Key": "bluegreen:quarantine", "Value": "c-1"}])
    set_instance_lifecycle(launching, "Pending")
    # When the group is to be deleted, Then it is not yet: the one in service was detached, the other is waited for
    assert autoscaling.delete_group(world.app.blue_asg) is False
    assert in_service not in fleet(world) and launching in fleet(world)
    # When the launching one is in service, Then it is detached too and the group deleted; neither was terminated
    set_instance_lifecycle(launching, "InService")
    assert autoscaling.delete_group(world.app.blue_asg) is True
    states = ec2.describe_instances(InstanceIds=[in_service, launching])["Reservations"]
    assert {i["State"]["Name"] for r in states for i in r["Instances"]} == {"running"}
    assert asg.describe_auto_scaling_groups(AutoScalingGroupNames=[world.app.blue_asg])["AutoScalingGroups"] == []


def test_a_role_whose_inline_policies_are_full_fails_the_deny_but_not_the_rest(world) -> None:
    # Given a fleet role whose inline policies leave no room for another deny
    iam = world.client("iam")
    padding = {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "x" * 9_950, "Effect": "Deny", "Action": "*", "Resource": "*"}],
    }
    iam.put_role_policy(RoleName="shop-fleet", PolicyName="big", PolicyDocument=json.dumps(padding))
    victim = fleet(world)[0]
    # When an instance of the fleet is isolated
    case = resolve(finding(victim))
    with pytest.raises(IsolationIncompleteError, match="role shop-fleet: its inline policies would pass IAM's 10,240"):
        step("isolate_instances", case)
    # Then the deny failed (the case says how to revoke the sessions), but the instance profile was replaced and
    # every other step done
    record = state_table.get("shop", f"CASE#{case['case_id']}")["instances"][victim]
    assert record["steps"]["revoke_credentials"]["ok"] is False
    profile = f"arn:aws:iam::123456789012:instance-profile/{QUARANTINE_PROFILE}"
    assert (
        check_quarantine(world.aws, victim, world.app.isolation_sg, case["case_id"], quarantine_profile=profile) == []
    )
