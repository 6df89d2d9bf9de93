"""What a release costs in AWS calls, per task and per service, and what a cold start costs: part of `make bench`.

A 4-step release (10/25/50/100) of a 3-instance app on each router, its first release (the seeded fleet, never
released by bluegreen) and the next one (steady state); every call the handlers make, from the twin's call log. Then
the import time of each handler module against a bare `import boto3`, and the executions a release that rolled back
by itself starts after it. BASELINE holds the figures of the version these replace, measured the same way on the
same machine (see docs/benchmarks.md for the command).
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bluegreen.aws import Aws
from bluegreen.cli import ops
from bluegreen.demo.seed import register_ami, seed_app
from bluegreen.demo.standin import start_slot_servers
from bluegreen.proof import cold_start
from bluegreen.proof.cold_start import Imports
from bluegreen.twin import local, server

REPO = Path(__file__).resolve().parents[2]
STEPS = [10, 25, 50, 100]
CALL_GOAL = 40  # one 4-step Route 53 release; the ALB router may make 2 more

# The version before issue 18: its calls and reconciliations, measured on this machine with this module's release
# scenario on 2026-12-06 (first release of a 4-step app); its import times are measured again in each run.
BASELINE_COMMIT = "0c872dd"
BASELINE = {
    "calls": {"route53": 81, "alb": 87},
    "calls_by_service": {
        "dynamodb": 30,
        "autoscaling": 25,
        "route53": 10,
        "ec2": 8,
        "elasticloadbalancing": 4,
        "ssm": 2,
        "sns": 1,
        "cloudwatch": 1,
    },
    "reconciliations_after_a_rollback": 1,
}

# Why each remaining call is made: (task, action) -> the reason. A call missing here is printed as unexplained.
WHY = {
    ("PrepareRelease", "ec2:DescribeImages"): "the AMI (state, architecture, owner, snapshots' keys); the live AMI's"
    " build date when the LIVE pointer does not hold it",
    ("PrepareRelease", "ssm:GetParametersByPath"): "an event: every app's config (a page per 10 apps), to match it",
    ("PrepareRelease", "ssm:GetParameter"): "a release by name: the app's own config, fresh",
    ("PrepareRelease", "ec2:DescribeInstances"): "the AMI's SourceInstanceId: never release an image of a fleet's host",
    ("PrepareRelease", "dynamodb:BatchGetItem"): "lock, live pointer and the AMI's claim in one consistent read",
    ("PrepareRelease", "route53:ListResourceRecordSets"): "the weights: which slot is live",
    ("PrepareRelease", "elasticloadbalancing:DescribeListeners"): "the weights of the ALB router's listeners",
    ("PrepareRelease", "elasticloadbalancing:DescribeRules"): "the weights of the ALB router's rules",
    ("PrepareRelease", "autoscaling:DescribeAutoScalingGroups"): "the live group, to clone",
    (
        "PrepareRelease",
        "ec2:DescribeLaunchTemplateVersions",
    ): "the live launch template version's instance type (once per version: the live pointer keeps green's, and a numbered version never changes)",
    ("PrepareRelease", "ec2:DescribeInstanceTypes"): "the instance type's architecture against the AMI's (once: the"
    " live pointer keeps it, as an instance type's architectures never change)",
    ("PrepareRelease", "elasticloadbalancing:DescribeTargetGroupAttributes"): "the deregistration delay (drain waits)",
    ("PrepareRelease", "autoscaling:DescribePolicies"): "clone: scaling policies",
    ("PrepareRelease", "autoscaling:DescribeScheduledActions"): "clone: scheduled actions",
    ("PrepareRelease", "autoscaling:DescribeLifecycleHooks"): "clone: lifecycle hooks",
    ("PrepareRelease", "autoscaling:DescribeNotificationConfigurations"): "clone: notifications",
    (
        "PrepareRelease",
        "elasticloadbalancing:DescribeTargetGroups",
    ): "clone: the load balancer of green's target groups (only for a policy on ALBRequestCountPerTarget, as here)",
    ("PrepareRelease", "ec2:DescribeLaunchTemplates"): "only when live launches `$Default` or `$Latest` (or a split"
    " release): the numbers to pin it to",
    ("PrepareRelease", "dynamodb:TransactWriteItems"): "lock (fenced), once-only claim, execution pointer and history"
    " record, all or nothing",
    ("PrepareRelease", "elasticloadbalancing:ModifyListener"): "first ALB release: the listener becomes a weighted"
    " forward (no traffic moves)",
    ("CreateGreenGroup", "ec2:CreateLaunchTemplateVersion"): "green's launch template version (the new AMI); its client"
    " token makes a retry return the same version, so nothing records it (Prepare's lock, moments old, fences it)",
    ("CreateGreenGroup", "autoscaling:CreateAutoScalingGroup"): "green",
    ("CreateGreenGroup", "autoscaling:PutScalingPolicy"): "green's copy of live's scaling policy",
    ("CreateGreenGroup", "autoscaling:PutNotificationConfiguration"): "green's copy of live's notifications",
    ("CreateGreenGroup", "elasticloadbalancing:ModifyRule"): "ALB test route pointed at the idle slot",
    ("CreateGreenGroup", "elasticloadbalancing:ModifyListener"): "ALB test listener pointed at the idle slot",
    ("CheckGreenHealth", "autoscaling:DescribeAutoScalingGroups"): "green's instances (one call for any fleet size)",
    ("CheckGreenHealth", "elasticloadbalancing:DescribeTargetHealth"): "green's targets (one call per target group)",
    ("CheckGreenHealth", "autoscaling:DescribeScalingActivities"): "only while green is not healthy: a launch that"
    " failed ends the release at once (GreenLaunchFailedError)",
    ("CheckGreenHealth", "dynamodb:UpdateItem"): "only while green is not healthy: gate per poll (lease, abort, health"
    " counts for `watch`)",
    (
        "RunSmokeTests",
        "dynamodb:UpdateItem",
    ): "gate, after the smoke requests: lease, abort, phase, health counts, and the first step's weights (it is that step's gate too)",
    ("RunSmokeTests", "elasticloadbalancing:DescribeListeners"): "ALB: the test route re-read before any request",
    ("RunSmokeTests", "elasticloadbalancing:DescribeRules"): "ALB: the test route re-read before any request",
    ("ShiftTraffic", "dynamodb:UpdateItem"): "only after an approval (or a step the canary judge asked a human for):"
    " gate, and the weights it sets (other steps are fenced by the smoke tests' or CheckAlarms' gate a moment before)",
    (
        "ShiftTraffic",
        "route53:ChangeResourceRecordSets",
    ): "the step's weights, one change batch (the last step's also names the live release: the TXT record `_bluegreen.<record>`)",
    ("ShiftTraffic", "route53:GetChange"): "INSYNC before the bake starts",
    ("ShiftTraffic", "elasticloadbalancing:DescribeListeners"): "ALB: the forward action read before it is changed",
    ("ShiftTraffic", "elasticloadbalancing:ModifyListener"): "ALB: the step's weights",
    ("CheckAlarms", "dynamodb:UpdateItem"): "the gate of each step: lease, fencing, abort and rollback requests",
    ("CheckAlarms", "cloudwatch:DescribeAlarms"): "the app's alarms (none configured in this scenario)",
    ("CheckAlarms", "cloudwatch:GetMetricData"): "the canary judge's look: both slots' target groups, one request",
    ("CheckAlarms", "elasticloadbalancing:DescribeTargetGroups"): "the canary judge: the slots' load balancers, once",
    ("HoldKeepWindow", "dynamodb:UpdateItem"): "gate per poll of the keep window",
    ("CommitRelease", "dynamodb:TransactWriteItems"): "the gate before the point of no return and the point itself,"
    " all or nothing: the lease renewed only while no abort or rollback is asked, the live pointer, the AMI's claim"
    " marked live",
    ("CommitRelease", "route53:ChangeResourceRecordSets"): "a split release: the TXT record `_bluegreen.<record>`",
    ("CommitRelease", "ssm:PutParameter"): "ALB: the live parameter /bluegreen/live/<app>",
    ("CommitRelease", "autoscaling:UpdateAutoScalingGroup"): "green's minimum unpinned; the old group to zero",
    ("CommitRelease", "autoscaling:DescribeScheduledActions"): "a split release's old groups' schedules (a blue/green"
    " release deletes those Prepare read)",
    ("CommitRelease", "autoscaling:DeleteScheduledAction"): "each of the old group's schedules, before it empties",
    ("CheckOldDrained", "autoscaling:DescribeAutoScalingGroups"): "instances left in the old group",
    ("CheckOldDrained", "autoscaling:SetInstanceProtection"): "only for instances protected from scale-in",
    ("CheckOldDrained", "autoscaling:UpdateAutoScalingGroup"): "only after lifting protection: the group emptied again",
    (
        "CheckOldDrained",
        "ec2:DescribeInstances",
    ): "only for protected instances: a quarantined one keeps its protection",
    (
        "DeleteOldGroup",
        "autoscaling:DescribeAutoScalingGroups",
    ): "only when the old group was not seen empty: quarantined instances to detach first; then gone yet?",
    ("DeleteOldGroup", "autoscaling:DeleteAutoScalingGroup"): "the old group (seen empty: its accepted delete is the"
    " end of it)",
    ("DeleteOldGroup", "cloudwatch:DescribeAlarms"): "a split release's old groups' cloned alarms, by prefix (a"
    " blue/green release deletes those Prepare read off the old group's policies)",
    ("DeleteOldGroup", "cloudwatch:DeleteAlarms"): "the old group's cloned alarms",
    ("CompleteRelease", "dynamodb:UpdateItem"): "the history record (read back: notified already?)",
    ("CompleteRelease", "dynamodb:TransactWriteItems"): "lock freed (if still ours), execution pointer removed, record"
    " marked notified, and the queue checked empty, all or nothing",
    ("CompleteRelease", "dynamodb:DeleteItem"): "only when an AMI is queued: taken off the queue to start",
    ("CompleteRelease", "sns:Publish"): "the notification",
}


@dataclass
class ReleaseCalls:
    router: str
    label: str
    status: str
    by_task: dict[str, Counter[str]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(sum(c.values()) for c in self.by_task.values())

    @property
    def by_service(self) -> Counter[str]:
        return services(self.by_task)


def services(by_task: dict[str, Counter[str]]) -> Counter[str]:
    """Calls per AWS service, from calls per task."""
    found: Counter[str] = Counter()
    for calls in by_task.values():
        for action, n in calls.items():
            found[action.split(":")[0]] += n
    return found


def calls_by_task(log: list[dict]) -> dict[str, Counter[str]]:
    """The twin's call log, as each task's calls (action -> count), tasks in the order they first called."""
    by_task: dict[str, Counter[str]] = {}
    for call in log:
        by_task.setdefault(task_of(call["function"]), Counter())[call["action"]] += 1
    return by_task


def task_of(function_name: str) -> str:
    """`bluegreen-PrepareReleaseFunction-ABC123` -> `PrepareRelease`."""
    return function_name.split("-")[-2].removesuffix("Function")


def release_calls(stack: local.LocalStack, router: str) -> list[ReleaseCalls]:
    """The first and the next 4-step release of one app: every call of every task."""
    aws, endpoint = stack.aws, stack.twin.endpoint_url
    app = f"calls-{router}"
    servers = start_slot_servers(aws, app)
    found = []
    try:
        urls = {s: servers[s].url for s in servers}
        seed_app(aws, app, instances=3, test_urls=urls, router=router, config={"traffic": {"steps": STEPS}})
        for label in ("first release", "next release"):
            ami = register_ami(aws, f"{app}-{len(found)}", app=None)
            settled(aws, ami)
            server.clear_api_calls(endpoint)
            execution = ops.wait_for(aws, ops.start_release(aws, app, ami), timeout=300, poll=0.1)
            found.append(ReleaseCalls(router, label, execution.status, calls_by_task(server.api_call_log(endpoint))))
    finally:
        for slot_server in servers.values():
            slot_server.stop()
    return found


def history_counts(aws: Aws, arn: str) -> tuple[int, int]:
    """(state transitions, Lambda invocations) of an execution, from its history."""
    sfn = aws.client("stepfunctions")
    events: list[dict] = []
    token = None
    while True:
        page = sfn.get_execution_history(executionArn=arn, maxResults=1000, **({"nextToken": token} if token else {}))
        events += page["events"]
        token = page.get("nextToken")
        if not token:
            break
    transitions = sum(1 for e in events if e["type"].endswith("StateEntered"))
    invocations = sum(1 for e in events if e["type"] in ("LambdaFunctionScheduled", "TaskScheduled"))
    return transitions, invocations


def settled(aws: Aws, ami: str, timeout: float = 60) -> None:
    """Wait until the execution the AMI's own event started (it waits for a tag, then is ignored) has ended."""
    sfn = aws.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mine = [
            e
            for e in sfn.list_executions(stateMachineArn=aws.outputs["DeployStateMachineArn"])["executions"]
            if ami in sfn.describe_execution(executionArn=e["executionArn"])["input"]
        ]
        if mine and all(e["status"] != "RUNNING" for e in mine):
            return
        time.sleep(0.2)
    raise TimeoutError(f"the event execution of {ami} did not end within {timeout}s")


