"""Issue 16, items 5, 6 and 8 on the twin: an event no app could match starts no execution (AWS Backup, DLM, Image
Builder, parameters outside the golden-AMI path or named by no app); a build account's AMI shared after its event is
released, one never shared is ignored saying so; a build account's AMI can wait for approval."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest
from rich.console import Console

from bluegreen.cli import ops
from bluegreen.demo import build_account as walkthrough
from bluegreen.twin import server
from tests.e2e.screening import dropped
from tests.e2e.test_triggers import (  # noqa: F401  (stack: the build bus for BUILD_ACCOUNT, grants checked at the end)
    BUILD_ACCOUNT,
    THIS_ACCOUNT,
    bake_in,
    build_account,
    set_source,
    stack,
    wait_for_execution,
)


def forward(app, image: str) -> None:
    """The build account's rule forwards its AMI's EC2 AMI State Change to this account's build bus (README)."""
    build = build_account(app)
    event = {
        "Source": "aws.ec2",
        "DetailType": "EC2 AMI State Change",
        "Resources": [f"arn:aws:ec2:us-east-1::image/{image}"],
        "Detail": json.dumps({"RequestId": "r", "ImageId": image, "State": "available", "ErrorMessage": ""}),
    }
    build("events").put_rule(Name="to-workloads", EventPattern=json.dumps({"source": ["aws.ec2"]}))
    build("events").put_targets(
        Rule="to-workloads", Targets=[{"Id": "w", "Arn": app.stack.outputs["BuildEventBusArn"]}]
    )
    build("events").put_events(Entries=[event])


def share(app, image: str) -> None:
    build_account(app)("ec2").modify_image_attribute(
        ImageId=image, LaunchPermission={"Add": [{"UserId": THIS_ACCOUNT}]}
    )


# --- 6. a late share -------------------------------------------------------------------------------------------------


def test_an_ami_shared_after_its_event_is_released(app) -> None:
    set_source(app, {"owners": [BUILD_ACCOUNT], "name_pattern": f"{app.name}-*"})
    build = build_account(app)
    image = bake_in(build("ec2"), f"{app.name}-2026.12.06")
    # When the build account forwards the event first (Packer's ami_users shares after `available`)...
    forward(app, image)
    arn = wait_for_execution(app, image)
    # ...and shares the AMI a moment later (within the settle window: 600 s in AWS, 6 s here)
    time.sleep(1.5)
    share(app, image)
    # Then the release goes ahead, matched by owner and name
    execution = app.wait(arn)
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output["release"]["matched_by"].startswith(f"ami_source: owner {BUILD_ACCOUNT}")
    assert app.status()["live"]["ami_id"] == image


def test_an_ami_never_shared_is_ignored_saying_why(app) -> None:
    set_source(app, {"owners": [BUILD_ACCOUNT], "name_pattern": f"{app.name}-*"})
    image = bake_in(build_account(app)("ec2"), f"{app.name}-never-shared")
    forward(app, image)
    execution = app.wait(wait_for_execution(app, image), timeout=60)
    release = execution.output["release"]
    assert (execution.status, release["outcome"]) == ("SUCCEEDED", "Ignored"), release
    reason = release["reason"]
    assert f"is not visible in account {THIS_ACCOUNT}" in reason and f"{BUILD_ACCOUNT} has not shared it" in reason
    assert "modify-image-attribute" in reason and "deregistered before its release began" not in reason
    assert app.groups() == [app.seeded.blue_asg] and app.lock() is None


# --- 5. unrelated events start nothing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "says"),
    [
        ({"aws:backup:source-resource": "arn:aws:ec2:us-east-1:123456789012:instance/i-1"}, "matches no app"),
        ({"aws:dlm:lifecycle-policy-id": "policy-0a1b2c3d"}, "matches no app"),
        ({"Ec2ImageBuilderArn": "arn:aws:imagebuilder:us-east-1:123456789012:image/base/1.0.0/1"}, "matches no app"),
    ],
    ids=["aws-backup", "dlm", "image-builder"],
)
def test_a_backup_or_service_image_starts_no_execution(app, tags: dict, says: str) -> None:
    image = bake_in(app.aws.client("ec2"), f"unrelated-{len(tags)}-{time.monotonic_ns()}", tags)
    assert says in dropped(app, image)
    assert app.groups() == [app.seeded.blue_asg] and app.lock() is None


