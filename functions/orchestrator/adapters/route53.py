"""Route 53: the app's two weighted alias records and the TXT record that names the live release."""

from __future__ import annotations

from typing import Any

from orchestrator.adapters.aws import client, paginate
from orchestrator.config import SLOTS, AppConfig


def set_identifier(app: str, slot: str) -> str:
    return f"{app}-{slot}"


def current_weights(config: AppConfig, api: Any = None) -> dict[str, int]:
    """Weight per slot as Route 53 holds it now; a missing record reads 0."""
    api = api or client("route53")
    name = config.dns.record_name.rstrip(".") + "."
    records = api.list_resource_record_sets(
        HostedZoneId=config.dns.hosted_zone_id, StartRecordName=name, StartRecordType=config.dns.record_type
    )["ResourceRecordSets"]
    weights = dict.fromkeys(SLOTS, 0)
    for record in records:
        if record["Name"] != name or record["Type"] != config.dns.record_type:
            continue
        for slot in SLOTS:
            if record.get("SetIdentifier") == set_identifier(config.app, slot):
                weights[slot] = int(record.get("Weight", 0))
    return weights


def set_weights(config: AppConfig, weights: dict[str, int], api: Any = None) -> str:
    """Both weighted records in ONE change batch, so the split is atomic. Returns the change id."""
    if sum(weights.values()) <= 0:
        raise ValueError("weights must not all be zero")
    api = api or client("route53")
    changes = []
    for slot in SLOTS:
        target = config.slots[slot].alias
        changes.append(
            {
                "Action": "UPSERT",
                "ResourceRecordSet": {
                    "Name": config.dns.record_name,
                    "Type": config.dns.record_type,
                    "SetIdentifier": set_identifier(config.app, slot),
                    "Weight": weights[slot],
                    "AliasTarget": {
                        "DNSName": target.dns_name,
                        "HostedZoneId": target.hosted_zone_id,
                        "EvaluateTargetHealth": True,
                    },
                },
            }
        )
    batch = {"Comment": f"bluegreen {config.app}: {weights}", "Changes": changes}
    return api.change_resource_record_sets(HostedZoneId=config.dns.hosted_zone_id, ChangeBatch=batch)["ChangeInfo"][
        "Id"
    ]


def is_in_sync(change_id: str, api: Any = None) -> bool:
    api = api or client("route53")
    return api.get_change(Id=change_id)["ChangeInfo"]["Status"] == "INSYNC"


def publish_live(config: AppConfig, text: str, api: Any = None) -> None:
    """`_bluegreen.<record name>` TXT, so anyone can `dig` which release is live."""
    api = api or client("route53")
    record = {
        "Name": f"_bluegreen.{config.dns.record_name}",
        "Type": "TXT",
        "TTL": 60,
        "ResourceRecords": [{"Value": f'"{text}"'}],
    }
    api.change_resource_record_sets(
        HostedZoneId=config.dns.hosted_zone_id,
        ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": record}]},
    )


def list_records(zone_id: str, api: Any = None) -> list[dict]:
    return paginate(api or client("route53"), "list_resource_record_sets", "ResourceRecordSets", HostedZoneId=zone_id)
