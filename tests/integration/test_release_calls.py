"""The calls a release no longer makes (issue 18), each pinned where it was saved, so a change that brings one back
fails here and not only in `make bench`'s count."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from orchestrator.adapters import aws as adapter_aws
from orchestrator.adapters import route53, state_table
from orchestrator.config import AppConfig

from bluegreen.demo.seed import register_ami
from tests.integration.test_deploy_handlers import prepare, step


@contextmanager
def calls() -> Iterator[Counter[str]]:
    """Every AWS operation the handlers make inside the block, counted by name."""
    seen: Counter[str] = Counter()

    def record(model: Any, **_: Any) -> None:
        seen[model.name] += 1

    # A client copies its session's handlers when it is made: the block's calls go through new clients.
    adapter_aws.client.cache_clear()
    state_table._table.cache_clear()
    events = adapter_aws.session().events
    events.register("before-call", record, unique_id="release-calls")
    try:
        yield seen
    finally:
        events.unregister("before-call", unique_id="release-calls")


def test_prepare_reads_the_warm_pool_with_the_group_and_pins_nothing_numbered(world) -> None:
    # Given an app whose live group launches a numbered launch template version (the seeded one launches "1")
    ami = register_ami(world.aws, "shop-v2", app="shop")
    # When a release is prepared
    with calls() as made:
        release = prepare({"app": "shop", "ami_id": ami})
    # Then the warm pool came with the group's description, and no default/latest version was read to pin live
    assert release["outcome"] == "Proceed"
    assert made["DescribeWarmPool"] == 0 and made["DescribeLaunchTemplates"] == 0
    # And the instance type's architectures were read once, to be kept in the live pointer
    assert made["DescribeInstanceTypes"] == 1
    assert release["type_architectures"] == {"t3.micro": ["x86_64"]}


def test_an_instance_types_architectures_are_read_once_per_app(world) -> None:
    # Given a live pointer that kept the fleet's instance type and its architectures (a release made it live)
    group = world.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[world.app.blue_asg])
    ami_id = next(t["Value"] for t in group["AutoScalingGroups"][0]["Tags"] if t["Key"] == "bluegreen:ami")
    pointer = {"slot": "blue", "asg_name": world.app.blue_asg, "ami_id": ami_id, "release_id": "r0"}
    state_table.put("shop", "LIVE", {**pointer, "type_architectures": {"t3.micro": ["x86_64"]}})
    # When an AMI the kept architectures cannot run is released, Then it is refused, from the pointer alone
    arm = register_ami(world.aws, "shop-arm", app="shop", architecture="arm64")
    with calls() as made, pytest.raises(Exception) as refused:
        prepare({"app": "shop", "ami_id": arm})
    assert type(refused.value).__name__ == "AmiInvalidError" and "built for arm64" in str(refused.value)
    assert made["DescribeInstanceTypes"] == 0
    # And the next release is prepared with no DescribeInstanceTypes either
    with calls() as made:
        release = prepare({"app": "shop", "ami_id": register_ami(world.aws, "shop-v2", app="shop")})
    assert release["outcome"] == "Proceed"
    assert made["DescribeInstanceTypes"] == 0


def test_create_green_writes_nothing_to_the_state_table_and_a_retry_makes_no_second_version(world) -> None:
    # Given a prepared release (its transaction took the lock a moment ago)
    release = prepare({"app": "shop", "ami_id": register_ami(world.aws, "shop-v2", app="shop")})
    # When green is created, twice (the task retried)
    with calls() as made:
        first = step("create_green_group", release)
        again = step("create_green_group", release)
    # Then neither run wrote to the state table, and both got the one version the client token made
    assert made["UpdateItem"] == made["PutItem"] == made["TransactWriteItems"] == 0
    assert first["lt_version"] == again["lt_version"]
    assert made["CreateLaunchTemplateVersion"] == 2


def test_a_healthy_green_is_not_gated_until_the_smoke_tests(world) -> None:
    # Given green created and healthy
    release = step("create_green_group", prepare({"app": "shop", "ami_id": register_ami(world.aws, "shop-v2", "shop")}))
    # When its health is checked, Then nothing is written: the smoke tests' gate is next
    with calls() as made:
        checked = step("check_green_health", release)
    assert checked["health"]["healthy"]
    assert made["UpdateItem"] == 0


def test_the_live_launch_template_version_is_read_once_per_version(world) -> None:
    # Given a live pointer that names the version live launches ("1", the seeded one) and its instance type
    group = world.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[world.app.blue_asg])
    ami_id = next(t["Value"] for t in group["AutoScalingGroups"][0]["Tags"] if t["Key"] == "bluegreen:ami")
    pointer = {"slot": "blue", "asg_name": world.app.blue_asg, "ami_id": ami_id, "release_id": "r0"}
    kept = {"type_architectures": {"t3.micro": ["x86_64"]}, "lt_instance_type": "t3.micro"}
    state_table.put("shop", "LIVE", {**pointer, **kept, "lt_version": 1})
    # When a release is prepared, Then the version is not read again (a numbered version never changes)
    with calls() as made:
        release = prepare({"app": "shop", "ami_id": register_ami(world.aws, "shop-v2", app="shop")})
    assert release["outcome"] == "Proceed" and release["lt_instance_type"] == "t3.micro"
    assert made["DescribeLaunchTemplateVersions"] == 0
    # And when the pointer names another version than the one live launches, it is read
    state_table.put("shop", "LIVE", {**pointer, **kept, "lt_version": 7})
    state_table.release_lock("shop", release["release_id"])
    with calls() as made:
        prepare({"app": "shop", "ami_id": register_ami(world.aws, "shop-v3", app="shop")})
    assert made["DescribeLaunchTemplateVersions"] == 1


def test_the_smoke_tests_gate_is_the_first_traffic_steps(world) -> None:
    # Given a healthy green with no smoke requests to make
    release = step("create_green_group", prepare({"app": "shop", "ami_id": register_ami(world.aws, "shop-v2", "shop")}))
    release = step("check_green_health", release)
    release["config"]["smoke_tests"] = []
    # When the smoke tests pass and the first step shifts traffic
    with calls() as made:
        release = step("run_smoke_tests", release)
        gated = made["UpdateItem"]
        release = step("shift_traffic", release)
    # Then one gate was written, by the smoke tests, with the weights the first step then set
    assert (gated, made["UpdateItem"]) == (1, 1)
    lock = state_table.get("shop", "LOCK")
    assert lock["phase"] == "ShiftTraffic" and lock["weights"] == release["weights"]
    assert release["weights"][release["idle_slot"]] == release["steps"][0]


@pytest.mark.parametrize("flag", ["abort_requested", "rollback_requested"])
def test_the_commit_is_its_own_gate(world, flag: str) -> None:
    # Given a release whose traffic is all on green
    release = step("create_green_group", prepare({"app": "shop", "ami_id": register_ami(world.aws, "shop-v2", "shop")}))
    before = state_table.get("shop", "LIVE")
    # When an operator asks to abort or roll back before the commit
    state_table.flag_lock("shop", flag, "operator said so")
    with calls() as made, pytest.raises(Exception) as raised:
        step("commit_release", release)
    # Then the commit refuses with the request's error, and nothing went live
    assert type(raised.value).__name__ in ("ReleaseAbortedError", "OperatorRollbackError")
    assert state_table.get("shop", "LIVE") == before
    assert state_table.get("shop", f"AMI#{release['ami_id']}")["status"] != "live"
    assert made["UpdateAutoScalingGroup"] == 0 and made["ChangeResourceRecordSets"] == 0


def test_a_commit_writes_its_gate_with_the_pointer_and_an_empty_old_group_is_deleted_unread(world) -> None:
    # Given a release whose traffic is all on green
    release = step("create_green_group", prepare({"app": "shop", "ami_id": register_ami(world.aws, "shop-v2", "shop")}))
    # When it commits
    with calls() as made:
        release = step("commit_release", release)
    # Then one transaction was its gate and its pointer (the lease renewed in it), with no UpdateItem
    assert (made["TransactWriteItems"], made["UpdateItem"]) == (1, 0)
    assert state_table.get("shop", "LOCK")["phase"] == "Drain"
    assert state_table.get("shop", "LIVE")["lt_instance_type"] == "t3.micro"
    # And once the old group is seen empty, its delete is not followed by a read
    release = step("check_old_drained", release)
    assert release["old_remaining"] == 0
    with calls() as made:
        release = step("delete_old_group", release)
    assert release["old_gone"]
    assert (made["DeleteAutoScalingGroup"], made["DescribeAutoScalingGroups"]) == (1, 0)
    names = [
        g["AutoScalingGroupName"]
        for g in world.client("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]
    ]
    assert names == [release["green_asg"]]


def _live_record(world) -> list[str]:
    zone = world.app.config["dns"]["hosted_zone_id"]
    listed = world.client("route53").list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    return [
        v["Value"]
        for r in listed
        if r["Type"] == "TXT" and r["Name"].startswith("_bluegreen.")
        for v in r["ResourceRecords"]
    ]


def _to_the_last_step(world) -> dict:
    release = step("create_green_group", prepare({"app": "shop", "ami_id": register_ami(world.aws, "shop-v2", "shop")}))
    release = step("check_green_health", release)
    release["config"]["smoke_tests"] = []
    release = step("run_smoke_tests", release)
    while release["step_index"] < len(release["steps"]):
        release = step("shift_traffic", release)
    return release


@pytest.mark.parametrize("by", ["its own rollback", "the reconciler"])
@pytest.mark.parametrize("before", ["never released", "released before"])
def test_the_last_step_names_the_live_release_and_a_rollback_takes_it_back(world, before: str, by: str) -> None:
    # Given a fleet bluegreen never released (no live record), or one it released (its record names that release)
    if before == "released before":
        group = world.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[world.app.blue_asg])
        ami_id = next(t["Value"] for t in group["AutoScalingGroups"][0]["Tags"] if t["Key"] == "bluegreen:ami")
        state_table.put(
            "shop", "LIVE", {"slot": "blue", "asg_name": world.app.blue_asg, "ami_id": ami_id, "release_id": "r0"}
        )
        text = f"release=r0 ami={ami_id} slot=blue asg={world.app.blue_asg}"
        route53.publish_live(AppConfig.model_validate(world.app.config), text)
    kept = _live_record(world)
    # When every step has shifted traffic
    with calls() as made:
        release = _to_the_last_step(world)
    # Then the last step's one change batch named the release with its weights
    assert made["ChangeResourceRecordSets"] == len(release["steps"])
    assert _live_record(world) == [
        f'"release={release["release_id"]} ami={release["ami_id"]} slot=green asg={release["green_asg"]}"'
    ]
    if before == "never released":  # someone gave the record a longer TTL since: deleted as it is, not as written
        zone = world.app.config["dns"]["hosted_zone_id"]
        record = route53.published_record(AppConfig.model_validate(world.app.config))
        changed = {**record, "TTL": 300}
        batch = {"Changes": [{"Action": "UPSERT", "ResourceRecordSet": changed}]}
        world.client("route53").change_resource_record_sets(HostedZoneId=zone, ChangeBatch=batch)
    # And when an alarm in the last bake rolls it back (or the execution was stopped, and the reconciler, which knows
    # only that green has traffic, rolls it back), the record is as it was before the release
    error = {"Error": "AlarmTriggeredError", "Cause": "alarm"}
    step("rollback_traffic", release if by == "its own rollback" else {**release, "step_index": 1}, error=error)
    assert _live_record(world) == kept
