"""The gate every task after Prepare passes: it renews the release's lease and honours abort and rollback requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from orchestrator.adapters import state_table
from orchestrator.errors import LockHeldError, OperatorRollbackError, ReleaseAbortedError
from orchestrator.models import Release


def gate(release: Release, now: datetime, phase: str, **fields: Any) -> dict:
    lock = renew(release, now, phase, **fields)
    if lock.get("abort_requested"):
        raise ReleaseAbortedError(f"release {release.release_id} of {release.app} aborted: {lock['abort_requested']}")
    if lock.get("rollback_requested"):
        raise OperatorRollbackError(f"release {release.release_id} of {release.app} rolled back by an operator")
    return lock


def renew(release: Release, now: datetime, phase: str, **fields: Any) -> dict:
    """The lease renewed, without the abort and rollback requests (a rollback runs to its end whatever is asked)."""
    assert release.app and release.release_id
    fields = {"phase": phase, **fields}
    return state_table.gate(release.app, release.release_id, int(now.timestamp()), release.waits.lease_seconds, fields)


def go_live(release: Release, now: datetime, phase: str, pointer: dict) -> None:
    """The gate and the point of no return in one transaction: the live pointer is written, and the AMI's claim marked
    live, only while the release holds its lock and nobody asked to abort or roll it back (its lease renewed too)."""
    assert release.app and release.release_id
    fields = {"phase": phase, "expires_at": int(now.timestamp()) + release.waits.lease_seconds}
    if state_table.go_live(release.app, pointer, release.ami_id, fence=(release.release_id, fields)):
        return
    gate(release, now, phase)  # nothing was written: the gate says why (lock lost, abort or rollback asked)
    raise LockHeldError(f"release {release.release_id} of {release.app} could not go live: try again")
