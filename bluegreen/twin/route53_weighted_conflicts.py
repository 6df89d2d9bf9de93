"""moto 5.2 lets weighted and non-weighted record sets share a name and type; Route 53 refuses the mix.

Real AWS (Route 53 API, "ResourceRecordSet", Weight): "You must specify a value for the Weight element for every
weighted resource record set." and "You can't create latency, failover, or geolocation resource record sets that have
the same values for the Name and Type elements as weighted resource record sets." ChangeResourceRecordSets refuses
such a change with `InvalidChangeBatch`:
- a weighted record set where a non-weighted one (simple, or another routing policy) has the name and type:
  "RRSet with DNS name x., type A, SetIdentifier y cannot be created as a non-weighted set exists with the same name
  and type.";
- a simple record set (no SetIdentifier) where record sets with a SetIdentifier have the name and type: "RRSet with
  DNS name x., type A cannot be created as other RRSets exist with the same name and type.";
- a record set of another routing policy where weighted ones have the name and type (the documented rule above; the
  wording is modelled on the first message);
and a Weight without a SetIdentifier with `InvalidInput` "Invalid request: Missing field 'SetIdentifier' in Change
with [Action=CREATE, Name=x., Type=A, SetIdentifier=null]". moto adds the record set beside the others. Each
refusal is in Route 53's list form, `[message]`; `route53_change_batches` gathers a batch's refusals into one list.
The record set an UPSERT replaces (same name, type and SetIdentifier) is no conflict.
"""

from __future__ import annotations

from typing import Any

from moto.route53.exceptions import InvalidInput, Route53ClientError
from moto.route53.models import FakeZone, RecordSet

from bluegreen.twin.patching import Patches

_original_add = FakeZone.add_rrset
_original_upsert = FakeZone.upsert_rrset


class ConflictingRecordSet(Route53ClientError):
    def __init__(self, message: str) -> None:
        super().__init__("InvalidChangeBatch", f"[{message}]")


def _fqdn(name: str) -> str:
    return name if name.endswith(".") else name + "."


def _same_name_and_type(zone: FakeZone, name: str, type_: str) -> list[RecordSet]:
    return [r for r in zone.rrsets if _fqdn(r.name).lower() == name.lower() and r.type == type_]


def _check(zone: FakeZone, record_set: dict[str, Any], action: str) -> None:
    name, type_, identifier = _fqdn(record_set["Name"]), record_set["Type"], record_set.get("SetIdentifier")
    if record_set.get("Weight") is not None and identifier is None:
        raise InvalidInput(
            f"Invalid request: Missing field 'SetIdentifier' in Change with [Action={action}, Name={name}, "
            f"Type={type_}, SetIdentifier=null]"
        )
    # The record set an UPSERT replaces is not a neighbour.
    others = [r for r in _same_name_and_type(zone, name, type_) if r.set_identifier != identifier]
    if not others:
        return
    if identifier is None:
        raise ConflictingRecordSet(
            f"RRSet with DNS name {name}, type {type_} cannot be created as other RRSets exist with the same name and type."
        )
    weighted = record_set.get("Weight") is not None
    if weighted and any(r.weight is None for r in others):
        raise ConflictingRecordSet(
            f"RRSet with DNS name {name}, type {type_}, SetIdentifier {identifier} cannot be created as a non-weighted "
            "set exists with the same name and type."
        )
    if not weighted and any(r.weight is not None for r in others):
        raise ConflictingRecordSet(
            f"RRSet with DNS name {name}, type {type_}, SetIdentifier {identifier} cannot be created as weighted sets "
            "exist with the same name and type."
        )


def _add(self: FakeZone, record_set: dict[str, Any]) -> RecordSet:
    _check(self, record_set, "CREATE")
    return _original_add(self, record_set)


def _upsert(self: FakeZone, record_set: dict[str, Any]) -> RecordSet:
    _check(self, record_set, "UPSERT")
    return _original_upsert(self, record_set)


patches = Patches(__name__, (FakeZone, "add_rrset", _add), (FakeZone, "upsert_rrset", _upsert))
install, uninstall = patches.install, patches.uninstall
