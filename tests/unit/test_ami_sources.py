"""Mapping AMIs and golden-AMI parameters to apps (orchestrator.domain.sources), the ami_source field's bad inputs,
and the shared-AMI check of encrypted snapshots (orchestrator.domain.shared), with fakes for EC2 and KMS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from orchestrator.config import parse_config
from orchestrator.domain import shared, sources
from orchestrator.errors import AmiSourceConflictError, ConfigInvalidError

EVENTS = Path(__file__).parents[2] / "events"
BASE = {
    "app": "shop",
    "launch_template_id": "lt-0abc",
    "dns": {"hosted_zone_id": "Z123", "record_name": "www.shop.example.com"},
    "slots": {
        s: {
            "target_group_arns": [f"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/shop-{s}/1"],
            "alias": {"dns_name": f"shop-{s}.elb.amazonaws.com", "hosted_zone_id": "Z35SXDOTRQ7X7K"},
            "test_base_url": f"https://shop-{s}.example.com",
        }
        for s in ("blue", "green")
    },
}


def config(app: str = "shop", **source: object):
    return parse_config({**BASE, "app": app, "ami_source": source} if source else {**BASE, "app": app})


@pytest.mark.parametrize(
    ("source", "field"),
    [
        ({"owners": ["1111"], "name_pattern": "shop-*"}, "ami_source.owners.0: '1111' is not an AWS account id"),
        ({"owners": ["111122223333"]}, "ami_source: name_pattern: is required"),
        ({"name_pattern": "shop-*"}, "ami_source: owners: is required"),
        ({"owners": ["111122223333"], "name_pattern": "*-*"}, "ami_source.name_pattern: '*-*' names too little"),
        ({"owners": ["111122223333"], "name_pattern": "shop{1}"}, "ami_source.name_pattern: 'shop{1}' is not an AMI"),
        ({"parameter": "/aws/service/ami"}, "ami_source.parameter: '/aws/service/ami': SSM reserves"),
        ({"parameter": "/bluegreen/apps/x"}, "ami_source.parameter: '/bluegreen/apps/x': /bluegreen/ holds"),
        ({"parameter": "no spaces"}, "ami_source.parameter: 'no spaces' is not an SSM parameter name"),
        ({"parameter": "/g/shop", "copy_shared": True}, "ami_source: copy_shared: copies AMIs shared by the owners"),
        ({"parameter": "/g/shop", "copy_shared": "yes"}, "ami_source.copy_shared: Input should be a valid boolean"),
        ({"parameter": "/g/shop", "owner": "x"}, "ami_source.owner: is not a known field"),
        ({}, "ami_source: name owners and name_pattern, or parameter"),
    ],
)
def test_every_bad_ami_source_is_one_line_naming_its_field(source: dict, field: str) -> None:
    with pytest.raises(ConfigInvalidError) as raised:
        parse_config({**BASE, "ami_source": source})
    message = str(raised.value)
    assert field in message, message
    assert "\n" not in message


def test_an_ami_maps_by_tag_or_by_owner_and_name_and_two_apps_are_refused() -> None:
    shop = config(owners=["111122223333"], name_pattern="shop-*")
    cart = config("cart", owners=["111122223333"], name_pattern="cart-*")
    image = {"ImageId": "ami-0123456789abcdef0", "OwnerId": "111122223333", "Name": "shop-2026.05.01"}
    assert sources.match_image(image, [shop, cart]) == sources.Match(
        "shop", "ami_source: owner 111122223333, name 'shop-2026.05.01' matches 'shop-*'"
    )
    assert sources.match_image({**image, "OwnerId": "444455556666"}, [shop, cart]) is None
    tagged = {**image, "Tags": [{"Key": "bluegreen:app", "Value": "shop"}]}
    assert sources.match_image(tagged, [shop]).app == "shop"
    with pytest.raises(AmiSourceConflictError, match="matches apps cart and shop"):
        sources.match_image({**image, "Tags": [{"Key": "bluegreen:app", "Value": "cart"}]}, [shop, cart])


def test_overlapping_sources_are_named_and_distinct_ones_pass() -> None:
    shop = config(owners=["111122223333"], name_pattern="shop-*", parameter="/golden-ami/shop")
    web = config("web", owners=["111122223333"], name_pattern="*-web-*")
    cart = config("cart", owners=["111122223333"], name_pattern="cart-*", parameter="/golden-ami/shop")
    assert sources.overlaps(shop, [web]) == [
        "ami_source.name_pattern: 'shop-*' overlaps app web's '*-web-*' for owner 111122223333: an AMI could match"
        " both apps; make the patterns distinct"
    ]
    assert sources.overlaps(shop, [cart]) == [
        "ami_source.parameter: /golden-ami/shop is app cart's golden-AMI parameter already: one parameter releases"
        " one app"
    ]
    assert sources.overlaps(config("cart", owners=["111122223333"], name_pattern="cart-*"), [shop]) == []


def test_the_sample_events_are_the_shapes_prepare_reads() -> None:
    from orchestrator.domain.deploy import normalise

    forwarded = json.loads((EVENTS / "ami-available-forwarded.json").read_text())
    assert normalise(forwarded, "us-east-1") == (
        None,
        "ami-0fedcba9876543210",
        {"source": "event", "event_account": "111122223333"},
    )
    parameter = json.loads((EVENTS / "parameter-store-change.json").read_text())
    assert normalise(parameter, "us-east-1") == (None, None, {"source": "event", "parameter": "/golden-ami/shop"})
    deleted = {**parameter, "detail": {**parameter["detail"], "operation": "Delete"}}
    assert normalise(deleted, "us-east-1").outcome == "Ignored"


class FakeEc2:
    def __init__(self, snapshots: dict) -> None:
        self.snapshots = snapshots

    def describe_snapshots(self, SnapshotIds: list[str]) -> dict:
        if SnapshotIds[0] not in self.snapshots:
            raise ClientError({"Error": {"Code": "InvalidSnapshot.NotFound"}}, "DescribeSnapshots")
        return {"Snapshots": [self.snapshots[SnapshotIds[0]]]}


class FakeKms:
    def __init__(self, usable: set[str]) -> None:
        self.usable = usable

    def describe_key(self, KeyId: str) -> dict:
        if KeyId not in self.usable:
            raise ClientError({"Error": {"Code": "AccessDeniedException"}}, "DescribeKey")
        return {"KeyMetadata": {"KeyState": "Enabled"}}


def test_an_encrypted_shared_ami_whose_key_this_account_cannot_use_is_refused_in_the_plan(monkeypatch) -> None:
    key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    ec2 = FakeEc2({"snap-1": {"SnapshotId": "snap-1", "Encrypted": True, "KmsKeyId": key}})
    describe, problem = shared.ec2.describe_snapshot, shared.kms.key_problem
    monkeypatch.setattr(shared.ec2, "describe_snapshot", lambda sid: describe(sid, api=ec2))
    monkeypatch.setattr(shared.kms, "key_problem", lambda k: problem(k, api=FakeKms(set())))
    image = {
        "ImageId": "ami-0123456789abcdef0",
        "OwnerId": "111122223333",
        "BlockDeviceMappings": [
            {"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": "snap-1", "Encrypted": True}},
            {"DeviceName": "/dev/xvdb", "Ebs": {"SnapshotId": "snap-unshared", "Encrypted": True}},
        ],
    }
    refused, notes = shared.check(image, "123456789012")
    assert len(refused) == 1 and key in refused[0].detail and "AccessDeniedException" in refused[0].detail
    assert "kms:CreateGrant" in refused[0].detail
    assert any("snap-unshared" in n and "cannot see" in n for n in notes)
    # The same AMI in its owner's account is not checked
    assert shared.check(image, "111122223333") == ([], [])
