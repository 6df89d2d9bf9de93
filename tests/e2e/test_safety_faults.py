"""Rollback from anywhere, part 1: a fault in any task up to the traffic gates rolls the release back.

Each case injects one kind of twin fault into one task of the deploy machine, on the first call of that task:
`error` (the handler crashes before doing anything), `throttle` (Lambda refuses the call, more often than the Retry
absorbs) and `late_timeout` (the function did all its work, then timed out: the rollback must cope with work it does
not know was done; a timeout before any work takes the path of `error`). The tasks after the traffic gates are in
test_safety_faults_late.py.
"""

from __future__ import annotations

import pytest

from bluegreen.twin import server
from tests.e2e.expect import FAULT_ERRORS, THROTTLE_FOREVER, rolled_back

TASKS = [
    "CreateGreenGroup",
    "CheckGreenHealth",
    "RunSmokeTests",
    "RequestApproval",
    "ShiftTraffic",
    "CheckDnsChange",
    "CheckAlarms",
]
# The approval gate only runs when the app asks for it.
CONFIG = {"RequestApproval": {"approval": {"before_traffic": True}}}


@pytest.mark.parametrize("kind", list(FAULT_ERRORS))
@pytest.mark.parametrize(("task", "app"), [(t, CONFIG.get(t, {})) for t in TASKS], indirect=["app"], ids=TASKS)
def test_a_fault_in_a_task_rolls_the_release_back(app, task: str, kind: str) -> None:
    # Given a good AMI, a subscriber to the notifications, and a fault waiting for the task's first call
    ami = app.publish_ami()
    app.subscribe()
    versions = app.launch_template_versions()
    if task == "CheckDnsChange":
        server.set_dns_propagation(app.endpoint, 0.5)  # so that the machine polls the change at all
    app.inject_fault(task, kind, THROTTLE_FOREVER if kind == "throttle" else 1)

    # When the AMI is released
    execution = app.release(ami)

    # Then it rolls back: blue whole and live, green and its launch template version gone, the failure on record
    rolled_back(app, execution, FAULT_ERRORS[kind], ami, versions)
