"""The gates a release must pass: alarms after every traffic step and bake, and health that does not lie."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import WAIT_SCALE
from tests.e2e.expect import rolled_back

STEPS = [50, 100]
TTL = 60  # Route 53 answers alias records with a 60 s TTL; the config's default


@pytest.mark.parametrize("step", range(len(STEPS)), ids=[f"at-{p}" for p in STEPS])
@pytest.mark.parametrize("app", [{"traffic": {"steps": STEPS, "bake_seconds": 60}}], indirect=True, ids=["steps"])
def test_an_alarm_during_a_bake_rolls_the_release_back(app, step: int) -> None:
    # Given a good AMI, released
    ami = app.publish_ami()
    app.subscribe()
    versions = app.launch_template_versions()
    arn = app.start(ami)

    # When the app's alarm fires while the traffic step bakes (the router serves the step's weights)
    percent = STEPS[step]
    app.wait_until(lambda: app.weights().get("green") == percent, what=f"{percent} %")
    app.set_alarm("ALARM")
    execution = app.wait(arn)

    # Then the gate after that bake fails the release at that step, and it rolls back (green drains first: I2)
    rolled_back(app, execution, "AlarmTriggeredError", ami, versions)
    assert f"at {percent} % on green" in execution.cause
    assert app.seeded.alarm_names[0] in execution.cause


@pytest.mark.parametrize(
    ("app", "clears", "outcome"),
    [
        ({"traffic": {"steps": [50, 100], "bake_seconds": 60, "insufficient_data": "fail"}}, False, "rolled back"),
        ({"traffic": {"steps": [50, 100], "bake_seconds": 60, "insufficient_data": "wait"}}, False, "rolled back"),
        ({"traffic": {"steps": [50, 100], "bake_seconds": 60, "insufficient_data": "wait"}}, True, "succeeded"),
        ({"traffic": {"steps": [50, 100], "bake_seconds": 60, "insufficient_data": "ignore"}}, False, "succeeded"),
    ],
    indirect=["app"],
    ids=["fail", "wait-in-vain", "wait-until-it-clears", "ignore"],
)
def test_an_alarm_without_data_is_judged_as_the_app_says(app, clears: bool, outcome: str) -> None:
    # Given an alarm with INSUFFICIENT_DATA
    app.set_alarm("INSUFFICIENT_DATA")
    ami = app.publish_ami()
    app.subscribe()
    versions = app.launch_template_versions()

    # When the AMI is released (and, in one case, the alarm gets data once the first gate has waited on it)
    arn = app.start(ami)
    if clears:
        app.wait_for_phase("Bake")
        app.set_alarm("OK")
    execution = app.wait(arn)

    # Then "fail" fails at once, "wait" fails after its bounded waits unless data arrives, "ignore" goes on
    if outcome == "succeeded":
        assert execution.status == "SUCCEEDED", execution.cause
        assert app.status()["live"]["ami_id"] == ami
    else:
        rolled_back(app, execution, "AlarmTriggeredError", ami, versions)
        assert "INSUFFICIENT_DATA" in execution.cause


@pytest.mark.parametrize("app", [{"traffic": {"steps": [50, 100], "bake_seconds": 0}}], indirect=True, ids=["0s"])
def test_a_bake_is_never_shorter_than_the_record_ttl(app) -> None:
    # Given an app that asks for no bake at all
    ami = app.publish_ami()

    # When the AMI is released
    execution = app.release(ami)

    # Then every bake still lasted the record's TTL (scaled, as every wait on the twin)
    assert execution.status == "SUCCEEDED", execution.cause
    bakes = app.state_durations(execution.arn, "WaitForBake")
    assert len(bakes) == 2
    assert all(seconds >= TTL * WAIT_SCALE for seconds in bakes), bakes


@pytest.mark.parametrize("state", ["unhealthy", "initial", "draining"])
def test_green_that_never_gets_healthy_fails_with_each_instance_state(app, state: str) -> None:
    # Given green's target group reporting every target `state`, whatever the instance does
    app.set_slot_health("green", state)
    ami = app.publish_ami()
    app.subscribe()
    versions = app.launch_template_versions()

    # When the AMI is released
    execution = app.release(ami)

    # Then the health deadline fails it with every green instance's state in the cause, and it rolls back
    rolled_back(app, execution, "GreenUnhealthyError", ami, versions)
    instances = execution.cause.split(": ", 2)[-1].split("; ")
    assert len(instances) == 3
    assert all(f"InService/Healthy targets={state}" in line for line in instances), execution.cause


def test_green_that_gets_healthy_late_is_waited_for(app) -> None:
    # Given green's targets `initial` (registered, health checks not yet passed)
    app.set_slot_health("green", "initial")
    ami = app.publish_ami()

    # When the AMI is released, and green's targets pass their checks while it waits
    arn = app.start(ami)
    app.wait_until(lambda: (app.lock() or {}).get("health") == "0/3", what="a health check of green")
    app.clear_slot_health()
    execution = app.wait(arn)

    # Then the release goes on once green is healthy, and succeeds
    assert execution.status == "SUCCEEDED", execution.cause
    assert app.status()["live"]["ami_id"] == ami
