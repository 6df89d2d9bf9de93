"""AWS behaviours the twin relies on that moto already has: regression tests, so a moto upgrade that loses one fails."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

pytestmark = pytest.mark.xdist_group("twin")
ROLE = "arn:aws:iam::123456789012:role/twin"


def finished(sfn: Any, arn: str) -> dict:
    deadline = time.monotonic() + 20
    while (execution := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, f"{arn} still running"
        time.sleep(0.05)
    return execution


def test_a_state_output_over_256_kib_fails_the_execution(twin_moto: Any) -> None:
    # Given a machine whose Pass state copies its 150 KB input next to itself (its output is 300 KB)
    sfn = twin_moto("stepfunctions")
    definition = {
        "StartAt": "Copy",
        "States": {"Copy": {"Type": "Pass", "Parameters": {"data.$": "$.data"}, "ResultPath": "$.copy", "End": True}},
    }
    arn = sfn.create_state_machine(name="grow", definition=json.dumps(definition), roleArn=ROLE)["stateMachineArn"]

    # When it runs
    started = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"data": "x" * 150_000}))
    execution = finished(sfn, started["executionArn"])

    # Then it fails with States.DataLimitExceeded (Step Functions service quotas: 256 KiB per state output)
    assert execution["status"] == "FAILED"
    assert execution["error"] == "States.DataLimitExceeded"
