"""Integration tier: the handlers and adapters against moto, in-process (no twin, no server)."""

from __future__ import annotations

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
        yield World(aws=aws, app=app, table=table, topic=topic)
        adapter_aws.client.cache_clear()
        state_table._table.cache_clear()
