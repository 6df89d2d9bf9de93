"""What AMI pipelines in other accounts and golden-AMI parameters look like from the fleet's account:
ec2_shared_images, eventbridge_cross_account_buses, ssm_parameter_events."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from bluegreen.twin import ec2_shared_images, eventbridge_cross_account_buses, ssm_parameter_events

BUILD_ACCOUNT = "111122223333"
THIS_ACCOUNT = "123456789012"  # moto's default account: the fleet's


def build_account(aws: Callable[[str], Any]) -> Callable[[str], Any]:
    """Clients of the build account: credentials of a role assumed there (moto maps them to that account)."""
    creds = aws("sts").assume_role(RoleArn=f"arn:aws:iam::{BUILD_ACCOUNT}:role/ami-builder", RoleSessionName="packer")
    keys = creds["Credentials"]
    return lambda service: boto3.client(
        service,
        region_name="us-east-1",
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys["SessionToken"],
    )


def shared_ami(build: Callable[[str], Any], name: str = "shop-2026.05.01") -> str:
    """An AMI the build account makes, tags, and shares with this account."""
    ec2 = build("ec2")
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    tags = [{"ResourceType": "image", "Tags": [{"Key": "bluegreen:app", "Value": "shop"}]}]
    image = ec2.create_image(InstanceId=instance, Name=name, TagSpecifications=tags)["ImageId"]
    ec2.modify_image_attribute(ImageId=image, LaunchPermission={"Add": [{"UserId": THIS_ACCOUNT}]})
    return image


@pytest.mark.behaviour(ec2_shared_images)
def test_an_ami_shared_by_another_account_is_visible_launchable_and_copyable_without_its_tags(aws) -> None:
    # Given an AMI the build account made, tagged there, and shared with this account
    build = build_account(aws)
    image = shared_ami(build)
    ec2 = aws("ec2")
    # When this account describes it, by id and by owner and name
    by_id = ec2.describe_images(ImageIds=[image])["Images"]
    by_owner = ec2.describe_images(Owners=[BUILD_ACCOUNT], Filters=[{"Name": "name", "Values": ["shop-*"]}])["Images"]
    executable = ec2.describe_images(ExecutableUsers=["self"])["Images"]
    # Then it sees it, owned by the build account, without the build account's tags
    assert [(i["ImageId"], i["OwnerId"]) for i in by_id] == [(image, BUILD_ACCOUNT)]
    assert [i["ImageId"] for i in by_owner] == [image]
    assert image in [i["ImageId"] for i in executable]
    assert not by_id[0].get("Tags")
    # And, once the build account shares its snapshot too (a copy reads the storage), it can copy it into its own account
    snapshot = ec2.describe_images(ImageIds=[image])["Images"][0]["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"]
    build("ec2").modify_snapshot_attribute(
        SnapshotId=snapshot, Attribute="createVolumePermission", OperationType="add", UserIds=[THIS_ACCOUNT]
    )
    copy = ec2.copy_image(SourceImageId=image, SourceRegion="us-east-1", Name="shop-copy")["ImageId"]
    assert ec2.describe_images(ImageIds=[copy])["Images"][0]["OwnerId"] == THIS_ACCOUNT
    # And an AMI the build account did not share stays invisible
    unshared = build("ec2").copy_image(SourceImageId=image, SourceRegion="us-east-1", Name="shop-private")["ImageId"]
    with pytest.raises(ec2.exceptions.ClientError):
        ec2.describe_images(ImageIds=[unshared])


@pytest.mark.behaviour(eventbridge_cross_account_buses)
def test_an_event_forwarded_to_another_accounts_bus_arrives_as_sent_and_only_if_its_policy_allows(aws) -> None:
    # Given a bus in this account whose policy lets the build account put events, with a rule to a state machine
    events, sfn = aws("events"), aws("stepfunctions")
    bus = events.create_event_bus(Name="builds")["EventBusArn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "b",
                "Effect": "Allow",
                "Principal": {"AWS": [BUILD_ACCOUNT]},
                "Action": "events:PutEvents",
                "Resource": bus,
            }
        ],
    }
    events.put_permission(EventBusName="builds", Policy=json.dumps(policy))
    machine = sfn.create_state_machine(
        name="deploy",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn=f"arn:aws:iam::{THIS_ACCOUNT}:role/sfn",
    )["stateMachineArn"]
    # (the account filter is what the template's rule on the bus has: only the build accounts' events)
    pattern = {"source": ["aws.ec2"], "account": [BUILD_ACCOUNT]}
    events.put_rule(Name="amis", EventBusName="builds", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="amis", EventBusName="builds", Targets=[{"Id": "deploy", "Arn": machine}])
    # And in the build account, a rule forwarding its AMI events to that bus
    build = build_account(aws)
    build("events").put_rule(Name="forward", EventPattern=json.dumps({"source": ["aws.ec2"]}))
    build("events").put_targets(Rule="forward", Targets=[{"Id": "bus", "Arn": bus}])
    # When the build account's EC2 announces an AMI
    entry = {
        "Source": "aws.ec2",
        "DetailType": "EC2 AMI State Change",
        "Resources": ["arn:aws:ec2:us-east-1::image/ami-0123456789abcdef0"],
        "Detail": json.dumps({"ImageId": "ami-0123456789abcdef0", "State": "available"}),
    }
    build("events").put_events(Entries=[entry])
    # Then this account's rule gets it as the build account sent it
    executions = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert len(executions) == 1
    got = json.loads(sfn.describe_execution(executionArn=executions[0]["executionArn"])["input"])
    assert (got["account"], got["resources"]) == (BUILD_ACCOUNT, entry["Resources"])
    # And once the policy no longer names the build account, nothing arrives
    events.remove_permission(EventBusName="builds", RemoveAllPermissions=True)
    build("events").put_events(Entries=[entry])
    assert len(sfn.list_executions(stateMachineArn=machine)["executions"]) == 1


@pytest.mark.behaviour(ssm_parameter_events)
def test_a_parameter_put_sends_its_create_then_update_event_naming_it_not_its_value(aws) -> None:
    # Given a rule for Parameter Store changes delivering to a queue
    events, sqs, ssm = aws("events"), aws("sqs"), aws("ssm")
    url = sqs.create_queue(QueueName="params")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="params", EventPattern=json.dumps({"source": ["aws.ssm"]}))
    events.put_targets(Rule="params", Targets=[{"Id": "q", "Arn": queue}])
    # When a golden-AMI parameter is created, then updated
    ssm.put_parameter(Name="/golden/shop", Value="ami-0123456789abcdef0", Type="String", DataType="aws:ec2:image")
    ssm.put_parameter(Name="/golden/shop", Value="ami-0fedcba9876543210", Type="String", Overwrite=True)
    # Then two events say so, in Systems Manager's format, with the name and not the value
    bodies = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]]
    assert [(b["detail-type"], b["detail"]["operation"], b["detail"]["name"]) for b in bodies] == [
        ("Parameter Store Change", "Create", "/golden/shop"),
        ("Parameter Store Change", "Update", "/golden/shop"),
    ]
    assert bodies[0]["resources"] == [f"arn:aws:ssm:us-east-1:{THIS_ACCOUNT}:parameter/golden/shop"]
    assert "ami-0" not in json.dumps(bodies[0]["detail"])
