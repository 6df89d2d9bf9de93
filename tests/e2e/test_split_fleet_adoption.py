"""An app moves from the blue/green mode to split mode and back with a config change and one release each, never
below full capacity (the `app` fixture's monitor checks every sample)."""

from __future__ import annotations

import json

import pytest

from tests.e2e.test_split_fleet import SPLIT, halves


def put_mode(app, mode: str) -> None:
    config = {**app.seeded.config, "release_mode": mode}
    app.aws.client("ssm").put_parameter(
        Name=f"/bluegreen/apps/{app.name}", Value=json.dumps(config), Type="String", Overwrite=True
    )


@pytest.mark.parametrize("app", [{"release_mode": "split", "seed": {"instances": 4}}], indirect=True)
def test_a_blue_green_app_becomes_split_with_one_release(app) -> None:
    # Given a blue/green app (4 instances on blue, all the traffic) whose config now says split
    assert app.weights() == {"blue": 100, "green": 0}
    ami = app.publish_ami()
    # When the next AMI is released
    execution = app.release(ami, timeout=120)
    # Then the empty slot was built first, the live one replaced after it, and the app is split: 2 + 2, 50/50
    assert execution.status == "SUCCEEDED", execution.cause
    split = execution.output["release"]["split"]
    assert (split["mode"], split["order"]) == ("adopt", ["green", "blue"])
    assert {s: (g["desired"], g["ami"]) for s, g in halves(app).items()} == {"blue": (2, ami), "green": (2, ami)}
    assert app.weights() == {"blue": 50, "green": 50}
    assert split["peak_instances"] <= 6


@pytest.mark.parametrize("app", [SPLIT], indirect=True)
def test_a_split_app_becomes_blue_green_with_one_release(app) -> None:
    # Given a split app whose config now says blue_green (that release peaks as blue/green does: twice the fleet), and
    # whose blue group, the one rebuilt with the whole fleet, may hold only its share (MaxSize 2)
    app.aws.client("autoscaling").update_auto_scaling_group(AutoScalingGroupName=app.seeded.blue_asg, MaxSize=2)
    put_mode(app, "blue_green")
    app.monitors[0].ceiling = 200
    ami = app.publish_ami()
    # When the next AMI is released
    execution = app.release(ami, timeout=120)
    # Then blue was vacated (green surged), the whole fleet built on blue, and green emptied: one group, 100 %
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output["release"]["split"]["mode"] == "join"
    assert {s: (g["desired"], g["ami"]) for s, g in halves(app).items()} == {"blue": (4, ami)}
    # And the commit gave the new group its own sizes (a MaxSize that holds the fleet, the minimum no longer pinned)
    # without an error on the way (a refused resize would have finished the release forward)
    assert "error" not in execution.output, execution.output.get("error")
    new_blue = app.aws.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=app.groups())
    assert [(g["MinSize"], g["MaxSize"]) for g in new_blue["AutoScalingGroups"]] == [(2, 4)]
    assert app.weights() == {"blue": 100, "green": 0}
    # And the next release is an ordinary blue/green one
    second = app.release(app.publish_ami(), timeout=120)
    assert second.status == "SUCCEEDED", second.cause
    assert second.output["release"]["split"] is None
    assert app.weights() == {"blue": 0, "green": 100}
