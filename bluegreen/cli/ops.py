"""What the CLI does, as plain functions over an `Aws`: start, inspect, approve, abort and roll back releases."""

from __future__ import annotations

import contextlib
import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from orchestrator.adapters import route53, state_table  # noqa: F401  (route53: tests set records by hand through ops)
from orchestrator.config import AppConfig, check_app_name, live_parameter_name, parameter_name, parse_config
from orchestrator.domain import routers
from orchestrator.domain.release import check_ami_id, other_slot

from bluegreen.aws import Aws


class CliError(Exception):
    """An error the CLI prints as one line; `exit_code` tells scripts what kind it was."""

    exit_code = 2


class NotFound(CliError):
    exit_code = 3


# The exit code of a release that ended on one of these errors: the same as when the CLI finds the fault itself.
EXIT_CODE_OF_ERROR = {
    "InputInvalidError": 2,
    "ConfigInvalidError": 2,
    "AmiInvalidError": 2,
    "CloneUnsupportedError": 2,
    "DnsRecordConflictError": 2,
    "AppNotFoundError": 3,
    "NotFoundError": 3,
    "LiveFleetNotFoundError": 3,
}


@dataclass
class Execution:
    arn: str
    status: str
    output: dict | None
    error: str | None
    cause: str | None
    started: datetime
    stopped: datetime | None


def table(aws: Aws) -> Any:
    name = aws.outputs["StateTableName"]
    kwargs = {"endpoint_url": aws.endpoint_url} if aws.endpoint_url else {}
    return aws.session.resource("dynamodb", **kwargs).Table(name)


def load_config(aws: Aws, app: str) -> AppConfig:
    check_app_name(app)
    try:
        raw = aws.client("ssm").get_parameter(Name=parameter_name(app))["Parameter"]["Value"]
    except aws.client("ssm").exceptions.ParameterNotFound:
        raise NotFound(f"app {app!r} has no configuration (create it with `bluegreen app put {app} FILE`)") from None
    return parse_config(raw, app)


def put_config(aws: Aws, app: str, document: str) -> AppConfig:
    """Validate, check what it names against AWS, then store; an invalid document changes nothing (`check_config`)."""
    config, _ = check_config(aws, app, document)
    return store_config(aws, config)


def store_config(aws: Aws, config: AppConfig) -> AppConfig:
    aws.client("ssm").put_parameter(
        Name=parameter_name(config.app), Value=config.model_dump_json(), Type="String", Overwrite=True
    )
    return config


def check_config(aws: Aws, app: str, document: str) -> tuple[AppConfig, list[str]]:
    """The document, validated; what it names must exist (launch template, target groups, alarms, zone and record),
    and for an ALB-routed app its router checks each listener and rule (exists, forwards only to the slots' target
    groups; stickiness refused unless accepted). Returns what is worth reporting."""
    config = parse_config(document, app)
    missing = missing_references(aws, config)
    if missing:
        raise CliError(f"config of {app!r} is invalid: {missing[0]}")
    return config, router(aws, config).check_config()


def router(aws: Aws, config: AppConfig) -> routers.Router:
    return routers.of(config, aws.client)


