"""`bluegreen local up` answers AWS calls only once its stack is deployed, and deploys each resource once."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from bluegreen.aws import DEFAULT_STACK
from bluegreen.twin import local


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def client(endpoint: str, service: str) -> Any:
    # No retries and a short connect timeout: the test sees each answer (or refusal) as it comes.
    config = Config(retries={"max_attempts": 0}, connect_timeout=1, read_timeout=300)
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=config,
    )


def test_a_client_calling_during_the_deploy_waits_for_the_whole_stack() -> None:
    # Given `local up` starting on a known port, and another client describing the stack all the while
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    started: dict[str, local.LocalStack] = {}
    starter = threading.Thread(target=lambda: started.update(stack=local.start(port=port)), daemon=True)
    answers: list[dict[str, Any]] = []
    cfn = client(endpoint, "cloudformation")

    # When the stack deploys while the client calls
    starter.start()
    while starter.is_alive():
        try:
            answers.append(cfn.describe_stacks(StackName=DEFAULT_STACK)["Stacks"][0])
        except (BotoCoreError, ClientError):  # the port is not bound yet, or (without the fix) no stack yet
            time.sleep(0.01)
    starter.join()
    stack = started["stack"]
    try:
        # Then every answer the client got was the deployed stack, with its outputs
        assert answers, "the client never got an answer"
        assert {a["StackStatus"] for a in answers} == {"CREATE_COMPLETE"}
        assert all(a.get("Outputs") for a in answers)

        # And there is one deploy machine and one quarantine machine: the ones the outputs and the rules name
        names = [m["name"] for m in client(endpoint, "stepfunctions").list_state_machines()["stateMachines"]]
        deploy = [n for n in names if n.startswith(f"{DEFAULT_STACK}-DeployStateMachine")]
        quarantine = [n for n in names if n.startswith(f"{DEFAULT_STACK}-QuarantineStateMachine")]
        assert (len(deploy), len(quarantine)) == (1, 1), names
        events = client(endpoint, "events")
        targets = {
            target["Arn"]
            for rule in events.list_rules(NamePrefix=DEFAULT_STACK)["Rules"]
            for target in events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
        }
        assert {t for t in targets if ":states:" in t} == {stack.outputs["QuarantineStateMachineArn"]}
        # AMI and parameter events reach the deploy machine through the trigger screen, which names that machine
        (screen,) = [t for t in targets if "TriggerFilterFunction" in t]
        env = client(endpoint, "lambda").get_function_configuration(FunctionName=screen)["Environment"]["Variables"]
        assert env["DEPLOY_STATE_MACHINE_ARN"] == stack.outputs["DeployStateMachineArn"]
    finally:
        stack.stop()
