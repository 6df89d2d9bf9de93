"""End-to-end tier: the whole stack on the local twin, driven by events and AWS clients as a user would."""

from __future__ import annotations

import io
import itertools
import json
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from bluegreen.aws import Aws
from bluegreen.cli import commands, ops
from bluegreen.demo.seed import SeededApp, ami_event, register_ami, seed_app
from bluegreen.demo.standin import LoadBalancerServer, SlotServer, start_slot_servers
from bluegreen.proof import least_privilege
from bluegreen.proof.invariants import Monitor
from bluegreen.twin import change_signals, local, server, state_fingerprint

# Waits at 1 % of AWS's: a 60 s bake takes 1 s. Retry intervals at 2 %.
WAIT_SCALE = 0.01
RETRY_SCALE = 0.02
_names = itertools.count(1)
# The longest a wait sleeps between reads when the twin signals nothing (`bluegreen.twin.change_signals`): every change
# a wait is for fires its signal, so this only bounds the cost of one that does not.
QUIET_READS = 1.0
# The same for `App.wait_until`, whose predicates may also wait on what no signal covers (a stand-in server's requests).
CHANGE_READS = 0.25


def read_until(
    signal: change_signals.Signal,
    read: Callable[[], Any],
    done: Callable[[Any], Any],
    timeout: float,
    quiet: float = QUIET_READS,
) -> Any:
    """`read()` until `done` holds for what it read, or `timeout` has passed (then the last read): read again when the
    twin in this process fires `signal` (an execution started or ended, an item written), at most `quiet` s apart."""
    deadline = time.monotonic() + timeout
    while True:
        seen = signal.count()  # before the read: a change made while reading wakes the wait at once
        value = read()
        left = deadline - time.monotonic()
        if done(value) or left <= 0:
            return value
        signal.wait_after(seen, min(quiet, left))


def run_cli(
    endpoint: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str, stdin: str = ""
) -> tuple[int, str, str]:
    """Run `bluegreen --endpoint-url <twin> ARGS...` in this process, `stdin` as its input: (exit code, stdout,
    stderr). Faster than a subprocess, and the test can watch the CLI's own clients."""
    capsys.readouterr()
    monkeypatch.setattr(sys, "argv", ["bluegreen", "--endpoint-url", endpoint, *args])
    if stdin:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    try:
        commands.main()
        code = 0
    except SystemExit as done:
        code = int(done.code or 0)
    out, err = capsys.readouterr()
    # The twin's Lambda handlers run in this process too, and Powertools prints their metrics (CloudWatch embedded
    # metric format) to stdout, which in AWS goes to the function's log, not to the operator's terminal.
    out = "".join(line for line in out.splitlines(keepends=True) if not line.startswith('{"_aws": '))
    return code, out, err


@pytest.fixture(scope="module")
def stack() -> Iterator[local.LocalStack]:
    """One twin per test module, on a free port, with template.yaml deployed; I6 is checked when it stops."""
    running = local.start(port=0, wait_scale=WAIT_SCALE, retry_scale=RETRY_SCALE)
    yield running
    calls = api_calls_by_function(running)
    denied = server.iam_denials(running.twin.endpoint_url)
    running.stop()
    # I6: every AWS call each function made in this module is allowed by that function's own policy, as IAM evaluates
    # it (the twin refused any that was not; a handler that caught the refusal must not hide it).
    assert not denied, "the twin refused, as IAM would:\n" + "\n".join(map(str, denied))
    gaps = least_privilege.calls_not_allowed(calls)
    assert not gaps, "calls not allowed by template.yaml:\n" + "\n".join(gaps)


def api_calls_by_function(stack: local.LocalStack) -> dict[str, list[str]]:
    """Logical id of each function (as template.yaml names it) -> the IAM actions it has called on this twin."""
    resources = stack.aws.client("cloudformation").describe_stack_resources(StackName=stack.aws.stack)
    logical = {
        r["PhysicalResourceId"]: r["LogicalResourceId"]
        for r in resources["StackResources"]
        if r.get("ResourceType") == "AWS::Lambda::Function"
    }
    return {logical.get(name, name): actions for name, actions in server.api_calls(stack.twin.endpoint_url).items()}


