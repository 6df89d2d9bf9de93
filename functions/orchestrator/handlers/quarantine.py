"""Handlers of the quarantine state machine's tasks, one function per task (see statemachine/quarantine.asl.json)."""

import os
from typing import Any

from pydantic import BaseModel

from orchestrator.case_models import CaseInput, QuarantineCase
from orchestrator.domain import isolation, quarantine
from orchestrator.runtime import handler, now, topic_arn, wait_scale


class ResolveInput(BaseModel):
    input: Any
    execution_arn: str
    state_machine_arn: str
    min_severity: float
    alarm_prefix: str
    quarantine_profile_arn: str | None = None


class CloseInput(CaseInput):
    deploy_state_machine_arn: str


@handler(ResolveInput)
def resolve_case(event: ResolveInput, context: Any) -> QuarantineCase:
    return quarantine.resolve(
        event.input,
        rules=quarantine.TriggerRules(min_severity=event.min_severity, alarm_prefix=event.alarm_prefix),
        execution_arn=event.execution_arn,
        state_machine_arn=event.state_machine_arn,
        region=os.environ["AWS_REGION"],
        now=now(),
        scale=wait_scale(),
        topic=topic_arn(),
        quarantine_profile_arn=event.quarantine_profile_arn,
    )


@handler(CaseInput)
def isolate_instances(event: CaseInput, context: Any) -> QuarantineCase:
    return isolation.isolate(event.case, now, os.environ["AWS_REGION"], topic_arn(), wait_scale())


@handler(CaseInput)
def detach_pending_instances(event: CaseInput, context: Any) -> QuarantineCase:
    return isolation.detach_pending(event.case, now())


@handler(CaseInput)
def preempt_release(event: CaseInput, context: Any) -> QuarantineCase:
    return quarantine.preempt(event.case, now())


@handler(CloseInput)
def close_case(event: CloseInput, context: Any) -> QuarantineCase:
    return quarantine.close(event.case, event.swap_execution, event.deploy_state_machine_arn, now(), topic_arn())


@handler(CaseInput)
def record_case_failure(event: CaseInput, context: Any) -> QuarantineCase:
    return quarantine.record_failure(event.case, event.error or {}, now(), topic_arn())
