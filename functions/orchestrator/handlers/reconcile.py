"""Handlers of the reconciler: the release whose own execution ended without cleaning up, and the sweep that finds
them (a deploy execution's status change, or the schedule). Apart from the deploy tasks, so these functions import
only the reconciler's domain (domain/reconcile.py), not every task's."""

import os
from typing import Any

from pydantic import BaseModel, Field

from orchestrator.domain import reconcile
from orchestrator.models import ExecutionInput
from orchestrator.runtime import handler, now, topic_arn, wait_scale


@handler(ExecutionInput)
def reconcile_release(event: ExecutionInput, context: Any) -> dict:
    return reconcile.reconcile(
        event.input,
        execution_arn=event.execution_arn,
        state_machine_arn=event.state_machine_arn,
        now=now(),
        scale=wait_scale(),
        topic=topic_arn(),
    )


class SweepInput(BaseModel):
    """The schedule's event (nothing it needs) or a deploy execution's status change; the machine is in the env."""

    detail_type: str = Field("", alias="detail-type")
    detail: dict = {}


@handler(SweepInput)
def sweep_releases(event: SweepInput, context: Any) -> dict:
    machine = os.environ["DEPLOY_STATE_MACHINE_ARN"]
    if event.detail_type == reconcile.STATUS_EVENT:
        ended = reconcile.on_execution_ended(event.model_dump(by_alias=True), machine)
        return {"reconciling": [ended] if ended else []}
    return {"reconciling": reconcile.sweep(machine)}
