"""The calls a release no longer makes (issue 18), each pinned where it was saved, so a change that brings one back
fails here and not only in `make bench`'s count."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from orchestrator.adapters import aws as adapter_aws
from orchestrator.adapters import state_table

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
