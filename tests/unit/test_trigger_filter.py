"""The screen in front of the deploy machine (orchestrator.domain.trigger_filter): which AMI and parameter events
could release an app, with fakes for EC2 and the apps' configs; and the approval a build account's AMI may need
(orchestrator.domain.build_accounts)."""

from __future__ import annotations

from typing import Any

import pytest
from orchestrator.config import parse_config
from orchestrator.domain import build_accounts, trigger_filter
from orchestrator.errors import AmiInvalidError, ConfigInvalidError

from tests.unit.test_ami_sources import BASE

HERE, BUILD, OTHER = "123456789012", "111122223333", "444455556666"


def config(app: str, **source: Any):
    return parse_config({**BASE, "app": app, **({"ami_source": source} if source else {})})


def ami_event(ami: str, account: str = HERE, state: str = "available") -> dict:
    detail = {"ImageId": ami, "State": state, "RequestId": "r", "ErrorMessage": ""}
    return {
        "id": "e-1",
        "detail-type": "EC2 AMI State Change",
        "source": "aws.ec2",
        "account": account,
        "region": "us-east-1",
        "detail": detail,
    }


def image(ami: str, owner: str = HERE, name: str = "x", tags: dict | None = None, source: str | None = None) -> dict:
    found = {"ImageId": ami, "OwnerId": owner, "Name": name, "State": "available"}
    found["Tags"] = [{"Key": k, "Value": v} for k, v in (tags or {}).items()]
    return found | ({"SourceInstanceId": source} if source else {})


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Images by id, the apps' configs, and the calls the screen made."""
    state: dict[str, Any] = {"images": {}, "configs": [], "instances": {}, "calls": []}

    def describe_image(ami: str, api: Any = None) -> dict:
        state["calls"].append("DescribeImages")
        if ami not in state["images"]:
            raise AmiInvalidError(f"ami_id: {ami} does not exist")
        return state["images"][ami]

    def describe_instances(ids: list[str], api: Any = None) -> dict:
        state["calls"].append("DescribeInstances")
        return {i: state["instances"][i] for i in ids if i in state["instances"]}

    def load_all(api: Any = None) -> list:
        state["calls"].append("GetParametersByPath")
        return state["configs"]

    monkeypatch.setattr(trigger_filter.ec2, "describe_image", describe_image)
    monkeypatch.setattr(trigger_filter.ec2, "describe_instances", describe_instances)
    monkeypatch.setattr(trigger_filter.config_store, "load_all", load_all)
    return state


def screen(event: dict) -> trigger_filter.Verdict:
    return trigger_filter.screen(event, HERE, "us-east-1")


@pytest.mark.parametrize(
    ("tags", "says"),
    [
        ({"aws:backup:source-resource": "arn:aws:ec2:us-east-1:123456789012:instance/i-1"}, "matches no app"),
        ({"aws:dlm:lifecycle-policy-id": "policy-1"}, "matches no app"),
        ({"Ec2ImageBuilderArn": "arn:aws:imagebuilder:us-east-1:123456789012:image/x/1.0.0/1"}, "matches no app"),
        # DLM copying a fleet instance's tags: it matches the app by its tag, and is still only a backup
        ({"aws:dlm:lifecycle-policy-id": "p", "bluegreen:app": "shop"}, "backup made by Data Lifecycle Manager"),
    ],
)
def test_backups_and_service_images_start_nothing_and_pay_no_describe_instances(world, tags, says) -> None:
    world["configs"] = [config("shop")]  # an app that takes AMIs by tag: untagged AMIs could still be tagged
    world["images"]["ami-1"] = image("ami-1", tags=tags, source="i-0123456789abcdef0")
    verdict = screen(ami_event("ami-1"))
    assert not verdict.start and says in verdict.reason
    assert "DescribeInstances" not in world["calls"]


def test_an_untagged_ami_waits_for_a_late_tag_only_while_an_app_takes_amis_by_tag(world) -> None:
    world["images"]["ami-1"] = image("ami-1", name="anyones-create-image")
    world["configs"] = [config("shop")]
    assert screen(ami_event("ami-1")).start
    # Every app names where its AMIs come from: no late tag is waited for
    world["configs"] = [config("shop", owners=[BUILD], name_pattern="shop-*"), config("web", parameter="/g/web")]
    verdict = screen(ami_event("ami-1"))
    assert not verdict.start and "matches no app" in verdict.reason
    assert world["calls"].count("DescribeInstances") == 0


