"""Handler of the failed-copy rule: a copy of a shared AMI that EC2 could not make (ami_source.copy_shared)."""

from typing import Any

from pydantic import BaseModel, ConfigDict

from orchestrator.domain import copy_failures
from orchestrator.runtime import handler, now, topic_arn


class AmiStateEvent(BaseModel):
    """An "EC2 AMI State Change" event as EventBridge delivers it (only `detail` is read)."""

    model_config = ConfigDict(extra="allow")
    detail: dict = {}


@handler(AmiStateEvent)
def ami_copy_failed(event: AmiStateEvent, context: Any) -> dict:
    return copy_failures.on_failed(event.model_dump(), now(), topic_arn())
