"""Each deploy handler against moto, in-process: parse the event, call the domain, return JSON."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest
from orchestrator.adapters import state_table
from orchestrator.handlers import deploy as handlers

from bluegreen.demo.seed import ami_event, register_ami

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:deploy:one"
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:deploy"


@dataclass
class Context:
    """The attributes of the Lambda context that Powertools reads."""

    function_name: str = "test"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test"
    memory_limit_in_mb: int = 256
    aws_request_id: str = "req-1"
    log_group_name: str = "/aws/lambda/test"
    log_stream_name: str = "stream"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def prepare(raw: dict, execution: str = EXECUTION) -> dict:
    event = {"input": raw, "execution_arn": execution, "state_machine_arn": MACHINE}
    return handlers.prepare_release(event, Context())


def event_for(ami: str, region: str = "us-east-1", state: str = "available") -> dict:
    entry = ami_event(ami, region, state)
    import json

    return {
        "version": "0",
        "id": "e-1",
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "region": region,
        "resources": entry["Resources"],
        "detail": json.loads(entry["Detail"]),
    }


def step(name: str, release: dict, **extra: object) -> dict:
    return getattr(handlers, name)({"release": release, **extra}, Context())


def test_handlers_carry_a_release_from_event_to_live(world) -> None:
    # Given a new AMI tagged for the seeded app
    ami = register_ami(world.aws, "shop-v2", app="shop")
    # When the handlers run in the order of the state machine
    settling = prepare(event_for(ami))
    assert settling["outcome"] == "Settling" and settling["matched_by"] == "tag bluegreen:app=shop"
    # (back from WaitForAmiToSettle: the AMI is looked at again before anything starts)
    release = prepare({**event_for(ami), "release": settling})
    assert release["outcome"] == "Proceed"
    assert release["idle_slot"] == "green"
    release = step("create_green_group", release)
    release = step("check_green_health", release)
    assert release["health"]["healthy"]
    world.app.config["smoke_tests"] = []
    while True:
        release = step("shift_traffic", release)
        release = step("check_dns_change", release)
        release = step("check_alarms", release)
        if release["traffic"]["done"]:
            break
    for name in ("hold_keep_window", "commit_release", "check_old_drained", "delete_old_group", "complete_release"):
        release = step(name, release)
    # Then green is live, alone, with all the traffic and the lock free
    assert release["weights"] == {"green": 100, "blue": 0}
    assert state_table.get("shop", "LIVE")["ami_id"] == ami
    assert state_table.get("shop", "LOCK") is None
    groups = world.client("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]
    assert [g["AutoScalingGroupName"] for g in groups] == [release["green_asg"]]


def test_pending_and_foreign_region_amis_are_ignored_quietly(world) -> None:
    untagged = register_ami(world.aws, "base-v2", app=None)
    assert prepare(event_for(untagged, state="pending"))["outcome"] == "Ignored"
    assert prepare(event_for(untagged, region="eu-west-1"))["outcome"] == "Ignored"
    assert state_table.get("shop", "LOCK") is None


def test_an_untagged_ami_is_looked_at_again_until_its_deadline_then_ignored(world) -> None:
    # Given an AMI event that arrived before its AMI's bluegreen:app tag (as Packer tags after `available`)
    untagged = register_ami(world.aws, "base-v2", app=None)
    # When Prepare runs, Then it waits for the tag, with a deadline
    first = prepare(event_for(untagged))
    assert first["outcome"] == "Settling" and first["settle_until"]
    # And back from the wait with the deadline passed, it ignores the AMI, having changed nothing
    expired = {**first, "settle_until": "2000-01-01T00:00:00+00:00"}
    assert prepare({**event_for(untagged), "release": expired})["outcome"] == "Ignored"
    assert state_table.get("shop", "LOCK") is None


def test_a_tag_that_arrives_while_waiting_starts_the_release(world) -> None:
    late = register_ami(world.aws, "shop-v2", app=None)
    waiting = prepare(event_for(late))
    # When the tag arrives before the deadline
    world.client("ec2").create_tags(Resources=[late], Tags=[{"Key": "bluegreen:app", "Value": "shop"}])
    # Then the next look releases it
    assert prepare({**event_for(late), "release": waiting})["outcome"] == "Proceed"


def test_an_ami_deregistered_while_waiting_for_its_tag_is_ignored(world) -> None:
    temporary = register_ami(world.aws, "packer-tmp", app=None)
    waiting = prepare(event_for(temporary))
    world.client("ec2").deregister_image(ImageId=temporary)
    assert prepare({**event_for(temporary), "release": waiting})["outcome"] == "Ignored"


def test_the_live_ami_is_already_live(world) -> None:
    release = prepare({"app": "shop", "ami_id": world.app.base_ami})
    assert release["outcome"] == "AlreadyLive"


def test_a_second_ami_is_queued_and_the_newest_wins(world) -> None:
    first, second, third = (register_ami(world.aws, f"shop-v{n}", app="shop") for n in (2, 3, 4))
    built(world, second, "2026-11-20T10:00:00.000Z")
    built(world, third, "2026-11-21T10:00:00.000Z")
    assert prepare({"app": "shop", "ami_id": first})["outcome"] == "Proceed"
    assert prepare({"app": "shop", "ami_id": second}, "arn:2")["outcome"] == "Queued"
    assert prepare({"app": "shop", "ami_id": third}, "arn:3")["outcome"] == "Queued"
    assert state_table.get("shop", "QUEUE")["ami_id"] == third
    # And the one it replaced is on record as superseded by it
    superseded = state_table.history("shop", "SUPERSEDED#")
    assert [(h["ami_id"], h["superseded_by"]) for h in superseded] == [(second, third)]


def test_an_older_build_never_replaces_a_newer_one_in_the_queue(world) -> None:
    first, older, newer = (register_ami(world.aws, f"shop-v{n}", app="shop") for n in (2, 3, 4))
    built(world, older, "2026-11-20T10:00:00.000Z")
    built(world, newer, "2026-11-21T10:00:00.000Z")
    assert prepare({"app": "shop", "ami_id": first})["outcome"] == "Proceed"
    assert prepare({"app": "shop", "ami_id": newer}, "arn:2")["outcome"] == "Queued"
    assert prepare({"app": "shop", "ami_id": older}, "arn:3")["outcome"] == "Superseded"
    assert state_table.get("shop", "QUEUE")["ami_id"] == newer


def built(world, ami_id: str, when: str) -> None:
    """Give an AMI the build time EC2 would report (moto dates each to the second it was made)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ec2.models import ec2_backends

    ec2_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].amis[ami_id].creation_date = datetime.fromisoformat(when)


