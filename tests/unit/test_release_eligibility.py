"""Backups and images of a fleet's own hosts are not builds (orchestrator.domain.release_eligibility); the tag that
selects AMIs is one no instance carries, the old one kept while an app allows it (orchestrator.domain.sources)."""

from __future__ import annotations

import pytest
from orchestrator.config import parse_config
from orchestrator.domain import sources
from orchestrator.domain.release_eligibility import image_problem
from orchestrator.errors import ConfigInvalidError

from tests.unit.test_ami_sources import BASE


def image(tags: dict[str, str], source: str | None = None) -> dict:
    found = {"ImageId": "ami-0123456789abcdef0", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
    return found | ({"SourceInstanceId": source} if source else {})


def instance(tags: dict[str, str]) -> dict:
    return {"InstanceId": "i-0123456789abcdef0", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}


@pytest.mark.parametrize(
    ("tags", "source", "says"),
    [
        ({"bluegreen:app": "shop", "aws:dlm:lifecycle-policy-id": "policy-1"}, None, "Data Lifecycle Manager"),
        ({"aws:backup:source-resource": "arn:aws:ec2:...:instance/i-1"}, None, "AWS Backup"),
        ({"bluegreen:app": "shop", "bluegreen:slot": "blue"}, None, "bluegreen:slot=blue, a tag of a fleet's"),
        ({"bluegreen:release-to": "shop"}, {"bluegreen:app": "shop"}, "an instance of a bluegreen fleet"),
        ({"bluegreen:release-to": "shop"}, {"bluegreen:quarantine": "c-1"}, "a quarantined instance"),
        ({"bluegreen:release-to": "shop"}, {"bluegreen:quarantine-released": "c-1"}, "a quarantined instance"),
    ],
)
def test_backups_and_images_of_fleet_hosts_are_not_builds(tags, source, says) -> None:
    problem = image_problem(
        image(tags, "i-0123456789abcdef0" if source else None), instance(source) if source else None
    )
    assert problem and says in problem


def test_a_build_from_a_builder_instance_is_a_build() -> None:
    # Packer's builder: no bluegreen tag, or terminated long ago (no longer described)
    assert (
        image_problem(image({"bluegreen:release-to": "shop"}, "i-0123456789abcdef0"), instance({"Name": "packer"}))
        is None
    )
    assert image_problem(image({"bluegreen:app": "shop"}, "i-0123456789abcdef0"), None) is None


def test_the_release_tag_selects_an_ami_and_the_old_app_tag_only_while_the_app_allows_it() -> None:
    config = parse_config({**BASE})
    assert (
        sources.match_image(image({"bluegreen:release-to": "shop"}), [config]).rule == "tag bluegreen:release-to=shop"
    )
    assert sources.match_image(image({"bluegreen:app": "shop"}), [config]).rule == "tag bluegreen:app=shop"
    strict = parse_config({**BASE, "ami_source": {"legacy_app_tag": False}})
    assert sources.match_image(image({"bluegreen:app": "shop"}), [strict]) is None
    assert sources.match_image(image({"bluegreen:release-to": "shop"}), [strict]).app == "shop"


@pytest.mark.parametrize("value", ["no", 0, None])
def test_legacy_app_tag_takes_true_or_false_only(value) -> None:
    with pytest.raises(ConfigInvalidError, match="legacy_app_tag"):
        parse_config({**BASE, "ami_source": {"legacy_app_tag": value}})
