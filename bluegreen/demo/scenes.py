"""`make demo`: the whole product on the local twin, live in the terminal, in about a minute.

Two apps side by side, one per traffic router: `shop` behind a Route 53 weighted record pair, `tickets` behind one
Application Load Balancer whose listener weights its slots' target groups (its smoke tests go through a test listener
of that load balancer). Scenes, on both at once: a new AMI released all the way from its EventBridge event; a broken
AMI caught by its smoke test and rolled back; a GuardDuty finding on an instance of the live fleet, which is
quarantined while the fleet is swapped onto fresh instances; a new AMI whose green fleet answers twice the errors of
blue's, which the app's alarms let through and the canary judge stops. Then a third app, `catalog`, a split fleet
(both slots serving, 50/50): a release replaces one half, then the other, never above 150 % of its instances. An
invariant monitor samples each app throughout (the split app's checks the split capacity rules too); the demo exits 0
only if every scene ended as expected and no invariant was breached.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from bluegreen.aws import Aws
from bluegreen.cli import ops, views
from bluegreen.demo import split_scene
from bluegreen.demo.seed import SeededApp, guardduty_event, register_ami, seed_app
from bluegreen.demo.standin import LoadBalancerServer, start_slot_servers
from bluegreen.proof.invariants import Breach, Monitor, check_quarantine
from bluegreen.twin import local, server

APPS = {"shop": "route53", "tickets": "alb"}  # app -> its traffic router
ROUTERS = {**APPS, split_scene.APP: split_scene.ROUTER}  # every app of the demo, the split one's too
# Drain at the twin's wait scale: what each release computes (TTL for Route 53 + deregistration delay 30 s) x 0.02.
DRAIN = {"route53": 2, "alb": 1}


@dataclass
class Scene:
    name: str
    app: str
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


def _outcome(execution: ops.Execution) -> str:
    return execution.status if execution.status == "SUCCEEDED" else f"{execution.status} {execution.error}"


def releases_from_events(aws: Aws, console: Console, scenes: list[Scene], amis: dict[str, str]) -> None:
    """EC2 announced each app's new AMI (an "EC2 AMI State Change" event); watch the releases side by side."""
    started = time.monotonic()
    targets = [(scene.app, execution_for_ami(aws, amis[scene.app]), f"{scene.name}: {scene.app}") for scene in scenes]
    for scene, execution in zip(scenes, views.watch_many(aws, targets, console), strict=True):
        scene.got = _outcome(execution)
        scene.seconds = time.monotonic() - started


def quarantines_from_findings(
    aws: Aws, console: Console, scenes: list[Scene], seeded: dict[str, SeededApp]
) -> list[Breach]:
    """GuardDuty reports one instance of each app's live fleet; show the isolations, then watch the swaps side by
    side. Returns I5 breaches."""
    started = time.monotonic()
    victims, cases = {}, {}
    for scene in scenes:
        live = ops.status(aws, scene.app)["live"] or {"asg_name": seeded[scene.app].blue_asg}
        group = aws.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[live["asg_name"]])
        victims[scene.app] = group["AutoScalingGroups"][0]["Instances"][0]["InstanceId"]
        console.print(
            f"GuardDuty: Backdoor:EC2/C&CActivity.B!DNS, severity 8, on {victims[scene.app]} of {live['asg_name']}"
        )
        aws.client("events").put_events(
            Entries=[guardduty_event(victims[scene.app], aws.client("ec2").meta.region_name)]
        )
    for scene in scenes:
        cases[scene.app] = _execution_mentioning(aws, "QuarantineStateMachineArn", victims[scene.app])
    # Each swap is a release of the deploy pipeline: watch them once they hold their app's lock.
    swaps = []
    for scene in scenes:
        while (
            not (lock := ops.status(aws, scene.app)["in_flight"])
            and ops.describe(aws, cases[scene.app]).status == "RUNNING"
        ):
            time.sleep(0.1)
        if lock:
            _print_isolation(aws, console, scene.app, victims[scene.app])
            swaps.append((scene.app, lock["execution_arn"], f"{scene.name}: {scene.app} swap"))
    if swaps:
        views.watch_many(aws, swaps, console)
    breaches = []
    for scene in scenes:
        execution = ops.wait_for(aws, cases[scene.app], timeout=60, poll=0.2)
        scene.got = _outcome(execution)
        scene.seconds = time.monotonic() - started
        case = (execution.output or {}).get("case", {})
        console.print(ops.case_summary(case))
        victim = victims[scene.app]
        found = check_quarantine(aws, victim, seeded[scene.app].isolation_sg, case.get("case_id"))
        state = aws.client("ec2").describe_instances(InstanceIds=[victim])["Reservations"][0]["Instances"][0]["State"]
        console.print(f"{victim} is {state['Name']}, kept for forensics: I5 {'held' if not found else 'BREACHED'}")
        breaches += found
    return breaches


