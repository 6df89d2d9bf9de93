"""One release per app: the lock, the queue (latest wins), duplicate events, apps side by side, and the dry run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bluegreen.cli import ops

BLUEGREEN = str(Path(sys.executable).parent / "bluegreen")


# The first release waits for approval: in flight for as long as the test needs, however slow the machine.
@pytest.mark.parametrize("app", [{"approval": {"before_traffic": True}}], indirect=True, ids=["approval"])
def test_amis_published_during_a_release_queue_and_the_latest_wins(app) -> None:
    # Given a release in flight, and two more builds, a second apart (EC2 dates an AMI to the second)
    first, middle = app.publish_ami(), app.publish_ami()
    time.sleep(1.1)
    last = app.publish_ami()
    first_arn = app.start(first)
    app.wait_for_phase("AwaitingApproval")

    # When two more AMIs arrive while it runs
    middle_arn = app.start(middle)
    assert app.wait(middle_arn).output["release"]["outcome"] == "Queued"
    assert app.status()["queued"]["ami_id"] == middle
    last_arn = app.start(last)
    assert app.wait(last_arn).output["release"]["outcome"] == "Queued"

    # Then only the last one waits; the finishing release starts it, and it deploys
    assert app.status()["queued"]["ami_id"] == last
    app.approve()
    assert app.wait(first_arn).status == "SUCCEEDED"
    started = app.wait_until(lambda: [a for a in app.executions_for(last) if a != last_arn], what="the queued run")
    app.wait_for_phase("AwaitingApproval")
    app.approve()
    assert json.loads(app.aws.client("stepfunctions").describe_execution(executionArn=started[0])["input"]) == {
        "app": app.name,
        "ami_id": last,
        "source": "queue",
    }
    assert app.wait(started[0]).status == "SUCCEEDED"
    # And the middle one never deployed: no claim, no release, no execution of its own beyond the queued one
    assert app.status()["live"]["ami_id"] == last
    assert [r["ami_id"] for r in app.releases()] == [last, first]
    assert middle not in app.claims()
    assert app.executions_for(middle) == [middle_arn]
    assert app.status()["queued"] is None


def test_the_same_ami_event_twice_releases_once(app) -> None:
    # Given an AMI tagged for the app, which EC2 announces
    ami = app.publish_ami(tagged=True)

    # When EventBridge delivers its event a second time (delivery is at least once)
    app.put_ami_event(ami)
    arns = app.wait_until(
        lambda: len(app.executions_for(ami, events=True)) == 2 and app.executions_for(ami, events=True), what="2 runs"
    )
    executions = [app.wait(arn) for arn in arns]

    # Then one execution releases it, and the other ends as a duplicate without side effects
    assert all(e.status == "SUCCEEDED" for e in executions), [e.cause for e in executions]
    outcomes = sorted(e.output["release"]["outcome"] for e in executions)
    assert outcomes == ["Duplicate", "Proceed"]
    assert [r["ami_id"] for r in app.releases()] == [ami]
    assert app.status()["queued"] is None
    assert len(app.executions_for(ami, events=True)) == 2  # nothing queued, so nothing started a third
    assert app.executions_for(ami) == []


def test_an_event_for_an_ami_already_live_changes_nothing(app) -> None:
    # Given an AMI released already, by its own event
    ami = app.publish_ami(tagged=True)
    first = app.execution_for(ami)
    assert app.wait(first).status == "SUCCEEDED"
    live = app.status()["live"]

    # When its event arrives again (a replay, or a late duplicate)
    app.put_ami_event(ami)
    again = app.wait_until(lambda: [a for a in app.executions_for(ami, events=True) if a != first], what="a second run")
    execution = app.wait(again[0])

    # Then the execution ends Duplicate and nothing moved
    assert execution.output["release"]["outcome"] == "Duplicate"
    assert app.status()["live"] == live
    assert len(app.releases()) == 1


def state_items(app) -> list[dict]:
    """Every item of the app in the state table, in key order."""
    from boto3.dynamodb.conditions import Key

    return ops.table(app.aws).query(KeyConditionExpression=Key("pk").eq(f"APP#{app.name}"))["Items"]


def redelivered(app, ami: str) -> str:
    """Deliver the AMI's event once more; the outcome of the execution it starts."""
    before = set(app.executions_for(ami, events=True))
    app.put_ami_event(ami)
    arn = app.wait_until(lambda: set(app.executions_for(ami, events=True)) - before, what=f"a run of {ami}").pop()
    execution = app.wait(arn)
    assert execution.status == "SUCCEEDED", execution.cause
    return execution.output["release"]["outcome"]


