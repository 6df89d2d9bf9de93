"""`make demo`: the whole product on the local twin, live in the terminal, in about a minute.

Scenes: a new AMI released all the way from its EventBridge event; a broken AMI caught by its smoke test and rolled
back. An invariant monitor samples the stack throughout; the demo exits 0 only if every scene ended as expected and
no invariant was breached.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from bluegreen import ops, views
from bluegreen.aws import Aws
from bluegreen.invariants import Monitor
from bluegreen.seed import ami_event, register_ami, seed_app
from bluegreen.standin import start_slot_servers
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
    started = time.monotonic()
    region = aws.client("ec2").meta.region_name
    aws.client("events").put_events(Entries=[ami_event(ami_id, region)])
    arn = execution_for_ami(aws, ami_id)
    execution = views.watch(aws, APP, arn, console, title=scene.name)
    scene.got = execution.status if execution.status == "SUCCEEDED" else f"{execution.status} {execution.error}"
    scene.seconds = time.monotonic() - started


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
        ]
        # Scaled drain: what the release computes (TTL 60 s + deregistration delay 30 s) at the twin's wait scale.
        with Monitor(aws, APP, drain_seconds=2) as monitor:
            good = register_ami(aws, f"{APP}-v2", app=APP)
            release_from_event(aws, console, scenes[0], good)
            broken = register_ami(aws, f"{APP}-v3-broken", app=APP, broken=True)
            release_from_event(aws, console, scenes[1], broken)
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
        console.print(f"invariants I1-I4 held over {monitor.samples} samples")
    ok = all(s.ok for s in scenes) and not monitor.breaches
    console.print(f"[bold {'green' if ok else 'red'}]demo {'passed' if ok else 'FAILED'}[/] in {seconds:.0f}s")
    return 0 if ok else 1