def missing_references(aws: Aws, config: AppConfig) -> list[str]:
    """One line per resource the config names that does not exist here, naming its field."""
    problems: list[str] = []
    ec2, elbv2 = aws.client("ec2"), aws.client("elbv2")
    try:
        ec2.describe_launch_templates(LaunchTemplateIds=[config.launch_template_id])
    except ec2.exceptions.ClientError:
        problems.append(f"launch_template_id: {config.launch_template_id} does not exist in this region")
    for slot_name, slot in config.slots.items():
        for index, arn in enumerate(slot.target_group_arns):
            try:
                elbv2.describe_target_groups(TargetGroupArns=[arn])
            except elbv2.exceptions.ClientError:
                problems.append(f"slots.{slot_name}.target_group_arns.{index}: {arn} does not exist")
    if config.traffic.alarm_names:
        found = aws.client("cloudwatch").describe_alarms(AlarmNames=config.traffic.alarm_names)["MetricAlarms"]
        known = {a["AlarmName"] for a in found}
        for index, name in enumerate(config.traffic.alarm_names):
            if name not in known:
                problems.append(f"traffic.alarm_names.{index}: no CloudWatch alarm named {name!r}")
    if config.dns is None:  # an ALB-routed app: its router checks its listeners and rules
        return problems
    zones = aws.client("route53")
    try:
        zone = zones.get_hosted_zone(Id=config.dns.hosted_zone_id)["HostedZone"]["Name"].rstrip(".")
    except zones.exceptions.ClientError:
        problems.append(f"dns.hosted_zone_id: {config.dns.hosted_zone_id} is no hosted zone of this account")
    else:
        name = config.dns.record_name.rstrip(".")
        if name != zone and not name.endswith("." + zone):
            problems.append(f"dns.record_name: {name} is not in the zone {zone} ({config.dns.hosted_zone_id})")
    return problems


def list_apps(aws: Aws) -> list[str]:
    pages = aws.client("ssm").get_paginator("get_parameters_by_path").paginate(Path="/bluegreen/apps/")
    return sorted(p["Name"].rsplit("/", 1)[-1] for page in pages for p in page["Parameters"])


