"""The fault matrix on an ALB-routed app: a fault in any task that touches its listener and rules (or runs between
their changes) rolls the release back, or finishes it forward once green is live, exactly as for Route 53. Fault
kinds as in test_safety_faults.py; the app has a listener and a rule, so every change is two calls."""

from __future__ import annotations

import pytest

from tests.e2e.expect import FAULT_ERRORS, THROTTLE_FOREVER, finished_forward, rolled_back

ALB = {"seed": {"router": "alb", "rules": 1, "test_route": "listener"}}
TASKS = ["CreateGreenGroup", "RunSmokeTests", "ShiftTraffic", "CheckAlarms", "CommitRelease"]


@pytest.mark.parametrize("kind", list(FAULT_ERRORS))
@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("app", [ALB], indirect=True, ids=["alb"])
def test_a_fault_in_a_task_of_an_alb_release_rolls_back_or_finishes_forward(app, task: str, kind: str) -> None:
    # Given a good AMI, a subscriber to the notifications, and a fault waiting for the task's first call
    ami = app.publish_ami()
    app.subscribe()
    versions = app.launch_template_versions()
    app.inject_fault(task, kind, THROTTLE_FOREVER if kind == "throttle" else 1)

    # When the AMI is released
    execution = app.release(ami)

    # Then it rolls back (every listener and rule on blue), or, once green is live, finishes forward
    if task == "CommitRelease" and kind == "late_timeout":
        finished_forward(app, execution, FAULT_ERRORS[kind], ami, versions)
    else:
        rolled_back(app, execution, FAULT_ERRORS[kind], ami, versions)


@pytest.mark.parametrize("kind", list(FAULT_ERRORS))
@pytest.mark.parametrize("app", [ALB], indirect=True, ids=["alb"])
def test_the_rollback_of_an_alb_release_retries_until_done(app, kind: str) -> None:
    # Given a broken build (caught through the test listener) and a fault in the rollback of the traffic
    ami = app.publish_ami(broken=True)
    app.subscribe()
    versions = app.launch_template_versions()
    app.inject_fault("RollbackTraffic", kind, 3 if kind == "throttle" else 1)

    # When it is released, Then the rollback still completes, exactly as without the fault
    rolled_back(app, app.release(ami), "SmokeTestFailedError", ami, versions)