def regressions_only_the_judge_sees(aws: Aws, console: Console, scenes: list[Scene], endpoint: str) -> None:
    """Each app turns its canary judge on; the new AMI's fleet answers 2 % of its requests with a 5XX where the live
    fleet answers 1 %: too little at 10 % of the traffic for the app's alarms (they stay OK), not for the judge."""
    amis = {}
    for scene in scenes:
        config = ops.load_config(aws, scene.app).model_dump(mode="json")
        config["traffic"] |= {"steps": [10, 100], "bake_seconds": 300, "analysis": {}}
        ops.put_config(aws, scene.app, json.dumps(config))
        live = ops.status(aws, scene.app)["live"]["slot"]
        for slot, group in ((s, config["slots"][s]["target_group_arns"][0]) for s in ("blue", "green")):
            server.set_traffic(endpoint, group, requests_per_minute=4_000, error_rate=0.01 if slot == live else 0.02)
        console.print(
            f"{scene.app}: canary judge on; the new AMI's fleet will answer 2 % 5XX where {live}'s answers 1 %"
        )
        amis[scene.app] = register_ami(aws, f"{scene.app}-v4", app=scene.app)
    releases_from_events(aws, console, scenes, amis)
    for scene in scenes:
        release_id = ops.history(aws, scene.app, 1)[0].get("release_id", "")
        for verdict in ops.canary_verdicts(aws, scene.app, release_id):
            console.print(views.verdict_line(verdict))
    server.clear_traffic(endpoint)


def split_release(aws: Aws, console: Console, scene: Scene) -> Monitor:
    """Scene 5: the split app's release, watched half by half; returns its monitor (split capacity rules)."""
    started = time.monotonic()
    drain = DRAIN[split_scene.ROUTER]
    scene.got, monitor = split_scene.release_both_halves(aws, console, scene.name, drain, execution_for_ami)
    scene.seconds = time.monotonic() - started
    return monitor


