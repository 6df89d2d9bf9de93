"""Whether Auto Scaling could launch green's instances: a failed launch ends the release at once, saying why.

A launch that Auto Scaling cannot make (an instance profile that does not exist, a subnet with no free address, a KMS
key the group's service-linked role may not use, no capacity, a quota) leaves the group short of its desired capacity
and a scaling activity with `StatusCode` `Failed` and a `StatusMessage` that says why (Auto Scaling User Guide,
"Troubleshoot Amazon EC2 Auto Scaling: EC2 instance launch failures"). Auto Scaling keeps trying, but green is a new
group made for this release: a failure there is this release's, and waiting out the health timeout only delays the
same answer.
"""

from __future__ import annotations

from orchestrator.errors import GreenLaunchFailedError

FAILED = "Failed"
# What Auto Scaling says when an instance is launched and then ends at once because its encrypted volumes could not be
# created: most often a KMS key (of another account) that the group's service-linked role has no grant on.
KMS_HINT_MARKER = "Client.InternalError"
KMS_HINT = (
    " (an instance that ends at launch with Client.InternalError usually has an encrypted volume whose KMS key the"
    " group's service-linked role AWSServiceRoleForAutoScaling may not use: see the README, \"Shared and encrypted"
    ' AMIs")'
)


def failed_launch(activities: list[dict]) -> dict | None:
    """The newest activity of the group that Failed, if any (`activities` as DescribeScalingActivities lists them)."""
    failed = [a for a in activities if a.get("StatusCode") == FAILED]
    return max(failed, key=lambda a: str(a.get("StartTime") or ""), default=None)


def check(asg_name: str, activities: list[dict]) -> None:
    """Raise GreenLaunchFailedError naming the failed activity's status message, when green could not launch."""
    failed = failed_launch(activities)
    if failed is None:
        return
    message = failed.get("StatusMessage") or failed.get("Description") or "no status message"
    hint = KMS_HINT if KMS_HINT_MARKER in message else ""
    raise GreenLaunchFailedError(f"{asg_name} could not launch its instances: {message}{hint}")