def reconciliations_after_a_rollback(stack: local.LocalStack) -> int:
    """Executions started after a release that failed its smoke test and rolled back by itself."""
    aws = stack.aws
    app = "calls-rollback"
    servers = start_slot_servers(aws, app)
    try:
        seed_app(aws, app, instances=2, test_urls={s: servers[s].url for s in servers})
        ami = register_ami(aws, f"{app}-broken", app=None, broken=True)
        settled(aws, ami)
        execution = ops.wait_for(aws, ops.start_release(aws, app, ami), timeout=300, poll=0.1)
        time.sleep(2)  # the status event, delivered and handled
        return len(reconciliations_of(aws, execution.arn))
    finally:
        for slot_server in servers.values():
            slot_server.stop()


def reconciliations_of(aws: Aws, dead: str) -> list[str]:
    """Executions of the deploy machine that reconcile `dead` (started by its status event or by the sweep)."""
    sfn = aws.client("stepfunctions")
    found = []
    for summary in sfn.list_executions(stateMachineArn=aws.outputs["DeployStateMachineArn"])["executions"]:
        given = json.loads(sfn.describe_execution(executionArn=summary["executionArn"])["input"])
        named = (given.get("detail") or {}).get("executionArn") or (given.get("reconcile") or {}).get("execution_arn")
        if named == dead:
            found.append(summary["executionArn"])
    return found