def test_a_matching_build_starts_and_an_image_of_a_fleet_host_does_not(world) -> None:
    world["configs"] = [config("shop")]
    world["images"]["ami-1"] = image("ami-1", tags={"bluegreen:release-to": "shop"})
    assert screen(ami_event("ami-1")).start
    world["instances"]["i-0123456789abcdef0"] = {
        "InstanceId": "i-0123456789abcdef0",
        "Tags": [{"Key": "bluegreen:app", "Value": "shop"}],
    }
    world["images"]["ami-2"] = image("ami-2", tags={"bluegreen:release-to": "shop"}, source="i-0123456789abcdef0")
    verdict = screen(ami_event("ami-2"))
    assert not verdict.start and "an instance of a bluegreen fleet" in verdict.reason


def test_a_forwarded_ami_not_shared_yet_starts_only_when_an_app_names_its_account(world) -> None:
    world["configs"] = [config("shop", owners=[BUILD], name_pattern="shop-*")]
    assert screen(ami_event("ami-9", account=BUILD)).start
    verdict = screen(ami_event("ami-9", account=OTHER))
    assert not verdict.start and f"no app names {OTHER}" in verdict.reason
    # this account's own AMI that cannot be seen is gone
    verdict = screen(ami_event("ami-9"))
    assert not verdict.start and "deregistered" in verdict.reason


def test_a_shared_ami_is_matched_by_its_name(world) -> None:
    world["configs"] = [config("shop", owners=[BUILD], name_pattern="shop-*")]
    world["images"]["ami-1"] = image("ami-1", owner=BUILD, name="shop-2026.12.06")
    world["images"]["ami-2"] = image("ami-2", owner=BUILD, name="other-team-base")
    assert screen(ami_event("ami-1", account=BUILD)).start
    assert not screen(ami_event("ami-2", account=BUILD)).start


def test_parameters_start_only_for_the_one_an_app_names(world) -> None:
    world["configs"] = [config("shop", parameter="/golden-ami/shop")]
    event = {
        "detail-type": "Parameter Store Change",
        "region": "us-east-1",
        "detail": {"name": "/golden-ami/shop", "operation": "Update"},
    }
    assert screen(event).start
    event["detail"]["name"] = "/golden-ami/other"
    verdict = screen(event)
    assert not verdict.start and "no app's ami_source.parameter" in verdict.reason
    assert world["calls"] == ["GetParametersByPath", "GetParametersByPath"]


def test_other_regions_states_and_events_start_nothing(world) -> None:
    assert not screen(ami_event("ami-1") | {"region": "eu-west-1"}).start
    assert not screen(ami_event("ami-1", state="pending")).start
    assert not screen({"detail-type": "Something Else", "detail": {}}).start
    assert world["calls"] == []


def test_a_build_accounts_ami_needs_approval_when_its_event_started_the_release() -> None:
    shop = config("shop", owners=[BUILD], name_pattern="shop-*", build_account_approval=True)
    shared = image("ami-1", owner=BUILD, name="shop-1")
    copy = image("ami-2", tags={"bluegreen:source-ami": "ami-1", "bluegreen:release-to": "shop"})
    own = image("ami-3", tags={"bluegreen:release-to": "shop"})
    assert "made by build account" in (build_accounts.build_account_approval(shop, shared, HERE, "event") or "")
    assert "copy of ami-1" in (build_accounts.build_account_approval(shop, copy, HERE, "queue") or "")
    assert build_accounts.build_account_approval(shop, own, HERE, "event") is None
    assert build_accounts.build_account_approval(shop, shared, HERE, "cli") is None  # a human named it
    plain = config("shop", owners=[BUILD], name_pattern="shop-*")
    assert build_accounts.build_account_approval(plain, shared, HERE, "event") is None


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ({"parameter": "/g/shop", "build_account_approval": True}, "ami_source: build_account_approval: applies to"),
        (
            {"owners": [BUILD], "name_pattern": "shop-*", "build_account_approval": "yes"},
            "ami_source.build_account_approval: Input should be a valid boolean",
        ),
    ],
)
def test_bad_build_account_approval_is_one_line_naming_the_field(source: dict, says: str) -> None:
    with pytest.raises(ConfigInvalidError) as raised:
        parse_config({**BASE, "ami_source": source})
    assert says in str(raised.value) and "\n" not in str(raised.value)
