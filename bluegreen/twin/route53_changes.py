"""moto 5.2 answers every Route 53 change INSYNC at once, under one fixed id; this gives changes ids and propagation.

Real AWS: ChangeResourceRecordSets returns a new change id (`/change/C...`) with Status PENDING; GetChange reports
PENDING until the change has reached every authoritative server (usually within 60 seconds), then INSYNC; GetChange
of an unknown id fails with NoSuchChange (HTTP 404). The twin keeps a change PENDING for `propagation_seconds`
(0 by default, so changes are INSYNC at once unless a test asks for the wait).
"""

from __future__ import annotations

import secrets
import string
import threading
import time
from datetime import datetime
from typing import Any

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.route53 import responses

from bluegreen.twin.patching import Patches

_lock = threading.Lock()
_submitted: dict[str, tuple[float, datetime]] = {}  # change id -> when it was submitted (monotonic, UTC)
_propagation_seconds = 0.0


class NoSuchChange(ServiceException):
    code = "NoSuchChange"


def set_propagation(seconds: float) -> None:
    """How long a record change stays PENDING before GetChange reports it INSYNC."""
    global _propagation_seconds
    if seconds < 0:
        raise ValueError("propagation seconds cannot be negative")
    _propagation_seconds = float(seconds)


def propagation() -> float:
    return _propagation_seconds


def _status(submitted: float) -> str:
    return "INSYNC" if time.monotonic() - submitted >= _propagation_seconds else "PENDING"


def _new_id() -> str:
    return "/change/C" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(20))


_original_change = responses.Route53.change_resource_record_sets


def _change(self: responses.Route53) -> ActionResult:
    answer = _original_change(self)
    change_id, now = _new_id(), time.monotonic()
    with _lock:
        _submitted[change_id] = (now, utcnow())
    info: dict[str, Any] = answer.result["ChangeInfo"]  # type: ignore[index]
    info.update(Id=change_id, Status=_status(now))
    return answer


def _get_change(self: responses.Route53) -> ActionResult:
    raw = self._get_param("Id") or ""
    change_id = "/change/" + raw.rsplit("/", 1)[-1]
    with _lock:
        submitted = _submitted.get(change_id)
    if submitted is None:
        raise NoSuchChange(f"A change with the specified change ID does not exist: {raw}")
    at, utc = submitted
    return ActionResult({"ChangeInfo": {"Id": change_id, "Status": _status(at), "SubmittedAt": utc}})


patches = Patches(
    __name__,
    (responses.Route53, "change_resource_record_sets", _change),
    (responses.Route53, "get_change", _get_change),
)
install, uninstall = patches.install, patches.uninstall
