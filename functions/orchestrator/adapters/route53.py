"""Route 53: the app's two weighted alias records and the TXT record that names the live release."""

from __future__ import annotations

from typing import Any

from orchestrator.adapters.aws import client, paginate
from orchestrator.config import SLOTS, AppConfig


def set_identifier(app: str, slot: str) -> str:
    return f"{app}-{slot}"


def _record_name(config: AppConfig) -> str:
    return config.dns.record_name.rstrip(".") + "."


def records(config: AppConfig, api: Any = None) -> list[dict]:
    """Every record of the app's name and type, as Route 53 lists them (weighted or not, ours or not)."""
    api = api or client("route53")
    name = _record_name(config)
    found = []
    pages = api.get_paginator("list_resource_record_sets").paginate(
        HostedZoneId=config.dns.hosted_zone_id, StartRecordName=name, StartRecordType=config.dns.record_type
    )
    for page in pages:
        for record in page["ResourceRecordSets"]:
            if record["Name"] != name or record["Type"] != config.dns.record_type:
                return found  # listed in order: past the name and type, nothing more of ours follows
            found.append(record)
    return found


def weights_of(config: AppConfig, listed: list[dict]) -> dict[str, int]:
    """Weight per slot in these records; a missing record reads 0."""
    weights = dict.fromkeys(SLOTS, 0)
    for record in listed:
        for slot in SLOTS:
            if record.get("SetIdentifier") == set_identifier(config.app, slot):
                weights[slot] = int(record.get("Weight", 0))
    return weights


def current_weights(config: AppConfig, api: Any = None) -> dict[str, int]:
    """Weight per slot as Route 53 holds it now; a missing record reads 0."""
    return weights_of(config, records(config, api))


def strangers(config: AppConfig, listed: list[dict]) -> tuple[dict | None, list[dict]]:
    """The simple (non-weighted) record at the app's name and type, if any, and records bluegreen does not own."""
    ours = {set_identifier(config.app, slot) for slot in SLOTS}
    simple = next((r for r in listed if "SetIdentifier" not in r), None)
    others = [r for r in listed if "SetIdentifier" in r and (r["SetIdentifier"] not in ours or "Weight" not in r)]
    return simple, others


def _weighted(config: AppConfig, slot: str, weight: int) -> dict:
    target = config.slots[slot].alias
    return {
        "Name": config.dns.record_name,
        "Type": config.dns.record_type,
        "SetIdentifier": set_identifier(config.app, slot),
        "Weight": weight,
        "AliasTarget": {
            "DNSName": target.dns_name,
            "HostedZoneId": target.hosted_zone_id,
            "EvaluateTargetHealth": True,
        },
    }


def convert_simple_record(config: AppConfig, simple: dict, live_slot: str, api: Any = None) -> str:
    """Replace the simple record with the weighted pair (live at 100) in ONE batch: Route 53 applies all or none."""
    api = api or client("route53")
    changes = [
        {"Action": "DELETE", "ResourceRecordSet": simple},
        *(
            {"Action": "CREATE", "ResourceRecordSet": _weighted(config, slot, 100 if slot == live_slot else 0)}
            for slot in SLOTS
        ),
    ]
    batch = {
        "Comment": f"bluegreen {config.app}: the simple record becomes weighted, {live_slot} at 100",
        "Changes": changes,
    }
    return api.change_resource_record_sets(HostedZoneId=config.dns.hosted_zone_id, ChangeBatch=batch)["ChangeInfo"][
        "Id"
    ]


def same_target(alias: dict | None, dns_name: str) -> bool:
    """Whether an alias target names this load balancer DNS name (Route 53 may add `dualstack.` and a final dot)."""
    if not alias:
        return False

    def plain(name: str) -> str:
        return name.lower().rstrip(".").removeprefix("dualstack.")

    return plain(alias.get("DNSName", "")) == plain(dns_name)


def set_weights(
    config: AppConfig, weights: dict[str, int], api: Any = None, live: str | None = None, unlive: dict | None = None
) -> str:
    """Both weighted records in ONE change batch, so the split is atomic. Returns the change id. `live`: the text the
    TXT pointer takes in the same batch; `unlive`: the TXT pointer as read, deleted in the same batch (DELETE must name
    the record exactly, its TTL too)."""
    if sum(weights.values()) <= 0:
        raise ValueError("weights must not all be zero")
    api = api or client("route53")
    changes = [{"Action": "UPSERT", "ResourceRecordSet": _weighted(config, slot, weights[slot])} for slot in SLOTS]
    if live:
        changes.append({"Action": "UPSERT", "ResourceRecordSet": _pointer(config, live)})
    elif unlive:
        changes.append({"Action": "DELETE", "ResourceRecordSet": unlive})
    batch = {"Comment": f"bluegreen {config.app}: {weights}", "Changes": changes}
    return api.change_resource_record_sets(HostedZoneId=config.dns.hosted_zone_id, ChangeBatch=batch)["ChangeInfo"][
        "Id"
    ]


def is_in_sync(change_id: str, api: Any = None) -> bool:
    api = api or client("route53")
    return api.get_change(Id=change_id)["ChangeInfo"]["Status"] == "INSYNC"


def _pointer_name(config: AppConfig) -> str:
    return f"_bluegreen.{config.dns.record_name}"


def _pointer(config: AppConfig, text: str) -> dict:
    return {"Name": _pointer_name(config), "Type": "TXT", "TTL": 60, "ResourceRecords": [{"Value": f'"{text}"'}]}


def publish_live(config: AppConfig, text: str, api: Any = None) -> None:
    """`_bluegreen.<record name>` TXT, so anyone can `dig` which release is live."""
    api = api or client("route53")
    api.change_resource_record_sets(
        HostedZoneId=config.dns.hosted_zone_id,
        ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": _pointer(config, text)}]},
    )


def published_record(config: AppConfig, api: Any = None) -> dict | None:
    """The TXT pointer as Route 53 holds it now (None: there is none)."""
    api = api or client("route53")
    name = _pointer_name(config).rstrip(".") + "."
    listed = api.list_resource_record_sets(
        HostedZoneId=config.dns.hosted_zone_id, StartRecordName=name, StartRecordType="TXT", MaxItems="1"
    )["ResourceRecordSets"]
    return next((r for r in listed if r["Name"] == name and r["Type"] == "TXT" and r.get("ResourceRecords")), None)


def pointer_text(record: dict) -> str:
    return record["ResourceRecords"][0]["Value"].strip('"')


def list_records(zone_id: str, api: Any = None) -> list[dict]:
    return paginate(api or client("route53"), "list_resource_record_sets", "ResourceRecordSets", HostedZoneId=zone_id)
