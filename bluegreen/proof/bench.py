"""`make bench`: what a release costs and how fast it goes, measured on the local twin; writes docs/benchmarks.md.

Counts per release: state transitions and Lambda invocations (from the execution history), and AWS API calls made by
the handlers (a botocore hook on the session the handlers use). Also: growth with fleet size, a rollback, both traffic
routers (Route 53 and ALB) side by side with their time to roll back, split-fleet releases beside blue/green ones
(`bench_split`: calls, moves and peak instances), many apps at once, (bluegreen.proof.bench_costs)
the calls of a 4-step release per task and service, handler import time against a bare `import boto3`, and the
executions a self-rolled-back release starts, the canary judge (`canary_bench`), and what events that no app could
match cost (`bench_triggers`).
"""

from __future__ import annotations

import itertools
import json
import statistics
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from orchestrator.adapters import aws as adapter_aws
from orchestrator.adapters import state_table

from bluegreen.aws import Aws
from bluegreen.cli import ops
from bluegreen.demo.seed import guardduty_event, register_ami, seed_app
from bluegreen.demo.standin import start_slot_servers
from bluegreen.proof import bench_costs, bench_split, bench_triggers, canary_bench
from bluegreen.proof.bench_costs import history_counts
from bluegreen.proof.invariants import traffic_splits
from bluegreen.twin import local, server

REPO = Path(__file__).resolve().parents[2]
WAIT_SCALE = 0.01
API_CALLS: Counter[str] = Counter()
_apps = itertools.count(1)


def _count(model: Any, **_: Any) -> None:
    API_CALLS[f"{model.service_model.service_name}:{model.name}"] += 1


@dataclass
class Run:
    label: str
    instances: int
    status: str
    transitions: int
    lambda_invocations: int
    api_calls: int
    seconds: float
    top: str
    router: str = "route53"


def release(aws: Aws, label: str, instances: int, broken: bool = False, router: str = "route53") -> Run:
    app = f"bench{next(_apps)}-{instances}{'x' if broken else ''}"
    servers = start_slot_servers(aws, app)
    try:
        seed_app(aws, app, instances=instances, test_urls={s: servers[s].url for s in servers}, router=router)
        ami = register_ami(aws, f"{app}-v2", app=None, broken=broken)  # released by name: no event release beside it
        # EC2 announces the AMI; its event waits for a bluegreen:app tag (polling DescribeImages) until it gives up.
        # Let it end first, so the counts below are the release's own.
        bench_costs.settled(aws, ami)
        before = API_CALLS.copy()
        started = time.monotonic()
        execution = ops.wait_for(aws, ops.start_release(aws, app, ami), timeout=300, poll=0.1)
        seconds = time.monotonic() - started
        calls = API_CALLS - before
        calls.pop("lambda:Invoke", None)  # Step Functions calling the tasks: counted as invocations
        transitions, invocations = history_counts(aws, execution.arn)
        top = ", ".join(f"{k} {v}" for k, v in calls.most_common(4))
        return Run(
            label, instances, execution.status, transitions, invocations, sum(calls.values()), seconds, top, router
        )
    finally:
        for server in servers.values():
            server.stop()


@dataclass
class Quarantine:
    contained_seconds: float
    isolated_seconds: float
    closed_seconds: float
    transitions: int
    swap_transitions: int
    status: str


def quarantine(aws: Aws) -> Quarantine:
    """A GuardDuty finding on one instance: time from the event to the instance isolated, and to the case closed."""
    app = f"bench{next(_apps)}-q"
    servers = start_slot_servers(aws, app)
    try:
        seeded = seed_app(aws, app, instances=3, test_urls={s: servers[s].url for s in servers})
        group = aws.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[seeded.blue_asg])
        instance = group["AutoScalingGroups"][0]["Instances"][0]["InstanceId"]
        sent = time.time()
        aws.client("events").put_events(Entries=[guardduty_event(instance, "us-east-1")])
        case = _wait_for_case(aws, app)
        machine = aws.outputs["QuarantineStateMachineArn"]
        arn = aws.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"][0]["executionArn"]
        done = ops.wait_for(aws, arn, timeout=120, poll=0.1)
        case = state_table.get(app, f"CASE#{case['case_id']}", ops.table(aws)) or case
        swap = (case.get("swap") or {}).get("execution_arn")
        return Quarantine(
            contained_seconds=_epoch(case.get("contained_at") or case["isolated_at"]) - sent,
            isolated_seconds=_epoch(case["isolated_at"]) - sent,
            closed_seconds=_epoch(case.get("closed_at") or case["isolated_at"]) - sent,
            transitions=history_counts(aws, arn)[0],
            swap_transitions=history_counts(aws, swap)[0] if swap else 0,
            status=done.status,
        )
    finally:
        for server in servers.values():
            server.stop()


