"""Images that must never become the next version of a fleet by themselves: backups, and images of its own hosts.

A fleet's instances carry `bluegreen:app` (and `bluegreen:slot`, `bluegreen:release`, `bluegreen:ami`), propagated at
launch; a quarantined instance carries `bluegreen:quarantine`. Data Lifecycle Manager AMI policies copy an instance's
tags onto the images they make (`CopyTags`), and scripts that turn instance tags into `CreateImage` tags are common:
such an image would match the app and, newer than the live build, be released. It is a snapshot of a running host, or
an analyst's image of a compromised one, not a build. Told apart by:
- `aws:dlm:*` or `aws:backup:*` tags: "Amazon Data Lifecycle Manager ... tags: aws:dlm:lifecycle-policy-id,
  aws:dlm:lifecycle-schedule-name" (DLM User Guide, "Automate AMI lifecycles"); AWS Backup tags the AMIs it creates
  `aws:backup:source-resource` (AWS Backup Developer Guide, "Amazon EC2 backups"). `aws:` tags cannot be set by users.
- tags only a fleet's or a quarantined instance carries, copied onto the image;
- `SourceInstanceId` ("The ID of the instance that the AMI was created from if the AMI was created using
  CreateImage", EC2 API, "Image"), when that instance is, or was before its release, a fleet's or a quarantined one
  (its `bluegreen:*` tags). An instance terminated long ago can no longer be described: a build tool's builder
  instance (Packer's) is one too, so such an image is judged by its tags alone.

An event never releases such an image (`Ignored`, with the reason, nothing changed); a release by name needs `force`.
"""

from __future__ import annotations

from typing import Any

from orchestrator.adapters import ec2

BACKUP_PREFIXES = ("aws:dlm:", "aws:backup:")
# Tags that only a fleet's instances (release tags, propagated at launch) or a quarantined one carry.
FLEET_INSTANCE_TAGS = (
    "bluegreen:slot",
    "bluegreen:release",
    "bluegreen:ami",
    "bluegreen:quarantine",
    "bluegreen:quarantine-released",
)
SOURCE_MARKS = ("bluegreen:app", *FLEET_INSTANCE_TAGS)


def _tags(resource: dict) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def image_problem(image: dict, source_instance: dict | None) -> str | None:
    """Why this image is not a build to release (None: nothing says so). `source_instance`: its SourceInstanceId
    described, or None when it has none or it can no longer be described."""
    ami = image.get("ImageId")
    tags = _tags(image)
    made_by = sorted(k for k in tags if k.startswith(BACKUP_PREFIXES))
    if made_by:
        service = "Data Lifecycle Manager" if made_by[0].startswith("aws:dlm:") else "AWS Backup"
        return f"AMI {ami} is a backup made by {service} ({made_by[0]}={tags[made_by[0]]}), not a build"
    copied = [k for k in FLEET_INSTANCE_TAGS if k in tags]
    if copied:
        return (
            f"AMI {ami} carries {copied[0]}={tags[copied[0]]}, a tag of a fleet's or a quarantined instance: an image"
            " of a running host, not a build"
        )
    if source_instance is not None:
        marks = _tags(source_instance)
        found = [k for k in SOURCE_MARKS if k in marks]
        if found:
            what = "a quarantined instance" if "quarantine" in " ".join(found) else "an instance of a bluegreen fleet"
            return (
                f"AMI {ami} was made from {source_instance.get('InstanceId')}, {what} ({found[0]}={marks[found[0]]}):"
                " an image of a running host, not a build"
            )
    return None


def check(image: dict, api: Any = None) -> str | None:
    """image_problem, describing the image's source instance if it names one and its own tags say nothing (one
    DescribeInstances at most: none for a backup, which its tags tell apart)."""
    source_id = image.get("SourceInstanceId")
    problem = image_problem(image, None)
    if problem or not source_id:
        return problem
    return image_problem(image, ec2.describe_instances([source_id], api).get(source_id))


def refusal(problem: str) -> str:
    """What a release by name answers without `force`."""
    return f'ami_id: {problem}; release it only knowingly: bluegreen deploy --force (or "force": true)'
