"""What an operator can do to a release in flight: approve or reject it, abort it in any phase, roll it back."""

from __future__ import annotations

import contextlib
from datetime import datetime

import pytest

from bluegreen.cli import ops
from tests.e2e.conftest import WAIT_SCALE
from tests.e2e.expect import rolled_back

APPROVAL = {"approval": {"before_traffic": True}}
KEEP_WINDOW = {"keep_previous_seconds": 300}  # 3 s on the twin
LONG_KEEP_WINDOW = {"keep_previous_seconds": 3_000}  # 30 s: a rollback that waited for its end would show it


@pytest.mark.parametrize("app", [APPROVAL], indirect=True, ids=["approval"])
def test_an_approved_release_goes_on_and_the_request_names_the_command(app) -> None:
    # Given an app whose releases wait for approval before any traffic moves
    ami = app.publish_ami()
    app.subscribe()

    # When a release reaches the gate
    arn = app.start(ami)
    app.wait_for_phase("AwaitingApproval")

    # Then no traffic has moved, and the notification tells how to answer
    assert app.status()["weights"] == {"blue": 100, "green": 0}
    request = app.wait_until(lambda: next((n for n in app.notifications() if "approve" in n), None), what="a request")
    assert request["approve"] == f"bluegreen approve {app.name}"
    assert request["reject"] == f"bluegreen reject {app.name}"

    # When an operator approves, Then the release goes all the way
    assert ops.answer_approval(app.aws, app.name, True) == request["release_id"]
    execution = app.wait(arn)
    assert execution.status == "SUCCEEDED", execution.cause
    assert app.status()["live"]["ami_id"] == ami


@pytest.mark.parametrize("app", [APPROVAL], indirect=True, ids=["approval"])
def test_a_rejected_release_rolls_back_with_the_reason(app) -> None:
    # Given a release waiting for approval
    ami = app.publish_ami()
    app.subscribe()
    versions = app.launch_template_versions()
    arn = app.start(ami)
    app.wait_for_phase("AwaitingApproval")

    # When an operator rejects it
    ops.answer_approval(app.aws, app.name, False, "the change window is closed")
    execution = app.wait(arn)

    # Then it rolls back with ApprovalRejectedError and the operator's reason as the cause
    rolled_back(app, execution, "ApprovalRejectedError", ami, versions)
    assert execution.cause == "the change window is closed"


def _slow_smoke_test(app) -> None:
    app.servers["green"].delay_seconds = 1.0


def _green_never_healthy(app) -> None:
    app.set_slot_health("green", "initial")


@pytest.mark.parametrize(
    ("app", "phase", "setup"),
    [
        ({"health": {"timeout_seconds": 900}}, "WaitHealthy", _green_never_healthy),
        ({}, "SmokeTest", _slow_smoke_test),
        ({}, "Bake", None),
        (KEEP_WINDOW, "KeepWindow", None),
        (APPROVAL, "AwaitingApproval", None),
    ],
    indirect=["app"],
    ids=["WaitHealthy", "SmokeTest", "Bake", "KeepWindow", "AwaitingApproval"],
)
def test_an_abort_in_any_phase_rolls_the_release_back(app, phase: str, setup) -> None:
    # Given a release in flight, held in `phase` long enough for an operator to act
    ami = app.publish_ami()
    app.subscribe()
    versions = app.launch_template_versions()
    if setup:
        setup(app)
    arn = app.start(ami)
    if phase == "SmokeTest":  # its gate comes after its requests: the first (slow) one has arrived
        app.wait_until(lambda: app.servers["green"].requests, what="a smoke request to green")
    else:
        app.wait_for_phase(phase)

    # When the operator aborts it
    release_id = ops.abort(app.aws, app.name, "wrong build")
    execution = app.wait(arn)

    # Then it rolls back with ReleaseAbortedError (cooperatively: the execution was not stopped, it failed)
    rolled_back(app, execution, "ReleaseAbortedError", ami, versions)
    assert f"release {release_id} of {app.name} aborted: wrong build" in execution.cause


@pytest.mark.parametrize("app", [LONG_KEEP_WINDOW], indirect=True, ids=["30s"])
def test_a_rollback_in_the_keep_window_flips_traffic_back_at_once(app) -> None:
    # Given a release with all traffic on green, the old fleet still whole in its keep window
    ami = app.publish_ami()
    app.subscribe()
    versions = app.launch_template_versions()
    arn = app.start(ami)
    lock = app.wait_for_phase("KeepWindow")
    assert app.status()["weights"] == {"blue": 0, "green": 100}

    # When the operator rolls it back
    ops.rollback(app.aws, app.name)

    # Then traffic is back on the old fleet at once
    assert app.status()["weights"] == {"blue": 100, "green": 0}

    # When the operator runs the rollback again (an impatient double press)
    with contextlib.suppress(ops.CliError):  # the release may already have left its keep window, or ended
        ops.rollback(app.aws, app.name)

    # Then traffic stays on the old fleet, and the release rolls back before its window would have ended
    assert app.status()["weights"] == {"blue": 100, "green": 0}
    execution = app.wait(arn)
    rolled_back(app, execution, "OperatorRollbackError", ami, versions)
    assert execution.stopped < datetime.fromisoformat(lock["keep_until"])


@pytest.mark.parametrize("app", [KEEP_WINDOW], indirect=True, ids=["3s"])
def test_the_keep_window_ends_in_a_release_that_goes_live(app) -> None:
    # Given a release with a keep window, that nobody rolls back
    ami = app.publish_ami()

    # When it runs to the end
    execution = app.release(ami)

    # Then the old fleet was kept for the window, then drained and deleted
    assert execution.status == "SUCCEEDED", execution.cause
    keep = KEEP_WINDOW["keep_previous_seconds"] * WAIT_SCALE
    assert sum(app.state_durations(execution.arn, "WaitForKeepWindow")) >= keep - 1
    assert app.groups() == [execution.output["release"]["green_asg"]]