@dataclass
class Containment:
    target_groups: int
    suspects: int
    seconds: list[float]  # from the request to every suspect contained (network, then credentials), per run
    isolation_calls: int  # the isolation task's AWS calls in the last run

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def containment(stack: local.LocalStack, runs: int = 3) -> list[Containment]:
    """Time from a quarantine request to its instances contained, for 1 and 10 suspects, with the account holding the
    target groups the account already holds and then 200: containment must not grow with the target groups of the
    account.

    One app of 10 instances; each run quarantines some of its live fleet and waits for the case to close (the swap puts
    a fresh fleet live) before the next, so every run starts from the same state: the fleet role's quarantine denies
    are taken off between runs (instances kept quarantined would fill its 10,240 characters of inline policy), and a
    first run warms the handlers up and is not counted. Three runs per cell: quarantined instances are never ended,
    and each swap launches a new fleet, so seven runs ran the seeded /24 subnets out of addresses.
    """
    aws = stack.aws
    app = f"bench{next(_apps)}-contain"
    servers = start_slot_servers(aws, app)
    found: list[Containment] = []
    try:
        seeded = seed_app(aws, app, instances=10, test_urls={s: servers[s].url for s in servers})
        _contain(stack, app, 1)  # warm-up
        for target_groups in (2, 200):
            _fill_target_groups(aws, seeded, target_groups)
            for suspects in (1, 10):
                seconds, calls = [], 0
                for _ in range(runs):
                    took, calls = _contain(stack, app, suspects)
                    seconds.append(took)
                found.append(Containment(_count_target_groups(aws), suspects, seconds, calls))
    finally:
        for server in servers.values():
            server.stop()
    return found


def _count_target_groups(aws: Aws) -> int:
    return sum(len(p["TargetGroups"]) for p in aws.client("elbv2").get_paginator("describe_target_groups").paginate())


def _fill_target_groups(aws: Aws, seeded: Any, total: int) -> None:
    """Other target groups in the app's VPC (where a scan for the instance's registrations would have to look)."""
    elbv2 = aws.client("elbv2")
    for n in itertools.count(1):
        if _count_target_groups(aws) >= total:
            return
        elbv2.create_target_group(
            Name=f"other-{n}", Protocol="HTTP", Port=80, VpcId=seeded.vpc_id, TargetType="instance"
        )


def _contain(stack: local.LocalStack, app: str, suspects: int) -> tuple[float, int]:
    """One case of `suspects` instances of the live fleet: (seconds from the request to contained, isolation calls)."""
    aws = stack.aws
    live = ops.status(aws, app)["live"] or {}
    group = live.get("asg_name") or f"{app}-blue-initial"
    described = aws.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[group])
    instances = sorted(i["InstanceId"] for i in described["AutoScalingGroups"][0]["Instances"])[:suspects]
    server.clear_api_calls(stack.twin.endpoint_url)
    sent = time.time()
    arn = aws.client("stepfunctions").start_execution(
        stateMachineArn=aws.outputs["QuarantineStateMachineArn"],
        input=json.dumps({"app": app, "instance_ids": instances, "reason": "bench"}),
    )["executionArn"]
    case = _wait_for_case(aws, app, contained=True)
    took = _epoch(case["contained_at"]) - sent
    done = ops.wait_for(aws, arn, timeout=300, poll=0.1)
    if done.status != "SUCCEEDED":
        raise RuntimeError(f"bench case of {app} ended {done.status}: {done.error} {done.cause}")
    calls = len(server.api_call_log(stack.twin.endpoint_url, "IsolateInstances"))
    # The investigation is over: as an operator would, release each instance (its network ACL rules, which a VPC has
    # only 20 of per direction by default, and its role's deny go with it), so the next run starts from the same state.
    for instance in instances:
        ops.release_instance(aws, instance, "bench run over")
    return took, calls


