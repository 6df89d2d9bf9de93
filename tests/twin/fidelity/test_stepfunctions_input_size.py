"""Step Functions refuses an execution input over 262,144 bytes (stepfunctions_input_size)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bluegreen.twin import stepfunctions_input_size

ROLE = "arn:aws:iam::123456789012:role/twin"
DONE = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}


def input_of(size: int, filler: str = "x") -> str:
    """A JSON object of exactly `size` bytes in UTF-8 (`filler` is 1, 2 or 3 bytes)."""
    width = len(filler.encode())
    body = filler * ((size - 8) // width)
    text = json.dumps({"a": body}, ensure_ascii=False, separators=(",", ":"))
    assert len(text.encode()) == size, len(text.encode())
    return text


def machine(aws: Any) -> str:
    return aws("stepfunctions").create_state_machine(name="sized", definition=json.dumps(DONE), roleArn=ROLE)[
        "stateMachineArn"
    ]


@pytest.mark.behaviour(stepfunctions_input_size)
def test_an_input_over_256_kib_is_refused(aws) -> None:
    # Given a state machine
    sfn, arn = aws("stepfunctions"), machine(aws)

    # When an execution is started with 262,145 bytes of input, and with 262,144 bytes
    with pytest.raises(ClientError) as refused:
        sfn.start_execution(stateMachineArn=arn, input=input_of(262_145))
    sfn.start_execution(stateMachineArn=arn, input=input_of(262_144))

    # Then the first is refused as invalid, the second started
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "262144 bytes in UTF-8" in refused.value.response["Error"]["Message"]
    assert len(sfn.list_executions(stateMachineArn=arn)["executions"]) == 1


@pytest.mark.behaviour(stepfunctions_input_size)
def test_the_limit_counts_utf8_bytes_not_characters(aws) -> None:
    # Given a state machine, and an input of 131,073 two-byte characters (262,154 bytes)
    sfn, arn = aws("stepfunctions"), machine(aws)
    text = input_of(262_154, filler="é")
    assert len(text) < 262_144

    # When an execution is started with it, Then it is refused
    with pytest.raises(ClientError) as refused:
        sfn.start_execution(stateMachineArn=arn, input=text)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
