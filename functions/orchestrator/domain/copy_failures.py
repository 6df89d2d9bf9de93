"""A copy of a shared AMI (ami_source.copy_shared) that ends `failed` is recorded in the app's history and told.

CopyImage returns at once and the copy is `pending`; EC2 sends "EC2 AMI State Change" with `State` `failed` (and its
`ErrorMessage`) when the copy cannot be made, e.g. when this account may not use the source snapshots' KMS key (EC2
User Guide, "Monitor AMI events using Amazon EventBridge"; "Copy an AMI"). The copy never becomes `available`, so no
release would ever start, and nobody would know: this says so, once per copy, and changes nothing else (the app keeps
its fleet; the source can be released again, which copies it again, once the owner has fixed what was wrong).
"""

from __future__ import annotations

from datetime import datetime

from orchestrator.adapters import config_store, ec2, notify, state_table
from orchestrator.domain import sources
from orchestrator.errors import AmiInvalidError, AppNotFoundError, ConfigInvalidError


def on_failed(event: dict, now: datetime, topic: str | None) -> dict:
    """Record and notify a failed copy bluegreen made (tagged bluegreen:source-ami and bluegreen:release-to); any other
    failed AMI is none of this stack's business."""
    detail = event.get("detail") or {}
    ami_id = str(detail.get("ImageId") or "")
    if detail.get("State") != "failed" or not ami_id.startswith("ami-"):
        return {"outcome": "Ignored", "reason": f"AMI {ami_id or '?'} is {detail.get('State')}, not failed"}
    try:
        image = ec2.describe_image(ami_id)
    except AmiInvalidError:
        return {"outcome": "Ignored", "reason": f"AMI {ami_id} no longer exists"}
    source_ami, app = ec2.image_tag(image, ec2.TAG_SOURCE_AMI), ec2.image_tag(image, sources.TAG_RELEASE)
    if not source_ami or not app:
        return {"outcome": "Ignored", "reason": f"AMI {ami_id} is no copy bluegreen made"}
    reason = str(detail.get("ErrorMessage") or (image.get("StateReason") or {}).get("Message") or "no reason given")
    at = now.isoformat()
    recorded = state_table.record_copy_failed(app, ami_id, source_ami, reason, at)
    if recorded:
        try:
            app_topic = config_store.load(app, max_age=0).notify_topic_arn
        except (AppNotFoundError, ConfigInvalidError):
            app_topic = None
        notify.publish(
            [topic, app_topic],
            f"bluegreen: {app}: copy of {source_ami} failed",
            {
                "app": app,
                "status": "copy_failed",
                "ami_id": ami_id,
                "source_ami": source_ami,
                "reason": reason,
                "at": at,
            },
        )
    return {"outcome": "CopyFailed", "app": app, "ami_id": ami_id, "source_ami": source_ami, "reason": reason}
