"""moto's Parameter Store tells nobody; the twin sends the "Parameter Store Change" events Systems Manager sends.

Real AWS (Systems Manager User Guide, "Monitoring Systems Manager events with Amazon EventBridge", "Parameter Store
events"): a parameter that is created, updated, deleted or labelled sends an event to the default bus: source
`aws.ssm`, detail-type `Parameter Store Change`, resources `["arn:aws:ssm:<region>:<account>:parameter/<name>"]`,
detail `{"operation": "Create" | "Update" | "Delete" | "LabelParameterVersion", "name", "type", "description"}`. The
event names the parameter, never its value (events/parameter-store-change.json).

The twin sends Create and Update from PutParameter (Update when the name existed) and Delete from DeleteParameter, once
the call succeeded. Labels are not modelled.
"""

from __future__ import annotations

import json
import logging
import uuid

from moto.core.responses import ActionResult
from moto.events.models import events_backends
from moto.ssm.responses import SimpleSystemManagerResponse

from bluegreen.twin.patching import Patches

log = logging.getLogger(__name__)
_original_put = SimpleSystemManagerResponse.put_parameter
_original_delete = SimpleSystemManagerResponse.delete_parameter


def parameter_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:ssm:{region}:{account}:parameter/{name.lstrip('/')}"


def _publish(response: SimpleSystemManagerResponse, operation: str, name: str, type_: str, description: str) -> None:
    account, region = response.current_account, response.region
    detail = {"operation": operation, "name": name, "type": type_, "description": description or ""}
    try:
        events_backends[account][region].put_events(
            [
                {
                    "Source": "aws.ssm",
                    "DetailType": "Parameter Store Change",
                    "Resources": [parameter_arn(region, account, name)],
                    "Detail": json.dumps(detail),
                }
            ]
        )
    except Exception:  # the parameter changed either way; a failed delivery is EventBridge's problem
        log.exception("could not publish the change of parameter %s (%s)", name, uuid.uuid4())


def _existing(response: SimpleSystemManagerResponse, name: str) -> object:
    return response.ssm_backend.get_parameter(name) if name else None


def _put_parameter(self: SimpleSystemManagerResponse) -> ActionResult:
    name = self._get_param("Name")
    before = _existing(self, name)
    answer = _original_put(self)
    after = _existing(self, name)
    _publish(
        self,
        "Update" if before is not None else "Create",
        name,
        getattr(after, "parameter_type", None) or self._get_param("Type") or "String",
        getattr(after, "description", None) or self._get_param("Description") or "",
    )
    return answer


def _delete_parameter(self: SimpleSystemManagerResponse) -> ActionResult:
    name = self._get_param("Name")
    before = _existing(self, name)
    answer = _original_delete(self)
    _publish(
        self, "Delete", name, getattr(before, "parameter_type", "String"), getattr(before, "description", "") or ""
    )
    return answer


patches = Patches(
    __name__,
    (SimpleSystemManagerResponse, "put_parameter", _put_parameter),
    (SimpleSystemManagerResponse, "delete_parameter", _delete_parameter),
)
install, uninstall = patches.install, patches.uninstall