def imports() -> Imports:
    """Each handler module the template names against `import boto3` (bluegreen.proof.cold_start)."""
    return cold_start.measure()


def baseline_imports() -> Imports | None:
    """The same timing of the baseline commit's handler code (from git, into a temporary folder), in this run."""
    return cold_start.at_commit(BASELINE_COMMIT)


def _call_rows(releases: list[ReleaseCalls]) -> list[str]:
    """The calls of each router's first and next release against the goal (the ALB router: 2 more than Route 53's)."""
    rows = []
    for r in releases:
        goal = CALL_GOAL + (2 if r.router == "alb" else 0)
        name = "Route 53" if r.router == "route53" else "ALB"
        baseline = BASELINE["calls"][r.router] if r.label == "first release" else "-"
        met = "yes" if r.total <= goal else "no"
        rows.append(f"| AWS calls, {name}, {r.label} | {baseline} | {r.total} | {goal} | {met} |")
    return rows


def report(releases: list[ReleaseCalls], timing: Imports, reconciliations: int, before: Imports | None) -> list[str]:
    """The section of docs/benchmarks.md: the figures against their goals, beside the baseline."""
    first = {r.router: r for r in releases if r.label == "first release"}
    lines = [
        SECTION,
        "",
        f"One release of 4 steps ({'/'.join(map(str, STEPS))}), 3 instances, no alarms configured; first release (the",
        "seeded fleet, never released by bluegreen: no live pointer yet) and the next one (steady state).",
        f"Baseline: commit {BASELINE_COMMIT}; its calls measured the same way on this machine on 2026-12-06 (a first"
        " release), its import times in this run (its handler code from git, timed beside today's).",
        "",
        "| figure | baseline | now | goal | met |",
        "| --- | ---: | ---: | ---: | --- |",
        *_call_rows(releases),
        *cold_start.goal_rows(timing, before),
        f"| executions started after a release that rolled back by itself | "
        f"{BASELINE['reconciliations_after_a_rollback']} | {reconciliations} | 0 | "
        f"{'yes' if reconciliations == 0 else 'no'} |",
        "",
        *cold_start.module_table(timing, before),
        "",
        "Calls per service (Route 53 router, first release):",
        "",
        "| service | baseline | now |",
        "| --- | ---: | ---: |",
        *[
            f"| {service} | {BASELINE['calls_by_service'].get(service, 0)} | {n} |"
            for service, n in first["route53"].by_service.most_common()
        ],
        "",
        "Every call of the Route 53 router's first release, per task, and why it is made:",
        "",
        "| task | call | count | why |",
        "| --- | --- | ---: | --- |",
    ]
    for task, calls in first["route53"].by_task.items():
        for action, n in calls.most_common():
            lines.append(f"| {task} | {action} | {n} | {WHY.get((task, action), '**unexplained**')} |")
    lines += ["", "Totals per release:", "", "| router | release | status | calls |", "| --- | --- | --- | ---: |"]
    lines += [f"| {r.router} | {r.label} | {r.status} | {r.total} |" for r in releases]
    lines += ["", *NOTES, ""]
    return lines


