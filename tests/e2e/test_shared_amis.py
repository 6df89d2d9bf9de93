"""Shared AMIs that AWS will really copy and launch (issue 16): a copy needs the AMI's snapshots shared with this
account, and the plan says so before anything changes."""

from __future__ import annotations

from tests.e2e.conftest import run_cli
from tests.e2e.test_triggers import (  # noqa: F401 (stack: the module's twin, with a build bus for the build account)
    BUILD_ACCOUNT,
    THIS_ACCOUNT,
    bake_in,
    build_account,
    set_source,
    share_snapshots,
    stack,
)


def shared_build(app, name: str) -> tuple[str, str]:
    """An AMI the build account bakes and shares (the AMI only, not its snapshot): (AMI id, its snapshot id)."""
    build = build_account(app)
    image = bake_in(build("ec2"), name)
    build("ec2").modify_image_attribute(ImageId=image, LaunchPermission={"Add": [{"UserId": THIS_ACCOUNT}]})
    snapshot = build("ec2").describe_images(ImageIds=[image])["Images"][0]["BlockDeviceMappings"][0]["Ebs"]
    return image, snapshot["SnapshotId"]


def copies_here(app, image: str) -> list[str]:
    filters = [{"Name": "tag:bluegreen:source-ami", "Values": [image]}]
    return [i["ImageId"] for i in app.aws.client("ec2").describe_images(Owners=["self"], Filters=filters)["Images"]]


def test_a_copy_whose_snapshot_is_not_shared_is_refused_in_the_plan_naming_the_owners_command(
    app, capsys, monkeypatch
) -> None:
    # Given an app that copies its build account's AMIs, and an AMI shared without its snapshot
    set_source(app, {"owners": [BUILD_ACCOUNT], "name_pattern": f"{app.name}-*", "copy_shared": True})
    image, snapshot = shared_build(app, f"{app.name}-2026.06.01")
    command = (
        f"aws ec2 modify-snapshot-attribute --snapshot-id {snapshot} --attribute createVolumePermission"
        f" --operation-type add --user-ids {THIS_ACCOUNT}"
    )
    live_before = app.status()["live"]

    # When an operator asks for the plan, Then it is refused, naming the snapshot and the owner's command
    code, out, err = run_cli(app.endpoint, capsys, monkeypatch, "deploy", app.name, "--ami", image, "--dry-run")
    assert code == 2, (out, err)
    assert snapshot in out and command in " ".join(out.split()), out
    assert "the release would be refused: AMI" in err

    # When it is released anyway, Then Prepare refuses it with the same one line, and nothing changed: no copy, no
    # group, the lock free, the live fleet as it was
    execution = app.release(image)
    assert (execution.status, execution.error) == ("FAILED", "AmiInvalidError"), execution.cause
    assert command in execution.cause and f"account {BUILD_ACCOUNT} has not shared it" in execution.cause
    assert "\n" not in execution.cause
    assert copies_here(app, image) == []
    assert app.groups() == [app.seeded.blue_asg] and app.lock() is None
    assert app.status()["live"] == live_before

    # When the build account runs that command, Then the copy is made
    share_snapshots(build_account(app), image)
    copied = app.release(image)
    assert copied.output["release"]["outcome"] == "Copied", copied.output
    assert copies_here(app, image) == [copied.output["release"]["ami_id"]]
    app.wait(app.execution_for(copied.output["release"]["ami_id"]))


def test_launching_a_shared_ami_needs_no_snapshot_shared(app) -> None:
    # Given an app that launches its build account's AMIs as they are, and an AMI shared without its snapshot
    set_source(app, {"owners": [BUILD_ACCOUNT], "name_pattern": f"{app.name}-*", "copy_shared": False})
    image, _ = shared_build(app, f"{app.name}-2026.06.02")
    # When it is released, Then it goes live: a launch reads no snapshot permission
    execution = app.release(image)
    assert execution.status == "SUCCEEDED", execution.cause
    assert app.status()["live"]["ami_id"] == image
