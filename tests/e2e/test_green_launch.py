"""A green that Auto Scaling cannot launch ends the release at once, with Auto Scaling's reason, and rolls back."""

from __future__ import annotations

import time

import pytest

from tests.e2e.conftest import WAIT_SCALE
from tests.e2e.expect import rolled_back

# Scaled by the twin: 40 s of wall time before GreenUnhealthyError would end the release.
HEALTH_TIMEOUT = 4000


def remove_instance_profile(app) -> str:
    """Delete the fleet's instance profile (its launch template still names it); the profile's name."""
    iam = app.aws.client("iam")
    name = f"{app.name}-fleet"
    iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=name)
    iam.delete_instance_profile(InstanceProfileName=name)
    return name


def release_timed(app) -> tuple[str, list[int], object, float]:
    """Publish an AMI and release it, watching notifications: (AMI, launch template versions before, execution, seconds)."""
    ami = app.publish_ami()
    app.subscribe()
    versions = app.launch_template_versions()
    started = time.monotonic()
    execution = app.release(ami)
    return ami, versions, execution, time.monotonic() - started


@pytest.mark.parametrize("app", [{"health": {"timeout_seconds": HEALTH_TIMEOUT}}], indirect=True)
def test_a_launch_that_fails_ends_the_release_in_seconds_with_its_reason(app) -> None:
    # Given an app whose launch template names an instance profile that no longer exists
    profile = remove_instance_profile(app)
    # When an AMI is released
    ami, versions, execution, took = release_timed(app)

    # Then green's failed launch ends it as GreenLaunchFailedError, Auto Scaling's message in the cause, long before the
    # health timeout, and it rolls back: traffic on blue, green gone, the lock free, people told
    rolled_back(app, execution, "GreenLaunchFailedError", ami, versions)
    assert f"Value ({profile}) for parameter iamInstanceProfile" not in execution.cause  # the template names its ARN
    assert "Invalid IAM Instance Profile ARN. Launching EC2 instance failed." in execution.cause, execution.cause
    assert f"instance-profile/bluegreen/{profile}" in execution.cause, execution.cause
    assert took < HEALTH_TIMEOUT * WAIT_SCALE / 2, took


@pytest.mark.parametrize("app", [{"health": {"timeout_seconds": HEALTH_TIMEOUT}}], indirect=True)
def test_a_subnet_out_of_addresses_ends_the_release_in_seconds_naming_it(app) -> None:
    # Given the subnet green launches into with fewer free addresses than green's instances (interfaces hold the rest)
    subnet = app.fill_subnet(app.seeded.blue_asg, leave=2)
    # When an AMI is released
    ami, versions, execution, took = release_timed(app)

    # Then it ends at once as GreenLaunchFailedError naming the subnet, and rolls back
    rolled_back(app, execution, "GreenLaunchFailedError", ami, versions)
    assert f"There are not enough free addresses in subnet '{subnet}'" in execution.cause, execution.cause
    assert took < HEALTH_TIMEOUT * WAIT_SCALE / 2, took
