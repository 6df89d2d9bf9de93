"""Each write to a DynamoDB item is atomic: concurrent updates of one item all land (dynamodb_item_writes)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from moto.dynamodb.models import UpdateExpressionExecutor

from bluegreen.twin import dynamodb_item_writes

WRITERS = 5


@pytest.mark.behaviour(dynamodb_item_writes)
def test_appends_to_one_item_at_the_same_moment_all_land(aws, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a table with one item, and updates that take a moment between working out the new value and storing it
    # (as a busy machine makes them: the window of a race)
    dynamodb = aws("dynamodb")
    dynamodb.create_table(
        TableName="state",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName="state", Item={"pk": {"S": "CASE"}, "triggers": {"L": []}})
    execute = UpdateExpressionExecutor.execute

    def slow_execute(self: Any, *args: Any, **kwargs: Any) -> Any:
        time.sleep(0.05)
        return execute(self, *args, **kwargs)

    monkeypatch.setattr(UpdateExpressionExecutor, "execute", slow_execute)

    # When five writers each append their trigger to the item at once
    def append(n: int) -> None:
        dynamodb.update_item(
            TableName="state",
            Key={"pk": {"S": "CASE"}},
            UpdateExpression="SET triggers = list_append(triggers, :t)",
            ExpressionAttributeValues={":t": {"L": [{"S": f"finding-{n}"}]}},
        )

    writers = [threading.Thread(target=append, args=(n,)) for n in range(WRITERS)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()

    # Then every trigger is kept (moto alone loses all but some of them)
    item = dynamodb.get_item(TableName="state", Key={"pk": {"S": "CASE"}})["Item"]
    assert sorted(t["S"] for t in item["triggers"]["L"]) == [f"finding-{n}" for n in range(WRITERS)]
