"""moto makes every AMI `available` at once and tells nobody; the twin sends EC2's AMI state-change events.

Real AWS (EC2 User Guide, "Monitor AMI events using Amazon EventBridge"): "When the state of an Amazon Machine Image
(AMI) changes, Amazon EC2 generates an event that is sent to Amazon EventBridge [...] The events are sent to the
default EventBridge event bus in JSON format." "Amazon EC2 generates an EC2 AMI State Change event when an AMI enters
any of the following states: available, failed, deregistered, disabled." CreateImage, CopyImage and RegisterImage
lead to `available` (or `failed`), DeregisterImage to `deregistered`, DisableImage to `disabled`, EnableImage back to
`available`. The event: source `aws.ec2`, detail-type `EC2 AMI State Change`, resources
`["arn:aws:ec2:<region>::image/<ami>"]`, detail `{"RequestId", "ImageId", "State", "ErrorMessage"}`
(events/ami-available.json). An AMI is `pending` while it is built ("AMI lifecycle"), so its `available` event comes
after the call returns: tags given in the call's TagSpecifications are on the AMI by then; tags a builder adds later
with CreateTags (Packer's amazon-ebs tags once the AMI is available) may arrive after the event.

RegisterImage keeps what the caller gave ("RegisterImage", `Architecture`): "The architecture of the AMI. Default: For
Amazon EBS-backed AMIs, i386." Instances launched from the AMI, and AMIs made from them, run on it.

moto sends no event, drops RegisterImage's Architecture (so an architecture check of the AMI has nothing to compare),
and drops the TagSpecifications of RegisterImage and CopyImage. One module answers for all of it because each of
those calls is one moto method: two modules replacing it would undo each other. Here each of those calls sends
its event through moto's EventBridge (so rules and their Step Functions targets get it), with the tags on. By default
moto's instant builds stay: the AMI is `available` and its event sent before the call returns. `set_new_image_state`
makes new AMIs start `pending` and become `available` (sending the event) after some seconds, or when
`set_image_state` says so; `POST /_twin/image-state` drives both.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.responses import ActionResult
from moto.ec2.models import ec2_backends
from moto.ec2.responses.amis import AmisResponse
from moto.events.models import events_backends

from bluegreen.twin import ec2_encrypted_images
from bluegreen.twin.patching import Patches

log = logging.getLogger(__name__)
IMAGE_STATES = ("pending", "available", "invalid", "deregistered", "transient", "failed", "error", "disabled")
EVENT_STATES = ("available", "failed", "deregistered", "disabled")  # the states EC2 sends an event for

_lock = threading.Lock()
_new_images: dict[str, Any] = {"pending": False, "available_after": None}
_timers: dict[str, threading.Timer] = {}


def _publish(account: str, region: str, image_id: str, state: str, error_message: str = "") -> None:
    detail = {"RequestId": str(uuid.uuid4()), "ImageId": image_id, "State": state, "ErrorMessage": error_message}
    try:
        events_backends[account][region].put_events(
            [
                {
                    "Source": "aws.ec2",
                    "DetailType": "EC2 AMI State Change",
                    "Resources": [f"arn:aws:ec2:{region}::image/{image_id}"],
                    "Detail": json.dumps(detail),
                }
            ]
        )
    except Exception:  # the AMI changed state either way; a failed delivery is EventBridge's problem
        log.exception("could not publish the state change of %s", image_id)


def _change(account: str, region: str, image_id: str, state: str, error_message: str = "") -> None:
    """Move the AMI to `state`, sending the event EC2 sends when it enters that state."""
    images = ec2_backends[account][region].amis
    if image_id not in images:
        raise ValueError(f"no image {image_id} in {region}")
    with _lock:
        timer = _timers.pop(image_id, None)
    if timer is not None:
        timer.cancel()
    before = images[image_id].state
    images[image_id].state = state
    if state != before and state in EVENT_STATES and patches.installed:
        _publish(account, region, image_id, state, error_message)


def set_image_state(image_id: str, state: str, region: str = "us-east-1", error_message: str = "") -> None:
    """Make EC2 report the AMI in `state`; entering available, failed, deregistered or disabled sends the event."""
    if state not in IMAGE_STATES:
        raise ValueError(f"state must be one of {IMAGE_STATES}, got {state!r}")
    _change(DEFAULT_ACCOUNT_ID, region, image_id, state, error_message)


def set_new_image_state(pending: bool, available_after: float | None = None) -> None:
    """New AMIs start `pending` (and become `available` after `available_after` seconds, or when told), or not."""
    if available_after is not None and available_after < 0:
        raise ValueError("available_after cannot be negative")
    with _lock:
        _new_images.update(pending=bool(pending), available_after=available_after)


def new_image_state() -> dict[str, Any]:
    with _lock:
        return dict(_new_images)


def reset() -> None:
    """AMIs available at once again; builds still waiting are left as they are."""
    with _lock:
        _new_images.update(pending=False, available_after=None)
        timers = list(_timers.values())
        _timers.clear()
    for timer in timers:
        timer.cancel()


def _finish_build(account: str, region: str, image_id: str) -> None:
    with _lock:
        _timers.pop(image_id, None)
    try:
        image = ec2_backends[account][region].amis.get(image_id)
        if image is not None and image.state == "pending":
            _change(account, region, image_id, "available")
    except Exception:  # the AMI (or the whole moto state) is gone: nothing to finish
        log.debug("build of %s not finished", image_id, exc_info=True)


def _tag(response: AmisResponse, image_id: str) -> None:
    """Apply the call's image TagSpecifications, which moto drops for RegisterImage and CopyImage."""
    tags = {
        tag["Key"]: tag["Value"]
        for spec in response._get_param("TagSpecifications", []) or []
        if spec.get("ResourceType") == "image"
        for tag in spec.get("Tags", [])
    }
    if tags:
        response.ec2_backend.create_tags([image_id], tags)


