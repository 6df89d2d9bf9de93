"""What events that no app could match cost: part of `make bench` (issue 16, item 5).

On a twin of its own, with one app whose AMIs come from a golden-AMI parameter: 100 AMIs nobody releases (25 each:
AWS Backup, Data Lifecycle Manager, Image Builder, anyone's `create-image`), 100 parameter changes outside
GoldenAmiParameterPrefix and 100 under it that no app names. Counted: executions of the deploy machine, their state
transitions and history events, and invocations of each function (an in-process counter on the twin's Lambda).
Then the price of a late tag, per AMI: with an app that takes its AMIs by tag alone, an untagged AMI is looked at
until the settle deadline (what every AMI of the account cost before the screen).
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from moto.awslambda import models as lambda_models
from orchestrator import budget

from bluegreen.aws import Aws
from bluegreen.demo.seed import seed_app
from bluegreen.proof.bench_costs import replace_section
from bluegreen.twin import local

STOCK = "ami-12c6146b"
UNRELATED = {
    "AWS Backup": {"aws:backup:source-resource": "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0"},
    "Data Lifecycle Manager": {"aws:dlm:lifecycle-policy-id": "policy-0a1b2c3d4e5f"},
    "Image Builder": {"Ec2ImageBuilderArn": "arn:aws:imagebuilder:us-east-1:123456789012:image/base/1.0.0/1"},
    "create-image": {},
}
GOAL_INVOCATIONS_PER_EVENT = 1


@dataclass
class Cost:
    label: str
    events: int
    executions: int
    transitions: int
    history_events: int
    invocations: Counter[str]
    seconds: float

    @property
    def per_event(self) -> float:
        return sum(self.invocations.values()) / self.events


@contextmanager
def counting_invocations() -> Iterator[Counter[str]]:
    """Invocations per function (its logical id) while in the block: the twin runs every function in this process."""
    counted: Counter[str] = Counter()
    original = lambda_models.LambdaFunction._invoke_lambda

    def counted_invoke(self: Any, event: Any = None) -> Any:
        counted[self.function_name.split("-")[-2]] += 1
        return original(self, event)

    lambda_models.LambdaFunction._invoke_lambda = counted_invoke
    try:
        yield counted
    finally:
        lambda_models.LambdaFunction._invoke_lambda = original


def _executions(aws: Aws) -> set[str]:
    sfn = aws.client("stepfunctions")
    pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=aws.outputs["DeployStateMachineArn"])
    return {e["executionArn"] for page in pages for e in page["executions"]}


def _history(aws: Aws, arns: set[str]) -> tuple[int, int]:
    sfn = aws.client("stepfunctions")
    transitions = events = 0
    for arn in arns:
        for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn):
            events += len(page["events"])
            transitions += sum(1 for e in page["events"] if e["type"].endswith("StateEntered"))
    return transitions, events


def _quiet(aws: Aws, counted: Counter[str], timeout: float = 120) -> None:
    """Until no invocation has happened for a second and every execution started has ended."""
    sfn = aws.client("stepfunctions")
    deadline = time.monotonic() + timeout
    last, seen = time.monotonic(), sum(counted.values())
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = sum(counted.values())
        if now != seen:
            last, seen = time.monotonic(), now
        running = sfn.list_executions(stateMachineArn=aws.outputs["DeployStateMachineArn"], statusFilter="RUNNING")[
            "executions"
        ]
        if not running and time.monotonic() - last > 1.0:
            return
    raise TimeoutError("the unrelated events were still being handled")


def measure_one(aws: Aws, label: str, count: int, make: Callable[[int], None]) -> Cost:
    before = _executions(aws)
    started = time.monotonic()
    with counting_invocations() as counted:
        for n in range(count):
            make(n)
        _quiet(aws, counted)
    seconds = time.monotonic() - started
    new = _executions(aws) - before
    transitions, history = _history(aws, new)
    return Cost(label, count, len(new), transitions, history, counted, seconds)


def measure(stack: local.LocalStack) -> list[Cost]:
    aws = stack.aws
    ec2, ssm = aws.client("ec2"), aws.client("ssm")
    with counting_invocations() as seeding:  # the seed's own AMI events handled before anything is counted
        seed_app(aws, "golden", instances=1, config={"ami_source": {"parameter": "/golden-ami/golden"}})
        _quiet(aws, seeding)
    kinds = list(UNRELATED.items())

    def unrelated_ami(n: int) -> None:
        kind, tags = kinds[n % len(kinds)]
        specs = [{"ResourceType": "image", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}] if tags else []
        builder = ec2.run_instances(ImageId=STOCK, MinCount=1, MaxCount=1, InstanceType="t3.micro")["Instances"][0]
        name = f"{kind.lower().replace(' ', '-')}-{n}"
        ec2.create_image(InstanceId=builder["InstanceId"], Name=name, TagSpecifications=specs)

    def outside(n: int) -> None:
        ssm.put_parameter(Name=f"/team/settings/key-{n}", Value="x", Type="String", Overwrite=True)

    def unnamed(n: int) -> None:
        ssm.put_parameter(Name=f"/golden-ami/nobody-{n}", Value=STOCK, Type="String", Overwrite=True)

    costs = [
        measure_one(aws, "unrelated AMIs (25 each: AWS Backup, DLM, Image Builder, create-image)", 100, unrelated_ami),
        measure_one(aws, "parameter changes outside GoldenAmiParameterPrefix", 100, outside),
        measure_one(aws, "parameter changes under the prefix that no app names", 100, unnamed),
    ]
    # An app that takes its AMIs by tag alone: an untagged AMI may still be tagged for it (Packer), so it is waited for.
    with counting_invocations() as seeding:
        seed_app(aws, "bytag", instances=1)
        _quiet(aws, seeding)
    late = measure_one(aws, "untagged create-image AMIs, an app takes AMIs by tag alone", 5, _untagged(ec2))
    costs.append(late)
    return costs


def _untagged(ec2: Any) -> Callable[[int], None]:
    def make(n: int) -> None:
        builder = ec2.run_instances(ImageId=STOCK, MinCount=1, MaxCount=1, InstanceType="t3.micro")["Instances"][0]
        ec2.create_image(InstanceId=builder["InstanceId"], Name=f"scratch-{n}")

    return make


def passes(costs: list[Cost]) -> bool:
    """The goal: no Standard execution and at most one invocation per event, for the events no app could match."""
    return all(c.executions == 0 and c.per_event <= GOAL_INVOCATIONS_PER_EVENT for c in costs[:3])


def report(costs: list[Cost]) -> list[str]:
    lines = [
        "## Events that no app could match",
        "",
        "`python -m bluegreen.proof.bench_triggers` (and `make bench`): a twin of its own, waits at 1 %, one app whose",
        "AMIs come from a golden-AMI parameter. Every AMI and parameter event of the account reaches the trigger screen",
        "(`TriggerFilterFunction`) or, outside the golden-AMI path, nothing at all; a Standard execution starts only for",
        "an event some app could match. Goal: no Standard execution and at most one short invocation per event.",
        "",
        "| events | count | deploy executions | state transitions | history events | invocations (by function) "
        "| invocations per event | seconds (twin) |",
        "| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    for c in costs:
        by_function = ", ".join(f"{k} {v}" for k, v in sorted(c.invocations.items())) or "none"
        lines.append(
            f"| {c.label} | {c.events} | {c.executions} | {c.transitions} | {c.history_events} | {by_function} "
            f"| {c.per_event:.2f} | {c.seconds:.1f} |"
        )
    late = costs[3]
    # At AWS's waits the settle loop polls every 30 s for 10 minutes (the twin's 1 % waits poll at its 1 s floor).
    aws_polls = budget.polls(budget.SETTLE_SECONDS, budget.paced(budget.SETTLE_SECONDS, 0, "settle"))
    lines += [
        "",
        f"Goal met: {'yes' if passes(costs) else 'NO'} (first three rows). The last row is the price of Packer's late tags,",
        "and what every AMI of the account cost before the screen: an untagged AMI of this account, while some app takes",
        "its AMIs by tag alone (no `ami_source` owners or parameter), is looked at until the settle deadline:",
        f"{late.executions / late.events:.0f} execution, {late.transitions / late.events:.0f} transitions and"
        f" {late.history_events / late.events:.0f} history events per AMI on the twin; at AWS's waits (a look every",
        f"30 s for 10 minutes) {aws_polls} PrepareRelease invocations and about {aws_polls * budget.EVENTS_PER_POLL}"
        " history events.",
        "Give every app an `ami_source` (owners and name, or a parameter) and such an AMI costs one screen invocation,",
        "as in the first row. A backup is dropped by its tags whatever the apps are, and pays no DescribeInstances.",
        "",
    ]
    return lines


def main() -> int:
    stack = local.start(port=0, wait_scale=0.01, retry_scale=0.02)
    try:
        costs = measure(stack)
    finally:
        stack.stop()
    lines = report(costs)
    replace_section(lines)
    print("\n".join(lines))
    return 0 if passes(costs) else 1


if __name__ == "__main__":
    sys.exit(main())
