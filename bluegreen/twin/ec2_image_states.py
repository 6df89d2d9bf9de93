"""moto creates every AMI `available` at once; the twin can put an AMI in the state it would be in while built.

Real AWS (EC2 User Guide, "AMI lifecycle"): CreateImage, RegisterImage and CopyImage return while the AMI is `pending`;
it becomes `available` (or `failed`) when its snapshots are done. `POST /_twin/image-state` sets an AMI's state.
"""

from __future__ import annotations

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ec2.models import ec2_backends

IMAGE_STATES = ("pending", "available", "invalid", "deregistered", "transient", "failed", "error", "disabled")


def set_image_state(image_id: str, state: str, region: str = "us-east-1") -> None:
    if state not in IMAGE_STATES:
        raise ValueError(f"state must be one of {IMAGE_STATES}, got {state!r}")
    images = ec2_backends[DEFAULT_ACCOUNT_ID][region].amis
    if image_id not in images:
        raise ValueError(f"no image {image_id} in {region}")
    images[image_id].state = state


def install() -> None:
    """A control only: nothing of moto's is replaced."""


def uninstall() -> None:
    pass