def test_redelivered_events_of_an_apps_whole_history_write_nothing(app) -> None:
    # Given an app's history from its own events: a build released then replaced, a build superseded by the live one
    # (tagged only after it), the live build, and a broken build rolled back
    replaced = app.publish_ami(tagged=True)
    assert app.wait(app.execution_for(replaced)).status == "SUCCEEDED"
    superseded = app.publish_ami()
    time.sleep(1.1)  # EC2 dates an AMI to the second
    live = app.publish_ami(tagged=True)
    assert app.wait(app.execution_for(live)).status == "SUCCEEDED"
    app.aws.client("ec2").create_tags(Resources=[superseded], Tags=[{"Key": "bluegreen:app", "Value": app.name}])
    assert redelivered(app, superseded) == "Superseded"
    time.sleep(1.1)
    rolled_back = app.publish_ami(tagged=True, broken=True)
    assert app.wait(app.execution_for(rolled_back)).status == "FAILED"
    for ami in (replaced, superseded, live, rolled_back):  # the events EC2 sent, all ended
        app.wait_until(lambda a=ami: all(app.wait(x) for x in app.executions_for(a, events=True)), what=ami)
    before = state_items(app)

    # When EventBridge delivers every one of those events again
    outcomes = {ami: redelivered(app, ami) for ami in (replaced, superseded, live, rolled_back)}

    # Then each released build ends Duplicate, the superseded one Superseded again, and the state table is unchanged
    assert outcomes == {replaced: "Duplicate", superseded: "Superseded", live: "Duplicate", rolled_back: "Duplicate"}
    assert state_items(app) == before
    assert app.status()["live"]["ami_id"] == live


def test_two_apps_release_at_the_same_time(app, more_apps) -> None:
    # Given two apps, each with a new AMI
    other = more_apps()
    ours, theirs = app.publish_ami(), other.publish_ami()

    # When both are released at once
    arns = [app.start(ours), other.start(theirs)]
    executions = [app.wait(arns[0]), other.wait(arns[1])]

    # Then both succeed, each on its own fleet (I1-I4 are checked on both)
    assert [e.status for e in executions] == ["SUCCEEDED", "SUCCEEDED"], [e.cause for e in executions]
    assert app.status()["live"]["ami_id"] == ours
    assert other.status()["live"]["ami_id"] == theirs


def test_a_lock_left_by_a_crashed_release_expires(app) -> None:
    # Given a lock whose lease ran out (its release crashed without rolling back)
    stale = {"release_id": "20200101T000000-dead", "ami_id": "ami-00000000", "expires_at": int(time.time()) - 1}
    ops.state_table.put(app.name, "LOCK", stale, ops.table(app.aws))
    ami = app.publish_ami()

    # When a new AMI is released
    execution = app.release(ami)

    # Then it takes the lock over and goes live
    assert execution.status == "SUCCEEDED", execution.cause
    assert app.status()["live"]["ami_id"] == ami


def test_a_lock_held_by_a_live_release_is_respected(app) -> None:
    # Given a lock whose lease is still running (another release in flight)
    held = {"release_id": "20990101T000000-busy", "ami_id": "ami-00000000", "expires_at": int(time.time()) + 600}
    ops.state_table.put(app.name, "LOCK", held, ops.table(app.aws))
    ami = app.publish_ami()

    # When a new AMI is released
    execution = app.release(ami)

    # Then it is queued, and nothing else changed
    assert execution.output["release"]["outcome"] == "Queued"
    assert app.groups() == [app.seeded.blue_asg]
    assert app.status()["queued"]["ami_id"] == ami
    ops.state_table.release_lock(app.name, held["release_id"], ops.table(app.aws))
    ops.state_table.pop_queue(app.name, ops.table(app.aws))