def _print_isolation(aws: Aws, console: Console, app: str, instance_id: str) -> None:
    case_id = (ops.state_table.get(app, "CASE", ops.table(aws)) or {}).get("case_id")
    item = ops.state_table.get(app, f"CASE#{case_id}", ops.table(aws)) or {}
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
    console.rule("[bold]bluegreen demo[/bold] on the local twin: one app per traffic router, side by side")
    stack = local.start(port=port)
    aws = stack.aws
    console.print(f"twin at {stack.twin.endpoint_url}; stack deployed from template.yaml")
    servers: dict[str, dict] = {app: dict(start_slot_servers(aws, app)) for app in ROUTERS}
    try:
        seeded = {}
        for app, router in APPS.items():
            urls = {slot: servers[app][slot].url for slot in ("blue", "green")}
            if router == "alb":
                servers[app]["alb"] = LoadBalancerServer(aws, app)
                test_route = {"kind": "listener", "url": servers[app]["alb"].url}
                seeded[app] = seed_app(aws, app, instances=3, test_urls=urls, router="alb", test_route=test_route)
                console.print(
                    f"seeded {app!r} (router alb): VPC, one load balancer whose listener forwards to blue's target group"
                    f" (not weighted yet), a test listener for smoke tests, blue fleet {seeded[app].blue_asg} of 3"
                )
            else:
                seeded[app] = seed_app(aws, app, instances=3, test_urls=urls)
                console.print(
                    f"seeded {app!r} (router route53): VPC, two slots with load balancers and target groups, weighted"
                    f" records in {seeded[app].config['dns']['record_name']}, blue fleet {seeded[app].blue_asg} of 3"
                )
        split_urls = {slot: servers[split_scene.APP][slot].url for slot in ("blue", "green")}
        split_scene.seed(aws, split_urls)
        console.print(
            f"seeded {split_scene.APP!r} (router {split_scene.ROUTER}, split): a blue and a green group of"
            f" {split_scene.FLEET // 2} each, weights 50/50"
        )
        scenes = [
            [Scene("1. a new AMI, released all the way", app, "SUCCEEDED") for app in APPS],
            [Scene("2. a broken AMI, caught by its smoke test", app, "FAILED SmokeTestFailedError") for app in APPS],
            [Scene("3. a GuardDuty finding: quarantine and swap", app, "SUCCEEDED") for app in APPS],
            [
                Scene(
                    "4. 2x the errors at 10 %: alarms OK, the judge stops it", app, "FAILED CanaryAnalysisFailedError"
                )
                for app in APPS
            ],
            [Scene("5. a split fleet: each half replaced in turn", split_scene.APP, split_scene.expected())],
        ]
        monitors = [Monitor(aws, app, drain_seconds=DRAIN[router]).__enter__() for app, router in APPS.items()]
        try:
            releases_from_events(aws, console, scenes[0], {a: register_ami(aws, f"{a}-v2", app=a) for a in APPS})
            broken = {a: register_ami(aws, f"{a}-v3-broken", app=a, broken=True) for a in APPS}
            releases_from_events(aws, console, scenes[1], broken)
            i5 = quarantines_from_findings(aws, console, scenes[2], seeded)
            regressions_only_the_judge_sees(aws, console, scenes[3], stack.twin.endpoint_url)
        finally:
            for monitor in monitors:
                monitor.__exit__(None, None, None)
        monitors[0].breaches += i5
        monitors.append(split_release(aws, console, scenes[4][0]))
        for monitor in monitors:
            monitor.check_at_rest()
        return summarise(console, aws, [s for row in scenes for s in row], monitors, time.monotonic() - began)
    finally:
        for by_slot in servers.values():
            for server in by_slot.values():
                server.stop()
        stack.stop()


def summarise(console: Console, aws: Aws, scenes: list[Scene], monitors: list[Monitor], seconds: float) -> int:
    table = Table(title="what happened")
    for column in ("scene", "app (router)", "expected", "got", "seconds"):
        table.add_column(column)
    for scene in scenes:
        style = "green" if scene.ok else "red"
        got = f"[{style}]{scene.got}[/{style}]"
        table.add_row(scene.name, f"{scene.app} ({ROUTERS[scene.app]})", scene.expected, got, f"{scene.seconds:.1f}")
    console.print(table)
    for app in ROUTERS:
        status = ops.status(aws, app)
        live = status["live"] or {}
        groups = ", ".join((live.get("groups") or {}).values()) or live.get("asg_name")
        console.print(f"{app}: live {groups} on {live.get('ami_id')}; weights {status['weights']}")
    breaches = [b for m in monitors for b in m.breaches]
    for breach in breaches:
        console.print(f"[red]{breach.invariant} breached[/red]: {breach.detail}")
    if not breaches:
        console.print(f"invariants I1-I5 held over {sum(m.samples for m in monitors)} samples")
    ok = all(s.ok for s in scenes) and not breaches
    console.print(f"[bold {'green' if ok else 'red'}]demo {'passed' if ok else 'FAILED'}[/] in {seconds:.0f}s")
    return 0 if ok else 1
