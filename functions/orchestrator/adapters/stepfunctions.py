"""Step Functions: start executions and answer task tokens."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from orchestrator.adapters.aws import client, error_code


def start(state_machine_arn: str, payload: dict, api: Any = None) -> str:
    started = (api or client("stepfunctions")).start_execution(
        stateMachineArn=state_machine_arn, input=json.dumps(payload)
    )
    return started["executionArn"]


def start_once(state_machine_arn: str, payload: dict, name: str | None, api: Any = None) -> str | None:
    """Start an execution named `name` (random if None); None when that name was used already (an event delivered
    twice): "StartExecution is idempotent for STANDARD workflows" with the same name and input while it runs, and
    refuses the name with ExecutionAlreadyExists once it has ended (Step Functions API Reference, "StartExecution")."""
    named = {"name": name} if name else {}
    try:
        started = (api or client("stepfunctions")).start_execution(
            stateMachineArn=state_machine_arn, input=json.dumps(payload), **named
        )
    except ClientError as err:
        if error_code(err) == "ExecutionAlreadyExists":
            return None
        raise
    return started["executionArn"]


def fail_task(task_token: str, error: str, cause: str, api: Any = None) -> bool:
    """Fail a task waiting for its token; False when the token is no longer waiting (answered or timed out)."""
    try:
        (api or client("stepfunctions")).send_task_failure(taskToken=task_token, error=error, cause=cause[:32_768])
    except ClientError as err:
        if error_code(err) in ("TaskTimedOut", "InvalidToken", "TaskDoesNotExist"):
            return False
        raise
    return True


def describe_execution(execution_arn: str, api: Any = None) -> dict | None:
    """The execution as Step Functions describes it; None when it does not exist (or is not an execution ARN)."""
    try:
        return (api or client("stepfunctions")).describe_execution(executionArn=execution_arn)
    except ClientError as err:
        if error_code(err) in ("ExecutionDoesNotExist", "InvalidArn"):
            return None
        raise
