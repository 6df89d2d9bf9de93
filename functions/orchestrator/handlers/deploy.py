"""Handlers of the deploy state machine's tasks, one function per task (see statemachine/deploy.asl.json)."""

import os
from typing import Any

from orchestrator.domain import deploy
from orchestrator.models import ExecutionInput, Release, TaskInput
from orchestrator.runtime import handler, now, topic_arn, wait_scale


class ApprovalInput(TaskInput):
    task_token: str


@handler(ExecutionInput)
def prepare_release(event: ExecutionInput, context: Any) -> Release:
    return deploy.prepare(
        event.input,
        execution_arn=event.execution_arn,
        state_machine_arn=event.state_machine_arn,
        region=os.environ["AWS_REGION"],
        now=now(),
        scale=wait_scale(),
    )


@handler(TaskInput)
def create_green_group(event: TaskInput, context: Any) -> Release:
    return deploy.create_green(event.release, now())


@handler(TaskInput)
def check_green_health(event: TaskInput, context: Any) -> Release:
    return deploy.check_green_health(event.release, now())


@handler(TaskInput)
def run_smoke_tests(event: TaskInput, context: Any) -> Release:
    return deploy.run_smoke_tests(event.release, now())


@handler(ApprovalInput)
def request_approval(event: ApprovalInput, context: Any) -> dict:
    return deploy.request_approval(event.release, event.task_token, now(), topic_arn())


@handler(TaskInput)
def shift_traffic(event: TaskInput, context: Any) -> Release:
    return deploy.shift_traffic(event.release, now())


@handler(TaskInput)
def check_dns_change(event: TaskInput, context: Any) -> Release:
    return deploy.check_dns_change(event.release, now())


@handler(TaskInput)
def check_alarms(event: TaskInput, context: Any) -> Release:
    return deploy.check_alarms(event.release, now())


@handler(TaskInput)
def hold_keep_window(event: TaskInput, context: Any) -> Release:
    return deploy.hold_keep_window(event.release, now())


@handler(TaskInput)
def commit_release(event: TaskInput, context: Any) -> Release:
    return deploy.commit_release(event.release, now())


@handler(TaskInput)
def check_old_drained(event: TaskInput, context: Any) -> Release:
    return deploy.check_old_drained(event.release, now())


@handler(TaskInput)
def delete_old_group(event: TaskInput, context: Any) -> Release:
    return deploy.delete_old_group(event.release, now())


@handler(TaskInput)
def complete_release(event: TaskInput, context: Any) -> Release:
    return deploy.complete_release(event.release, now(), topic_arn())


@handler(TaskInput)
def rollback_traffic(event: TaskInput, context: Any) -> Release:
    return deploy.rollback_traffic(event.release, now())


@handler(TaskInput)
def remove_failed_group(event: TaskInput, context: Any) -> Release:
    return deploy.remove_failed_group(event.release, now())


@handler(TaskInput)
def record_failure(event: TaskInput, context: Any) -> Release:
    return deploy.record_failure(event.release, event.error or {}, now(), topic_arn())
