"""moto's EventBridge cannot deliver to a Step Functions target (NotImplementedError); the twin starts the execution.

Real AWS (EventBridge User Guide, "Event bus targets"): a rule whose target is a state machine starts an execution
with the event as input: the target's constant `Input`, or the part at `InputPath`, or the whole event, whose `time`
is ISO-8601. A failing target never fails PutEvents: EventBridge retries, then sends the event to the target's
dead-letter queue. A rule with a ScheduleExpression runs on its schedule and matches no event ("Creating a rule that
runs on a schedule"); moto matches every event to it and then fails PutEvents on its (Lambda) target.
"""

from __future__ import annotations

import copy
import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from moto.events import models
from moto.stepfunctions.responses import get_backend
from moto.utilities.arns import parse_arn

from bluegreen.twin.patching import Patches

log = logging.getLogger(__name__)
_original_send = models.Rule.send_to_targets


def delivered_event(event: dict[str, Any]) -> dict[str, Any]:
    """The event as a target receives it: moto keeps `time` as an epoch float and adds "ingestion-time"."""
    delivered = {k: v for k, v in event.items() if k != "ingestion-time"}
    if isinstance(delivered.get("time"), int | float):
        delivered["time"] = datetime.fromtimestamp(delivered["time"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return delivered


def _target_input(target: dict[str, Any], event: dict[str, Any]) -> str:
    if "Input" in target:
        return str(target["Input"])
    if "InputPath" in target:
        from jsonpath_ng.ext import parse

        matches = parse(target["InputPath"]).find(event)
        return json.dumps(matches[0].value if matches else None)
    return json.dumps(event)


def _send_to_targets(self: Any, original_event: dict[str, Any], transform_input: bool = True) -> None:
    if self.state != "ENABLED" or self.scheduled_expression or not self.event_pattern.matches_event(original_event):
        return
    state_machines = [t for t in self.targets if parse_arn(t["Arn"]).service == "states"]
    event = delivered_event(original_event)
    for target in state_machines:
        arn = parse_arn(target["Arn"])
        try:
            get_backend(arn.account, arn.region).start_execution(
                target["Arn"], name=str(uuid.uuid4()), execution_input=_target_input(target, event)
            )
        except Exception:
            log.exception("could not start %s for rule %s", target["Arn"], self.name)
    others = [t for t in self.targets if t not in state_machines]
    if others:
        deliver_to_other_targets(self, others, original_event, transform_input)


def deliver_to_other_targets(rule: Any, targets: list[dict], original_event: dict[str, Any], transform: bool) -> None:
    """moto's own delivery, for every target that is no state machine (another module may deliver some itself)."""
    # A shallow copy so the shared rule's targets are never mutated under other threads.
    copied = copy.copy(rule)
    copied.targets = targets
    _original_send(copied, original_event, transform)


patches = Patches(__name__, (models.Rule, "send_to_targets", _send_to_targets))
install, uninstall = patches.install, patches.uninstall
