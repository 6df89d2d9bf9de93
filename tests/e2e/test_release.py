"""The release pipeline end to end on the twin: from an AMI event, from the CLI, and the plain AWS CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bluegreen.cli import ops

REPO = Path(__file__).resolve().parents[2]


def test_an_ami_event_releases_all_the_way(app) -> None:
    # Given a fleet on blue at 100 %
    # When a new AMI tagged for the app is published, and EC2 announces it as available
    ami = app.publish_ami(tagged=True)
    execution = app.wait(app.execution_for(ami))
    # Then the release succeeds: green is live with all the traffic and the old fleet is gone
    assert execution.status == "SUCCEEDED", execution.cause
    release = execution.output["release"]
    assert release["outcome"] == "Proceed"
    status = app.status()
    assert status["weights"] == {"blue": 0, "green": 100}
    assert status["live"]["ami_id"] == ami
    assert app.groups() == [release["green_asg"]]
    assert status["in_flight"] is None
    # And the TXT record names the live release
    zone = app.seeded.config["dns"]["hosted_zone_id"]
    records = app.aws.client("route53").list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    txt = [r for r in records if r["Type"] == "TXT" and r["Name"].startswith("_bluegreen.")]
    assert release["release_id"] in txt[0]["ResourceRecords"][0]["Value"]
    # And with no keep window asked for (the default), none was polled: the commit came straight after the drain
    assert app.state_durations(execution.arn, "HoldKeepWindow") == []
    assert len(app.state_durations(execution.arn, "CommitRelease")) == 1


def test_a_failing_smoke_test_rolls_back_to_blue(app) -> None:
    # Given a broken build
    ami = app.publish_ami(broken=True)
    # When it is released
    execution = app.release(ami)
    # Then it fails with the smoke test's error and the responses in the cause
    assert (execution.status, execution.error) == ("FAILED", "SmokeTestFailedError")
    assert "status 500" in execution.cause
    # And blue keeps 100 %, with no green group left and the lock free
    status = app.status()
    assert status["weights"] == {"blue": 100, "green": 0}
    assert app.groups() == [app.seeded.blue_asg]
    assert status["in_flight"] is None
    history = ops.history(app.aws, app.name)
    assert history[0]["status"] == "rolled_back"
    assert history[0]["error"] == "SmokeTestFailedError"


def test_two_releases_alternate_slots(app) -> None:
    first, second = app.publish_ami(), app.publish_ami()
    assert app.release(first).status == "SUCCEEDED"
    assert app.release(second).status == "SUCCEEDED"
    status = app.status()
    assert status["weights"] == {"blue": 100, "green": 0}
    assert status["live"]["ami_id"] == second
    assert status["live"]["slot"] == "blue"


def test_the_plain_aws_cli_starts_releases(app) -> None:
    # Given the twin's endpoint and the AWS CLI (the one in this venv), with fake credentials
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    env["AWS_DEFAULT_REGION"] = "us-east-1"
    aws_cli = [str(Path(sys.executable).parent / "aws"), "--endpoint-url", app.endpoint, "--output", "json"]
    first, second = app.publish_ami(), app.publish_ami()
    # (EC2's own event for the untagged `first` is waiting for a tag: tag it, so both events can release it)
    app.aws.client("ec2").create_tags(Resources=[first], Tags=[{"Key": "bluegreen:app", "Value": app.name}])
    # When an AMI event from events/ (with this AMI's id) is put with `aws events put-events`
    entries = json.loads((REPO / "events" / "ami-available.entries.json").read_text())
    detail = json.loads(entries[0]["Detail"])
    detail["ImageId"] = first
    entries[0]["Detail"] = json.dumps(detail)
    entries[0]["Resources"] = [f"arn:aws:ec2:us-east-1::image/{first}"]
    put = subprocess.run(
        [*aws_cli, "events", "put-events", "--entries", json.dumps(entries)], env=env, capture_output=True, text=True
    )
    assert put.returncode == 0, put.stderr
    assert json.loads(put.stdout)["FailedEntryCount"] == 0
    # Then it started an execution, and the AMI went live once (the other event's execution is a duplicate)
    arns = app.wait_until(
        lambda: len(app.executions_for(first, events=True)) == 2 and app.executions_for(first, events=True),
        what="both events",
    )
    outcomes = sorted(app.wait(arn).output["release"]["outcome"] for arn in arns)
    assert outcomes in (["Duplicate", "Proceed"], ["AlreadyLive", "Proceed"])
    assert app.status()["live"]["ami_id"] == first
    # When a release is started with `aws stepfunctions start-execution`
    started = subprocess.run(
        [
            *aws_cli,
            "stepfunctions",
            "start-execution",
            "--state-machine-arn",
            app.stack.outputs["DeployStateMachineArn"],
            "--input",
            json.dumps({"app": app.name, "ami_id": second}),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert started.returncode == 0, started.stderr
    # Then it succeeds too
    assert app.wait(json.loads(started.stdout)["executionArn"]).status == "SUCCEEDED"
    assert app.status()["live"]["ami_id"] == second
