"""Which trigger events may start a release at all: the screen in front of the deploy machine.

Every AMI of the account (and of a build account that forwards its events) is announced by an "EC2 AMI State Change"
event that carries the AMI's id and state only: "detail": {"RequestId", "ImageId", "State", "ErrorMessage"} (EC2 User
Guide, "Amazon EC2 AMI events"; EventBridge events reference, "EC2 AMI State Change"). No name, owner or tag is in it,
so no rule pattern can tell an app's build from an AWS Backup recovery point, a DLM snapshot AMI, an Image Builder
intermediate image or anyone's `create-image`: this screen does, with one DescribeImages and one read of the apps'
configs, and starts a Standard execution only for an AMI that some app could match. A Parameter Store Change event
names its parameter: the rule's pattern already keeps only those under the template's GoldenAmiParameterPrefix, and
this screen only those an app names.

An AMI could match when:
- a rule matches it now (`bluegreen:release-to`, the legacy tag, an app's owners and name pattern), and it is a build
  (release_eligibility: a backup or an image of a fleet's own host never is; its SourceInstanceId is described only
  for an AMI that matched);
- it is not visible here yet, its event was forwarded by a build account, and some app names that account among its
  ami_source.owners (shared after its event: Prepare looks again, for a bounded time);
- it is this account's, matches nothing yet, and may still be tagged for an app: it carries no tag that only a backup
  or Image Builder puts there, and some app takes its AMIs by tag alone (no ami_source owners or parameter). Packer's
  amazon-ebs tags an AMI only after it is available; Prepare waits for that tag, for a bounded time.
Anything else is dropped here: logged with the reason, nothing started.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.adapters import config_store, ec2
from orchestrator.config import AppConfig
from orchestrator.domain import release_eligibility, sources
from orchestrator.errors import AmiInvalidError, AmiSourceConflictError

AMI_EVENT = "EC2 AMI State Change"
PARAMETER_EVENT = "Parameter Store Change"
# Tags a service sets on the images it makes, as it makes them: such an image is never tagged for an app afterwards.
IMAGE_BUILDER_TAG = "Ec2ImageBuilderArn"
SERVICE_TAG_PREFIXES = ("aws:",)


@dataclass(frozen=True)
class Verdict:
    start: bool
    reason: str


def relies_on_tags(config: AppConfig) -> bool:
    """Whether the app takes its AMIs by tag alone (so a late tag, as Packer sets it, is what would select one)."""
    source = config.ami_source
    return source is None or not (source.owners or source.parameter)


def could_be_tagged_late(image: dict, account: str, configs: list[AppConfig]) -> bool:
    """Whether an AMI that matches nothing now may still be tagged for an app (and is worth waiting for)."""
    if image.get("OwnerId") not in (None, account):
        return False  # a shared AMI: the owner's tags never show here
    keys = [t["Key"] for t in image.get("Tags", [])]
    if any(k.startswith(SERVICE_TAG_PREFIXES) or k == IMAGE_BUILDER_TAG for k in keys):
        return False  # made by a service (Backup, DLM, Image Builder), tagged as it was made
    return any(relies_on_tags(c) for c in configs)


def screen(event: dict, account: str, region: str) -> Verdict:
    """Whether this event could release an app: start the deploy machine with it, or drop it saying why."""
    kind = event.get("detail-type")
    detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
    if event.get("region") not in (None, region):
        return Verdict(False, f"{kind} in {event.get('region')}, not {region}")
    if kind == PARAMETER_EVENT:
        return _parameter(str(detail.get("name")), config_store.load_all())
    if kind != AMI_EVENT:
        return Verdict(False, f"not a trigger event: {kind!r}")
    ami_id = str(detail.get("ImageId"))
    if detail.get("State") != "available":
        return Verdict(False, f"AMI {ami_id} is {detail.get('State')}, not available")
    sender = str(event.get("account") or account)
    try:
        image = ec2.describe_image(ami_id)
    except AmiInvalidError:
        image = None
    configs = config_store.load_all()
    if image is None:
        return _not_visible(ami_id, sender, account, configs)
    return _image(image, account, configs)


def _parameter(name: str, configs: list[AppConfig]) -> Verdict:
    try:
        match = sources.match_parameter(name, configs)
    except AmiSourceConflictError as err:
        return Verdict(True, f"parameter {name}: {err}")  # Prepare refuses it where the operator sees it
    if match is None:
        return Verdict(False, f"parameter {name} is no app's ami_source.parameter")
    return Verdict(True, f"parameter {name}: {match.rule} of {match.app}")


def _not_visible(ami_id: str, sender: str, account: str, configs: list[AppConfig]) -> Verdict:
    if sender == account:
        return Verdict(False, f"AMI {ami_id} was deregistered before anything looked at it")
    waiting = sorted(c.app for c in configs if c.ami_source and sender in c.ami_source.owners)
    if not waiting:
        return Verdict(False, f"AMI {ami_id} of account {sender}: no app names {sender} in ami_source.owners")
    return Verdict(True, f"AMI {ami_id} of account {sender} is not shared here yet; {', '.join(waiting)} take its AMIs")


def _image(image: dict, account: str, configs: list[AppConfig]) -> Verdict:
    ami_id = image["ImageId"]
    try:
        match = sources.match_image(image, configs)
    except AmiSourceConflictError as err:
        return Verdict(True, str(err))  # Prepare refuses it where the operator sees it
    if match is not None:
        problem = release_eligibility.check(image)
        if problem:
            return Verdict(False, f"{problem}: never released by an event")
        return Verdict(True, f"AMI {ami_id} matches {match.app}: {match.rule}")
    if could_be_tagged_late(image, account, configs):
        return Verdict(True, f"AMI {ami_id} matches no app yet: it may still be tagged for one (Packer tags late)")
    return Verdict(False, f"AMI {ami_id} ({image.get('Name')!r}, owner {image.get('OwnerId')}) matches no app")
