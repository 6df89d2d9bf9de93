"""Fidelity of IAM: a Lambda function's calls are allowed only by its own role's policies, action, resource and
condition alike, explicit deny first, with the actions a call depends on; a denial comes in the service's own shape
and the twin says why."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bluegreen.twin import api_calls, iam_authorization
from tests.twin.conftest import STOCK_AMI

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
ACCOUNT = "123456789012"


def allow(action: str | list[str], resource: str | list[str] = "*", condition: dict | None = None) -> dict:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return statement


def function_with(aws: Any, name: str, *statements: dict) -> str:
    """A Lambda function whose role holds exactly these statements (one inline policy); its name."""
    iam = aws("iam")
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    iam.put_role_policy(RoleName=f"{name}-role", PolicyName="own", PolicyDocument=json.dumps(document))
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return {}\n")
    aws("lambda").create_function(
        FunctionName=name, Runtime="python3.13", Role=role, Handler="handler.handler", Code={"ZipFile": code.getvalue()}
    )
    return name


@pytest.fixture
def as_function() -> Iterator[Callable[[str], Any]]:
    """`with as_function(name):` runs the block as that function's handler does in the twin."""
    iam_authorization.clear()
    yield api_calls.running
    iam_authorization.clear()


def refusal(raised: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    error = raised.value.response
    return error["Error"]["Code"], error["Error"]["Message"], error["ResponseMetadata"]["HTTPStatusCode"]


@pytest.mark.behaviour(iam_authorization)
def test_a_function_whose_policy_lacks_the_action_is_denied(aws, as_function) -> None:
    # Given a function allowed to read parameters only, and a table
    name = function_with(aws, "reader", allow("ssm:GetParameter"))
    aws("dynamodb").create_table(
        TableName="state",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    # When its handler reads an item
    with as_function(name), pytest.raises(ClientError) as denied:
        aws("dynamodb").get_item(TableName="state", Key={"pk": {"S": "x"}})
    # Then DynamoDB refuses it as DynamoDB does, naming the role's session, the action and the table
    code, message, status = refusal(denied)
    assert (code, status) == ("AccessDeniedException", 403)
    assert message == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/reader-role/reader is not authorized to perform: "
        f"dynamodb:GetItem on resource: arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/state "
        "because no identity-based policy allows the dynamodb:GetItem action"
    )
    # And the twin says why: no statement names the action
    (explained,) = iam_authorization.denials()
    assert explained["principal"] == "reader"
    assert explained["reason"] == "no statement allows dynamodb:GetItem"


@pytest.mark.behaviour(iam_authorization)
def test_a_function_whose_policy_lacks_the_resource_is_denied(aws, as_function) -> None:
    # Given a function that may read the parameters under /apps/ only
    resource = f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/apps/*"
    name = function_with(aws, "apps-reader", allow("ssm:GetParameter", resource))
    ssm = aws("ssm")
    for parameter in ("/apps/shop", "/secrets/db"):
        ssm.put_parameter(Name=parameter, Value="x", Type="String")
    # When it reads one of its own, and then another parameter
    with as_function(name):
        assert ssm.get_parameter(Name="/apps/shop")["Parameter"]["Value"] == "x"
        with pytest.raises(ClientError) as denied:
            ssm.get_parameter(Name="/secrets/db")
    # Then the second is refused, and the twin names the statement whose resource did not match
    assert refusal(denied)[0] == "AccessDeniedException"
    (explained,) = iam_authorization.denials()
    assert explained["resource"] == f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/secrets/db"
    assert "own/#0: resource" in explained["reason"]


@pytest.mark.behaviour(iam_authorization)
def test_a_function_whose_condition_does_not_hold_is_denied_as_ec2_denies(aws, as_function) -> None:
    # Given a function that may version only launch templates tagged bluegreen:app, and two templates
    tagged_only = {"Null": {"aws:ResourceTag/bluegreen:app": "false"}}
    name = function_with(aws, "versioner", allow("ec2:CreateLaunchTemplateVersion", "*", tagged_only))
    ec2 = aws("ec2")
    data = {"ImageId": STOCK_AMI, "InstanceType": "t3.micro"}
    tagged = ec2.create_launch_template(
        LaunchTemplateName="app",
        LaunchTemplateData=data,
        TagSpecifications=[{"ResourceType": "launch-template", "Tags": [{"Key": "bluegreen:app", "Value": "shop"}]}],
    )["LaunchTemplate"]["LaunchTemplateId"]
    other = ec2.create_launch_template(LaunchTemplateName="other", LaunchTemplateData=data)["LaunchTemplate"]
    # When it versions each
    with as_function(name):
        ec2.create_launch_template_version(LaunchTemplateId=tagged, LaunchTemplateData=data)
        with pytest.raises(ClientError) as denied:
            ec2.create_launch_template_version(LaunchTemplateId=other["LaunchTemplateId"], LaunchTemplateData=data)
    # Then the untagged one is refused as EC2 refuses, and the twin names the condition and what the request had
    code, message, status = refusal(denied)
    assert (code, status) == ("UnauthorizedOperation", 403)
    assert message.startswith("You are not authorized to perform this operation. User: ")
    (explained,) = iam_authorization.denials()
    assert "Null {aws:ResourceTag/bluegreen:app: 'false'} does not hold" in explained["reason"]


@pytest.mark.behaviour(iam_authorization)
def test_an_explicit_deny_wins_over_any_allow(aws, as_function) -> None:
    # Given a function that may put inline policies on every role but is denied its own stack's roles
    roles = f"arn:aws:iam::{ACCOUNT}:role/*"
    deny = {"Effect": "Deny", "Action": "iam:*", "Resource": f"arn:aws:iam::{ACCOUNT}:role/stack-*"}
    name = function_with(aws, "isolator", allow("iam:PutRolePolicy", roles), deny)
    iam = aws("iam")
    iam.create_role(RoleName="stack-Own", AssumeRolePolicyDocument=json.dumps(TRUST))
    # When it tries to widen a stack role
    with as_function(name), pytest.raises(ClientError) as denied:
        iam.put_role_policy(RoleName="stack-Own", PolicyName="more", PolicyDocument=json.dumps(TRUST))
    # Then IAM refuses it for the explicit deny
    code, message, _ = refusal(denied)
    assert code == "AccessDenied"
    assert message.endswith("with an explicit deny in an identity-based policy")


@pytest.mark.behaviour(iam_authorization)
def test_creating_a_group_needs_what_its_launch_template_launches(aws, as_function) -> None:
    # Given a function that may create groups, but not launch instances or pass their role
    name = function_with(aws, "creator", allow(["autoscaling:CreateAutoScalingGroup", "ec2:Describe*"]))
    ec2 = aws("ec2")
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    template = ec2.create_launch_template(
        LaunchTemplateName="fleet", LaunchTemplateData={"ImageId": STOCK_AMI, "InstanceType": "t3.micro"}
    )["LaunchTemplate"]["LaunchTemplateId"]
    # When it creates a group from a launch template
    with as_function(name), pytest.raises(ClientError) as denied:
        aws("autoscaling").create_auto_scaling_group(
            AutoScalingGroupName="green",
            LaunchTemplate={"LaunchTemplateId": template, "Version": "1"},
            MinSize=1,
            MaxSize=1,
            VPCZoneIdentifier=subnet,
        )
    # Then Auto Scaling refuses it: the caller may not run instances from that template
    assert refusal(denied)[0] == "AccessDenied"
    assert iam_authorization.denials()[0]["action"] == "ec2:RunInstances"
    assert aws("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"] == []


@pytest.mark.behaviour(iam_authorization)
def test_ec2_attribute_is_a_key_of_the_instance_not_of_its_volumes(aws, as_function) -> None:
    # Given a function whose one statement lets it change an instance's block device mappings, on the instance and its
    # volumes, only when ec2:Attribute is present (the Service Authorization Reference lists ec2:Attribute for
    # ModifyInstanceAttribute's instance resource type, not for its volume)
    keep_volumes = {
        "ForAllValues:StringEqualsIgnoreCase": {"ec2:Attribute": ["BlockDeviceMappings"]},
        "Null": {"ec2:Attribute": "false"},
    }
    resources = [f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/*", f"arn:aws:ec2:us-east-1:{ACCOUNT}:volume/*"]
    name = function_with(aws, "keeper", allow("ec2:ModifyInstanceAttribute", resources, keep_volumes))
    ec2 = aws("ec2")
    instance = ec2.run_instances(ImageId=STOCK_AMI, MinCount=1, MaxCount=1)["Instances"][0]
    device = instance["BlockDeviceMappings"][0]["DeviceName"]
    mapping = [{"DeviceName": device, "Ebs": {"DeleteOnTermination": False}}]
    # When it turns DeleteOnTermination off
    with as_function(name), pytest.raises(ClientError) as denied:
        ec2.modify_instance_attribute(InstanceId=instance["InstanceId"], BlockDeviceMappings=mapping)
    # Then the volume is refused: the condition cannot hold where the key is absent
    assert refusal(denied)[0] == "UnauthorizedOperation"
    (explained,) = iam_authorization.denials()
    assert explained["resource"].startswith(f"arn:aws:ec2:us-east-1:{ACCOUNT}:volume/")


def test_a_resource_that_does_not_exist_is_the_services_answer_not_a_denial(twin_moto, as_function) -> None:
    # Given a function that may read any role's inline policies
    name = function_with(twin_moto, "role-reader", allow("iam:GetRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/*"))
    # When it reads one of a role that does not exist
    with as_function(name), pytest.raises(ClientError) as refused:
        twin_moto("iam").get_role_policy(RoleName="gone", PolicyName="deny")
    # Then IAM answers as it does once the call is authorized on the ARN it names: no such entity
    assert refused.value.response["Error"]["Code"] == "NoSuchEntity"
    assert iam_authorization.denials() == []


def test_a_function_is_found_while_another_request_adds_a_region(
    twin_moto, as_function, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a function allowed to list queues, and moto's Lambda regions being added to by another thread's request
    # (iterating them at that moment raises, as a dict that changes size does)
    name = function_with(twin_moto, "lister", allow("sqs:ListQueues"))
    regions = type(iam_authorization.get_backend("lambda")[ACCOUNT])

    def changing(self: Any) -> Any:
        raise RuntimeError("dictionary changed size during iteration")

    monkeypatch.setattr(regions, "__iter__", changing)

    # When it calls from its own region, Then it is authorized by its own policy, not refused as an unknown principal
    with as_function(name):
        twin_moto("sqs").list_queues()
    assert iam_authorization.denials() == []
