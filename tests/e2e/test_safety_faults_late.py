"""Rollback from anywhere, part 2: faults after the traffic gates, faults in the rollback itself, throttles that clear.

Before CommitRelease a fault rolls back to the previous fleet (still whole at zero weight). From CommitRelease on
green is live and the old fleet scales in, so there is nothing to go back to: the release finishes forward (the old
group is deleted) and counts as succeeded, with the late error on record. Fault kinds as in test_safety_faults.py.
"""

from __future__ import annotations

import pytest

from bluegreen.twin import server
from tests.e2e.expect import FAULT_ERRORS, THROTTLE_FOREVER, finished_forward, rolled_back

ONE_STEP = {"traffic": {"steps": [100], "bake_seconds": 60, "alarm_names": []}}
# HoldKeepWindow runs only when the app keeps its previous fleet for a while (1 s on the twin).
KEEP = {"keep_previous_seconds": 100}
TASKS = ["HoldKeepWindow", "CommitRelease", "CheckOldDrained", "DeleteOldGroup", "CompleteRelease"]
# After these, green is live whatever the fault (a late timeout of CommitRelease has committed, too).
COMMITTED = {"CheckOldDrained", "DeleteOldGroup", "CompleteRelease"}
ROLLBACK_TASKS = ["RollbackTraffic", "RemoveFailedGroup", "RecordFailure"]


@pytest.mark.parametrize("kind", list(FAULT_ERRORS))
@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("app", [ONE_STEP | KEEP], indirect=True, ids=["one-step"])
def test_a_fault_after_the_traffic_gates_rolls_back_or_finishes_forward(app, task: str, kind: str) -> None:
    # Given a good AMI, a subscriber to the notifications, and a fault waiting for the task's first call
    ami = app.publish_ami()
    app.subscribe()
    versions = app.launch_template_versions()
    app.inject_fault(task, kind, THROTTLE_FOREVER if kind == "throttle" else 1)

    # When the AMI is released
    execution = app.release(ami)

    # Then, once green is live, it stays live and the old fleet goes; before that, the release rolls back
    if task in COMMITTED or (task == "CommitRelease" and kind == "late_timeout"):
        finished_forward(app, execution, FAULT_ERRORS[kind], ami, versions)
    else:
        rolled_back(app, execution, FAULT_ERRORS[kind], ami, versions)


@pytest.mark.parametrize("kind", list(FAULT_ERRORS))
@pytest.mark.parametrize("task", ROLLBACK_TASKS)
def test_the_rollback_retries_until_done_and_can_run_twice(app, task: str, kind: str) -> None:
    # Given a broken build (its smoke test fails) and a fault in a rollback task: a late timeout makes the retry
    # run the task a second time after the first run did all its work
    ami = app.publish_ami(broken=True)
    app.subscribe()
    versions = app.launch_template_versions()
    app.inject_fault(task, kind, 3 if kind == "throttle" else 1)

    # When it is released
    execution = app.release(ami)

    # Then the rollback still completes, exactly as without the fault
    rolled_back(app, execution, "SmokeTestFailedError", ami, versions)


@pytest.mark.parametrize("app", [{"approval": {"before_traffic": True}} | KEEP], indirect=True, ids=["approval"])
def test_a_throttle_that_clears_within_the_retries_costs_nothing(app) -> None:
    # Given one throttle waiting for the first call of every task, and a DNS change that is not INSYNC at once
    ami = app.publish_ami()
    tasks = ["CreateGreenGroup", "CheckGreenHealth", "RunSmokeTests", "RequestApproval", "ShiftTraffic"]
    tasks += ["CheckDnsChange", "CheckAlarms", "HoldKeepWindow", "CommitRelease", "CheckOldDrained"]
    tasks += ["DeleteOldGroup", "CompleteRelease"]
    for task in tasks:
        app.inject_fault(task, "throttle")
    server.set_dns_propagation(app.endpoint, 0.5)

    # When the AMI is released (and approved)
    arn = app.start(ami)
    app.wait_for_phase("AwaitingApproval")
    app.approve()
    execution = app.wait(arn)

    # Then every throttle was retried away and the release succeeded
    assert execution.status == "SUCCEEDED", execution.cause
    assert server.faults(app.endpoint) == []
    assert app.status()["live"]["ami_id"] == ami
