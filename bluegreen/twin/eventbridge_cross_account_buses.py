"""moto forwards an event to another account's bus as a new event of that account, and to any bus at all; the twin
forwards the event as it is, and only to a bus whose resource policy lets the sender's account put events on it.

Real AWS (EventBridge User Guide, "Sending and receiving events between AWS accounts in Amazon EventBridge"): "you can
configure EventBridge to send and receive events between AWS accounts [...] the receiving account [...] must grant
permissions" through the bus's resource-based policy (`events:PutEvents` for the sender's account as principal). The
forwarded event keeps its original `account` (the sender's), `source`, `resources`, `time` and `id`: "The event
pattern in the rule [of the receiving bus] can match on the account field of the events" (a build account's "EC2 AMI
State Change" arrives as EC2 published it there). A bus made by CloudFormation takes its policy from the `Policy`
property of `AWS::Events::EventBus`.

moto re-sends the event through the receiving account's PutEvents (account, resources, time and id are lost: the event
looks as if the receiving account had made it), checks no policy, and its CloudFormation drops the bus's `Policy`.
moto's events have no `account` field at all; a forwarded one gets the sender's. Conditions in a bus policy (e.g.
`aws:PrincipalOrgID`) are evaluated by `eventbridge_bus_policy_conditions`.
"""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

from moto.events import models
from moto.events.models import events_backends
from moto.utilities.arns import parse_arn

from bluegreen.twin import eventbridge_stepfunctions_targets as targets_module
from bluegreen.twin.patching import Patches

log = logging.getLogger(__name__)
_original_deliver = targets_module.deliver_to_other_targets
_original_bus_from_cfn = models.EventBus.create_from_cloudformation_json


def _principals(statement: dict[str, Any]) -> set[str]:
    principal = statement.get("Principal")
    if principal == "*":
        return {"*"}
    found = (principal or {}).get("AWS", []) if isinstance(principal, dict) else []
    found = [found] if isinstance(found, str) else found
    # An account is named by its id or its root ARN (arn:aws:iam::<id>:root).
    return {p.split(":")[4] if p.startswith("arn:") else p for p in found}


def allows(policy: str | None, account: str) -> bool:
    """Whether the bus policy lets `account` put events on the bus (Allow statements only; their conditions:
    eventbridge_bus_policy_conditions)."""
    for statement in json.loads(policy or "{}").get("Statement", []):
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if statement.get("Effect") != "Allow" or not {"events:PutEvents", "events:*", "*"} & set(actions):
            continue
        if {"*", account} & _principals(statement):
            return True
    return False


def _deliver(rule: Any, targets: list[dict], event: dict[str, Any], transform: bool) -> None:
    elsewhere = []
    for target in targets:
        arn = parse_arn(target["Arn"])
        if arn.service == "events" and arn.resource_type == "event-bus" and arn.account != rule.account_id:
            elsewhere.append((target, arn))
    for target, arn in elsewhere:
        bus = events_backends[arn.account][arn.region].event_buses.get(arn.resource_id)
        if bus is None or not allows(bus.policy, rule.account_id):
            # EventBridge counts a failed invocation and retries, then drops it (or sends it to the target's DLQ).
            log.warning("event %s from %s not delivered to %s", event.get("id"), rule.account_id, target["Arn"])
            continue
        forwarded = copy.deepcopy(event)
        # moto's events carry no `account`; every AWS event does: the account whose bus it was put on first.
        forwarded.setdefault("account", rule.account_id)
        for receiving in list(bus.rules.values()):
            receiving.send_to_targets(copy.deepcopy(forwarded))
    rest = [t for t in targets if t not in [e[0] for e in elsewhere]]
    if rest:
        _original_deliver(rule, rest, event, transform)


@classmethod  # type: ignore[misc]
def _bus_from_cfn(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw: Any):
    bus = _original_bus_from_cfn.__func__(cls, resource_name, cloudformation_json, account_id, region_name, **kw)
    policy = cloudformation_json.get("Properties", {}).get("Policy")
    if policy:
        text = policy if isinstance(policy, str) else json.dumps(policy)
        events_backends[account_id][region_name].put_permission(bus.name, "", "", "", {}, text)
    return bus


patches = Patches(
    __name__,
    (vars(targets_module), "deliver_to_other_targets", _deliver),
    (models.EventBus, "create_from_cloudformation_json", _bus_from_cfn),
)
install, uninstall = patches.install, patches.uninstall