def _built(response: AmisResponse, answer: ActionResult) -> ActionResult:
    """A new AMI: available at once (and its event sent), or pending until its build finishes."""
    image_id = answer.result["ImageId"]  # type: ignore[index]
    account, region = response.current_account, response.region
    image = response.ec2_backend.amis[image_id]
    if image.state == "failed":  # a copy that could not read its source (ec2_image_copy_access)
        _publish(account, region, image_id, "failed", getattr(image, "failure", ""))
        return answer
    with _lock:
        pending, after = _new_images["pending"], _new_images["available_after"]
    if not pending:
        _publish(account, region, image_id, "available")
        return answer
    response.ec2_backend.amis[image_id].state = "pending"
    if after is not None:
        timer = threading.Timer(after, _finish_build, (account, region, image_id))
        timer.daemon = True
        with _lock:
            _timers[image_id] = timer
        timer.start()
    return answer


_original = {name: getattr(AmisResponse, name) for name in ("create_image", "register_image", "copy_image")}
_original_deregister = AmisResponse.deregister_image
_original_disable = AmisResponse.disable_image
_original_enable = AmisResponse.enable_image


def _create_image(self: AmisResponse) -> ActionResult:
    return _built(self, _original["create_image"](self))  # moto applies CreateImage's TagSpecifications itself


EBS_DEFAULT_ARCHITECTURE = "i386"  # the twin registers no instance-store manifests


def _register_image(self: AmisResponse) -> ActionResult:
    answer = _original["register_image"](self)
    image_id = answer.result["ImageId"]  # type: ignore[index]
    self.ec2_backend.amis[image_id].architecture = self._get_param("Architecture") or EBS_DEFAULT_ARCHITECTURE
    _tag(self, image_id)
    return _built(self, answer)


def _copy_image(self: AmisResponse) -> ActionResult:
    answer = _original["copy_image"](self)
    image_id = answer.result["ImageId"]  # type: ignore[index]
    if str(self._get_param("Encrypted")).lower() == "true":  # moto drops Encrypted and KmsKeyId (ec2_encrypted_images)
        ec2_encrypted_images.encrypt(self.ec2_backend.amis[image_id], self._get_param("KmsKeyId"))
    _tag(self, image_id)
    return _built(self, answer)


def _deregister_image(self: AmisResponse) -> ActionResult:
    image_id = self._get_param("ImageId")
    answer = _original_deregister(self)
    with _lock:
        timer = _timers.pop(image_id, None)
    if timer is not None:
        timer.cancel()
    _publish(self.current_account, self.region, image_id, "deregistered")
    return answer


def _disable_image(self: AmisResponse) -> ActionResult:
    answer = _original_disable(self)
    _publish(self.current_account, self.region, self._get_param("ImageId"), "disabled")
    return answer


def _enable_image(self: AmisResponse) -> ActionResult:
    answer = _original_enable(self)
    _publish(self.current_account, self.region, self._get_param("ImageId"), "available")
    return answer


patches = Patches(
    __name__,
    (AmisResponse, "create_image", _create_image),
    (AmisResponse, "register_image", _register_image),
    (AmisResponse, "copy_image", _copy_image),
    (AmisResponse, "deregister_image", _deregister_image),
    (AmisResponse, "disable_image", _disable_image),
    (AmisResponse, "enable_image", _enable_image),
)
install, uninstall = patches.install, patches.uninstall
