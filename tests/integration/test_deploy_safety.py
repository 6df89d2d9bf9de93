"""The release-safety fixes, at the handler level on moto: retried tasks, duplicate deliveries, the keep window."""

from __future__ import annotations

import json

import pytest
from orchestrator.adapters import state_table

from bluegreen.demo.seed import register_ami
from tests.integration.test_deploy_handlers import prepare, step


def _versions(world) -> list[int]:
    found = world.client("ec2").describe_launch_template_versions(
        LaunchTemplateId=world.app.config["launch_template_id"]
    )["LaunchTemplateVersions"]
    return sorted(v["VersionNumber"] for v in found)


def test_a_duplicate_delivery_during_the_release_is_a_duplicate_not_a_queued_release(world) -> None:
    # Given a release of an AMI in flight, its claim not yet written (the two deliveries raced)
    ami = register_ami(world.aws, "shop-v2", app="shop")
    first = prepare({"app": "shop", "ami_id": ami})
    state_table.table().delete_item(Key={"pk": "APP#shop", "sk": f"AMI#{ami}"})

    # When the same AMI arrives again
    second = prepare({"app": "shop", "ami_id": ami}, "arn:2")

    # Then it is a duplicate, and nothing is queued to run it a second time
    assert second["outcome"] == "Duplicate"
    assert first["release_id"] in second["reason"]
    assert state_table.get("shop", "QUEUE") is None


def test_a_retried_create_green_reuses_its_launch_template_version(world) -> None:
    # Given green created, then the task retried with its original input (its first answer was lost)
    release = prepare({"app": "shop", "ami_id": register_ami(world.aws, "shop-v2", app="shop")})
    first = step("create_green_group", release)
    before = _versions(world)

    # When it runs again
    again = step("create_green_group", release)

    # Then it made no second version and uses the first
    assert _versions(world) == before
    assert again["lt_version"] == first["lt_version"]


def test_the_keep_window_is_polled_and_ends_on_time(world) -> None:
    # Given a release with traffic all on green and a keep window
    release = step("create_green_group", prepare({"app": "shop", "ami_id": register_ami(world.aws, "shop-v2", "shop")}))
    release["waits"]["keep_seconds"] = 3_600

    # When the window is opened, Then it is not over, and each later poll keeps its end
    opened = step("hold_keep_window", release)
    assert (opened["keep_window_over"], opened["keep_until"]) == (False, state_table.get("shop", "LOCK")["keep_until"])
    assert step("hold_keep_window", opened)["keep_until"] == opened["keep_until"]

    # When an operator rolls back during the window, Then the next poll says so at once
    state_table.flag_lock("shop", "rollback_requested", True)
    with pytest.raises(Exception) as raised:
        step("hold_keep_window", opened)
    assert type(raised.value).__name__ == "OperatorRollbackError"


def test_record_failure_run_twice_tells_people_once(world) -> None:
    # Given a subscriber to the topic, and a release rolled back
    sqs = world.client("sqs")
    queue = sqs.create_queue(QueueName="told")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    world.client("sns").subscribe(TopicArn=world.topic, Protocol="sqs", Endpoint=arn)
    release = step("create_green_group", prepare({"app": "shop", "ami_id": register_ami(world.aws, "shop-v2", "shop")}))
    error = {"Error": "SmokeTestFailedError", "Cause": "status 500"}
    release = step("remove_failed_group", step("rollback_traffic", release, error=error), error=error)

    # When the last rollback task runs twice (its first answer was lost)
    for _ in range(2):
        step("record_failure", release, error=error)

    # Then the failure is recorded, and one notification went out
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(json.loads(m["Body"])["Message"])["status"] for m in messages] == ["rolled_back"]


def test_a_failure_after_the_commit_finishes_forward(world) -> None:
    # Given a release committed (green live, blue scaled in)
    release = step("create_green_group", prepare({"app": "shop", "ami_id": register_ami(world.aws, "shop-v2", "shop")}))
    release = step("commit_release", release)
    error = {"Error": "Sandbox.Timedout", "Cause": "Task timed out"}

    # When a later task fails and the rollback tasks run
    release = step("rollback_traffic", release, error=error)
    release = step("remove_failed_group", release, error=error)
    release = step("record_failure", release, error=error)

    # Then green stays live, blue is gone, and the release is recorded as succeeded, finished forward
    groups = world.client("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]
    assert [g["AutoScalingGroupName"] for g in groups] == [release["green_asg"]]
    record = state_table.get("shop", f"RELEASE#{release['release_id']}")
    assert (record["status"], record["error"], record["finished_forward"]) == ("succeeded", "Sandbox.Timedout", True)
    assert state_table.get("shop", f"AMI#{release['ami_id']}")["status"] == "live"
