"""moto 5.2 applies a Route 53 change batch one change at a time and half-checks CREATE and DELETE; Route 53 does not.

Real AWS (Route 53 API, "ChangeResourceRecordSets"): "Change batches are considered transactional changes. Route 53
validates the changes in the request and then either makes all or none of the changes in the change batch request."
Each change is validated against the zone as the earlier changes of the batch leave it, so a batch that DELETEs a
record set and CREATEs its replacement succeeds; one invalid change fails the whole batch with `InvalidChangeBatch`,
whose message lists every refusal in brackets, and nothing changes. The rules:
- CREATE of a record set that exists (same name, type and SetIdentifier): "Tried to create resource record set
  [name='x.', type='A'] but it already exists" (with ", set-identifier='y'" for a record set that has one);
- DELETE: "To delete a resource record set, you must specify all the same values that you specified when you created
  it." A record set that is not there: "Tried to delete resource record set [name='x.', type='A'] but it was not
  found"; one whose values differ: "... but the values provided do not match the current values". Only that record
  set goes.
moto applies the changes before a later one fails; takes a CREATE of an existing name and type (unless the very same
change was made before) and keeps both; checks a DELETE against its log of past changes, not the zone (a record set
can be deleted twice), answering `InvalidInput`; and deletes every record set with the SetIdentifier, in any name, or
every record set of the name and type when there is none. Changes are applied to a copy of the zone's record sets
that replaces them only when the whole batch is valid, so readers never see half a batch.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from moto.route53.exceptions import DnsNameInvalidForZone, InvalidActionValue, Route53ClientError
from moto.route53.models import FakeZone, RecordSet, Route53Backend
from moto.route53.utils import validate_domain_name

from bluegreen.twin.patching import Patches

_lock = threading.Lock()  # one batch at a time: each is validated against the zone the previous one left


class InvalidChangeBatch(Route53ClientError):
    def __init__(self, messages: list[str]) -> None:
        super().__init__("InvalidChangeBatch", "[" + ", ".join(messages) + "]")


def _fqdn(name: str) -> str:
    return name if name.endswith(".") else name + "."


def _describe(record_set: dict[str, Any]) -> str:
    """How Route 53 names a record set in its messages."""
    text = f"name='{_fqdn(record_set['Name'])}', type='{record_set['Type']}'"
    if record_set.get("SetIdentifier") is not None:
        text += f", set-identifier='{record_set['SetIdentifier']}'"
    return text


def _is(record: RecordSet, record_set: dict[str, Any]) -> bool:
    """The same record set: name (case-insensitive, as DNS), type and SetIdentifier."""
    return (
        _fqdn(record.name).lower() == _fqdn(record_set["Name"]).lower()
        and record.type == record_set["Type"]
        and record.set_identifier == record_set.get("SetIdentifier")
    )


def _values(record: dict[str, Any]) -> dict[str, Any]:
    """The values a DELETE must repeat, in a comparable form (record values in any order, alias names as FQDN)."""
    alias = record.get("AliasTarget")
    return {
        "TTL": None if record.get("TTL") is None else str(record["TTL"]),
        "ResourceRecords": sorted(str(v) for v in record.get("ResourceRecords") or []),
        "AliasTarget": None
        if not alias
        else (
            _fqdn(str(alias.get("DNSName", ""))).lower(),
            str(alias.get("HostedZoneId")),
            str(alias.get("EvaluateTargetHealth")).lower(),
        ),
        **{
            key: None if record.get(key) is None else str(record[key])
            for key in ("Weight", "Region", "Failover", "HealthCheckId")
        },
        "GeoLocation": record.get("GeoLocation") or None,
    }


def _stored(record: RecordSet) -> dict[str, Any]:
    return {
        "TTL": record.ttl,
        "ResourceRecords": record.records,
        "AliasTarget": record.alias_target,
        "Weight": record.weight,
        "Region": record.region,
        "Failover": record.failover,
        "HealthCheckId": record.health_check_id,
        "GeoLocation": record.geo_location,
    }


def _requested(record_set: dict[str, Any]) -> dict[str, Any]:
    values = dict(record_set)
    values["ResourceRecords"] = [r["Value"] for r in record_set.get("ResourceRecords") or []]
    return values


def _delete(zone: FakeZone, record_set: dict[str, Any]) -> str | None:
    """Remove exactly the record set named; the refusal Route 53 would give, or None."""
    found = next((r for r in zone.rrsets if _is(r, record_set)), None)
    if found is None:
        return f"Tried to delete resource record set [{_describe(record_set)}] but it was not found"
    if _values(_stored(found)) != _values(_requested(record_set)):
        return f"Tried to delete resource record set [{_describe(record_set)}] but the values provided do not match the current values"
    zone.rrsets = [r for r in zone.rrsets if r is not found]
    return None


def _change(self: Route53Backend, zoneid: str, change_list: list[dict[str, Any]]) -> None:
    zone = self.get_hosted_zone(zoneid)
    with _lock:
        # A working copy of the zone: add_rrset and upsert_rrset (and their checks) act on its own list.
        working = copy.copy(zone)
        working.rrsets = list(zone.rrsets)
        refusals: list[str] = []
        for change in change_list:
            action, record_set = change["Action"], copy.deepcopy(change["ResourceRecordSet"])
            validate_domain_name(record_set["Name"], code="InvalidChangeBatch")
            if action not in ("CREATE", "UPSERT", "DELETE"):
                raise InvalidActionValue(action)
            try:
                if not record_set["Name"].strip(".").lower().endswith(zone.name.strip(".").lower()):
                    raise DnsNameInvalidForZone(name=record_set["Name"], zone_name=zone.name)
                record_set["Name"] = _fqdn(record_set["Name"])
                if action == "DELETE":
                    refusal = _delete(working, record_set)
                    if refusal:
                        refusals.append(refusal)
                    continue
                if action == "CREATE" and any(_is(r, record_set) for r in working.rrsets):
                    refusals.append(
                        f"Tried to create resource record set [{_describe(record_set)}] but it already exists"
                    )
                    continue
                if "ResourceRecords" in record_set:  # moto keeps the values only
                    record_set["ResourceRecords"] = [r["Value"] for r in record_set["ResourceRecords"]]
                if action == "CREATE":
                    working.add_rrset(record_set)
                else:
                    working.upsert_rrset(record_set)
            except Route53ClientError as refused:
                if refused.code != "InvalidChangeBatch":
                    raise  # not a validation of this change (e.g. InvalidInput): the request fails as it is
                refusals.append(refused.message.removeprefix("[").removesuffix("]"))
        if refusals:
            raise InvalidChangeBatch(refusals)
        zone.rrsets = working.rrsets  # the whole batch at once
        for change in change_list:
            zone.rr_changes.append(copy.deepcopy(change))


patches = Patches(__name__, (Route53Backend, "change_resource_record_sets", _change))
install, uninstall = patches.install, patches.uninstall
