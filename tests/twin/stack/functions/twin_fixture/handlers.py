"""The one handler of the twin's test stack: echoes what it was given, or raises or sends a message on request."""

import os
from typing import Any


class GreenUnhealthyError(Exception):
    """Stands in for bluegreen's own error that a state machine Catch matches by name."""


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if "raise" in event:
        raise GreenUnhealthyError(event["raise"])
    if "send" in event:  # a side effect a test can see even when the invocation's answer is lost
        import boto3

        boto3.client("sqs").send_message(QueueUrl=os.environ["QUEUE_URL"], MessageBody=event["send"])
    return {
        "event": event,
        "function_name": context.function_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "queue_url": os.environ["QUEUE_URL"],
    }
