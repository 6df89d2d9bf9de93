"""Shared AMIs that AWS will really copy and launch (issue 16): a copy needs the AMI's snapshots shared with this
account, and the plan says so before anything changes."""

from __future__ import annotations

import json

from tests.build_keys import SERVICE_ROLE, build_key
from tests.e2e.conftest import run_cli
from tests.e2e.expect import rolled_back
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


def encrypted_build(app, name: str, key: str) -> tuple[str, str]:
    """Packer's encrypt_boot in the build account: the baked AMI copied encrypted with `key`, shared with this account
    together with its snapshot. (AMI id, snapshot id)."""
    build = build_account(app)
    ec2 = build("ec2")
    plain = bake_in(ec2, f"{name}-plain")
    image = ec2.copy_image(SourceImageId=plain, SourceRegion="us-east-1", Name=name, Encrypted=True, KmsKeyId=key)
    ec2.modify_image_attribute(ImageId=image["ImageId"], LaunchPermission={"Add": [{"UserId": THIS_ACCOUNT}]})
    share_snapshots(build, image["ImageId"])
    snapshot = ec2.describe_images(ImageIds=[image["ImageId"]])["Images"][0]["BlockDeviceMappings"][0]["Ebs"]
    return image["ImageId"], snapshot["SnapshotId"]


def grantees(app, key: str) -> list[str]:
    return [g["GranteePrincipal"] for g in build_account(app)("kms").list_grants(KeyId=key)["Grants"]]


def test_a_shared_encrypted_ami_is_launched_once_bluegreen_grants_auto_scaling_its_key_else_refused_in_the_plan(
    app,
) -> None:
    set_source(app, {"owners": [BUILD_ACCOUNT], "name_pattern": f"{app.name}-*"})
    # Given a key policy that lets this account use the key but not grant it
    key = build_key(build_account(app), THIS_ACCOUNT, grants=False)
    image, snapshot = encrypted_build(app, f"{app.name}-2026.06.03", key)
    versions = app.launch_template_versions()
    # When it is released, Then it is refused in the plan, naming the key and the command, and nothing changed
    refused = app.release(image)
    assert (refused.status, refused.error) == ("FAILED", "AmiInvalidError"), refused.cause
    assert f"aws kms create-grant --key-id {key} --grantee-principal {SERVICE_ROLE}" in refused.cause
    assert snapshot in refused.cause and "\n" not in refused.cause
    assert grantees(app, key) == []
    assert app.groups() == [app.seeded.blue_asg] and app.lock() is None
    assert app.launch_template_versions() == versions
    assert app.weights() == {"blue": 100, "green": 0}

    # When the key policy lets this account create grants (the README's build-account statement)
    build_key_policy = json.loads(build_account(app)("kms").get_key_policy(KeyId=key, PolicyName="default")["Policy"])
    build_key_policy["Statement"].append(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{THIS_ACCOUNT}:root"},
            "Action": "kms:CreateGrant",
            "Resource": "*",
        }
    )
    build_account(app)("kms").put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(build_key_policy))
    # Then bluegreen grants Auto Scaling's role the key, green launches, and the AMI goes live
    execution = app.release(image, retry_failed=True)
    assert execution.status == "SUCCEEDED", execution.cause
    assert app.status()["live"]["ami_id"] == image
    assert grantees(app, key) == [SERVICE_ROLE]
    assert any("AWSServiceRoleForAutoScaling may use KMS key" in n for n in execution.output["release"]["ami_notes"])


def test_an_encrypted_shared_ami_is_copied_with_the_build_accounts_key_and_the_copy_released(app) -> None:
    set_source(app, {"owners": [BUILD_ACCOUNT], "name_pattern": f"{app.name}-*", "copy_shared": True})
    key = build_key(build_account(app), THIS_ACCOUNT)
    image, _ = encrypted_build(app, f"{app.name}-2026.06.04", key)
    # When it is released, Then it is copied (re-encrypted with this account's key) and the copy goes live, with no
    # grant needed: the copy's key is this account's own
    first = app.release(image)
    assert first.output["release"]["outcome"] == "Copied", first.output
    copy = first.output["release"]["ami_id"]
    execution = app.wait(app.execution_for(copy))
    assert execution.status == "SUCCEEDED", execution.cause
    assert app.status()["live"]["ami_id"] == copy
    assert grantees(app, key) == []