def test_the_same_ami_is_never_released_twice(world) -> None:
    ami = register_ami(world.aws, "shop-v2", app="shop")
    first = prepare({"app": "shop", "ami_id": ami})
    assert first["outcome"] == "Proceed"
    state_table.release_lock("shop", first["release_id"])
    assert prepare({"app": "shop", "ami_id": ami}, "arn:2")["outcome"] == "Duplicate"


def test_a_dry_run_plans_and_changes_nothing(world) -> None:
    ami = register_ami(world.aws, "shop-v2", app="shop")
    before = world.client("ec2").describe_launch_template_versions(
        LaunchTemplateId=world.app.config["launch_template_id"]
    )["LaunchTemplateVersions"]
    release = prepare({"app": "shop", "ami_id": ami, "dry_run": True})
    assert release["outcome"] == "DryRun"
    assert {i["what"] for i in release["clone_plan"]["adjusted"]} >= {"LaunchTemplate", "TargetGroupARNs"}
    after = world.client("ec2").describe_launch_template_versions(
        LaunchTemplateId=world.app.config["launch_template_id"]
    )["LaunchTemplateVersions"]
    assert len(after) == len(before)
    assert state_table.get("shop", "LOCK") is None
    assert state_table.get("shop", f"AMI#{ami}") is None