NOTES = [
    "What the twin does not show, and what stands between these figures and the goal:",
    "",
    "- **Route 53 propagation.** The twin answers a change INSYNC at once (`route53_changes`, propagation 0 unless a",
    "  test asks); in AWS a change usually reaches every name server within 60 s, so the GetChange right after a",
    "  step's ChangeResourceRecordSets reads PENDING and CheckDnsChange asks again after `dns_poll_seconds` (40 s):",
    "  one GetChange more per step in AWS than counted here.",
    "- **The first release** of a fleet bluegreen never released reads three things the live pointer then keeps for",
    "  every later release: the live AMI's build date, the instance type's architectures (they never change) and the",
    "  instance type of the launch template version live launches (a numbered version never changes). The ALB",
    "  router's first release also turns the listener's forward into a weighted one (one ModifyListener, once).",
    "  That is 3 calls over the goal on Route 53 and 4 on the ALB router, once per app; getting under it would mean",
    "  cutting a steady-state call that a guarantee needs.",
    "- **Per step, three calls stay:** the change, its INSYNC check (Route 53) or the listener read before the change",
    "  (ALB), and the gate that reads abort and rollback requests. Four steps cost 12 of the calls above.",
    "- **Prepare's reads of a faithful clone** (policies, schedules, lifecycle hooks, notifications) and of the app's",
    "  own checks (the AMI, its source instance, the weights, the config, the lock) are each one call; the guarantees",
    "  the goal keeps (lock with fencing, once-only claim, history, notification) cost one transaction at each end, the",
    "  commit's transaction (its own gate) and one gate per step. CompleteRelease reads its record back before it",
    "  tells anyone, so a task run twice tells people once (`test_record_failure_run_twice_tells_people_once`).",
    "- **Cold start: where the 1.3x goal is lost.** Counted in CPU instructions on 2026-12-06 (`valgrind",
    "  --tool=callgrind python -c 'import X'`, less an empty interpreter), against `import boto3`: boto3, pydantic with",
    "  one model and Powertools' Logger and Metrics 1.26x; with bluegreen's config models 1.36x; with the release",
    "  models every task parses (a Release holds the app's config) 1.43x; `handlers.deploy` 1.63x;",
    "  `handlers.quarantine` 1.69x. The models alone pass the goal, and every task validates a Release as it starts,",
    "  so building them later (pydantic's `defer_build`) would only move their cost into the first invocation.",
    "- **The suite** (not timed here): `make test` from a fresh clone on this 2-core machine took 6 min 55 s on",
    "  2026-12-06 (pytest 6 min 0 s, 1 393 tests; 704 s of CPU), against a goal of 8 min; before this round 10 min",
    "  10 s to 11 min 5 s, and 9 min 21 s in CI. What it was: the e2e invariant monitor reads the app only when the",
    "  twin's groups, records or routes changed (`state_fingerprint`), the tests' waits sleep until the twin signals a",
    "  change (`change_signals`) instead of polling, the gates run beside pytest at a lower priority, and 6 workers",
    "  share the 2 cores.",
]


