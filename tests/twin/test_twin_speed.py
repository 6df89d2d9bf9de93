"""The twin's speed-ups for the test suite (`botocore_model_cache`, `moto_serializer_speed`,
`cloudformation_template_speed`, `moto_request_routing`, the translation kept in `deploy`): each does the work once
where moto or botocore did it every time, and the results are the same as without it."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import boto3
import botocore.loaders
import pytest
from moto import mock_aws
from moto.autoscaling.responses import AutoScalingResponse
from moto.cloudformation import models as cloudformation_models
from moto.core import responses, serialize, utils

from bluegreen.twin import (
    behaviours,
    botocore_model_cache,
    cloudformation_template_speed,
    deploy,
    moto_request_routing,
    moto_serializer_speed,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def fresh_loaders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The services whose model files botocore reads from disk while the test runs, from an empty shared cache."""
    behaviours.install()
    read: list[str] = []
    load = botocore.loaders.JSONFileLoader.load_file
    botocore_model_cache._caches.clear()
    # A model's path is .../botocore/data/<service>/<version>/service-2
    counted = lambda self, path: read.append(Path(path).parent.parent.name) or load(self, path)  # noqa: E731
    monkeypatch.setattr(botocore.loaders.JSONFileLoader, "load_file", counted)
    return read


def test_a_second_session_reads_no_model_file_again(fresh_loaders: list[str]) -> None:
    # Given a client made in one session
    first = boto3.Session(region_name="us-east-1").client("autoscaling")
    read_by_first = fresh_loaders.count("autoscaling")
    # When another session makes the same client
    second = boto3.Session(region_name="us-east-1").client("autoscaling")
    # Then nothing was read from disk again, and both clients have the same operations
    assert read_by_first >= 1
    assert fresh_loaders.count("autoscaling") == read_by_first
    assert second.meta.service_model.operation_names == first.meta.service_model.operation_names


def test_without_the_cache_each_session_reads_the_model_again(fresh_loaders: list[str]) -> None:
    with botocore_model_cache.patches.removed():
        boto3.Session(region_name="us-east-1").client("autoscaling")
        once = fresh_loaders.count("autoscaling")
        boto3.Session(region_name="us-east-1").client("autoscaling")
    assert fresh_loaders.count("autoscaling") == 2 * once


def test_a_loader_with_another_data_path_shares_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    behaviours.install()
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    other = boto3.Session(region_name="us-east-1")._session.get_component("data_loader")
    monkeypatch.delenv("AWS_DATA_PATH")
    default = boto3.Session(region_name="us-east-1")._session.get_component("data_loader")
    assert str(tmp_path) in other.search_paths
    assert other._cache is not default._cache


def _responses() -> str:
    """Responses of the shapes the twin serves most (a group with instances and tags, instances, a DynamoDB item, a
    record listing, an error), ids and times left out."""
    found: list[Any] = []
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        ec2, autoscaling = session.client("ec2"), session.client("autoscaling")
        dynamodb, route53 = session.client("dynamodb"), session.client("route53")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]
        template = ec2.create_launch_template(
            LaunchTemplateName="t", LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"}
        )["LaunchTemplate"]["LaunchTemplateId"]
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName="g",
            MinSize=2,
            MaxSize=3,
            LaunchTemplate={"LaunchTemplateId": template},
            VPCZoneIdentifier=subnet["SubnetId"],
            Tags=[{"Key": "bluegreen:app", "Value": "shop", "PropagateAtLaunch": True}],
        )
        found.append(
            autoscaling.describe_auto_scaling_groups(Filters=[{"Name": "tag:bluegreen:app", "Values": ["shop"]}])
        )
        found.append(ec2.describe_instances())
        dynamodb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.put_item(TableName="t", Item={"pk": {"S": "a"}, "n": {"N": "1"}, "l": {"L": [{"S": "x"}]}})
        found.append(dynamodb.get_item(TableName="t", Key={"pk": {"S": "a"}}))
        zone = route53.create_hosted_zone(Name="shop.example.", CallerReference="1")["HostedZone"]["Id"]
        found.append(route53.list_resource_record_sets(HostedZoneId=zone))
        with pytest.raises(autoscaling.exceptions.ClientError) as refused:
            autoscaling.update_auto_scaling_group(AutoScalingGroupName="g", DesiredCapacity=9)
        found.append(refused.value.response["Error"])
    for response in found:
        response.pop("ResponseMetadata", None)
    # Ids, addresses and times differ from one run to the next
    text = json.dumps(found, default=str, sort_keys=True)
    text = re.sub(r"\d{4}-\d\d-\d\d[ T][\d:.+]+", "~time", text)
    return re.sub(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}", "~mac", re.sub(r"[0-9a-f-]{8,}", "~id", text))


