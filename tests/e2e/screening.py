"""What the trigger screen (TriggerFilterFunction, domain/trigger_filter.py) did with an event on the twin: an event it
drops starts no execution, and says why only in its answer (and log)."""

from __future__ import annotations

import json
import time
from typing import Any

from bluegreen.twin import server


def screen_function(app: Any) -> str:
    names = [f["FunctionName"] for f in app.aws.client("lambda").list_functions()["Functions"]]
    (name,) = [n for n in names if "TriggerFilterFunction" in n]
    return name


def screened(app: Any, ami_id: str, timeout: float = 15) -> None:
    """Wait until the screen has looked at this AMI's event (its DescribeImages of it), and a moment for what follows."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = server.api_call_log(app.endpoint, "TriggerFilterFunction")
        if any(c["action"] == "ec2:DescribeImages" and ami_id in c["params"].get("ImageIds", []) for c in log):
            time.sleep(1.0)
            return
        time.sleep(0.1)
    raise AssertionError(f"the trigger screen never looked at {ami_id}")


def verdict(app: Any, event: dict) -> dict:
    """The screen's answer to an event, asked directly: {"started": execution ARN or None, "reason": ...}."""
    answer = app.aws.client("lambda").invoke(FunctionName=screen_function(app), Payload=json.dumps(event))
    return json.loads(answer["Payload"].read())


def ami_event(ami_id: str, account: str = "123456789012") -> dict:
    """An "EC2 AMI State Change" as EventBridge delivers it to a target (no id: the screen names no execution)."""
    detail = {"RequestId": "r", "ImageId": ami_id, "State": "available", "ErrorMessage": ""}
    return {
        "version": "0",
        "detail-type": "EC2 AMI State Change",
        "source": "aws.ec2",
        "account": account,
        "region": "us-east-1",
        "resources": [f"arn:aws:ec2:us-east-1::image/{ami_id}"],
        "detail": detail,
    }


def dropped(app: Any, ami_id: str) -> str:
    """The AMI's own event started nothing; the screen's reason for it."""
    screened(app, ami_id)
    assert app.executions_for(ami_id, events=True) == []
    answer = verdict(app, ami_event(ami_id))
    assert answer["started"] is None, answer
    assert app.executions_for(ami_id, events=True) == []
    return answer["reason"]
