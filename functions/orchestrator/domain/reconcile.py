"""The reconciler: a release whose execution ended without cleaning up (stopped, timed out, failed outside any Catch)
is brought back to a consistent state by the pipeline's own rollback states, run again by a new execution.

It starts from Step Functions' "Execution Status Change" event (FAILED, TIMED_OUT, ABORTED), which the sweep function
receives and passes on only for an execution that still points at a release, or from the sweep itself, which looks
for executions that still point at a release but no longer run (events are delivered on a best-effort basis).
Each execution that takes the lock leaves a pointer (state table, `EXECUTION#<arn>`) to its app and release; the
release's own records hold everything else: the previous live fleet, the slot, green's name, the launch template
version, the weights.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from orchestrator.adapters import config_store, elbv2, notify, state_table
from orchestrator.adapters.aws import client
from orchestrator.domain import clone, routers
from orchestrator.domain.release import plan_waits, steps_for
from orchestrator.errors import InputInvalidError
from orchestrator.models import LiveFleet, Release, SplitProgress

STATUS_EVENT = "Step Functions Execution Status Change"
# How often a release may be reconciled before people are asked to finish it by hand.
MAX_ATTEMPTS = 3
_ERROR_OF_STATUS = {"ABORTED": "ExecutionStoppedError", "TIMED_OUT": "ExecutionTimedOutError"}


def dead_execution(raw: dict) -> tuple[str, str, str, str]:
    """(execution ARN, status, error, cause) from a status-change event or a sweep's `{"reconcile": {...}}`."""
    if raw.get("detail-type") == STATUS_EVENT:
        detail = raw.get("detail") or {}
        if not isinstance(detail.get("executionArn"), str):
            raise InputInvalidError("input.detail.executionArn: a status-change event names the execution")
        return detail["executionArn"], detail.get("status", ""), detail.get("error") or "", detail.get("cause") or ""
    request = raw.get("reconcile")
    if not isinstance(request, dict) or not isinstance(request.get("execution_arn"), str):
        raise InputInvalidError('input.reconcile: expected {"execution_arn": ...} naming the execution to reconcile')
    return request["execution_arn"], request.get("status", ""), request.get("error", ""), request.get("cause", "")


def reconcile(
    raw: dict, *, execution_arn: str, state_machine_arn: str, now: datetime, scale: float, topic: str | None
) -> dict:
    """`{"release": ..., "error": ...}` for the rollback states (outcome "Reconcile"), or a release to skip."""
    dead, status, error, cause = dead_execution(raw)
    pointer = state_table.execution_pointer(dead)
    if dead == execution_arn or pointer is None:
        return _skip(f"{dead} holds no release: nothing to reconcile")
    app, release_id = pointer["app"], pointer["release_id"]
    if not status:
        described = client("stepfunctions").describe_execution(executionArn=dead)
        status, error, cause = described["status"], described.get("error", ""), described.get("cause", "")
    if status == "RUNNING":
        return _skip(f"{dead} is still running")
    name = _ERROR_OF_STATUS.get(status) or error or "ExecutionFailedError"
    why = cause or f"execution {dead} ended {status} without rolling back"
    record = state_table.get(app, f"RELEASE#{release_id}") or {}
    config = config_store.load(app, max_age=0)
    delay = max(elbv2.deregistration_delay(arn) for s in config.slots.values() for arn in s.target_group_arns)
    emergency = record.get("source") == "quarantine"
    waits = plan_waits(config, scale=scale, deregistration_delay=delay, emergency=emergency)
    lock = state_table.take_over_lock(app, dead, execution_arn, int(now.timestamp()), waits.lease_seconds)
    if lock is None:
        # It freed the lock itself, or another release took it after its lease, or another reconciler came first.
        _settle_record(app, release_id, record, name, why, now)
        state_table.forget_execution(dead)
        return _skip(f"{dead} no longer holds the lock of {app}: its record is settled")
    state_table.point_execution(execution_arn, app, release_id)
    state_table.forget_execution(dead)
    if int(lock.get("reconcile_attempts", 1)) > MAX_ATTEMPTS:
        notify.publish(
            [topic, config.notify_topic_arn],
            f"bluegreen: {app} release {release_id} needs an operator",
            {"app": app, "release_id": release_id, "status": "reconcile_failed", "error": name, "cause": why[:1000]},
        )
        return _skip(f"release {release_id} of {app} was reconciled {MAX_ATTEMPTS} times in vain: finish it by hand")
    slot = record.get("slot") or ""
    weights = routers.of(config).weights()
    live = state_table.get(app, "LIVE") or {}
    release = Release(
        outcome="Reconcile",
        reason=f"reconciling {dead} ({status})",
        app=app,
        ami_id=record.get("ami_id") or lock.get("ami_id"),
        release_id=release_id,
        execution_arn=execution_arn,
        state_machine_arn=state_machine_arn,
        source=record.get("source", "manual"),
        emergency=emergency,
        config=config,
        live=LiveFleet(**record["previous"]),
        idle_slot=slot,
        green_asg=lock.get("green_asg") or clone.green_name(app, slot, release_id),
        lt_version=lock.get("lt_version"),  # None now: RemoveFailedGroup finds it by its description
        steps=steps_for(config, emergency),
        step_index=1 if weights.get(slot, 0) > 0 else 0,
        weights=weights,
        waits=waits,
        committed=live.get("release_id") == release_id,
        reconciling=True,
        split=_split_of(record),
    )
    return {"release": release.model_dump(mode="json"), "error": {"Error": name, "Cause": why}}


