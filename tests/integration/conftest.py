"""Integration tier: the handlers and adapters against moto, in-process (no twin, no server)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws
from orchestrator.adapters import aws as adapter_aws
from orchestrator.adapters import state_table

from bluegreen.aws import Aws
from bluegreen.demo.seed import SeededApp, seed_app
from bluegreen.twin import behaviours


@dataclass
class World:
    aws: Aws
    app: SeededApp
    table: str
    topic: str
    quarantine_profile: str = ""

    def client(self, service: str) -> Any:
        return self.aws.client(service)


def create_state_table(aws: Aws) -> str:
    """The state table as template.yaml defines it (pk, sk)."""
    aws.client("dynamodb").create_table(
        TableName="bluegreen-state",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in ("pk", "sk")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    )
    return "bluegreen-state"


QUARANTINE_PROFILE = "bluegreen-QuarantineInstanceProfile"


def create_quarantine_profile(aws: Aws) -> str:
    """The stack's deny-all instance profile (template.yaml QuarantineInstanceRole/Profile): its ARN."""
    iam = aws.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    iam.create_role(RoleName="bluegreen-QuarantineInstanceRole", AssumeRolePolicyDocument=json.dumps(trust))
    deny = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}
    iam.put_role_policy(
        RoleName="bluegreen-QuarantineInstanceRole", PolicyName="DenyAll", PolicyDocument=json.dumps(deny)
    )
    profile = iam.create_instance_profile(InstanceProfileName=QUARANTINE_PROFILE)["InstanceProfile"]
    iam.add_role_to_instance_profile(
        InstanceProfileName=QUARANTINE_PROFILE, RoleName="bluegreen-QuarantineInstanceRole"
    )
    return profile["Arn"]


# The same AWS behaviours the twin adds to moto, so the handlers meet AWS's rules here too.
behaviours.install()


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with mock_aws():
        adapter_aws.client.cache_clear()
        state_table._table.cache_clear()
        parameters.clear_caches()
        aws = Aws(region="us-east-1")
        table = create_state_table(aws)
        topic = aws.client("sns").create_topic(Name="bluegreen")["TopicArn"]
        monkeypatch.setenv("STATE_TABLE", table)
        monkeypatch.setenv("TOPIC_ARN", topic)
        app = seed_app(aws, test_urls={"blue": "http://127.0.0.1:9/blue", "green": "http://127.0.0.1:9/green"})
        profile = create_quarantine_profile(aws)
        yield World(aws=aws, app=app, table=table, topic=topic, quarantine_profile=profile)
        adapter_aws.client.cache_clear()
        state_table._table.cache_clear()