def test_rollback_after_green_was_created_removes_it_and_its_version(world) -> None:
    # Given a green group created for a release
    ami = register_ami(world.aws, "shop-v2", app="shop")
    release = step("create_green_group", prepare({"app": "shop", "ami_id": ami}))
    error = {"Error": "SmokeTestFailedError", "Cause": '{"errorMessage": "GET /health: status 500"}'}
    # When the rollback tasks run
    release = step("rollback_traffic", release, error=error)
    assert release["rollback_drain_seconds"] == 0  # green never took traffic
    release = step("remove_failed_group", release, error=error)
    step("record_failure", release, error=error)
    # Then only blue is left, the version is gone, the lock is free, and the failure is recorded
    groups = world.client("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]
    assert [g["AutoScalingGroupName"] for g in groups] == [world.app.blue_asg]
    versions = world.client("ec2").describe_launch_template_versions(
        LaunchTemplateId=world.app.config["launch_template_id"]
    )["LaunchTemplateVersions"]
    assert release["lt_version"] not in [v["VersionNumber"] for v in versions]
    assert state_table.get("shop", "LOCK") is None
    record = state_table.get("shop", f"RELEASE#{release['release_id']}")
    assert (record["status"], record["error"], record["cause"]) == (
        "rolled_back",
        "SmokeTestFailedError",
        "GET /health: status 500",
    )


def test_rollback_runs_twice_without_harm(world) -> None:
    ami = register_ami(world.aws, "shop-v2", app="shop")
    release = step("create_green_group", prepare({"app": "shop", "ami_id": ami}))
    error = {"Error": "States.Timeout", "Cause": "timed out"}
    for _ in range(2):
        again = step("rollback_traffic", release, error=error)
        again = step("remove_failed_group", again, error=error)
        assert again["old_gone"]
    groups = world.client("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]
    assert [g["AutoScalingGroupName"] for g in groups] == [world.app.blue_asg]


@pytest.mark.parametrize("flag", ["abort_requested", "rollback_requested"])
def test_every_gate_honours_abort_and_rollback_requests(world, flag: str) -> None:
    ami = register_ami(world.aws, "shop-v2", app="shop")
    release = step("create_green_group", prepare({"app": "shop", "ami_id": ami}))
    state_table.flag_lock("shop", flag, "operator said so")
    # A healthy green goes straight on (its health poll writes nothing): the smoke tests' gate is the next one, after
    # the smoke requests (none here: they would fail first, on this world's closed port)
    release = step("check_green_health", release)
    assert release["health"]["healthy"]
    release["config"]["smoke_tests"] = []
    with pytest.raises(Exception) as raised:
        step("run_smoke_tests", release)
    assert type(raised.value).__name__ in ("ReleaseAbortedError", "OperatorRollbackError")


def test_a_launch_template_version_aws_keeps_is_reported_not_ignored(world) -> None:
    # Given a green group created for a release, whose launch template version someone made the default
    ami = register_ami(world.aws, "shop-v2", app="shop")
    release = step("create_green_group", prepare({"app": "shop", "ami_id": ami}))
    world.client("ec2").modify_launch_template(
        LaunchTemplateId=world.app.config["launch_template_id"], DefaultVersion=str(release["lt_version"])
    )
    # When the release rolls back
    error = {"Error": "SmokeTestFailedError", "Cause": "status 500"}
    release = step("rollback_traffic", release, error=error)
    release = step("remove_failed_group", release, error=error)
    # Then green is gone, and the version DeleteLaunchTemplateVersions refused (in its body) is said to be kept
    assert release["old_gone"] is True
    assert f"launch template version {release['lt_version']} kept: launchTemplateVersionIsDefault" in release["reason"]


def test_a_traffic_step_passes_its_own_gate_unless_a_passing_alarm_check_gated_just_before(world) -> None:
    # Given a release that shifted its first step and passed the alarm check after it
    ami = register_ami(world.aws, "shop-v2", app="shop")
    release = step("create_green_group", prepare({"app": "shop", "ami_id": ami}))
    release = step("check_alarms", step("check_dns_change", step("shift_traffic", release)))
    assert release["traffic"]["verdict"] == "ok" and release["step_index"] == 1
    # When an abort arrives at once: the next step is fenced by that check's gate, and reads nothing more
    state_table.flag_lock("shop", "abort_requested", "operator said so")
    shifted = step("shift_traffic", release)
    assert shifted["step_index"] == 2
    # Then a step that a human approved (the canary judge asked) passes its own gate, and the abort stops it
    approved = {**release, "traffic": {**release["traffic"], "verdict": "approve"}}
    with pytest.raises(Exception) as raised:
        step("shift_traffic", approved)
    assert type(raised.value).__name__ == "ReleaseAbortedError"