def _split_of(record: dict) -> SplitProgress | None:
    """A split release's bookkeeping as Prepare recorded it; when each slot's weight last reached zero is not known
    any more, so every drain is waited in full."""
    if not record.get("split"):
        return None
    return SplitProgress.model_validate({**record["split"], "zero_since": {}, "pending": None})


def _skip(reason: str) -> dict:
    return {"release": Release(outcome="Ignored", reason=reason).model_dump(mode="json")}


def _settle_record(app: str, release_id: str, record: dict, error: str, cause: str, now: datetime) -> None:
    """A record still `in_flight` whose execution is gone gets its real end (the release it was is not running)."""
    if record.get("status") != "in_flight":
        return
    state_table.update(
        app,
        f"RELEASE#{release_id}",
        {"status": "aborted", "error": error, "cause": cause[:4000], "finished_at": now.isoformat()},
    )
    if record.get("ami_id") and record.get("source") != "quarantine":
        state_table.update(app, f"AMI#{record['ami_id']}", {"status": "failed", "error": error})


# --- the sweep ---------------------------------------------------------------------------------------------------


def sweep(state_machine_arn: str, sfn: Any = None) -> list[str]:
    """Start a reconciliation for every execution that points at a release but no longer runs; their ARNs."""
    sfn = sfn or client("stepfunctions")
    started = []
    for pointer in state_table.execution_pointers():
        dead = pointer["execution_arn"]
        try:
            described = sfn.describe_execution(executionArn=dead)
        except sfn.exceptions.ExecutionDoesNotExist:
            described = {"status": "ABORTED", "cause": "the execution no longer exists"}
        if described["status"] == "RUNNING":
            continue
        request = {"execution_arn": dead, "status": described["status"]}
        request.update({k: described[k] for k in ("error", "cause") if described.get(k)})
        if _start(sfn, state_machine_arn, request):
            started.append(dead)
    return started


def on_execution_ended(event: dict, state_machine_arn: str, sfn: Any = None) -> str | None:
    """A status-change event: reconcile the execution only if it still points at a release (the dead one's ARN).

    A release that rolled back by itself (or was refused before it took the lock) has no pointer left: its end needs
    nothing, and starts no second execution. A stop, a timeout or a crash leaves the pointer behind.
    """
    dead, status, error, cause = dead_execution(event)
    if state_table.execution_pointer(dead) is None:
        return None
    request = {"execution_arn": dead, "status": status, **({"error": error} if error else {})}
    request.update({"cause": cause} if cause else {})
    return dead if _start(sfn or client("stepfunctions"), state_machine_arn, request) else None


def _start(sfn: Any, state_machine_arn: str, request: dict) -> bool:
    # Named after the dead execution: the event and the sweep, or a redelivered event, start one reconciliation.
    name = "reconcile-" + hashlib.sha256(request["execution_arn"].encode()).hexdigest()[:40]
    try:
        sfn.start_execution(stateMachineArn=state_machine_arn, name=name, input=json.dumps({"reconcile": request}))
    except sfn.exceptions.ExecutionAlreadyExists:
        return False
    return True