@dataclass
class App:
    """A seeded app on the twin, with its slots' stand-in test servers and helpers to release to it."""

    stack: local.LocalStack
    seeded: SeededApp
    servers: dict[str, SlotServer | LoadBalancerServer]
    monitors: list[Monitor] = field(default_factory=list)
    fleet: int = 3  # the instances it serves with
    _queue_url: str = ""
    _notes: list[dict] = field(default_factory=list)
    _inputs: dict[str, dict] = field(default_factory=dict)

    @property
    def aws(self) -> Aws:
        return self.stack.aws

    @property
    def name(self) -> str:
        return self.seeded.app

    @property
    def endpoint(self) -> str:
        return self.stack.twin.endpoint_url

    def publish_ami(self, broken: bool = False, tagged: bool = False) -> str:
        """A new AMI. EC2 (the twin) announces it: `tagged` for this app, its event starts a release by itself;
        untagged (the default, for tests that start releases themselves), its event waits for a tag, then ignores it."""
        return register_ami(self.aws, f"{self.name}-{next(_names)}", app=self.name if tagged else None, broken=broken)

    def put_ami_event(self, ami_id: str) -> None:
        """Deliver the AMI's event again (EventBridge delivers at least once; a replay does the same)."""
        self.aws.client("events").put_events(Entries=[ami_event(ami_id, "us-east-1")])

    def execution_for(self, ami_id: str, timeout: float = 15) -> str:
        """The first execution an AMI event started for this AMI."""
        found = read_until(change_signals.executions, lambda: self.executions_for(ami_id, events=True), bool, timeout)
        if not found:
            raise AssertionError(f"no execution for {ami_id}")
        return found[-1]  # listed newest first

    def executions_for(self, ami_id: str, events: bool = False) -> list[str]:
        """Executions of this AMI, newest first: those started by name (CLI, queue, quarantine), or with `events`,
        those its AMI events started (EC2 announces every AMI a test publishes)."""
        sfn = self.aws.client("stepfunctions")
        found = []
        for execution in sfn.list_executions(stateMachineArn=self.stack.outputs["DeployStateMachineArn"])["executions"]:
            given = self._input_of(execution["executionArn"])
            named = given.get("ami_id") if not events else given.get("detail", {}).get("ImageId")
            if named == ami_id:
                found.append(execution["executionArn"])
        return found

    def _input_of(self, arn: str) -> dict:
        """An execution's input (it never changes: described once per execution, not once per poll)."""
        if arn not in self._inputs:
            given = self.aws.client("stepfunctions").describe_execution(executionArn=arn)["input"]
            self._inputs[arn] = json.loads(given)
        return self._inputs[arn]

    def release(self, ami_id: str, timeout: float = 90, **options: bool) -> ops.Execution:
        """Start a release from the CLI's code path and wait for its end."""
        return self.wait(ops.start_release(self.aws, self.name, ami_id, **options), timeout)

    def start(self, ami_id: str, **options: bool) -> str:
        """Start a release from the CLI's code path; its execution ARN."""
        return ops.start_release(self.aws, self.name, ami_id, **options)

    def approve(self) -> str:
        return ops.answer_approval(self.aws, self.name, True)

    def wait(self, arn: str, timeout: float = 90) -> ops.Execution:
        """The execution once it has ended (as `ops.wait_for`: once `timeout` has passed, as it is then)."""
        ended = lambda execution: execution.status != "RUNNING"  # noqa: E731
        return read_until(change_signals.executions, lambda: ops.describe(self.aws, arn), ended, timeout)

    def status(self) -> dict:
        return ops.status(self.aws, self.name)

    def weights(self) -> dict[str, int]:
        """The weights the router serves now (the first record pair, listener or rule)."""
        return ops.router(self.aws, ops.load_config(self.aws, self.name)).splits()[0][1]

    def groups(self) -> list[str]:
        found = self.aws.client("autoscaling").describe_auto_scaling_groups(
            Filters=[{"Name": "tag:bluegreen:app", "Values": [self.name]}]
        )["AutoScalingGroups"]
        return sorted(g["AutoScalingGroupName"] for g in found)

    def monitor(self) -> Monitor:
        """Sample I1 and I2 while the test runs; the fixture checks I3 and I4 at the end."""
        # The release's drain: record TTL (Route 53 only) + the seeded 30 s deregistration delay, at the twin's scale.
        ttl = 60 if self.seeded.router == "route53" else 0
        drain = max(1, round((ttl + 30) * WAIT_SCALE))
        # Every 0.1 s: well within the drain time I2 is about, without slowing the twin it watches (the twin runs in
        # this process: a sample reads the app through the API only when the twin's groups or routes have changed).
        fleet = self.fleet if self.seeded.config.get("release_mode") == "split" else 0
        watcher = Monitor(
            self.aws, self.name, drain_seconds=drain, period=0.1, fleet=fleet, fingerprint=state_fingerprint.fingerprint
        ).__enter__()
        self.monitors.append(watcher)
        return watcher

    def inject_fault(self, function: str, kind: str, times: int = 1, event_contains: str = "") -> None:
        server.inject_fault(self.endpoint, function, kind, times, event_contains)

    # --- what the release left behind ---------------------------------------------------------------------------

    def lock(self) -> dict | None:
        """The release in flight (`status`'s `in_flight`): the LOCK item alone, as a phase wait reads it 20 times a
        second (the whole status read the app's configuration, its records and two more items each time)."""
        return ops.state_table.get(self.name, "LOCK", ops.table(self.aws))

    def releases(self) -> list[dict]:
        """RELEASE# items, newest first."""
        return [r for r in ops.history(self.aws, self.name, 100) if r.get("kind", "release") == "release"]

    def claims(self) -> dict[str, str]:
        """AMI id -> status of its claim (AMI#<id> items)."""
        items = ops.state_table.history(self.name, "AMI#", 100, ops.table(self.aws))
        return {i["sk"].removeprefix("AMI#"): i.get("status", "") for i in items}

    def launch_template_versions(self) -> list[int]:
        found = self.aws.client("ec2").describe_launch_template_versions(
            LaunchTemplateId=self.seeded.config["launch_template_id"]
        )["LaunchTemplateVersions"]
        return sorted(v["VersionNumber"] for v in found)

    def wait_until(self, predicate: Callable[[], Any], timeout: float = 30, what: str = "condition") -> Any:
        """`predicate()` once it is true: asked again when the twin signals a change (a handler returned, an execution
        started or ended, an item was written), and at least every `CHANGE_READS` s (a slot server's requests, say)."""
        value = read_until(change_signals.changes, predicate, bool, timeout, quiet=CHANGE_READS)
        if not value:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        return value

    def wait_for_phase(self, phase: str, timeout: float = 30) -> dict:
        """The lock item once the release in flight has reached `phase`."""
        lock = read_until(change_signals.items, self.lock, lambda lock: lock and lock.get("phase") == phase, timeout)
        if not (lock and lock.get("phase") == phase):
            raise AssertionError(f"timed out after {timeout}s waiting for phase {phase}")
        return lock

    def fill_subnet(self, group: str, leave: int) -> str:
        """Take every free address but `leave` of the subnet `group` launches into (the first of its subnets: the one
        the twin launches into) with network interfaces; the subnet's id."""
        ec2 = self.aws.client("ec2")
        described = self.aws.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[group])
        subnet = described["AutoScalingGroups"][0]["VPCZoneIdentifier"].split(",")[0]
        free = ec2.describe_subnets(SubnetIds=[subnet])["Subnets"][0]["AvailableIpAddressCount"]
        for _ in range(free - leave):
            ec2.create_network_interface(SubnetId=subnet)
        return subnet

    def set_slot_health(self, slot: str, state: str) -> None:
        """Every target of the slot's target group reports `state` (also instances registered later)."""
        server.set_target_health(self.endpoint, [], state, target_group_arn=self.seeded.target_groups[slot])

    def clear_slot_health(self) -> None:
        server.clear_target_health(self.endpoint)

    def set_alarm(self, state: str, name: str | None = None) -> None:
        self.aws.client("cloudwatch").set_alarm_state(
            AlarmName=name or self.seeded.alarm_names[0], StateValue=state, StateReason="set by the test"
        )

    def state_durations(self, arn: str, state: str) -> list[float]:
        """How long each visit of the execution to `state` lasted, in seconds, from its history."""
        events = self.aws.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)["events"]
        durations, entered = [], None
        for event in events:
            if (event.get("stateEnteredEventDetails") or {}).get("name") == state:
                entered = event["timestamp"]
            elif (event.get("stateExitedEventDetails") or {}).get("name") == state and entered:
                durations.append((event["timestamp"] - entered).total_seconds())
        return durations

    # --- notifications ------------------------------------------------------------------------------------------

    def subscribe(self) -> None:
        """An SQS queue subscribed to the stack's NotificationTopic; `notifications()` reads this app's messages."""
        sqs = self.aws.client("sqs")
        self._queue_url = sqs.create_queue(QueueName=f"{self.name}-notifications")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.aws.client("sns").subscribe(
            TopicArn=self.stack.outputs["NotificationTopicArn"], Protocol="sqs", Endpoint=arn
        )

    def notifications(self) -> list[dict]:
        """Every notification about this app so far: {"subject": ..., **message}."""
        sqs = self.aws.client("sqs")
        while True:
            batch = sqs.receive_message(QueueUrl=self._queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                break
            for message in batch:
                envelope = json.loads(message["Body"])
                body = json.loads(envelope["Message"])
                if body.get("app") == self.name:
                    self._notes.append({"subject": envelope.get("Subject", ""), **body})
                sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])
        return list(self._notes)


