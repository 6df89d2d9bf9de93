"""Who may start an emergency release: only the stack's quarantine state machine, swapping the fleet of its own case.

An emergency release skips approval and shifts straight to 100 %, so anyone able to start the deploy machine could
use it to bypass the approval gate. Step Functions records the parent of a nested execution in its input
(`AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID`, which the quarantine machine's SwapFleet passes); that field alone can
be written by hand, so it is believed only when the execution it names
- is an execution of a quarantine state machine of this account and region (CloudFormation names it after its logical
  id, `QuarantineStateMachine`; the Prepare function's policy lets it describe those executions only),
- is RUNNING,
- owns the app's open case (the state table's `CASE` item names it), and that case is swapping onto this very AMI.
A forged request can then only do what that quarantine is about to do anyway, while it does it.
"""

from __future__ import annotations

from orchestrator.adapters import state_table, stepfunctions
from orchestrator.errors import EmergencyNotAllowedError

STARTED_BY = "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"
QUARANTINE_MACHINE = "QuarantineStateMachine"
FIX = "quarantine the instances instead (`bluegreen quarantine`), which swaps the fleet itself"


def check_emergency(app: str, ami_id: str, started_by: object, deploy_machine_arn: str) -> str:
    """The quarantine execution that may start this emergency release; EmergencyNotAllowedError otherwise."""
    if not isinstance(started_by, str) or not started_by:
        raise EmergencyNotAllowedError(
            f"emergency: only the stack's quarantine state machine starts emergency releases (no parent execution in"
            f" {STARTED_BY}): {FIX}"
        )
    parts = started_by.split(":")
    mine = deploy_machine_arn.split(":")
    if len(parts) != 8 or parts[2] != "states" or parts[5] != "execution" or len(mine) < 5:
        raise EmergencyNotAllowedError(f"emergency: {STARTED_BY} {started_by!r} is not an execution ARN: {FIX}")
    if parts[1:5] != mine[1:5] or QUARANTINE_MACHINE not in parts[6]:
        raise EmergencyNotAllowedError(
            f"emergency: {started_by} is not an execution of this stack's quarantine state machine: {FIX}"
        )
    execution = stepfunctions.describe_execution(started_by)
    if execution is None or execution.get("status") != "RUNNING":
        status = execution.get("status") if execution else "not found"
        raise EmergencyNotAllowedError(f"emergency: the quarantine execution {started_by} is {status}, not RUNNING")
    pointer = state_table.get(app, "CASE") or {}
    if pointer.get("execution_arn") != started_by:
        raise EmergencyNotAllowedError(
            f"emergency: {started_by} does not hold the open quarantine case of {app} (it is"
            f" {pointer.get('execution_arn') or 'none'})"
        )
    case = state_table.get(app, f"CASE#{pointer.get('case_id')}") or {}
    if case.get("status") != "swapping" or case.get("ami_id") != ami_id:
        raise EmergencyNotAllowedError(
            f"emergency: case {pointer.get('case_id')} of {app} is {case.get('status')}, swapping onto"
            f" {case.get('ami_id')}, not onto {ami_id}"
        )
    return started_by
