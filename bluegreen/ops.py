"""What the CLI does, as plain functions over an `Aws`: start, inspect, approve, abort and roll back releases."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from orchestrator.adapters import route53, state_table
from orchestrator.config import AppConfig, check_app_name, parameter_name, parse_config
from orchestrator.domain.release import check_ami_id, other_slot

from bluegreen.aws import Aws


class CliError(Exception):
    """An error the CLI prints as one line; `exit_code` tells scripts what kind it was."""

    exit_code = 2


class NotFound(CliError):
    exit_code = 3


@dataclass
class Execution:
    arn: str
    status: str
    output: dict | None
    error: str | None
    cause: str | None
    started: datetime
    stopped: datetime | None


def table(aws: Aws) -> Any:
    name = aws.outputs["StateTableName"]
    kwargs = {"endpoint_url": aws.endpoint_url} if aws.endpoint_url else {}
    return aws.session.resource("dynamodb", **kwargs).Table(name)


def load_config(aws: Aws, app: str) -> AppConfig:
    check_app_name(app)
    try:
        raw = aws.client("ssm").get_parameter(Name=parameter_name(app))["Parameter"]["Value"]
    except aws.client("ssm").exceptions.ParameterNotFound:
        raise NotFound(f"app {app!r} has no configuration (create it with `bluegreen app put {app} FILE`)") from None
    return parse_config(raw, app)


def put_config(aws: Aws, app: str, document: str) -> AppConfig:
    """Validate, then store; an invalid document changes nothing."""
    config = parse_config(document, app)
    aws.client("ssm").put_parameter(
        Name=parameter_name(app), Value=config.model_dump_json(), Type="String", Overwrite=True
    )
    return config


def list_apps(aws: Aws) -> list[str]:
    pages = aws.client("ssm").get_paginator("get_parameters_by_path").paginate(Path="/bluegreen/apps/")
    return sorted(p["Name"].rsplit("/", 1)[-1] for page in pages for p in page["Parameters"])


def execution_name(app: str, ami_id: str, now: datetime) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"{app}-{ami_id}-{now:%Y%m%dT%H%M%S}")[:80]


def start_release(aws: Aws, app: str, ami_id: str, *, dry_run: bool = False, retry_failed: bool = False) -> str:
    check_app_name(app)
    check_ami_id(ami_id)
    payload = {"app": app, "ami_id": ami_id, "dry_run": dry_run, "retry_failed": retry_failed, "source": "manual"}
    started = aws.client("stepfunctions").start_execution(
        stateMachineArn=aws.outputs["DeployStateMachineArn"],
        name=execution_name(app, ami_id, datetime.now(UTC)),
        input=json.dumps(payload),
    )
    return started["executionArn"]


def describe(aws: Aws, arn: str) -> Execution:
    found = aws.client("stepfunctions").describe_execution(executionArn=arn)
    output = json.loads(found["output"]) if found.get("output") else None
    return Execution(
        arn=arn,
        status=found["status"],
        output=output,
        error=found.get("error"),
        cause=cause_message(found.get("cause")),
        started=found["startDate"],
        stopped=found.get("stopDate"),
    )


def cause_message(cause: str | None) -> str | None:
    """Step Functions carries a Lambda error as its JSON payload; the message is what people need."""
    try:
        parsed = json.loads(cause or "")
    except ValueError:
        return cause
    return parsed.get("errorMessage", cause) if isinstance(parsed, dict) else cause


def wait_for(aws: Aws, arn: str, timeout: float = 3_600, poll: float = 0.5) -> Execution:
    deadline = time.monotonic() + timeout
    while True:
        execution = describe(aws, arn)
        if execution.status != "RUNNING" or time.monotonic() > deadline:
            return execution
        time.sleep(poll)


def status(aws: Aws, app: str) -> dict:
    """Live pointer, release in flight, weights and queue of one app."""
    config = load_config(aws, app)
    tbl = table(aws)
    weights = route53.current_weights(config, aws.client("route53"))
    return {
        "app": app,
        "live": state_table.get(app, "LIVE", tbl),
        "in_flight": state_table.get(app, "LOCK", tbl),
        "queued": state_table.get(app, "QUEUE", tbl),
        "weights": weights,
    }


def history(aws: Aws, app: str, limit: int = 20) -> list[dict]:
    check_app_name(app)
    tbl = table(aws)
    items = state_table.history(app, "RELEASE#", limit, tbl) + state_table.history(app, "CASE#", limit, tbl)
    return sorted(items, key=lambda i: i.get("started_at") or i.get("opened_at") or "", reverse=True)[:limit]


def _lock(aws: Aws, app: str) -> dict:
    check_app_name(app)
    lock = state_table.get(app, "LOCK", table(aws))
    if not lock:
        raise NotFound(f"app {app!r} has no release in flight")
    return lock


def answer_approval(aws: Aws, app: str, approve: bool, reason: str = "") -> str:
    lock = _lock(aws, app)
    token = lock.get("task_token")
    if lock.get("phase") != "AwaitingApproval" or not token:
        raise NotFound(
            f"release {lock['release_id']} of {app!r} is not waiting for approval (phase {lock.get('phase')})"
        )
    sfn = aws.client("stepfunctions")
    if approve:
        sfn.send_task_success(taskToken=token, output=json.dumps({"approved": True, "reason": reason}))
    else:
        sfn.send_task_failure(taskToken=token, error="ApprovalRejectedError", cause=reason or "rejected by an operator")
    return lock["release_id"]


def abort(aws: Aws, app: str, reason: str) -> str:
    """Cooperative: every gate reads the flag and leads to rollback. Never StopExecution (it skips rollback)."""
    lock = _lock(aws, app)
    state_table.flag_lock(app, "abort_requested", reason or "aborted by an operator", table(aws))
    return lock["release_id"]


def rollback(aws: Aws, app: str) -> str:
    """Within the keep window: weights back to the previous fleet now, and the release then rolls back."""
    lock = _lock(aws, app)
    if lock.get("phase") != "KeepWindow":
        raise CliError(
            f"release {lock['release_id']} of {app!r} is in phase {lock.get('phase')}, not in its keep window: "
            f"use `bluegreen abort {app}` while it shifts traffic"
        )
    config = load_config(aws, app)
    weights = route53.current_weights(config, aws.client("route53"))
    new_slot = max(weights, key=lambda s: weights[s])
    route53.set_weights(config, {other_slot(new_slot): 100, new_slot: 0}, aws.client("route53"))
    state_table.flag_lock(app, "rollback_requested", True, table(aws))
    return lock["release_id"]