def test_a_copy_the_build_accounts_key_does_not_allow_ends_failed_and_is_recorded_and_told(
    app, capsys, monkeypatch
) -> None:
    set_source(app, {"owners": [BUILD_ACCOUNT], "name_pattern": f"{app.name}-*", "copy_shared": True})
    # Given a key whose policy lets this account describe it, but not decrypt or re-encrypt with it
    build = build_account(app)
    key = build_key(build, None)
    policy = json.loads(build("kms").get_key_policy(KeyId=key, PolicyName="default")["Policy"])
    policy["Statement"].append(
        {"Effect": "Allow", "Principal": {"AWS": THIS_ACCOUNT}, "Action": "kms:DescribeKey", "Resource": "*"}
    )
    build("kms").put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(policy))
    image, _ = encrypted_build(app, f"{app.name}-2026.06.05", key)
    app.subscribe()
    # When it is released, Then the copy is made, ends failed, and that is recorded in the app's history and told
    first = app.release(image)
    assert first.output["release"]["outcome"] == "Copied", first.output
    copy = first.output["release"]["ami_id"]
    told = app.wait_until(
        lambda: [n for n in app.notifications() if n.get("status") == "copy_failed"], what="the copy-failed notice"
    )
    assert [(n["ami_id"], n["source_ami"]) for n in told] == [(copy, image)]
    assert "cannot be used" in told[0]["reason"] and "kms:Decrypt" in told[0]["reason"], told
    code, out, _ = run_cli(app.endpoint, capsys, monkeypatch, "history", app.name, "--output", "json")
    assert code == 0, out
    rows = [r for r in json.loads(out) if r["kind"] == "copy_failed"]
    assert [(r["ami_id"], r["source_ami"]) for r in rows] == [(copy, image)], out
    assert "kms:Decrypt" in rows[0]["reason"]
    # And nothing else changed: no release of the copy, the app's fleet as it was
    assert app.aws.client("ec2").describe_images(ImageIds=[copy])["Images"][0]["State"] == "failed"
    assert app.groups() == [app.seeded.blue_asg] and app.lock() is None
    assert app.weights() == {"blue": 100, "green": 0}


def test_an_encrypted_ami_whose_key_the_plan_cannot_see_fails_its_launch_at_once_pointing_at_the_key(app) -> None:
    set_source(app, {"owners": [BUILD_ACCOUNT], "name_pattern": f"{app.name}-*"})
    # Given an encrypted AMI shared without its snapshot: the plan cannot see which key encrypts it, so it grants none
    build = build_account(app)
    key = build_key(build, THIS_ACCOUNT)
    plain = bake_in(build("ec2"), f"{app.name}-2026.06.06-plain")
    image = build("ec2").copy_image(
        SourceImageId=plain, SourceRegion="us-east-1", Name=f"{app.name}-2026.06.06", Encrypted=True, KmsKeyId=key
    )["ImageId"]
    build("ec2").modify_image_attribute(ImageId=image, LaunchPermission={"Add": [{"UserId": THIS_ACCOUNT}]})
    app.subscribe()
    versions = app.launch_template_versions()
    # When it is released, Then green cannot launch (no grant for Auto Scaling's role), and the release ends at once
    # with Auto Scaling's reason and a pointer at the key, and rolls back
    execution = app.release(image)
    rolled_back(app, execution, "GreenLaunchFailedError", image, versions)
    assert "Client.InternalError: Client error on launch" in execution.cause
    assert "AWSServiceRoleForAutoScaling may not use" in execution.cause
    assert grantees(app, key) == []