def execution_name(app: str, ami_id: str, now: datetime) -> str:
    """Unique for 90 days, as Step Functions requires: a dry run and the release right after it must not clash."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"{app}-{ami_id}-{now:%Y%m%dT%H%M%S%f}")[:80]


def start_release(aws: Aws, app: str, ami_id: str, *, dry_run: bool = False, retry_failed: bool = False) -> str:
    """Start a release, once the app and the AMI are known to exist: bad input starts nothing."""
    if INSTANCE_ID.match(app):
        raise CliError(f"APP: {app!r} is an instance id, not an app name (quarantine it: bluegreen quarantine {app})")
    check_app_name(app)
    check_ami_id(ami_id)
    load_config(aws, app)  # NotFound (exit 3) when the app has no configuration
    ec2 = aws.client("ec2")
    try:
        found = ec2.describe_images(ImageIds=[ami_id])["Images"]
    except ec2.exceptions.ClientError as err:
        if not err.response.get("Error", {}).get("Code", "").startswith("InvalidAMIID"):
            raise
        found = []
    if not found:
        raise NotFound(f"--ami: {ami_id} does not exist in {ec2.meta.region_name} (AMIs are regional)")
    payload = {"app": app, "ami_id": ami_id, "dry_run": dry_run, "retry_failed": retry_failed, "source": "manual"}
    started = aws.client("stepfunctions").start_execution(
        stateMachineArn=aws.outputs["DeployStateMachineArn"],
        name=execution_name(app, ami_id, datetime.now(UTC)),
        input=json.dumps(payload),
    )
    return started["executionArn"]


def describe(aws: Aws, arn: str) -> Execution:
    found = aws.client("stepfunctions").describe_execution(executionArn=arn)
    output = json.loads(found["output"]) if found.get("output") else None
    return Execution(
        arn=arn,
        status=found["status"],
        output=output,
        error=found.get("error"),
        cause=cause_message(found.get("cause")),
        started=found["startDate"],
        stopped=found.get("stopDate"),
    )


def cause_message(cause: str | None) -> str | None:
    """Step Functions carries a Lambda error as its JSON payload; the message is what people need."""
    try:
        parsed = json.loads(cause or "")
    except ValueError:
        return cause
    return parsed.get("errorMessage", cause) if isinstance(parsed, dict) else cause


def wait_for(aws: Aws, arn: str, timeout: float = 3_600, poll: float = 0.5) -> Execution:
    deadline = time.monotonic() + timeout
    while True:
        execution = describe(aws, arn)
        if execution.status != "RUNNING" or time.monotonic() > deadline:
            return execution
        time.sleep(poll)


def status(aws: Aws, app: str) -> dict:
    """Live pointer, release in flight, weights and queue of one app."""
    config = load_config(aws, app)
    tbl = table(aws)
    splits = router(aws, config).splits()
    found = {
        "app": app,
        "router": config.router,
        "live": state_table.get(app, "LIVE", tbl),
        "in_flight": state_table.get(app, "LOCK", tbl),
        "queued": state_table.get(app, "QUEUE", tbl),
        # The first place that routes the app's traffic; `routes` has each (an ALB app's listeners and rules).
        "weights": splits[0][1],
    }
    if config.router == "alb":
        found["routes"] = {where: weights for where, weights in splits}
        found["live_parameter"] = live_parameter_name(app)
    return found


def history(aws: Aws, app: str, limit: int = 20) -> list[dict]:
    """Releases, quarantine cases and superseded AMIs, newest first."""
    check_app_name(app)
    tbl = table(aws)
    items = [
        item for prefix in ("RELEASE#", "CASE#", "SUPERSEDED#") for item in state_table.history(app, prefix, limit, tbl)
    ]
    return sorted(items, key=lambda i: i.get("started_at") or i.get("opened_at") or i.get("at") or "", reverse=True)[
        :limit
    ]


def _lock(aws: Aws, app: str) -> dict:
    check_app_name(app)
    lock = state_table.get(app, "LOCK", table(aws))
    if not lock:
        raise NotFound(f"app {app!r} has no release in flight")
    return lock


def answer_approval(aws: Aws, app: str, approve: bool, reason: str = "") -> str:
    lock = _lock(aws, app)
    token = lock.get("task_token")
    if lock.get("phase") != "AwaitingApproval" or not token:
        raise NotFound(
            f"release {lock['release_id']} of {app!r} is not waiting for approval (phase {lock.get('phase')})"
        )
    sfn = aws.client("stepfunctions")
    if approve:
        sfn.send_task_success(taskToken=token, output=json.dumps({"approved": True, "reason": reason}))
    else:
        sfn.send_task_failure(taskToken=token, error="ApprovalRejectedError", cause=reason or "rejected by an operator")
    return lock["release_id"]


def abort(aws: Aws, app: str, reason: str) -> str:
    """Cooperative: every gate reads the flag and leads to rollback. Never StopExecution (it skips rollback).

    A release waiting at the approval gate runs no gate until it is answered, so its task is failed as well.
    """
    lock = _lock(aws, app)
    why = reason or "aborted by an operator"
    flagged = state_table.flag_lock(app, "abort_requested", why, table(aws), release_id=lock["release_id"])
    if flagged is None:
        raise NotFound(f"release {lock['release_id']} of {app!r} has just ended; nothing to abort")
    token = flagged.get("task_token")
    if flagged.get("phase") == "AwaitingApproval" and token:
        sfn = aws.client("stepfunctions")
        answered = (sfn.exceptions.TaskTimedOut, sfn.exceptions.TaskDoesNotExist, sfn.exceptions.InvalidToken)
        with contextlib.suppress(*answered):  # answered meanwhile: the next gate reads the flag
            sfn.send_task_failure(
                taskToken=token,
                error="ReleaseAbortedError",
                cause=f"release {lock['release_id']} of {app} aborted: {why}",
            )
    return lock["release_id"]


def rollback(aws: Aws, app: str) -> str:
    """Within the keep window: weights back to the previous fleet now, and the release then rolls back."""
    lock = _lock(aws, app)
    release_id = lock["release_id"]
    if lock.get("phase") != "KeepWindow":
        raise CliError(
            f"release {release_id} of {app!r} is in phase {lock.get('phase')}, not in its keep window: "
            f"use `bluegreen abort {app}` while it shifts traffic"
        )
    # The flag first, and only while the release is still in its keep window: CommitRelease reads it in the same
    # write that leaves the window, so either the release sees the flag or the flag is refused here; the old fleet
    # is never given traffic after it has started to scale in.
    tbl = table(aws)
    if state_table.flag_lock(app, "rollback_requested", True, tbl, release_id=release_id, phase="KeepWindow") is None:
        raise CliError(f"release {release_id} of {app!r} has just left its keep window: it is live now")
    new_slot = (state_table.get(app, f"RELEASE#{release_id}", tbl) or {})["slot"]
    config = load_config(aws, app)
    # Back, not half way back: a listener or rule that refuses stays for the release's own rollback to set.
    router(aws, config).set_weights({other_slot(new_slot): 100, new_slot: 0}, put_back=False)
    return release_id


# --- quarantine ------------------------------------------------------------------------------------------------

INSTANCE_ID = re.compile(r"^i-[0-9a-f]{8}([0-9a-f]{9})?$")


def quarantine_request(targets: list[str], reason: str, ami_id: str | None = None) -> dict:
    """The quarantine state machine's manual input from `bluegreen quarantine <app|instance ids...>`."""
    ids = [t for t in targets if INSTANCE_ID.match(t)]
    apps = [t for t in targets if not INSTANCE_ID.match(t)]
    malformed = [t for t in apps if t.startswith("i-")]
    if malformed:
        raise CliError(f"APP|INSTANCE_ID: {malformed[0]!r} is not an instance id (i- and 8 or 17 hex digits)")
    if len(apps) > 1:
        raise CliError(f"APP|INSTANCE_ID: name at most one app, got {', '.join(apps)}")
    if not targets:
        raise CliError("APP|INSTANCE_ID: name an app or instance ids (i-...)")
    request: dict[str, Any] = {"reason": reason}
    if apps:
        request["app"] = check_app_name(apps[0])
    if ids:
        request["instance_ids"] = ids
    if ami_id:
        request["ami_id"] = check_ami_id(ami_id)
    return request


