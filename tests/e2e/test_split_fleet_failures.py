"""Split-fleet releases that fail: each kind of failure (health, smoke tests, an alarm) in each half, across the two
routers, and a surge that Auto Scaling cannot launch. Every one ends with both halves on the old version at full
capacity (the `app` fixture's monitor checks every sample and the rest state)."""

from __future__ import annotations

import pytest

from bluegreen.twin import server
from tests.e2e.test_split_fleet import SPLIT, SPLIT_ALB_URLS, back_as_before, halves, in_half


def unhealthy(app, half: int, slot: str) -> None:
    """Every instance the slot's target group gets from now on fails its health checks (those serving pass)."""
    if half == 2:
        in_half(app, 2, "SplitVacate")  # after the first half: its surge's instances are healthy
    serving = [
        i["InstanceId"]
        for g in app.aws.client("autoscaling").describe_auto_scaling_groups(
            Filters=[{"Name": "tag:bluegreen:app", "Values": [app.name]}]
        )["AutoScalingGroups"]
        for i in g["Instances"]
    ]
    server.set_target_health(app.endpoint, serving, "healthy")
    app.set_slot_health(slot, "unhealthy")
    app.wait_until(lambda: (app.lock() or {}).get("phase") == "SplitBack", 60, "the rollback")
    app.clear_slot_health()  # the old group's relaunched instances are healthy


def broken_smoke(app, half: int, slot: str) -> None:
    """The slot's test endpoint answers 500 from now on: only the half that replaces that slot fails its smoke tests
    (a failed smoke test is over in a moment: the test waits for the rollback, not for the phase)."""
    app.servers[slot].broken = True
    app.wait_until(lambda: (app.lock() or {}).get("phase") == "SplitBack", 60, "the rollback")
    app.servers[slot].broken = False


def alarm(app, half: int, slot: str) -> None:
    in_half(app, half, "Bake")
    app.set_alarm("ALARM")


FAILURES = {
    "health": (unhealthy, "GreenUnhealthyError"),
    "smoke": (broken_smoke, "SmokeTestFailedError"),
    "alarm": (alarm, "AlarmTriggeredError"),
}


@pytest.mark.parametrize(
    ("app", "failure", "half"),
    [
        (SPLIT, "health", 1),
        (SPLIT, "smoke", 2),
        (SPLIT, "alarm", 1),
        (SPLIT_ALB_URLS, "health", 2),
        (SPLIT_ALB_URLS, "smoke", 1),
        (SPLIT_ALB_URLS, "alarm", 2),
    ],
    indirect=["app"],
    ids=["route53-health-1", "route53-smoke-2", "route53-alarm-1", "alb-health-2", "alb-smoke-1", "alb-alarm-2"],
)
def test_a_failure_in_either_half_leaves_both_halves_on_the_old_version(app, failure: str, half: int) -> None:
    # Given a split app releasing a new AMI (blue replaced first, then green)
    ami = app.publish_ami()
    arn = app.start(ami)
    # When the health check, the smoke tests or an alarm fails in the first or the second half
    cause, error = FAILURES[failure]
    cause(app, half, "blue" if half == 1 else "green")
    # Then the release rolls back: both halves on the old AMI at full size, the traffic 50/50, nothing left over
    execution = app.wait(arn, timeout=120)
    back_as_before(app, execution, error)


@pytest.mark.parametrize("app", [SPLIT], indirect=True)
def test_a_surge_the_subnet_has_no_addresses_for_ends_the_release_with_nothing_changed(app) -> None:
    # Given a split app whose subnet has one free address (the surge of the other half needs two)
    subnet = app.fill_subnet(app.seeded.green_asg, leave=1)
    before = halves(app)
    # When a release starts
    execution = app.release(app.publish_ami(), timeout=120)
    # Then Auto Scaling's own message ends it at the surge, before any traffic moved, and the halves are as they were
    back_as_before(app, execution, "GreenLaunchFailedError")
    assert f"There are not enough free addresses in subnet '{subnet}'" in execution.cause, execution.cause
    assert halves(app) == before
