"""EC2 sends an "EC2 AMI State Change" event when an AMI becomes available, failed or deregistered (ec2_image_states)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from bluegreen.twin import ec2_image_states

AMI_EVENTS = {"source": ["aws.ec2"], "detail-type": ["EC2 AMI State Change"]}


def queue_listening(aws: Any) -> str:
    """An SQS queue that a rule for AMI state changes delivers to."""
    sqs, events = aws("sqs"), aws("events")
    url = sqs.create_queue(QueueName="ami-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="amis", EventPattern=json.dumps(AMI_EVENTS))
    events.put_targets(Rule="amis", Targets=[{"Id": "q", "Arn": arn}])
    return url


def received(aws: Any, url: str) -> list[dict]:
    messages = aws("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def builder(aws: Any) -> str:
    """An instance to make an AMI of (from one of moto's stock AMIs: listing them all is slow)."""
    return aws("ec2").run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]


@pytest.mark.behaviour(ec2_image_states)
def test_a_new_ami_sends_its_available_event_with_its_tags_on(aws) -> None:
    # Given a rule that delivers AMI state changes to a queue
    url = queue_listening(aws)
    ec2 = aws("ec2")

    # When an AMI is created from an instance, tagged in the call
    tags = [{"ResourceType": "image", "Tags": [{"Key": "bluegreen:app", "Value": "shop"}]}]
    image_id = ec2.create_image(InstanceId=builder(aws), Name="shop-1", TagSpecifications=tags)["ImageId"]

    # Then one event says it is available, in EC2's format
    events = received(aws, url)
    assert len(events) == 1
    event = events[0]
    assert (event["source"], event["detail-type"]) == ("aws.ec2", "EC2 AMI State Change")
    assert event["resources"] == [f"arn:aws:ec2:us-east-1::image/{image_id}"]
    assert {k: event["detail"][k] for k in ("ImageId", "State", "ErrorMessage")} == {
        "ImageId": image_id,
        "State": "available",
        "ErrorMessage": "",
    }
    assert event["detail"]["RequestId"]
    # And the tags of the call are on the AMI
    described = ec2.describe_images(ImageIds=[image_id])["Images"][0]
    assert {t["Key"]: t["Value"] for t in described["Tags"]} == {"bluegreen:app": "shop"}


@pytest.mark.behaviour(ec2_image_states)
def test_registered_and_copied_amis_send_events_and_keep_their_tags(aws) -> None:
    # Given a rule that delivers AMI state changes to a queue
    url = queue_listening(aws)
    ec2 = aws("ec2")
    tags = [{"ResourceType": "image", "Tags": [{"Key": "team", "Value": "shop"}]}]

    # When an AMI is registered, and then copied, each tagged in the call
    registered = ec2.register_image(Name="reg", TagSpecifications=tags)["ImageId"]
    copied = ec2.copy_image(SourceImageId=registered, SourceRegion="us-east-1", Name="copy", TagSpecifications=tags)[
        "ImageId"
    ]

    # Then each sent its available event, and each has its tags
    assert sorted((e["detail"]["ImageId"], e["detail"]["State"]) for e in received(aws, url)) == sorted(
        [(registered, "available"), (copied, "available")]
    )
    for image in ec2.describe_images(ImageIds=[registered, copied])["Images"]:
        assert image["Tags"] == [{"Key": "team", "Value": "shop"}]


@pytest.mark.behaviour(ec2_image_states)
def test_a_deregistered_ami_sends_its_event(aws) -> None:
    # Given an AMI, and a rule listening from then on
    ec2 = aws("ec2")
    image_id = ec2.create_image(InstanceId=builder(aws), Name="old")["ImageId"]
    url = queue_listening(aws)

    # When it is deregistered
    ec2.deregister_image(ImageId=image_id)

    # Then its deregistered event arrives
    assert [(e["detail"]["ImageId"], e["detail"]["State"]) for e in received(aws, url)] == [(image_id, "deregistered")]


@pytest.mark.behaviour(ec2_image_states)
def test_a_slow_build_is_pending_and_sends_its_event_when_it_is_done(aws) -> None:
    # Given new AMIs take 0.5 s to build, and a rule listening
    url = queue_listening(aws)
    ec2 = aws("ec2")
    ec2_image_states.set_new_image_state(pending=True, available_after=0.5)

    # When an AMI is created, and tagged after the call as Packer does
    image_id = ec2.create_image(InstanceId=builder(aws), Name="slow")["ImageId"]
    state_at_first = ec2.describe_images(ImageIds=[image_id])["Images"][0]["State"]
    events_at_first = received(aws, url)
    ec2.create_tags(Resources=[image_id], Tags=[{"Key": "bluegreen:app", "Value": "shop"}])

    # Then it is pending with no event yet, and then available with its event
    assert (state_at_first, events_at_first) == ("pending", [])
    deadline = time.monotonic() + 5
    events: list[dict] = []
    while not events and time.monotonic() < deadline:
        time.sleep(0.1)
        events = received(aws, url)
    assert [(e["detail"]["ImageId"], e["detail"]["State"]) for e in events] == [(image_id, "available")]
    assert ec2.describe_images(ImageIds=[image_id])["Images"][0]["State"] == "available"


@pytest.mark.behaviour(ec2_image_states)
def test_a_build_held_pending_fails_when_told(aws) -> None:
    # Given new AMIs stay pending until told, and a rule listening
    url = queue_listening(aws)
    ec2 = aws("ec2")
    ec2_image_states.set_new_image_state(pending=True, available_after=None)
    image_id = ec2.create_image(InstanceId=builder(aws), Name="held")["ImageId"]

    # When its build fails
    ec2_image_states.set_image_state(image_id, "failed", error_message="snapshot creation failed")

    # Then the failed event arrives, with the error
    events = received(aws, url)
    assert [(e["detail"]["State"], e["detail"]["ErrorMessage"]) for e in events] == [
        ("failed", "snapshot creation failed")
    ]