def _wait_for_case(aws: Aws, app: str, timeout: float = 120, contained: bool = False) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cases = state_table.history(app, "CASE#", 1, ops.table(aws))
        if (
            cases
            and cases[0].get("contained_at" if contained else "isolated_at")
            and cases[0].get("status") != "swapped"
        ):
            return cases[0]
        time.sleep(0.02)
    raise TimeoutError(f"no isolated case for {app}")


def _epoch(value: str | float) -> float:
    return value if isinstance(value, int | float) else datetime.fromisoformat(value).timestamp()


@dataclass
class Rollback:
    router: str
    how: str
    weights_back: float  # from the trigger until every record pair, listener and rule reads the old slot at 100 %
    done: float  # from the trigger until the execution ended (green drained and deleted)
    status: str
    error: str


# When clients follow a change once the weights read back, in AWS: Route 53 propagates a change to its name servers
# "generally within 60 seconds" and resolvers keep the previous answer for the record's TTL (60 s for an alias); an
# ALB applies a listener or rule change to the next request.
CLIENTS_FOLLOW = {"route53": "up to ~60 s propagation + 60 s TTL", "alb": "the next request"}


def rollback_timing(aws: Aws, router: str, how: str) -> Rollback:
    """A release rolled back by an operator in its keep window, or by an alarm during its first bake."""
    app = f"bench{next(_apps)}-{router}-{how}"
    servers = start_slot_servers(aws, app)
    config = {"keep_previous_seconds": 3_000} if how == "operator" else {}
    try:
        seed_app(aws, app, instances=2, test_urls={s: servers[s].url for s in servers}, router=router, config=config)
        arn = ops.start_release(aws, app, register_ami(aws, f"{app}-v2", app=None))
        loaded = ops.load_config(aws, app)
        if how == "operator":
            _wait(lambda: (state_table.get(app, "LOCK", ops.table(aws)) or {}).get("phase") == "KeepWindow")
            started = time.monotonic()
            ops.rollback(aws, app)
        else:
            _wait(lambda: any(w.get("green") for w in traffic_splits(aws, loaded)))
            started = time.monotonic()
            alarm = loaded.traffic.alarm_names[0]
            aws.client("cloudwatch").set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="bench")
        _wait(lambda: all(w == {"blue": 100, "green": 0} for w in traffic_splits(aws, loaded)), poll=0.01)
        back = time.monotonic() - started
        execution = ops.wait_for(aws, arn, timeout=300, poll=0.05)
        return Rollback(router, how, back, time.monotonic() - started, execution.status, execution.error or "")
    finally:
        for server in servers.values():
            server.stop()


