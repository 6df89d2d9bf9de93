"""End-to-end tier: the whole stack on the local twin, driven by events and AWS clients as a user would."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from bluegreen import ops
from bluegreen.aws import Aws
from bluegreen.invariants import Monitor
from bluegreen.seed import SeededApp, ami_event, register_ami, seed_app
from bluegreen.standin import SlotServer, start_slot_servers
from bluegreen.twin import local, server

# Waits at 1 % of AWS's: a 60 s bake takes 1 s. Retry intervals at 2 %.
WAIT_SCALE = 0.01
RETRY_SCALE = 0.02
_names = itertools.count(1)


@pytest.fixture(scope="module")
def stack() -> Iterator[local.LocalStack]:
    """One twin per test module, on a free port, with template.yaml deployed."""
    running = local.start(port=0, wait_scale=WAIT_SCALE, retry_scale=RETRY_SCALE)
    yield running
    running.stop()


@dataclass
class App:
    """A seeded app on the twin, with its slots' stand-in test servers and helpers to release to it."""

    stack: local.LocalStack
    seeded: SeededApp
    servers: dict[str, SlotServer]
    monitors: list[Monitor] = field(default_factory=list)

    @property
    def aws(self) -> Aws:
        return self.stack.aws

    @property
    def name(self) -> str:
        return self.seeded.app

    @property
    def endpoint(self) -> str:
        return self.stack.twin.endpoint_url

    def publish_ami(self, broken: bool = False, tagged: bool = True) -> str:
        return register_ami(self.aws, f"{self.name}-{next(_names)}", app=self.name if tagged else None, broken=broken)

    def put_ami_event(self, ami_id: str) -> None:
        self.aws.client("events").put_events(Entries=[ami_event(ami_id, "us-east-1")])

    def execution_for(self, ami_id: str, timeout: float = 15) -> str:
        sfn = self.aws.client("stepfunctions")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for execution in sfn.list_executions(stateMachineArn=self.stack.outputs["DeployStateMachineArn"])[
                "executions"
            ]:
                given = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])
                if ami_id in (given.get("ami_id"), given.get("detail", {}).get("ImageId")):
                    return execution["executionArn"]
            time.sleep(0.1)
        raise AssertionError(f"no execution for {ami_id}")

    def executions_for(self, ami_id: str) -> list[str]:
        sfn = self.aws.client("stepfunctions")
        found = []
        for execution in sfn.list_executions(stateMachineArn=self.stack.outputs["DeployStateMachineArn"])["executions"]:
            given = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])
            if ami_id in (given.get("ami_id"), given.get("detail", {}).get("ImageId")):
                found.append(execution["executionArn"])
        return found

    def release(self, ami_id: str, timeout: float = 90, **options: bool) -> ops.Execution:
        """Start a release from the CLI's code path and wait for its end."""
        arn = ops.start_release(self.aws, self.name, ami_id, **options)
        return ops.wait_for(self.aws, arn, timeout=timeout, poll=0.1)

    def wait(self, arn: str, timeout: float = 90) -> ops.Execution:
        return ops.wait_for(self.aws, arn, timeout=timeout, poll=0.1)

    def status(self) -> dict:
        return ops.status(self.aws, self.name)

    def groups(self) -> list[str]:
        found = self.aws.client("autoscaling").describe_auto_scaling_groups(
            Filters=[{"Name": "tag:bluegreen:app", "Values": [self.name]}]
        )["AutoScalingGroups"]
        return sorted(g["AutoScalingGroupName"] for g in found)

    def monitor(self) -> Monitor:
        """Sample I1 and I2 while the test runs; the fixture checks I3 and I4 at the end."""
        drain = max(1, round((60 + 30) * WAIT_SCALE))
        watcher = Monitor(self.aws, self.name, drain_seconds=drain, period=0.05).__enter__()
        self.monitors.append(watcher)
        return watcher

    def inject_fault(self, function: str, kind: str, times: int = 1) -> None:
        server.inject_fault(self.endpoint, function, kind, times)


@pytest.fixture
def app(stack: local.LocalStack, request: pytest.FixtureRequest) -> Iterator[App]:
    """A fresh app per test (its own name, zone, slots and fleet), monitored for I1-I4."""
    name = f"app{next(_names)}-{abs(hash(request.node.nodeid)) % 10_000}"
    servers = start_slot_servers(stack.aws, name)
    overrides = getattr(request, "param", {}) or {}
    config = {
        "traffic": {"steps": [50, 100], "bake_seconds": 60, "alarm_names": [f"{name}-5xx", f"{name}-p99"]},
        "health": {"timeout_seconds": 120, "poll_seconds": 5},
        **overrides,
    }
    seeded = seed_app(stack.aws, name, instances=3, test_urls={s: servers[s].url for s in servers}, config=config)
    harness = App(stack=stack, seeded=seeded, servers=servers)
    harness.monitor()
    try:
        yield harness
    finally:
        server.clear_faults(stack.twin.endpoint_url)
        server.clear_target_health(stack.twin.endpoint_url)
        for watcher in harness.monitors:
            watcher.__exit__(None, None, None)
        for slot_server in servers.values():
            slot_server.stop()
    breaches = harness.monitors[0].check_at_rest() if harness.monitors else []
    all_breaches = [b for m in harness.monitors for b in m.breaches] + breaches
    assert not all_breaches, f"invariants breached: {all_breaches}"
