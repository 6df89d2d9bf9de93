"""A failed launch of green names Auto Scaling's reason; a group with none goes on waiting."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from orchestrator.domain import green_launch
from orchestrator.errors import GreenLaunchFailedError


def activity(code: str, message: str = "", minute: int = 0) -> dict:
    return {
        "StatusCode": code,
        "StatusMessage": message,
        "Description": "Launching a new EC2 instance",
        "StartTime": datetime(2026, 12, 6, 5, minute, tzinfo=UTC),
    }


def test_launches_that_succeeded_or_are_in_progress_fail_nothing() -> None:
    green_launch.check("app-green", [activity("Successful"), activity("InProgress"), activity("PreInService")])
    green_launch.check("app-green", [])


def test_the_newest_failed_launch_is_named_with_its_status_message() -> None:
    older = activity("Failed", "There are not enough free addresses in subnet 'subnet-1'", minute=1)
    newer = activity("Failed", "Value (gone) for parameter iamInstanceProfile.name is invalid.", minute=2)
    with pytest.raises(GreenLaunchFailedError) as raised:
        green_launch.check("app-green", [older, activity("Successful", minute=3), newer])
    assert str(raised.value) == (
        "app-green could not launch its instances: Value (gone) for parameter iamInstanceProfile.name is invalid."
    )


def test_a_client_error_on_launch_points_at_the_kms_key() -> None:
    message = "Instance became unhealthy while waiting for instance to be in InService state. Termination Reason:"
    message += " Client.InternalError: Client error on launch"
    with pytest.raises(GreenLaunchFailedError, match="AWSServiceRoleForAutoScaling may not use"):
        green_launch.check("app-green", [activity("Failed", message)])
