"""Split-fleet releases under an operator's hand and a responder's: abort, StopExecution (the reconciler), a quarantine
during a release, dry run. Each ends with both halves on one version at full capacity (the `app` fixture's monitor
checks every sample and the rest state)."""

from __future__ import annotations

import pytest

from bluegreen.cli import ops
from bluegreen.proof.invariants import check_quarantine
from tests.e2e.test_quarantine import put_finding, quarantine_for
from tests.e2e.test_self_healing import reconciled, settled, stop
from tests.e2e.test_split_fleet import SPLIT, SPLIT_ALB, back_as_before, halves, in_half

LONG_BAKE = {"traffic": {"steps": [50, 100], "bake_seconds": 600}}
SPLIT_LONG_BAKE = {**SPLIT, **LONG_BAKE}
SPLIT_ALB_LONG_BAKE = {**SPLIT_ALB, **LONG_BAKE}


def held(app, half: int) -> None:
    """Until the release is baking its first half's first step (a long bake), or moving its fleet for the second half
    (the other half surging, traffic moving, the first half's surge shrinking: a few looks)."""
    if half == 1:
        app.wait_for_phase("Bake", timeout=60)
    else:
        in_half(app, 2, "SplitVacate")


@pytest.mark.parametrize(
    ("app", "half"), [(SPLIT_LONG_BAKE, 1), (SPLIT_ALB, 2)], indirect=["app"], ids=["route53-bake-1", "alb-moving-2"]
)
def test_an_aborted_split_release_rolls_both_halves_back(app, half: int) -> None:
    # Given a split release baking in its first half, or moving its fleet for the second
    arn = app.start(app.publish_ami())
    held(app, half)
    # When an operator aborts it
    ops.abort(app.aws, app.name, "the build is wrong")
    # Then it rolls back cooperatively: both halves on the old version, 50/50, the lock free
    back_as_before(app, app.wait(arn, timeout=120), "ReleaseAbortedError")


@pytest.mark.parametrize(
    ("app", "half"), [(SPLIT, 2), (SPLIT_ALB_LONG_BAKE, 1)], indirect=["app"], ids=["route53-moving-2", "alb-bake-1"]
)
def test_a_stopped_split_release_is_reconciled_back_to_the_old_version(app, half: int) -> None:
    # Given a split release baking in its first half, or moving its fleet for the second
    ami = app.publish_ami()
    arn = app.start(ami)
    held(app, half)
    # When someone stops its execution (no Catch sees it)
    stop(app, arn)
    # Then a reconciliation brings every old group back, deletes the new ones and restores the split
    assert app.wait(arn).status == "ABORTED"
    fixed = reconciled(app, arn, timeout=120)
    assert fixed.output["release"]["split"]["goal"] == "back"
    settled(app, arn, "ExecutionStoppedError")
    seeded = {"blue": app.seeded.blue_asg, "green": app.seeded.green_asg}
    assert {s: (g["name"], g["desired"], g["ami"]) for s, g in halves(app).items()} == {
        s: (name, 2, app.seeded.base_ami) for s, name in seeded.items()
    }
    assert app.weights() == {"blue": 50, "green": 50}
    assert app.claims()[ami] == "failed"


@pytest.mark.parametrize(
    "app", [{**SPLIT, "traffic": {"steps": [50, 100], "bake_seconds": 600, "alarm_names": []}}], indirect=True
)
def test_a_quarantine_during_a_split_release_swaps_the_victims_half_first(app) -> None:
    # Given a split release baking in its first half (blue), and a finding on an instance of the green half
    release = app.start(app.publish_ami())
    in_half(app, 1, "Bake")
    green = app.aws.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[app.seeded.green_asg])
    victim = green["AutoScalingGroups"][0]["Instances"][0]["InstanceId"]
    put_finding(app, victim)
    # When the quarantine runs
    quarantine = app.wait(quarantine_for(app, victim), timeout=180)
    # Then the release was aborted and rolled back first, the victim isolated, and the swap (an emergency split
    # release of the live AMI) replaced the victim's half (green) first, then blue
    assert app.wait(release).error == "ReleaseAbortedError"
    assert quarantine.status == "SUCCEEDED", quarantine.cause
    case = quarantine.output["case"]
    assert (case["status"], case["swap"]["first_slot"]) == ("swapped", "green")
    swap = next(r for r in app.releases() if r["release_id"] == case["swap"]["release_id"])
    assert (swap["source"], swap["status"], swap["split"]["order"]) == ("quarantine", "succeeded", ["green", "blue"])
    after = halves(app)
    assert {s: (g["desired"], g["ami"]) for s, g in after.items()} == {
        "blue": (2, app.seeded.base_ami),
        "green": (2, app.seeded.base_ami),
    }
    assert app.seeded.blue_asg not in app.groups() and app.seeded.green_asg not in app.groups()
    assert app.weights() == {"blue": 50, "green": 50}
    assert check_quarantine(app.aws, victim, app.seeded.isolation_sg, case["case_id"]) == []


@pytest.mark.parametrize("app", [SPLIT], indirect=True)
def test_a_dry_run_of_a_split_release_plans_the_first_half_and_changes_nothing(app) -> None:
    before = halves(app)
    execution = app.release(app.publish_ami(), dry_run=True)
    release = execution.output["release"]
    assert (release["outcome"], release["idle_slot"]) == ("DryRun", "blue")
    assert release["split"]["fleet"] == 4 and release["split"]["order"] == ["blue", "green"]
    assert release["steps"] == [25, 50]
    assert halves(app) == before and app.weights() == {"blue": 50, "green": 50}


@pytest.mark.parametrize(
    "app", [{**SPLIT, "approval": {"before_traffic": True}, "keep_previous_seconds": 3600}], indirect=True
)
def test_a_split_release_asks_once_and_its_keep_window_rollback_relaunches_the_old_halves(app) -> None:
    # Given a split release that asks for approval before traffic and keeps the old halves for an hour
    arn = app.start(app.publish_ami())
    app.wait_for_phase("AwaitingApproval", timeout=60)
    app.approve()
    # When both halves are replaced (the approval asked once only) and an operator rolls back in the keep window
    app.wait_for_phase("KeepWindow", timeout=90)
    assert len(app.state_durations(arn, "WaitForApproval")) == 1
    assert {g["ami"] for g in halves(app).values()} != {app.seeded.base_ami}
    ops.rollback(app.aws, app.name)
    # Then the old halves (held empty) are relaunched and take the traffic back: both on the old version, 50/50
    back_as_before(app, app.wait(arn, timeout=120), "OperatorRollbackError")
