"""Prepare's side of the trigger screen (issue 16): an untagged AMI is waited for only while an app could still take
it by a late tag, and costs no DescribeInstances while it matches nothing; a build account's AMI that this account
cannot see yet is looked at again until the deadline, then ignored saying it is not visible here."""

from __future__ import annotations

import json
from typing import Any

import pytest
from orchestrator.adapters import state_table
from orchestrator.domain import release_eligibility

from bluegreen.demo.seed import register_ami
from tests.integration.test_deploy_handlers import event_for, prepare

BUILD = "111122223333"


@pytest.fixture
def described(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every DescribeInstances of an AMI's source instance that Prepare makes."""
    calls: list[list[str]] = []
    original = release_eligibility.ec2.describe_instances

    def counting(ids: list[str], api: Any = None) -> dict:
        calls.append(ids)
        return original(ids, api)

    monkeypatch.setattr(release_eligibility.ec2, "describe_instances", counting)
    return calls


def test_an_untagged_ami_waits_for_a_late_tag_without_describing_its_source_instance(world, described) -> None:
    # Given an untagged AMI made from an instance (create-image sets SourceInstanceId), and an app taking AMIs by tag
    untagged = register_ami(world.aws, "scratch-1", app=None)
    assert world.client("ec2").describe_images(ImageIds=[untagged])["Images"][0].get("SourceInstanceId")
    # When Prepare looks at its event, Then it waits for a tag, and has not described the source instance
    assert prepare(event_for(untagged))["outcome"] == "Settling"
    assert described == []
    # And once tagged for the app, the next look describes it, once, before releasing
    world.client("ec2").create_tags(Resources=[untagged], Tags=[{"Key": "bluegreen:release-to", "Value": "shop"}])
    waiting = prepare(event_for(untagged))
    assert prepare({**event_for(untagged), "release": waiting})["outcome"] == "Proceed"
    assert len(described) == 2  # one per look once it matched


def test_an_untagged_ami_is_not_waited_for_when_every_app_names_its_source(world, described) -> None:
    ssm = world.client("ssm")
    document = json.loads(ssm.get_parameter(Name="/bluegreen/apps/shop")["Parameter"]["Value"])
    document["ami_source"] = {"parameter": "/golden-ami/shop"}
    ssm.put_parameter(Name="/bluegreen/apps/shop", Value=json.dumps(document), Type="String", Overwrite=True)
    untagged = register_ami(world.aws, "scratch-2", app=None)
    first = prepare(event_for(untagged))
    assert first["outcome"] == "Ignored" and "matches no app's rule" in first["reason"]
    assert described == [] and state_table.get("shop", "LOCK") is None


def test_a_forwarded_ami_not_visible_yet_is_waited_for_then_ignored_as_not_shared(world) -> None:
    missing = "ami-0123456789abcdef0"
    forwarded = {**event_for(missing), "account": BUILD}
    waiting = prepare(forwarded)
    assert waiting["outcome"] == "Settling" and "is not visible in account 123456789012 yet" in waiting["reason"]
    expired = {**waiting, "settle_until": "2000-01-01T00:00:00+00:00"}
    gone = prepare({**forwarded, "release": expired})
    assert gone["outcome"] == "Ignored"
    assert f"{BUILD} has not shared it with 123456789012" in gone["reason"]
    assert "modify-image-attribute" in gone["reason"] and "bluegreen deploy" in gone["reason"]
    # This account's own AMI that cannot be seen is deregistered: ignored at once, saying so
    own = prepare({**event_for(missing), "account": "123456789012"})
    assert own["outcome"] == "Ignored" and "deregistered before its release began" in own["reason"]
