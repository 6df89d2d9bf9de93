"""The twin's API-fault control (`POST /_twin/api-faults`): the next N calls of one AWS operation on a matching
resource are refused with the error a test names, in the call's own protocol; other calls go through."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from bluegreen.twin import server
from bluegreen.twin.server import TwinServer

# One attempt per call, so a refused call is seen as refused (standard retries would retry a throttle).
NO_RETRY = Config(retries={"mode": "standard", "max_attempts": 1})


def client(twin: TwinServer, service: str) -> Any:
    return boto3.client(service, endpoint_url=twin.endpoint_url, region_name="us-east-1", config=NO_RETRY)


def code_of(call: Any) -> str | None:
    try:
        call()
    except ClientError as err:
        return err.response["Error"]["Code"]
    return None


@pytest.fixture
def rules(twin: TwinServer) -> tuple[Any, str, str]:
    """Two rules of one listener, each forwarding to the same target group."""
    ec2, elbv2 = client(twin, "ec2"), client(twin, "elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{n}.0/24", AvailabilityZone=f"us-east-1{z}")["Subnet"]["SubnetId"]
        for n, z in enumerate("ab")
    ]
    balancer = elbv2.create_load_balancer(Name="faults", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    group = elbv2.create_target_group(Name="faults", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]
    forward = [{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}]
    listener = elbv2.create_listener(LoadBalancerArn=balancer, Protocol="HTTP", Port=80, DefaultActions=forward)
    arns = [
        elbv2.create_rule(
            ListenerArn=listener["Listeners"][0]["ListenerArn"],
            Priority=priority,
            Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": [f"/{priority}/*"]}}],
            Actions=forward,
        )["Rules"][0]["RuleArn"]
        for priority in (1, 2)
    ]
    yield elbv2, arns[0], arns[1]
    server.clear_api_faults(twin.endpoint_url)


def test_a_fault_refuses_the_matching_calls_only_and_only_so_often(twin: TwinServer, rules) -> None:
    elbv2, first, second = rules
    forward = elbv2.describe_rules(RuleArns=[second])["Rules"][0]["Actions"]

    def modify(arn: str) -> Any:
        return lambda: elbv2.modify_rule(RuleArn=arn, Actions=forward)

    # Given a fault on ModifyRule of the second rule, twice
    server.inject_api_fault(twin.endpoint_url, "ModifyRule", "InvalidConfigurationRequest", resource=second, times=2)

    # Then the first rule can be modified, and the second is refused twice with the code, then modified
    assert code_of(modify(first)) is None
    assert code_of(modify(second)) == "InvalidConfigurationRequest"
    assert server.api_faults(twin.endpoint_url)[0]["times"] == 1
    assert code_of(modify(second)) == "InvalidConfigurationRequest"
    assert code_of(modify(second)) is None
    assert server.api_faults(twin.endpoint_url) == []
    # And other operations on the same resource were never refused
    assert code_of(lambda: elbv2.describe_rules(RuleArns=[second])) is None


def test_a_fault_answers_a_json_protocol_call_in_json(twin: TwinServer) -> None:
    # Given a fault on SSM GetParameter (a JSON-protocol service) of one parameter
    ssm = client(twin, "ssm")
    ssm.put_parameter(Name="/faults/one", Value="1", Type="String", Overwrite=True)
    server.inject_api_fault(twin.endpoint_url, "GetParameter", "InternalServerError", resource="/faults/one")

    # Then that call is refused with the code, and the next one answers
    assert code_of(lambda: ssm.get_parameter(Name="/faults/one")) == "InternalServerError"
    assert ssm.get_parameter(Name="/faults/one")["Parameter"]["Value"] == "1"


def test_a_malformed_fault_is_refused_and_changes_nothing(twin: TwinServer) -> None:
    # When a fault is asked for with no operation name, Then the control answers 400 and holds no fault
    request = urllib.request.Request(
        f"{twin.endpoint_url}/_twin/api-faults", data=json.dumps({"operation": "", "code": "X"}).encode(), method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 400
    assert server.api_faults(twin.endpoint_url) == []
