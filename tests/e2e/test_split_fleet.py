"""Split-fleet releases end to end on the twin (README "Split-fleet releases"), on both routers: both slots live, each
half replaced in turn, serving capacity never below the fleet, instances never above 150 %, one version at rest.

The `app` fixture's monitor checks every sample (split capacity, I1, I2) and the rest state (I3, I4) of every test.
"""

from __future__ import annotations

import pytest

from bluegreen.cli import ops

SPLIT = {"seed": {"split": True}}
SPLIT_ALB = {"seed": {"split": True, "router": "alb", "test_route": "header"}}
BOTH_ROUTERS = pytest.mark.parametrize("app", [SPLIT, SPLIT_ALB], indirect=True, ids=["route53", "alb"])


def halves(app) -> dict[str, dict]:
    """slot -> {"name", "desired", "ami"} of each group of the app."""
    described = app.aws.client("autoscaling").describe_auto_scaling_groups(
        Filters=[{"Name": "tag:bluegreen:app", "Values": [app.name]}]
    )["AutoScalingGroups"]
    found = {}
    for group in described:
        tags = {t["Key"]: t["Value"] for t in group["Tags"]}
        found[tags["bluegreen:slot"]] = {
            "name": group["AutoScalingGroupName"],
            "desired": group["DesiredCapacity"],
            "ami": tags.get("bluegreen:ami"),
        }
    return found


@BOTH_ROUTERS
def test_a_split_release_replaces_each_half_in_turn(app) -> None:
    # Given a split app at rest: 4 instances, 2 per slot, traffic 50/50
    assert app.weights() == {"blue": 50, "green": 50}
    ami = app.publish_ami()
    # When a new AMI is released
    execution = app.release(ami, timeout=120)
    # Then it succeeds: both halves on the new AMI, 2 instances each, the traffic 50/50 again
    assert execution.status == "SUCCEEDED", execution.cause
    after = halves(app)
    assert {slot: (g["desired"], g["ami"]) for slot, g in after.items()} == {
        "blue": (2, ami),
        "green": (2, ami),
    }
    assert app.weights() == {"blue": 50, "green": 50}
    release = execution.output["release"]
    split = release["split"]
    # And the fleet never ran more than 6 instances (150 % of 4); the monitor checked capacity on every sample
    assert 4 < split["peak_instances"] <= 6
    assert app.monitors[0].samples > 20
    # And the history and status name both halves
    record = ops.history(app.aws, app.name)[0]
    assert record["status"] == "succeeded"
    assert set(record["asg"].split(",")) == {after["blue"]["name"], after["green"]["name"]}
    assert app.status()["in_flight"] is None


# --- failures: each kind in each half, across the two routers; every one ends with both halves on the old version ---

SPLIT_ALB_URLS = {"seed": {"split": True, "router": "alb"}}  # smoke tests through each slot's own test_base_url


def back_as_before(app, execution, error: str) -> None:
    """Rolled back with `error`: the seeded groups again, 2 instances each on the base AMI, 50/50, the lock free."""
    assert (execution.status, execution.error) == ("FAILED", error), execution.cause
    seeded = {"blue": app.seeded.blue_asg, "green": app.seeded.green_asg}
    after = halves(app)
    assert {slot: (g["name"], g["desired"], g["ami"]) for slot, g in after.items()} == {
        slot: (name, 2, app.seeded.base_ami) for slot, name in seeded.items()
    }
    assert app.weights() == {"blue": 50, "green": 50}
    assert app.lock() is None
    record = ops.history(app.aws, app.name)[0]
    assert (record["status"], record["error"]) == ("rolled_back", error)


def in_half(app, half: int, phase: str) -> dict:
    """The lock once the release's `half` (1 or 2) has reached `phase` (each half builds its group once)."""
    if half == 2:  # the split gate records the half it moves the fleet for (0 for the first)
        app.wait_until(lambda: (app.lock() or {}).get("split_half") == 1, 90, "the second half")
    if phase.startswith("Split") and (app.lock() or {}).get("phase") == phase:
        return app.lock() or {}
    return app.wait_for_phase(phase, timeout=60)
