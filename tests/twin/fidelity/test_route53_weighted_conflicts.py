"""Route 53 refuses weighted and non-weighted record sets under one name and type (route53_weighted_conflicts)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from bluegreen.twin import route53_weighted_conflicts

NAME = "www.example.com."


def zone(aws: Any) -> str:
    return aws("route53").create_hosted_zone(Name="example.com", CallerReference="zone")["HostedZone"]["Id"]


def record(value: str, slot: str | None = None, weight: int | None = None) -> dict[str, Any]:
    """An A record of www: simple, or weighted when a slot (SetIdentifier) and weight are given."""
    rrset: dict[str, Any] = {"Name": NAME, "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": value}]}
    if slot is not None:
        rrset["SetIdentifier"] = slot
    if weight is not None:
        rrset["Weight"] = weight
    return rrset


def change(aws: Any, zone_id: str, *changes: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    batch = {"Changes": [{"Action": action, "ResourceRecordSet": rrset} for action, rrset in changes]}
    return aws("route53").change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch=batch)


def a_records(aws: Any, zone_id: str) -> list[tuple[str | None, int | None, list[str]]]:
    listed = aws("route53").list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    return sorted(
        (r.get("SetIdentifier"), r.get("Weight"), [v["Value"] for v in r.get("ResourceRecords", [])])
        for r in listed
        if r["Type"] == "A"
    )


@pytest.mark.behaviour(route53_weighted_conflicts)
def test_a_weighted_record_cannot_join_a_simple_one(aws) -> None:
    # Given www holds a simple A record
    zone_id = zone(aws)
    change(aws, zone_id, ("CREATE", record("192.0.2.1")))

    # When a weighted A record of www is upserted
    with pytest.raises(ClientError) as refused:
        change(aws, zone_id, ("UPSERT", record("192.0.2.2", slot="shop-blue", weight=100)))

    # Then Route 53 refuses it with its message, and www keeps its simple record alone
    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidChangeBatch"
    assert error["Message"] == (
        "[RRSet with DNS name www.example.com., type A, SetIdentifier shop-blue cannot be created as a non-weighted set "
        "exists with the same name and type.]"
    )
    assert a_records(aws, zone_id) == [(None, None, ["192.0.2.1"])]


@pytest.mark.behaviour(route53_weighted_conflicts)
def test_a_simple_record_cannot_join_weighted_ones(aws) -> None:
    # Given www holds two weighted A records
    zone_id = zone(aws)
    change(
        aws,
        zone_id,
        ("CREATE", record("192.0.2.1", slot="shop-blue", weight=100)),
        ("CREATE", record("192.0.2.2", slot="shop-green", weight=0)),
    )

    # When a simple A record of www is upserted
    with pytest.raises(ClientError) as refused:
        change(aws, zone_id, ("UPSERT", record("192.0.2.3")))

    # Then Route 53 refuses it, and the weighted records stay as they were
    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidChangeBatch"
    assert error["Message"] == (
        "[RRSet with DNS name www.example.com., type A cannot be created as other RRSets exist with the same name and "
        "type.]"
    )
    assert a_records(aws, zone_id) == [("shop-blue", 100, ["192.0.2.1"]), ("shop-green", 0, ["192.0.2.2"])]


@pytest.mark.behaviour(route53_weighted_conflicts)
def test_a_weight_needs_a_set_identifier(aws) -> None:
    # Given a zone
    zone_id = zone(aws)

    # When a record with a Weight but no SetIdentifier is created
    with pytest.raises(ClientError) as refused:
        change(aws, zone_id, ("CREATE", record("192.0.2.1", weight=10)))

    # Then Route 53 refuses the request as invalid input, and creates nothing
    assert refused.value.response["Error"]["Code"] == "InvalidInput"
    assert "Missing field 'SetIdentifier'" in refused.value.response["Error"]["Message"]
    assert a_records(aws, zone_id) == []


@pytest.mark.behaviour(route53_weighted_conflicts)
def test_a_latency_record_cannot_join_weighted_ones(aws) -> None:
    # Given www holds a weighted A record
    zone_id = zone(aws)
    change(aws, zone_id, ("CREATE", record("192.0.2.1", slot="shop-blue", weight=100)))

    # When a latency A record of www is created (a SetIdentifier and a Region, no Weight)
    with pytest.raises(ClientError) as refused:
        change(aws, zone_id, ("CREATE", {**record("192.0.2.2", slot="eu"), "Region": "eu-west-1"}))

    # Then Route 53 refuses it: all record sets of a weighted name and type are weighted
    assert refused.value.response["Error"]["Code"] == "InvalidChangeBatch"
    assert a_records(aws, zone_id) == [("shop-blue", 100, ["192.0.2.1"])]


def test_weighted_records_can_change_their_weights_together(twin_moto) -> None:
    aws = twin_moto
    # Given www holds two weighted A records
    zone_id = zone(aws)
    change(
        aws,
        zone_id,
        ("CREATE", record("192.0.2.1", slot="shop-blue", weight=100)),
        ("CREATE", record("192.0.2.2", slot="shop-green", weight=0)),
    )

    # When both weights are upserted in one batch, as the product shifts traffic
    change(
        aws,
        zone_id,
        ("UPSERT", record("192.0.2.1", slot="shop-blue", weight=90)),
        ("UPSERT", record("192.0.2.2", slot="shop-green", weight=10)),
    )

    # Then both changed, and nothing was added
    assert a_records(aws, zone_id) == [("shop-blue", 90, ["192.0.2.1"]), ("shop-green", 10, ["192.0.2.2"])]
