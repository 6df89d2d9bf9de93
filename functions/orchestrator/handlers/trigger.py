"""The screen in front of the deploy machine: an AMI or golden-AMI parameter event starts a release only if an app
could match it (domain/trigger_filter.py); one short invocation, nothing started, for every other event."""

import os
import re
from typing import Any

from pydantic import BaseModel, ConfigDict

from orchestrator.adapters import stepfunctions
from orchestrator.domain import trigger_filter
from orchestrator.runtime import handler, logger


class TriggerEvent(BaseModel):
    """An EventBridge event as the rule delivers it; handed on to the deploy machine unchanged."""

    model_config = ConfigDict(extra="allow")
    id: str = ""


@handler(TriggerEvent)
def filter_trigger(event: TriggerEvent, context: Any) -> dict:
    machine = os.environ["DEPLOY_STATE_MACHINE_ARN"]
    raw = event.model_dump()
    account = machine.split(":")[4]  # the machine's ARN: this account
    # Every AMI of the account passes here: its verdict is logged at LogLevel DEBUG only (and returned).
    verdict = trigger_filter.screen(raw, account, os.environ["AWS_REGION"])
    logger.debug("trigger screened", extra={"start": verdict.start, "reason": verdict.reason, "event_id": event.id})
    if not verdict.start:
        return {"started": None, "reason": verdict.reason}
    # Named after the event: EventBridge and Lambda deliver at least once, and a second delivery starts nothing new.
    name = re.sub(r"[^A-Za-z0-9_-]", "-", f"event-{event.id}")[:80] if event.id else None
    return {"started": stepfunctions.start_once(machine, raw, name), "reason": verdict.reason}
