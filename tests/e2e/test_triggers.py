"""Triggers from the AMI pipelines teams run (issue 11): Packer's temporary AMI and late tags, an AMI a build account
owns and shares, the same account's event forwarded to the build bus, and a golden-AMI parameter. Every trigger ends in
the same Prepare: looked at again before anything starts, the same dedupe and newest-build rules."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from bluegreen.cli import ops
from bluegreen.twin import local, server
from tests.e2e.conftest import RETRY_SCALE, WAIT_SCALE, App, api_calls_by_function

BUILD_ACCOUNT = "111122223333"
THIS_ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def stack() -> Iterator[local.LocalStack]:
    """The stack with a build bus for BUILD_ACCOUNT (the template's BuildAccountIds); I6 checked at the end."""
    from bluegreen.proof import least_privilege

    running = local.start(
        port=0, wait_scale=WAIT_SCALE, retry_scale=RETRY_SCALE, parameters={"BuildAccountIds": BUILD_ACCOUNT}
    )
    yield running
    calls = api_calls_by_function(running)
    running.stop()
    gaps = least_privilege.calls_not_allowed(calls)
    assert not gaps, "calls not allowed by template.yaml:\n" + "\n".join(gaps)


def build_account(app: App) -> Callable[[str], Any]:
    """Clients of the build account on the twin: a role assumed there (moto maps its credentials to that account)."""
    sts = app.aws.client("sts")
    keys = sts.assume_role(RoleArn=f"arn:aws:iam::{BUILD_ACCOUNT}:role/ami-builder", RoleSessionName="packer")[
        "Credentials"
    ]
    return lambda service: boto3.client(
        service,
        region_name="us-east-1",
        endpoint_url=app.endpoint,
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys["SessionToken"],
    )


def bake_in(ec2: Any, name: str, tags: dict[str, str] | None = None) -> str:
    """An AMI baked as Packer's amazon-ebs does: a builder instance from a stock image, imaged, then terminated."""
    stock = "ami-12c6146b"
    builder = ec2.run_instances(ImageId=stock, MinCount=1, MaxCount=1, InstanceType="t3.micro")["Instances"][0]
    specs = [{"ResourceType": "image", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}] if tags else []
    image = ec2.create_image(InstanceId=builder["InstanceId"], Name=name, TagSpecifications=specs)["ImageId"]
    ec2.terminate_instances(InstanceIds=[builder["InstanceId"]])
    return image


def share_snapshots(build: Callable[[str], Any], image: str) -> None:
    """The build account shares the AMI's snapshots with this account (Packer's snapshot_users), as a copy needs."""
    ec2 = build("ec2")
    for mapping in ec2.describe_images(ImageIds=[image])["Images"][0]["BlockDeviceMappings"]:
        ec2.modify_snapshot_attribute(
            SnapshotId=mapping["Ebs"]["SnapshotId"],
            Attribute="createVolumePermission",
            OperationType="add",
            UserIds=[THIS_ACCOUNT],
        )


def set_source(app: App, source: dict) -> None:
    document = json.loads(ops.load_config(app.aws, app.name).model_dump_json())
    document["ami_source"] = source
    ops.put_config(app.aws, app.name, json.dumps(document))


def executions_named(app: App, needle: str) -> list[str]:
    sfn = app.aws.client("stepfunctions")
    found = []
    for execution in sfn.list_executions(stateMachineArn=app.stack.outputs["DeployStateMachineArn"])["executions"]:
        if needle in sfn.describe_execution(executionArn=execution["executionArn"])["input"]:
            found.append(execution["executionArn"])
    return found


def wait_for_execution(app: App, needle: str, timeout: float = 15) -> str:
    return app.wait_until(lambda: (found := executions_named(app, needle)) and found[-1], timeout, needle)


# --- Packer: a temporary AMI with the run tags, deregistered; the real AMI tagged late ---------------------------------


def test_packers_temporary_ami_is_ignored_and_its_late_tagged_ami_is_released(app) -> None:
    ec2 = app.aws.client("ec2")
    # Given Packer's encrypt_boot: a temporary AMI carrying the run tags (bluegreen:app) is announced...
    temporary = bake_in(ec2, f"packer_{app.name}_tmp", {"bluegreen:app": app.name})
    temporary_arn = app.execution_for(temporary)
    # ...and deregistered once its encrypted copy exists, while its event is being looked at again
    ec2.deregister_image(ImageId=temporary)
    ended = app.wait(temporary_arn)
    # Then its execution ends Ignored, saying why, and nothing changed
    assert ended.status == "SUCCEEDED"
    assert ended.output["release"]["outcome"] == "Ignored"
    assert "deregistered" in ended.output["release"]["reason"]
    assert app.groups() == [app.seeded.blue_asg] and app.lock() is None
    # When the real AMI is announced untagged, and Packer tags it after `available`
    real = bake_in(ec2, f"{app.name}-final")
    arn = app.execution_for(real)
    ec2.create_tags(Resources=[real], Tags=[{"Key": "bluegreen:app", "Value": app.name}])
    # Then it is released, matched by its tag
    execution = app.wait(arn)
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output["release"]["matched_by"] == f"tag bluegreen:app={app.name}"
    assert app.status()["live"]["ami_id"] == real


# --- a central build account -------------------------------------------------------------------------------------------


def test_an_ami_a_build_account_shares_is_released_by_owner_and_name(app) -> None:
    # Given an app whose AMIs come from the build account, named <app>-*
    set_source(app, {"owners": [BUILD_ACCOUNT], "name_pattern": f"{app.name}-*"})
    build = build_account(app)
    # When the build account bakes an AMI (tagged there: its tags are invisible here) and shares it with this account
    image = bake_in(build("ec2"), f"{app.name}-2026.05.01", {"bluegreen:app": app.name})
    build("ec2").modify_image_attribute(ImageId=image, LaunchPermission={"Add": [{"UserId": THIS_ACCOUNT}]})
    # And forwards its EC2 AMI State Change to this account's build bus, as the README's rule does
    forwarded = {
        "Source": "aws.ec2",
        "DetailType": "EC2 AMI State Change",
        "Resources": [f"arn:aws:ec2:us-east-1::image/{image}"],
        "Detail": json.dumps({"RequestId": "r", "ImageId": image, "State": "available", "ErrorMessage": ""}),
    }
    bus = app.stack.outputs["BuildEventBusArn"]
    build("events").put_rule(Name="to-workloads", EventPattern=json.dumps({"source": ["aws.ec2"]}))
    build("events").put_targets(Rule="to-workloads", Targets=[{"Id": "workloads", "Arn": bus}])
    build("events").put_events(Entries=[forwarded])
    # Then the forwarded event releases it, matched by owner and name
    execution = app.wait(wait_for_execution(app, image))
    assert execution.status == "SUCCEEDED", execution.cause
    release = execution.output["release"]
    assert release["matched_by"].startswith(f"ami_source: owner {BUILD_ACCOUNT}")
    assert any("shared with this account" in note for note in release["ami_notes"])
    assert app.status()["live"]["ami_id"] == image


def test_a_shared_ami_is_copied_and_the_copy_released_when_the_config_asks(app) -> None:
    set_source(app, {"owners": [BUILD_ACCOUNT], "name_pattern": f"{app.name}-*", "copy_shared": True})
    build = build_account(app)
    image = bake_in(build("ec2"), f"{app.name}-2026.05.02")
    build("ec2").modify_image_attribute(ImageId=image, LaunchPermission={"Add": [{"UserId": THIS_ACCOUNT}]})
    share_snapshots(build, image)  # a copy reads the AMI's storage
    # When it is released by name
    first = app.release(image)
    # Then the execution copies it and ends; the copy, tagged for the app, releases itself through its own event
    assert first.output["release"]["outcome"] == "Copied", first.output
    copy = first.output["release"]["ami_id"]
    tags = app.aws.client("ec2").describe_images(ImageIds=[copy])["Images"][0]["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"bluegreen:release-to": app.name, "bluegreen:source-ami": image}
    execution = app.wait(app.execution_for(copy))
    assert execution.status == "SUCCEEDED", execution.cause
    assert app.status()["live"]["ami_id"] == copy
    # And asking again makes no second copy
    again = app.release(image)
    assert (again.output["release"]["outcome"], again.output["release"]["ami_id"]) == ("Copied", copy)


# --- a golden-AMI parameter ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("data_type", ["aws:ec2:image", "text"])
def test_a_golden_ami_parameter_update_releases_its_value(app, data_type: str) -> None:
    parameter = f"/golden-ami/{app.name}"
    set_source(app, {"parameter": parameter})
    ssm = app.aws.client("ssm")
    image = app.publish_ami()  # untagged: nothing but the parameter says it is this app's
    # When the pipeline publishes it to the parameter
    ssm.put_parameter(Name=parameter, Value=image, Type="String", DataType=data_type, Overwrite=True)
    # Then the Parameter Store Change event releases it
    execution = app.wait(wait_for_execution(app, parameter))
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output["release"]["matched_by"] == f"ami_source.parameter {parameter}"
    assert app.status()["live"]["ami_id"] == image


# --- two apps claiming one AMI ---------------------------------------------------------------------------------------


def test_an_ami_that_matches_two_apps_is_refused_and_app_put_names_the_overlap(app, more_apps) -> None:
    other = more_apps()
    set_source(app, {"owners": [BUILD_ACCOUNT], "name_pattern": "shared-*"})
    # When the second app's config would claim the same AMIs, Then app put refuses it naming the first app
    with pytest.raises(ops.CliError, match=f"overlaps app {app.name}"):
        set_source(other, {"owners": [BUILD_ACCOUNT], "name_pattern": "shared-web-*"})
    # And an AMI whose tag names one app and whose name the other's rule matches is refused, changing nothing
    build = build_account(app)
    image = bake_in(build("ec2"), "shared-web-1")
    build("ec2").modify_image_attribute(ImageId=image, LaunchPermission={"Add": [{"UserId": THIS_ACCOUNT}]})
    app.aws.client("ec2").create_tags(Resources=[image], Tags=[{"Key": "bluegreen:app", "Value": other.name}])
    sent = f"tagged-{image}"
    app.aws.client("events").put_events(
        Entries=[
            {
                "Source": "aws.ec2",
                "DetailType": "EC2 AMI State Change",
                "Resources": [f"arn:aws:ec2:us-east-1::image/{image}"],
                "Detail": json.dumps({"ImageId": image, "State": "available", "RequestId": sent, "ErrorMessage": ""}),
            }
        ]
    )
    # (the build account's own event for the AMI, forwarded before it was shared and tagged, starts another execution)
    execution = app.wait(wait_for_execution(app, sent))
    assert (execution.status, execution.error) == ("FAILED", "AmiSourceConflictError")
    assert f"matches apps {min(app.name, other.name)} and {max(app.name, other.name)}" in execution.cause
    assert app.groups() == [app.seeded.blue_asg] and other.groups() == [other.seeded.blue_asg]


_ = (time, server)