SECTION = "## Calls per release, cold start and reconciliations, against their goals"


def replace_section(lines: list[str], path: Path = REPO / "docs" / "benchmarks.md") -> None:
    """Put a section (its first line is its `## ` heading) in docs/benchmarks.md in place of the earlier one, or at
    the end; the rest of the file is left as it is."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    body = "\n".join(lines).rstrip("\n") + "\n"
    head, found, rest = text.partition(lines[0] + "\n")
    if not found:
        path.write_text(text.rstrip("\n") + "\n\n" + body)
        return
    following = rest.find("\n## ")
    path.write_text(head + body + (rest[following:] if following >= 0 else ""))


def main() -> int:
    """This section alone: a twin of its own for the releases, then the import times, today's and the baseline's."""
    stack = local.start(port=0, wait_scale=0.01, retry_scale=0.02)
    try:
        releases, reconciliations = measure(stack)
    finally:
        stack.stop()
    lines = report(releases, imports(), reconciliations, baseline_imports())
    replace_section(lines)
    print("\n".join(lines))
    return 0 if all(r.status == "SUCCEEDED" for r in releases) and not unexplained(releases) else 1


def measure(stack: local.LocalStack) -> tuple[list[ReleaseCalls], int]:
    releases = [call for router in ("route53", "alb") for call in release_calls(stack, router)]
    return releases, reconciliations_after_a_rollback(stack)


def unexplained(releases: list[ReleaseCalls]) -> list[str]:
    return [f"{t} {a}" for r in releases for t, calls in r.by_task.items() for a in calls if (t, a) not in WHY]


if __name__ == "__main__":
    sys.exit(main())
