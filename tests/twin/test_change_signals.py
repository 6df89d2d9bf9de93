"""The twin tells a waiting test when an execution starts or ends and when an item is written (no polling needed)."""

from __future__ import annotations

import json
import threading

from bluegreen.twin import api_calls, change_signals

ROLE = "arn:aws:iam::123456789012:role/twin"
WAIT = {"StartAt": "Sleep", "States": {"Sleep": {"Type": "Wait", "Seconds": 30, "End": True}}}


def test_a_signal_wakes_a_waiter_at_once_and_a_change_before_the_wait_is_not_lost() -> None:
    signal = change_signals.Signal()
    seen = signal.count()
    signal.fire()  # between the waiter's read and its wait
    assert signal.wait_after(seen, 5)  # returns at once
    seen = signal.count()
    threading.Timer(0.05, signal.fire).start()
    assert signal.wait_after(seen, 5)
    assert not signal.wait_after(signal.count(), 0.05)  # nothing fired: after the time given


def test_an_execution_signals_its_start_and_its_end(twin_moto) -> None:
    sfn = twin_moto("stepfunctions")
    machine = sfn.create_state_machine(name="sleep", definition=json.dumps(WAIT), roleArn=ROLE)["stateMachineArn"]
    before = change_signals.executions.count()
    arn = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    assert change_signals.executions.wait_after(before, 5)
    started = change_signals.executions.count()
    # When it ends (stopped), a waiter wakes and reads it ended
    sfn.stop_execution(executionArn=arn)
    assert change_signals.executions.wait_after(started, 5)
    assert sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"


def test_an_item_written_signals(twin_moto) -> None:
    dynamodb = twin_moto("dynamodb")
    dynamodb.create_table(
        TableName="state",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for write in (
        lambda: dynamodb.put_item(TableName="state", Item={"pk": {"S": "LOCK"}}),
        lambda: dynamodb.update_item(
            TableName="state",
            Key={"pk": {"S": "LOCK"}},
            UpdateExpression="SET phase = :p",
            ExpressionAttributeValues={":p": {"S": "Bake"}},
        ),
        lambda: dynamodb.delete_item(TableName="state", Key={"pk": {"S": "LOCK"}}),
    ):
        before = change_signals.items.count()
        write()
        assert change_signals.items.count() > before
    before = change_signals.items.count()
    dynamodb.get_item(TableName="state", Key={"pk": {"S": "LOCK"}})
    assert change_signals.items.count() == before  # a read signals nothing


def test_a_handler_returning_signals_and_every_signal_fires_the_changes_one() -> None:
    # When a handler run by the twin returns, Then its signal and the one for any change fire
    handlers, changes = change_signals.handlers.count(), change_signals.changes.count()
    with api_calls.running("SomeFunction"):
        assert change_signals.handlers.count() == handlers  # not while it runs
    assert change_signals.handlers.count() == handlers + 1
    assert change_signals.changes.count() == changes + 1
    # And an execution's or an item's signal fires the one for any change too
    for signal in (change_signals.executions, change_signals.items):
        seen = change_signals.changes.count()
        signal.fire()
        assert change_signals.changes.count() == seen + 1
