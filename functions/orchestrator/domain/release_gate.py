"""The gate every task after Prepare passes: it renews the release's lease and honours abort and rollback requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from orchestrator.adapters import state_table
from orchestrator.errors import OperatorRollbackError, ReleaseAbortedError
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