def start_quarantine(aws: Aws, targets: list[str], reason: str, ami_id: str | None = None) -> str:
    """Isolate the named instances (or an app's whole live fleet) and swap the app onto fresh instances."""
    request = quarantine_request(targets, reason, ami_id)
    label = request.get("app") or request["instance_ids"][0]
    started = aws.client("stepfunctions").start_execution(
        stateMachineArn=aws.outputs["QuarantineStateMachineArn"],
        name=re.sub(r"[^A-Za-z0-9_-]", "-", f"quarantine-{label}-{datetime.now(UTC):%Y%m%dT%H%M%S%f}")[:80],
        input=json.dumps(request),
    )
    return started["executionArn"]


def history_detail(item: dict) -> str:
    """One line on a history row: a case's instances and trigger, a release's source."""
    if item.get("kind") != "case":
        return item.get("source", "")
    instances = item.get("instances") or {}
    isolated = sorted(i for i, r in instances.items() if r.get("status") == "isolated")
    failed = sorted(i for i, r in instances.items() if r.get("status") == "failed")
    parts = [f"isolated {', '.join(isolated) or 'none'}"]
    if failed:
        parts.append(f"FAILED {', '.join(failed)}")
    if item.get("skipped"):
        parts.append(f"{len(item['skipped'])} not touched")
    triggers = item.get("triggers") or []
    kinds = sorted({t.get("finding_type") or t.get("alarm_name") or t.get("kind", "") for t in triggers})
    parts.append(f"{len(triggers)} event(s): {', '.join(k for k in kinds if k)}")
    if (item.get("swap") or {}).get("release_id"):
        parts.append(f"swap {item['swap']['release_id']}")
    return "; ".join(parts)


def case_summary(case: dict) -> str:
    """A quarantine execution's case in a few lines: what was isolated, what was not touched, the swap."""
    if case.get("outcome") == "Ignored":
        head = f"nothing quarantined: {case.get('reason', '')}"
    else:
        swap = case.get("swap") or {}
        head = (
            f"case {case.get('case_id')} of {case.get('app')} {case.get('status')}; "
            f"isolated {', '.join(case.get('isolated', [])) or 'none'}"
            + (f"; swap release {swap['release_id']} ({swap.get('green_asg')})" if swap.get("release_id") else "")
        )
    return head + "".join(f"\n  not touched {s['resource']}: {s['reason']}" for s in case.get("skipped", []))