def test_responses_are_the_same_with_the_serializer_speed_up_and_it_asks_each_field_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    behaviours.install()
    with moto_serializer_speed.patches.removed():
        plain = _responses()
    # Given the alias lookups counted, from an empty memory
    moto_serializer_speed._keys.clear()
    asked: list[str] = []
    lookup = serialize.AttributePicker.get_possible_keys
    monkeypatch.setattr(
        serialize.AttributePicker,
        "get_possible_keys",
        lambda self, context: asked.append(context.key) or lookup(self, context),
    )
    first = _responses()
    once = len(asked)
    # When the same responses are made again, then no field's names are worked out again
    again = _responses()
    assert first == plain == again
    assert once > 0 and len(asked) == once


def test_the_action_check_finds_what_moto_finds() -> None:
    behaviours.install()
    for cls in (responses.BaseResponse, AutoScalingResponse):
        names = responses.method_names_from_class(cls)
        listed = utils.method_names_from_class(cls)  # moto's own listing
        assert isinstance(names, moto_request_routing._MethodNames)
        for name in [*listed, "no_such_action", "Meta", "__class__", "region", "describe_auto_scaling_groups"]:
            assert (name in names) == (name in listed), name


def test_an_action_patched_onto_a_response_class_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    behaviours.install()

    class Service(responses.BaseResponse):
        def known(self) -> str:
            return "known"

    names = responses.method_names_from_class(Service)
    assert "known" in names and "later" not in names
    monkeypatch.setattr(Service, "later", lambda self: "later", raising=False)
    assert "later" in responses.method_names_from_class(Service)


@pytest.mark.parametrize(
    "body",
    [
        '{"a": 1e5, "b": 1.5, "c": -0, "d": 1.0e+5, "e": 1.0E-5, "f": NaN, "g": [1, 2.50], "h": "x\\u00e9\\n"}',
        '{"i": true, "j": null, "k": 10000000000000000000000, "l": "2010-09-09", "m": "yes", "n": "\\/"}',
        '{"<<": {"a": 1}}',
        '{"a":\t1}',
        "Resources:\n  A: !Ref B\n",
    ],
)
def test_a_template_body_reads_as_moto_reads_it(body: str) -> None:
    assert cloudformation_template_speed.parse_template(body) == cloudformation_template_speed._original(body)


def test_the_deployed_template_reads_the_same_without_yaml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    body = json.dumps(deploy.translate(REPO / "template.yaml", lambda code: "s3://code/functions.zip"))
    # Given YAML's parser watched for the whole body (numbers alone are read as YAML reads them)
    parsed: list[bool] = []
    load = cloudformation_models.yaml.load
    monkeypatch.setattr(
        cloudformation_models.yaml, "load", lambda text, **k: parsed.append(text == body) or load(text, **k)
    )
    fast = cloudformation_template_speed.parse_template(body)
    assert True not in parsed
    assert fast == cloudformation_template_speed._original(body) and parsed[-1] is True


def test_a_translation_is_made_once_and_each_caller_gets_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    uploads: list[int] = []
    made: list[int] = []
    transform = deploy.transform
    monkeypatch.setattr(deploy, "transform", lambda *a: made.append(1) or transform(*a))
    deploy._transforms.clear()

    def upload(body: bytes) -> str:
        uploads.append(len(body))
        return "s3://code/functions.zip"

    first = deploy.translate(REPO / "template.yaml", upload)
    zipped = len(uploads)
    first["Resources"].clear()  # a caller changing its copy
    second = deploy.translate(REPO / "template.yaml", upload)
    # The code is zipped and uploaded every time (each twin is a new account), the transform made once
    assert zipped > 0 and len(uploads) == 2 * zipped
    assert made == [1]
    assert second["Resources"] and second == deploy.translate(REPO / "template.yaml", upload)
    # Another region is another transform
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.delenv("AWS_REGION", raising=False)
    deploy.translate(REPO / "template.yaml", upload)
    assert made == [1, 1]
