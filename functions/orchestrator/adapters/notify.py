"""SNS notifications: the stack's topic and, when set, the app's own."""

from __future__ import annotations

import json
from typing import Any

from orchestrator.adapters.aws import client


def publish(topic_arns: list[str | None], subject: str, message: dict, api: Any = None) -> None:
    api = api or client("sns")
    body = json.dumps(message, default=str, indent=1)
    for arn in dict.fromkeys(a for a in topic_arns if a):
        api.publish(TopicArn=arn, Subject=subject[:100], Message=body)