def _wait(predicate: Any, timeout: float = 120, poll: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the bench waited too long")
        time.sleep(poll)


def many_apps(aws: Aws, count: int) -> tuple[float, list[str]]:
    started = time.monotonic()
    with ThreadPoolExecutor(count) as pool:
        runs = list(pool.map(lambda n: release(aws, f"app {n}", 2), range(count)))
    return time.monotonic() - started, [r.status for r in runs]


def main() -> int:
    # The handlers' calls: every client and resource of theirs comes from this one session (the CLI's have their own).
    adapter_aws.session().events.register("before-call", _count)
    stack = local.start(port=0, wait_scale=WAIT_SCALE, retry_scale=0.02)
    aws = stack.aws
    try:
        runs = [release(aws, "release", n) for n in (1, 3, 9, 27)]
        runs.append(release(aws, "rollback (smoke test fails)", 3, broken=True))
        routers = [
            release(aws, "release", 3, router="route53"),
            release(aws, "release", 3, router="alb"),
            release(aws, "rollback (smoke test fails)", 3, broken=True, router="route53"),
            release(aws, "rollback (smoke test fails)", 3, broken=True, router="alb"),
        ]
        rollbacks = [rollback_timing(aws, r, how) for how in ("operator", "alarm") for r in ("route53", "alb")]
        modes = bench_split.measure(stack)
        parallel_seconds, parallel = many_apps(aws, 5)
        isolations = [quarantine(aws) for _ in range(3)]
        costs, reconciliations = bench_costs.measure(stack)
    finally:
        stack.stop()
    # A twin of its own stack: a new account, holding only the app's own two target groups, then 200.
    stack = local.start(port=0, wait_scale=WAIT_SCALE, retry_scale=0.02)
    try:
        contained = containment(stack)
    finally:
        stack.stop()
    # Events that no app could match (issue 16): a twin of its own, whose account holds one app.
    stack = local.start(port=0, wait_scale=WAIT_SCALE, retry_scale=0.02)
    try:
        unrelated = bench_triggers.measure(stack)
    finally:
        stack.stop()
    canary = canary_bench.measure()  # in-process moto with the twin's target group metrics: no stack needed
    timing = bench_costs.imports()
    costs_section = bench_costs.report(costs, timing, reconciliations, bench_costs.baseline_imports())
    write_report(runs, parallel_seconds, parallel, costs_section, isolations, routers, rollbacks, contained, modes)
    bench_costs.replace_section(bench_triggers.report(unrelated))
    canary_bench.write_section(canary)
    print((REPO / "docs" / "benchmarks.md").read_text())
    ok = all(r.status == "SUCCEEDED" for r in runs[:4]) and runs[4].status == "FAILED"
    ok = ok and [r.status for r in routers] == ["SUCCEEDED", "SUCCEEDED", "FAILED", "FAILED"]
    ok = ok and all(r.status == "FAILED" for r in rollbacks)
    ok = ok and all(q.status == "SUCCEEDED" for q in isolations)
    ok = ok and containment_ratio(contained) <= 1.2 and canary_bench.passes(canary)
    ok = ok and all(c.status == "SUCCEEDED" for c in costs) and not bench_costs.unexplained(costs)
    ok = ok and bench_triggers.passes(unrelated) and bench_split.passes(modes)
    return 0 if ok and all(s == "SUCCEEDED" for s in parallel) else 1


def write_report(
    runs: list[Run],
    parallel_seconds: float,
    parallel: list[str],
    costs_section: list[str],
    isolations: list[Quarantine],
    routers: list[Run],
    rollbacks: list[Rollback],
    contained: list[Containment],
    modes: list[bench_split.ModeRun],
) -> None:
    lines = [
        "# Benchmarks",
        "",
        "Produced by `make bench` (`python -m bluegreen.proof.bench`) on the local twin, waits at 1 % of AWS's, on the",
        "2-core machine the project runs on. Counts are exact for these runs; seconds vary run to run.",
        "",
        "## Cost per release, by fleet size",
        "",
        "| run | instances | status | state transitions | Lambda invocations | AWS API calls | seconds (twin) | most frequent calls |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    lines += [
        f"| {r.label} | {r.instances} | {r.status} | {r.transitions} | {r.lambda_invocations} | {r.api_calls} "
        f"| {r.seconds:.1f} | {r.top} |"
        for r in runs
    ]
    lines += [
        "",
        "AWS API calls are the handlers' own (Step Functions invoking the tasks is counted as Lambda invocations), counted",
        "once the AMI's own event (it waits for a `bluegreen:app` tag, then is ignored) has ended.",
        "Calls do not grow with fleet size: each health poll is one DescribeAutoScalingGroups (instances come inline)",
        "and one DescribeTargetHealth per target group (all targets in one answer); nothing is done per instance.",
        "Transitions grow only with the number of polls (slow instances) and traffic steps: 3 steps here.",
        "",
        "## The two traffic routers",
        "",
        "The same app (3 instances, steps 10/50/100, 60 s bake, 30 s deregistration delay) routed by a Route 53 weighted",
        "record pair, and by the forward action of one ALB listener (its first release converts the listener from one",
        "target group to a weighted forward, in one call).",
        "",
        "| router | run | status | state transitions | Lambda invocations | AWS API calls | seconds (twin) | most frequent calls |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | --- |",
        *[
            f"| {r.router} | {r.label} | {r.status} | {r.transitions} | {r.lambda_invocations} | {r.api_calls} "
            f"| {r.seconds:.1f} | {r.top} |"
            for r in routers
        ],
        "",
        "Time to roll back: from the trigger (an operator's `bluegreen rollback` in the keep window, or an alarm during",
        "the first bake) until every record pair, listener and rule reads the old slot at 100 %, and until the execution",
        "ended (green drained, then deleted: the drain is TTL + deregistration delay for Route 53, the delay alone for an",
        "ALB). Seconds on the twin, waits at 1 %; the last column is what AWS adds before clients follow.",
        "",
        "| router | rollback by | weights back (twin) | execution ended (twin) | status | clients follow (AWS) |",
        "| --- | --- | ---: | ---: | --- | --- |",
        *[
            f"| {r.router} | {r.how} | {r.weights_back:.2f} s | {r.done:.1f} s | {r.status} {r.error} "
            f"| {CLIENTS_FOLLOW[r.router]} |"
            for r in rollbacks
        ],
        "",
        *bench_split.report(modes),
        "## Many apps at once",
        "",
        f"{len(parallel)} apps of 2 instances released at the same time: {parallel.count('SUCCEEDED')} succeeded, "
        f"{parallel_seconds:.1f} s wall time on the twin.",
        "",
        "## Quarantine: from a GuardDuty finding to the instance contained",
        "",
        "| run | event to contained | event to isolated (every step) | event to case closed (swap done) "
        "| quarantine transitions | swap transitions | status |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        *[
            f"| {n} | {q.contained_seconds:.2f} s | {q.isolated_seconds:.2f} s | {q.closed_seconds:.1f} s "
            f"| {q.transitions} | {q.swap_transitions} | {q.status} |"
            for n, q in enumerate(isolations, 1)
        ],
        "",
        "Contained: every interface has had the untracking group and then the isolation group, and the credentials are",
        "revoked. Isolated: protection, detach, deregistration and snapshots done too. Isolation has no waits in it, so",
        "the twin does not shorten it (in AWS each call also has network latency); the case closes when the emergency",
        "release (at the twin's wait scale) has swapped the fleet.",
        "",
        "## Quarantine: containment against target groups in the account and suspects per case",
        "",
        "| target groups in the account | suspects | request to contained (median of runs) | runs (s) "
        "| AWS calls of the isolation task |",
        "| ---: | ---: | ---: | --- | ---: |",
        *[
            f"| {c.target_groups} | {c.suspects} | {c.median:.2f} s | {' '.join(f'{x:.2f}' for x in c.seconds)} "
            f"| {c.isolation_calls} |"
            for c in contained
        ],
        "",
        f"With {contained[-1].target_groups} target groups, containment takes {containment_ratio(contained):.2f} times"
        f" as long as with {contained[0].target_groups} (the",
        "app's own two, in a twin of its own: a new account). At most 1.2 is the bar: a case reads its group's own",
        "target groups and the app's slots', one",
        "DescribeTargetHealth each, and never scans the account. Its AWS calls are the same for either count of",
        "target groups and grow with the suspects (two security group changes per interface, the credentials, the",
        "rest); the network and credential phases run for the suspects at once. One app of 10 instances; each run",
        "waits for the previous case to close.",
        "",
        f"Bar met: {'yes' if containment_ratio(contained) <= 1.2 else 'no'}. The calls do not grow with the target groups;"
        " what grows is the twin's time per call (moto answers for more target groups), and three runs of about",
        "0.2 s per cell leave the ratio noisy.",
        "",
        *costs_section,
    ]
    (REPO / "docs").mkdir(exist_ok=True)
    (REPO / "docs" / "benchmarks.md").write_text("\n".join(lines))


def containment_ratio(contained: list[Containment]) -> float:
    """The worst ratio, for a number of suspects, of containment time with the most target groups to the fewest."""
    ratios = []
    for suspects in sorted({c.suspects for c in contained}):
        rows = sorted((c for c in contained if c.suspects == suspects), key=lambda c: c.target_groups)
        if len(rows) > 1 and rows[0].median > 0:
            ratios.append(rows[-1].median / rows[0].median)
    return max(ratios, default=0.0)


if __name__ == "__main__":
    sys.exit(main())
