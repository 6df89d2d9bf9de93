"""A bus policy limited to an organization: eventbridge_bus_policy_conditions."""

from __future__ import annotations

import json

import pytest

from bluegreen.twin import eventbridge_bus_policy_conditions
from tests.twin.fidelity.test_trigger_behaviours import BUILD_ACCOUNT, THIS_ACCOUNT, build_account

OTHER_ORG = "o-aaaaaaaaaa"


def bus_for(aws, org: str) -> tuple[str, str]:
    """A bus the build account may put events on, only as a principal of `org`; a rule on it to a state machine."""
    events, sfn = aws("events"), aws("stepfunctions")
    bus = events.create_event_bus(Name=f"builds-{org}")["EventBusArn"]
    statement = {
        "Sid": "b",
        "Effect": "Allow",
        "Principal": {"AWS": [BUILD_ACCOUNT]},
        "Action": "events:PutEvents",
        "Resource": bus,
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": org}},
    }
    events.put_permission(
        EventBusName=f"builds-{org}", Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    )
    machine = sfn.create_state_machine(
        name=f"deploy-{org}",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn=f"arn:aws:iam::{THIS_ACCOUNT}:role/sfn",
    )["stateMachineArn"]
    events.put_rule(Name="amis", EventBusName=f"builds-{org}", EventPattern=json.dumps({"source": ["aws.ec2"]}))
    events.put_targets(Rule="amis", EventBusName=f"builds-{org}", Targets=[{"Id": "deploy", "Arn": machine}])
    return bus, machine


def forward_one(build, bus: str) -> None:
    build("events").put_rule(Name=f"forward-{bus[-8:]}", EventPattern=json.dumps({"source": ["aws.ec2"]}))
    build("events").put_targets(Rule=f"forward-{bus[-8:]}", Targets=[{"Id": "bus", "Arn": bus}])
    entry = {
        "Source": "aws.ec2",
        "DetailType": "EC2 AMI State Change",
        "Detail": json.dumps({"ImageId": "ami-0123456789abcdef0", "State": "available"}),
    }
    build("events").put_events(Entries=[entry])


@pytest.mark.behaviour(eventbridge_bus_policy_conditions)
def test_a_bus_limited_to_an_organization_takes_no_event_from_an_account_outside_it(aws) -> None:
    # Given the build account, named by the bus policy, but in no organization (then in another one)
    build = build_account(aws)
    bus, machine = bus_for(aws, OTHER_ORG)
    # When it forwards an AMI event to the bus
    forward_one(build, bus)
    # Then nothing arrives: its account is named, but it is no principal of that organization
    assert aws("stepfunctions").list_executions(stateMachineArn=machine)["executions"] == []


def test_a_bus_limited_to_the_senders_organization_takes_its_events(twin_moto) -> None:
    # Given the build account managing its own organization, and a bus limited to that organization
    build = build_account(twin_moto)
    org = build("organizations").create_organization(FeatureSet="ALL")["Organization"]["Id"]
    bus, machine = bus_for(twin_moto, org)
    # When it forwards an AMI event, Then it arrives
    forward_one(build, bus)
    assert len(twin_moto("stepfunctions").list_executions(stateMachineArn=machine)["executions"]) == 1


def test_conditions_hold_only_on_the_keys_the_request_carries() -> None:
    holds = eventbridge_bus_policy_conditions.holds
    assert holds({}, BUILD_ACCOUNT)
    assert holds({"StringEquals": {"aws:PrincipalAccount": BUILD_ACCOUNT}}, BUILD_ACCOUNT)
    assert not holds({"StringEquals": {"aws:PrincipalAccount": THIS_ACCOUNT}}, BUILD_ACCOUNT)
    assert not holds({"StringEquals": {"aws:SourceVpc": "vpc-1"}}, BUILD_ACCOUNT)
    assert not holds({"NumericEquals": {"aws:PrincipalAccount": "1"}}, BUILD_ACCOUNT)
