"""`make demo`: the whole product on the local twin, live in the terminal, in about a minute.

Scenes: a new AMI released all the way from its EventBridge event; a broken AMI caught by its smoke test and rolled
back; a GuardDuty finding on an instance of the live fleet, which is quarantined while the fleet is swapped onto fresh
instances. An invariant monitor samples the stack throughout; the demo exits 0 only if every scene ended as expected
and no invariant was breached.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from bluegreen.aws import Aws
from bluegreen.cli import ops, views
from bluegreen.demo.seed import SeededApp, guardduty_event, register_ami, seed_app
from bluegreen.demo.standin import start_slot_servers
from bluegreen.proof.invariants import Breach, Monitor, check_quarantine
from bluegreen.twin import local

APP = "shop"


@dataclass
class Scene:
    name: str
    expected: str
    got: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.got == self.expected


def execution_for_ami(aws: Aws, ami_id: str, timeout: float = 20) -> str:
    """The execution an AMI event started (EventBridge names it, not us)."""
    sfn = aws.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for execution in sfn.list_executions(stateMachineArn=aws.outputs["DeployStateMachineArn"])["executions"]:
            described = sfn.describe_execution(executionArn=execution["executionArn"])
            if json.loads(described["input"]).get("detail", {}).get("ImageId") == ami_id:
                return execution["executionArn"]
        time.sleep(0.2)
    raise TimeoutError(f"no execution started for {ami_id} within {timeout}s")


def release_from_event(aws: Aws, console: Console, scene: Scene, ami_id: str) -> None:
    """EC2 announced the new AMI (an "EC2 AMI State Change" event); watch the release that event started."""
    started = time.monotonic()
    arn = execution_for_ami(aws, ami_id)
    execution = views.watch(aws, APP, arn, console, title=scene.name)
    scene.got = execution.status if execution.status == "SUCCEEDED" else f"{execution.status} {execution.error}"
    scene.seconds = time.monotonic() - started


def quarantine_from_finding(aws: Aws, console: Console, scene: Scene, seeded: SeededApp) -> list[Breach]:
    """GuardDuty reports one instance of the live fleet; show its isolation, then watch the swap. Returns I5 breaches."""
    started = time.monotonic()
    live = ops.status(aws, APP)["live"] or {"asg_name": seeded.blue_asg}
    group = aws.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[live["asg_name"]])
    victim = group["AutoScalingGroups"][0]["Instances"][0]["InstanceId"]
    console.print(f"GuardDuty: Backdoor:EC2/C&CActivity.B!DNS, severity 8, on {victim} of {live['asg_name']}")
    aws.client("events").put_events(Entries=[guardduty_event(victim, aws.client("ec2").meta.region_name)])
    arn = _execution_mentioning(aws, "QuarantineStateMachineArn", victim)
    # The swap is a release of the deploy pipeline: watch it once it holds the app's lock.
    while not (lock := ops.status(aws, APP)["in_flight"]) and ops.describe(aws, arn).status == "RUNNING":
        time.sleep(0.1)
    if lock:
        _print_isolation(aws, console, victim)
        views.watch(aws, APP, lock["execution_arn"], console, title=f"{scene.name}: swap")
    execution = ops.wait_for(aws, arn, timeout=60, poll=0.2)
    scene.got = execution.status if execution.status == "SUCCEEDED" else f"{execution.status} {execution.error}"
    scene.seconds = time.monotonic() - started
    case = (execution.output or {}).get("case", {})
    console.print(ops.case_summary(case))
    breaches = check_quarantine(aws, victim, seeded.isolation_sg, case.get("case_id"))
    state = aws.client("ec2").describe_instances(InstanceIds=[victim])["Reservations"][0]["Instances"][0]["State"]
    console.print(f"{victim} is {state['Name']}, kept for forensics: I5 {'held' if not breaches else 'BREACHED'}")
    return breaches


def _print_isolation(aws: Aws, console: Console, instance_id: str) -> None:
    case_id = (ops.state_table.get(APP, "CASE", ops.table(aws)) or {}).get("case_id")
    item = ops.state_table.get(APP, f"CASE#{case_id}", ops.table(aws)) or {}
    record = item.get("instances", {}).get(instance_id, {})
    console.print(f"case {case_id}: {instance_id} contained {record.get('seconds_from_event', '?')}s after the event")
    for step, done in record.get("steps", {}).items():
        result = done.get("result", "") if isinstance(done, dict) else done
        console.print(f"  {step:>22}: {result}", highlight=False)


def _execution_mentioning(aws: Aws, machine_output: str, text: str, timeout: float = 20) -> str:
    sfn = aws.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for execution in sfn.list_executions(stateMachineArn=aws.outputs[machine_output])["executions"]:
            if text in sfn.describe_execution(executionArn=execution["executionArn"])["input"]:
                return execution["executionArn"]
        time.sleep(0.1)
    raise TimeoutError(f"no execution started for {text} within {timeout}s")


def run(port: int = 5000, console: Console | None = None) -> int:
    console = console or Console()
    began = time.monotonic()
    console.rule("[bold]bluegreen demo[/bold] on the local twin")
    stack = local.start(port=port)
    aws = stack.aws
    console.print(f"twin at {stack.twin.endpoint_url}; stack deployed from template.yaml")
    servers = start_slot_servers(aws, APP)
    try:
        seeded = seed_app(aws, APP, instances=3, test_urls={s: servers[s].url for s in servers})
        console.print(
            f"seeded {APP!r}: VPC, two slots with load balancers and target groups, weighted records in "
            f"{seeded.config['dns']['record_name']}, blue fleet {seeded.blue_asg} of 3, config in SSM"
        )
        scenes = [
            Scene("1. a new AMI, released all the way", "SUCCEEDED"),
            Scene("2. a broken AMI, caught by its smoke test and rolled back", "FAILED SmokeTestFailedError"),
            Scene("3. a GuardDuty finding: the instance quarantined, the fleet swapped", "SUCCEEDED"),
        ]
        # Scaled drain: what the release computes (TTL 60 s + deregistration delay 30 s) at the twin's wait scale.
        with Monitor(aws, APP, drain_seconds=2) as monitor:
            good = register_ami(aws, f"{APP}-v2", app=APP)
            release_from_event(aws, console, scenes[0], good)
            broken = register_ami(aws, f"{APP}-v3-broken", app=APP, broken=True)
            release_from_event(aws, console, scenes[1], broken)
            monitor.breaches += quarantine_from_finding(aws, console, scenes[2], seeded)
        monitor.check_at_rest()
        return summarise(console, aws, scenes, monitor, time.monotonic() - began)
    finally:
        for server in servers.values():
            server.stop()
        stack.stop()


def summarise(console: Console, aws: Aws, scenes: list[Scene], monitor: Monitor, seconds: float) -> int:
    table = Table(title="what happened")
    for column in ("scene", "expected", "got", "seconds"):
        table.add_column(column)
    for scene in scenes:
        style = "green" if scene.ok else "red"
        table.add_row(scene.name, scene.expected, f"[{style}]{scene.got}[/{style}]", f"{scene.seconds:.1f}")
    console.print(table)
    status = ops.status(aws, APP)
    live = status["live"] or {}
    console.print(f"live: {live.get('asg_name')} on {live.get('ami_id')}; weights {status['weights']}")
    if monitor.breaches:
        for breach in monitor.breaches:
            console.print(f"[red]{breach.invariant} breached[/red]: {breach.detail}")
    else:
        console.print(f"invariants I1-I5 held over {monitor.samples} samples")
    ok = all(s.ok for s in scenes) and not monitor.breaches
    console.print(f"[bold {'green' if ok else 'red'}]demo {'passed' if ok else 'FAILED'}[/] in {seconds:.0f}s")
    return 0 if ok else 1