def test_a_dry_run_prints_the_plan_and_changes_nothing(app) -> None:
    # Given an AMI, and what the app looks like now
    ami = app.publish_ami()
    versions = app.launch_template_versions()

    # When a dry run is started from the CLI's code path, and with `bluegreen deploy --dry-run`
    execution = app.release(ami, dry_run=True)
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    printed = subprocess.run(
        [BLUEGREEN, "--endpoint-url", app.endpoint, "deploy", app.name, "--ami", ami, "--dry-run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    # Then the plan names the slot, the clone plan, the steps and bakes
    release = execution.output["release"]
    assert (execution.status, release["outcome"]) == ("SUCCEEDED", "DryRun")
    assert release["idle_slot"] == "green"
    assert {"VPCZoneIdentifier", "HealthCheckType", "Tags"} <= {i["what"] for i in release["clone_plan"]["copied"]}
    assert "LaunchTemplate" in {i["what"] for i in release["clone_plan"]["adjusted"]}
    assert printed.returncode == 0, printed.stderr
    assert f"Plan for {app.name}: {ami} into the green slot" in printed.stdout
    assert "steps: [50, 100]" in printed.stdout
    assert "copied:" in printed.stdout
    assert "dry run: nothing was changed" in printed.stdout
    # And nothing changed: no group, no launch template version, no lock, no claim, no record, no weight
    assert app.groups() == [app.seeded.blue_asg]
    assert app.launch_template_versions() == versions
    assert app.lock() is None
    assert app.claims() == {}
    assert app.releases() == []
    assert app.status()["weights"] == {"blue": 100, "green": 0}


def test_releases_of_one_app_started_together_never_overlap(app) -> None:
    # Given three AMIs
    amis = [app.publish_ami() for _ in range(3)]

    # When they are released at the same moment
    arns: list[str] = []
    threads = [threading.Thread(target=lambda a=a: arns.append(app.start(a))) for a in amis]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for arn in arns:
        app.wait(arn)
    # (The queued release was started by the first one's last task, so it is listed by now: wait for it, then for the
    # lock and the queue.)
    for amid in amis:
        for arn in app.executions_for(amid):
            app.wait(arn)
    app.wait_until(lambda: app.lock() is None and app.status()["queued"] is None, timeout=60, what="the queue")

    # Then one ran at a time (I4, checked at the end) and the newest build won: one took the lock; of the two queued
    # the later replaced the earlier and went live after the first, unless it was built before the first holder (the
    # AMIs' creation times have whole seconds: three published at once may straddle one), then it was superseded when
    # it started
    released = [r["ami_id"] for r in app.releases()]
    built = {i["ImageId"]: i["CreationDate"] for i in app.aws.client("ec2").describe_images(ImageIds=amis)["Images"]}
    assert app.status()["live"]["ami_id"] == released[0] and len(released) in (1, 2), released
    assert built[released[0]] == max(built.values())
    superseded = set(amis) - set(released)
    assert len(superseded) == 3 - len(released)
    assert superseded.isdisjoint(app.claims())


@pytest.mark.parametrize("app", [{"traffic": {"steps": [50, 100], "bake_seconds": 300}}], indirect=True)
def test_an_ami_arriving_while_traffic_is_split_is_queued(app) -> None:
    # Given a release holding traffic at 50/50 during its bake
    first = app.publish_ami()
    first_arn = app.start(first)
    app.wait_until(lambda: app.status()["weights"] == {"blue": 50, "green": 50}, what="traffic split 50/50")

    # When a new AMI tagged for the app is published then (EC2 announces it)
    second = app.publish_ami(tagged=True)
    queued = app.wait(app.execution_for(second))

    # Then it is queued (not refused because the weights are split), and deploys after the first
    assert (queued.status, queued.output["release"]["outcome"]) == ("SUCCEEDED", "Queued")
    assert app.wait(first_arn).status == "SUCCEEDED"
    started = app.wait_until(lambda: [a for a in app.executions_for(second) if a != queued.arn], what="queued run")
    assert app.wait(started[0]).status == "SUCCEEDED"
    assert app.status()["live"]["ami_id"] == second