def new_app(stack: local.LocalStack, overrides: dict | None = None, label: str = "app") -> App:
    """Seed a fresh app (its own name, zone, slots and fleet) and start watching it for I1 and I2.

    Overrides may hold `seed`: {"router": "alb", "rules": n, "test_route": "listener" | "header"} (the app's ALB, its
    listener and n rules forwarding to blue; a test route, served by a load-balancer stand-in).
    """
    name = f"{label}{next(_names)}-{time.monotonic_ns() % 10_000}"
    servers: dict[str, SlotServer | LoadBalancerServer] = dict(start_slot_servers(stack.aws, name))
    overrides = dict(overrides or {})
    seed = dict(overrides.pop("seed", {}))
    if seed.get("test_route"):
        servers["alb"] = LoadBalancerServer(stack.aws, name)
        seed["test_route"] = {"kind": seed["test_route"], "url": servers["alb"].url}
    config = {
        # A test's "traffic" and "health" refine these (the app's own alarms stay named unless it names others).
        "traffic": {
            "steps": [50, 100],
            "bake_seconds": 60,
            "alarm_names": [f"{name}-5xx", f"{name}-p99"],
            **overrides.pop("traffic", {}),
        },
        "health": {"timeout_seconds": 120, "poll_seconds": 5, **overrides.pop("health", {})},
        **overrides,
    }
    urls = {s: servers[s].url for s in ("blue", "green")}
    instances = seed.pop("instances", 4 if seed.get("split") else 3)
    seeded = seed_app(stack.aws, name, instances=instances, test_urls=urls, config=config, **seed)
    harness = App(stack=stack, seeded=seeded, servers=servers, fleet=instances)
    harness.monitor()
    return harness


