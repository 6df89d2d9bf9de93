"""Reading a stack while it is created creates nothing, and shows no outputs yet (cloudformation_stack_reads)."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from moto.sqs.models import Queue

from bluegreen.twin import cloudformation_stack_reads

TEMPLATE = {
    "Resources": {
        "Slow": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "slow"}},
        "Topic": {"Type": "AWS::SNS::Topic", "DependsOn": "Slow", "Properties": {"TopicName": "releases"}},
    },
    "Outputs": {"TopicArn": {"Value": {"Ref": "Topic"}}},
}


@pytest.mark.behaviour(cloudformation_stack_reads)
def test_describing_a_stack_being_created_creates_nothing(aws, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a stack whose first resource (a queue) takes until we say so to create
    creating, release = threading.Event(), threading.Event()
    create_queue = Queue.create_from_cloudformation_json.__func__

    def slow_queue(cls: Any, *args: Any, **kwargs: Any) -> Any:
        if threading.current_thread() is creator:  # (plain moto also creates it from the reader's thread)
            creating.set()
            release.wait(10)
        return create_queue(cls, *args, **kwargs)

    monkeypatch.setattr(Queue, "create_from_cloudformation_json", classmethod(slow_queue))
    cfn, sns = aws("cloudformation"), aws("sns")
    creator = threading.Thread(
        target=lambda: cfn.create_stack(StackName="releases", TemplateBody=json.dumps(TEMPLATE)), daemon=True
    )
    creator.start()
    assert creating.wait(10)

    # When another client describes the stack and lists its resources meanwhile
    try:
        during = cfn.describe_stacks(StackName="releases")["Stacks"][0]
        listed = cfn.list_stack_resources(StackName="releases")["StackResourceSummaries"]
    finally:
        release.set()
        creator.join(10)

    # Then it saw the stack in progress, with no outputs and no topic yet
    assert during["StackStatus"] == "CREATE_IN_PROGRESS"
    assert "Outputs" not in during
    assert [r["LogicalResourceId"] for r in listed if r["LogicalResourceId"] == "Topic"] == []
    # And the stack created its topic once, the one its output names
    after = cfn.describe_stacks(StackName="releases")["Stacks"][0]
    topics = [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    assert after["StackStatus"] == "CREATE_COMPLETE"
    assert len(topics) == 1
    assert after["Outputs"][0]["OutputValue"] == topics[0]