def test_parameters_outside_the_golden_path_invoke_nothing_and_unnamed_ones_start_nothing(app) -> None:
    set_source(app, {"parameter": f"/golden-ami/{app.name}"})
    ssm = app.aws.client("ssm")
    machine = app.stack.outputs["DeployStateMachineArn"]
    before = len(app.aws.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"])
    server.clear_api_calls(app.endpoint)
    # When parameters change outside GoldenAmiParameterPrefix, and under it, one that no app names
    for n in range(5):
        ssm.put_parameter(Name=f"/team/config/{app.name}-{n}", Value="x", Type="String", Overwrite=True)
    unnamed = f"/golden-ami/{app.name}-unnamed"
    ssm.put_parameter(Name=unnamed, Value=app.seeded.base_ami, Type="String", Overwrite=True)
    app.wait_until(
        lambda: any(
            c["action"] == "ssm:GetParametersByPath" for c in server.api_call_log(app.endpoint, "TriggerFilter")
        ),
        what="the screen's look at the golden-AMI parameter",
    )
    time.sleep(1.0)
    # Then only the one under the prefix reached the screen (one read of the configs), and nothing started
    screen_calls = [c["action"] for c in server.api_call_log(app.endpoint, "TriggerFilterFunction")]
    assert screen_calls == ["ssm:GetParametersByPath"], screen_calls
    after = app.aws.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"]
    assert len(after) == before


# --- 8. a build account's AMI waits for approval ---------------------------------------------------------------------


def test_a_build_accounts_ami_waits_for_approval_when_the_config_asks(app) -> None:
    app.subscribe()
    set_source(app, {"owners": [BUILD_ACCOUNT], "name_pattern": f"{app.name}-*", "build_account_approval": True})
    image = bake_in(build_account(app)("ec2"), f"{app.name}-needs-a-human")
    share(app, image)
    forward(app, image)
    arn = wait_for_execution(app, image)
    # Then the release stops before any traffic, waiting for a human, and says why
    app.wait_for_phase("AwaitingApproval", timeout=60)
    assert app.weights() == {"blue": 100, "green": 0}
    asked = app.wait_until(lambda: [n for n in app.notifications() if "approve" in n], what="the approval request")
    assert f"made by build account {BUILD_ACCOUNT}" in asked[-1]["why"]
    # When approved, it goes on and is released
    app.approve()
    execution = app.wait(arn)
    assert execution.status == "SUCCEEDED", execution.cause
    release = execution.output["release"]
    assert any("build_account_approval" in note for note in release["ami_notes"]), release["ami_notes"]
    assert app.status()["live"]["ami_id"] == image


def test_the_same_ami_released_by_name_needs_no_approval(app) -> None:
    set_source(app, {"owners": [BUILD_ACCOUNT], "name_pattern": f"{app.name}-*", "build_account_approval": True})
    image = bake_in(build_account(app)("ec2"), f"{app.name}-by-hand")
    share(app, image)
    execution = app.release(image)
    assert execution.status == "SUCCEEDED", execution.cause
    assert not any("build_account_approval" in n for n in execution.output["release"]["ami_notes"])


# --- 7. the README's walk-through of trigger 2 on the twin -------------------------------------------------------------


def test_the_readme_build_account_walkthrough_releases_an_ami_shared_after_its_event(stack) -> None:  # noqa: F811
    out = io.StringIO()
    execution = walkthrough.run(stack.aws, "walkthrough", share_after=1.5, console=Console(file=out, width=200))
    assert execution.status == "SUCCEEDED", (execution.cause, out.getvalue())
    release = execution.output["release"]
    assert release["matched_by"].startswith(f"ami_source: owner {BUILD_ACCOUNT}")
    assert ops.status(stack.aws, "walkthrough")["live"]["ami_id"] == release["ami_id"]
    printed = out.getvalue()
    assert "aws events put-targets --rule bluegreen-forward-amis" in printed
    assert "aws ec2 modify-image-attribute" in printed and "waiting for the share" in printed
    # And the README's hand-sent sample, put by the build account on its own bus, is forwarded with its account
    entries = json.loads((Path(__file__).parents[2] / "events" / "ami-available-forwarded.entries.json").read_text())
    ami = json.loads(entries[0]["Detail"])["ImageId"]
    build_account(_harness(stack))("events").put_events(Entries=entries)
    arn = wait_for_execution(_harness(stack), ami)
    given = json.loads(stack.aws.client("stepfunctions").describe_execution(executionArn=arn)["input"])
    assert given["account"] == BUILD_ACCOUNT
    ended = ops.wait_for(stack.aws, arn, timeout=60, poll=0.2)
    assert (
        ended.output["release"]["outcome"] == "Ignored"
        and "is not visible in account" in ended.output["release"]["reason"]
    )


class _harness:
    """What the build-account helpers of test_triggers need of an app: the stack's clients and endpoint."""

    def __init__(self, running) -> None:
        self.aws, self.endpoint, self.stack = running.aws, running.twin.endpoint_url, running

    def wait_until(self, predicate, timeout: float = 30, what: str = "condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if found := predicate():
                return found
            time.sleep(0.1)
        raise AssertionError(f"waited {timeout}s for {what}")