def finish(harness: App) -> list:
    """Stop watching an app; every breach of I1-I4 seen while it ran or found at rest."""
    for watcher in harness.monitors:
        watcher.__exit__(None, None, None)
    for slot_server in harness.servers.values():
        slot_server.stop()
    breaches = harness.monitors[0].check_at_rest() if harness.monitors else []
    return [b for m in harness.monitors for b in m.breaches] + breaches


def _reset_twin(stack: local.LocalStack) -> None:
    server.clear_faults(stack.twin.endpoint_url)
    server.clear_api_faults(stack.twin.endpoint_url)
    server.clear_target_health(stack.twin.endpoint_url)
    server.set_dns_propagation(stack.twin.endpoint_url, 0)


@pytest.fixture
def app(stack: local.LocalStack, request: pytest.FixtureRequest) -> Iterator[App]:
    """A fresh app per test, monitored for I1-I4; `request.param` (indirect parametrization) overrides its config."""
    harness = new_app(stack, getattr(request, "param", {}) or {})
    try:
        yield harness
    finally:
        _reset_twin(stack)
        breaches = finish(harness)
    assert not breaches, f"invariants breached: {breaches}"


@pytest.fixture
def more_apps(stack: local.LocalStack) -> Iterator[Callable[..., App]]:
    """Seed further apps in one test (e.g. releases of two apps at once), each checked for I1-I4 at the end."""
    made: list[App] = []

    def make(overrides: dict | None = None) -> App:
        made.append(new_app(stack, overrides, label="more"))
        return made[-1]

    yield make
    breaches = [b for harness in made for b in finish(harness)]
    assert not breaches, f"invariants breached: {breaches}"
