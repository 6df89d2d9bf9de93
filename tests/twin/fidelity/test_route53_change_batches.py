"""A Route 53 change batch is validated as a whole and applied all or nothing (route53_change_batches)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from bluegreen.twin import route53_change_batches
from tests.twin.fidelity.test_route53_weighted_conflicts import a_records, change, record, zone


def test_a_batch_can_replace_a_simple_record_with_weighted_ones(twin_moto: Any) -> None:
    # (moto applies changes in order, so this holds there too; with the twin's checks it must still hold.)
    # Given www holds a simple A record
    aws = twin_moto
    zone_id = zone(aws)
    change(aws, zone_id, ("CREATE", record("192.0.2.1")))

    # When one batch deletes it and creates two weighted records in its place
    change(
        aws,
        zone_id,
        ("DELETE", record("192.0.2.1")),
        ("CREATE", record("192.0.2.1", slot="shop-blue", weight=100)),
        ("CREATE", record("192.0.2.2", slot="shop-green", weight=0)),
    )

    # Then www holds the two weighted records only
    assert a_records(aws, zone_id) == [("shop-blue", 100, ["192.0.2.1"]), ("shop-green", 0, ["192.0.2.2"])]


@pytest.mark.behaviour(route53_change_batches)
def test_a_batch_with_one_invalid_change_changes_nothing(aws) -> None:
    # Given www holds two weighted records, and api a simple one
    zone_id = zone(aws)
    change(
        aws,
        zone_id,
        ("CREATE", record("192.0.2.1", slot="shop-blue", weight=100)),
        ("CREATE", record("192.0.2.2", slot="shop-green", weight=0)),
    )
    api = {**record("192.0.2.9"), "Name": "api.example.com."}
    change(aws, zone_id, ("CREATE", api))
    before = aws("route53").list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]

    # When a batch shifts the weights and, last, creates api again
    with pytest.raises(ClientError) as refused:
        change(
            aws,
            zone_id,
            ("UPSERT", record("192.0.2.1", slot="shop-blue", weight=0)),
            ("UPSERT", record("192.0.2.2", slot="shop-green", weight=100)),
            ("CREATE", {**api, "ResourceRecords": [{"Value": "192.0.2.10"}]}),
        )

    # Then the batch is refused for the CREATE, and the weights did not move
    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidChangeBatch"
    assert (
        error["Message"]
        == "[Tried to create resource record set [name='api.example.com.', type='A'] but it already exists]"
    )
    assert aws("route53").list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"] == before


@pytest.mark.behaviour(route53_change_batches)
def test_a_record_that_exists_cannot_be_created_again(aws) -> None:
    # Given www holds a weighted record for the blue slot
    zone_id = zone(aws)
    change(aws, zone_id, ("CREATE", record("192.0.2.1", slot="shop-blue", weight=100)))

    # When the blue record is created again, with another value
    with pytest.raises(ClientError) as refused:
        change(aws, zone_id, ("CREATE", record("192.0.2.7", slot="shop-blue", weight=100)))

    # Then Route 53 says it exists, naming its set identifier, and keeps the one record
    assert refused.value.response["Error"]["Code"] == "InvalidChangeBatch"
    assert refused.value.response["Error"]["Message"] == (
        "[Tried to create resource record set [name='www.example.com.', type='A', set-identifier='shop-blue'] "
        "but it already exists]"
    )
    assert a_records(aws, zone_id) == [("shop-blue", 100, ["192.0.2.1"])]


@pytest.mark.behaviour(route53_change_batches)
def test_a_delete_must_name_the_record_as_it_is(aws) -> None:
    # Given www holds two weighted records
    zone_id = zone(aws)
    change(
        aws,
        zone_id,
        ("CREATE", record("192.0.2.1", slot="shop-blue", weight=100)),
        ("CREATE", record("192.0.2.2", slot="shop-green", weight=0)),
    )

    # When the green record is deleted with a stale weight
    with pytest.raises(ClientError) as stale:
        change(aws, zone_id, ("DELETE", record("192.0.2.2", slot="shop-green", weight=50)))

    # Then Route 53 refuses: the values do not match
    assert stale.value.response["Error"]["Code"] == "InvalidChangeBatch"
    assert stale.value.response["Error"]["Message"] == (
        "[Tried to delete resource record set [name='www.example.com.', type='A', set-identifier='shop-green'] "
        "but the values provided do not match the current values]"
    )

    # And when it is deleted as it is, only it goes; deleting it again finds nothing
    change(aws, zone_id, ("DELETE", record("192.0.2.2", slot="shop-green", weight=0)))
    assert a_records(aws, zone_id) == [("shop-blue", 100, ["192.0.2.1"])]
    with pytest.raises(ClientError) as gone:
        change(aws, zone_id, ("DELETE", record("192.0.2.2", slot="shop-green", weight=0)))
    assert gone.value.response["Error"]["Code"] == "InvalidChangeBatch"
    assert gone.value.response["Error"]["Message"].endswith("but it was not found]")


@pytest.mark.behaviour(route53_change_batches)
def test_a_delete_by_set_identifier_touches_no_other_name(aws) -> None:
    # Given www and api each hold a weighted record with the same set identifier
    zone_id = zone(aws)
    api = {**record("192.0.2.9", slot="shop-blue", weight=100), "Name": "api.example.com."}
    change(aws, zone_id, ("CREATE", record("192.0.2.1", slot="shop-blue", weight=100)), ("CREATE", api))

    # When www's record is deleted
    change(aws, zone_id, ("DELETE", record("192.0.2.1", slot="shop-blue", weight=100)))

    # Then api's record is still there
    listed = aws("route53").list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    assert [(r["Name"], r.get("SetIdentifier")) for r in listed if r["Type"] == "A"] == [
        ("api.example.com.", "shop-blue")
    ]


def test_alias_records_can_be_deleted_as_they_are(twin_moto: Any) -> None:
    # Given www holds a weighted alias record, as the product writes them
    aws = twin_moto
    zone_id = zone(aws)
    alias = {
        "Name": "www.example.com",
        "Type": "A",
        "SetIdentifier": "shop-blue",
        "Weight": 100,
        "AliasTarget": {
            "DNSName": "blue-lb.example.com",
            "HostedZoneId": "Z35SXDOTRQ7X7K",
            "EvaluateTargetHealth": True,
        },
    }
    change(aws, zone_id, ("UPSERT", alias))

    # When it is deleted with the same values
    change(aws, zone_id, ("DELETE", alias))

    # Then it is gone
    assert a_records(aws, zone_id) == []
