"""What the CLI does, as plain functions over an `Aws`: start, inspect, approve, abort and roll back releases."""

from __future__ import annotations

import contextlib
import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from orchestrator.adapters import (
    autoscaling,
    config_store,
    ec2,
    iam,
    route53,  # noqa: F401  (tests set records by hand through ops)
    state_table,
)
from orchestrator.config import AppConfig, check_app_name, live_parameter_name, parameter_name, parse_config
from orchestrator.domain import (
    clone,
    deny_policies,
    isolation,
    network_acl_containment,
    release_eligibility,
    routers,
    sources,
)
from orchestrator.domain.quarantine import TriggerRules
from orchestrator.domain.release import check_ami_id, other_slot

from bluegreen.aws import Aws
from bluegreen.cli import split_config, split_view


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
    "AmiSourceConflictError": 2,
    "SplitFleetUnsupportedError": 2,
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
    return aws.resource("dynamodb").Table(aws.outputs["StateTableName"])


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
    the quarantine groups it names must fit, and for an ALB-routed app its router checks each listener and rule
    (exists, forwards only to the slots' target groups; stickiness refused unless accepted). Returns what is worth
    reporting."""
    config = parse_config(document, app)
    collision = clone.names_collide(config.app, aws.outputs.get("SecurityAlarmPrefix") or TriggerRules().alarm_prefix)
    if collision:
        raise CliError(f"config of {app!r} is invalid: {collision}")
    missing = missing_references(aws, config)
    if missing:
        raise CliError(f"config of {app!r} is invalid: {missing[0]}")
    check_quarantine_groups(aws, config)
    overlapping = sources.overlaps(config, all_configs(aws))
    if overlapping:
        raise CliError(f"config of {app!r} is invalid: {overlapping[0]}")
    golden = config.ami_source.parameter if config.ami_source else None
    if golden:
        # Its type, not its value (a release reads the value; a SecureString it refuses): DescribeParameters.
        found = aws.client("ssm").describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [golden]}])
        problem = config_store.golden_type_problem(golden, next((p["Type"] for p in found["Parameters"]), None))
        if problem:
            raise CliError(f"config of {app!r} is invalid: {problem}")
    return config, [*ami_rules(aws, config), *router(aws, config).check_config(), *check_split_fleet(aws, config)]


def check_split_fleet(aws: Aws, config: AppConfig) -> list[str]:
    """A split app's fleet as it stands must be releasable in split mode (split_config.refusal); what is worth
    reporting. Not checked while a release is in flight (its groups are mid-change; the next release checks them)."""
    if config.release_mode != "split":
        return []
    if state_table.get(config.app, "LOCK", table(aws)):
        return ["split: a release is in flight; the fleet's sizes are checked when the next release starts"]
    groups = autoscaling.groups_of_app(config.app, aws.client("autoscaling"))
    if not split_config.by_slot(groups):
        return ["split: the app has no group yet; its first release checks the fleet's sizes"]
    refused = split_config.refusal(groups, config.split.blue_percent)
    if refused:
        raise CliError(f"config of {config.app!r} is invalid: {refused}")
    return [split_config.summary(groups, config.split.blue_percent)]


def all_configs(aws: Aws) -> list[AppConfig]:
    """Every stored app configuration that still validates (what an AMI is matched against)."""
    return config_store.load_all(aws.client("ssm"))


def ami_rules(aws: Aws, config: AppConfig) -> list[str]:
    """How AMIs find this app, one line per rule, and the newest AMI the owner-and-name rule matches here now."""
    lines = [f"AMIs for {config.app}: tag {sources.TAG_RELEASE}={config.app} (this account's own AMIs)"]
    if sources.legacy_tag_allowed(config.app, [config]):
        lines.append(
            f"AMIs for {config.app}: tag {sources.TAG_APP}={config.app} too (legacy: every fleet instance carries it;"
            f" tag builds {sources.TAG_RELEASE}, then set ami_source.legacy_app_tag false)"
        )
    lines += [f"AMIs for {config.app}: {rule}" for rule in sources.describe(config.ami_source)]
    source = config.ami_source
    if source and source.owners:
        found = aws.client("ec2").describe_images(
            Owners=list(source.owners), Filters=[{"Name": "name", "Values": [source.name_pattern or ""]}]
        )["Images"]
        newest = max(found, key=lambda i: i.get("CreationDate", ""), default=None)
        lines.append(
            f"newest matching AMI visible here: {newest['ImageId']} ({newest.get('Name')}, owner {newest['OwnerId']})"
            if newest
            else "no matching AMI is visible here yet (a shared AMI shows once its owner grants this account launch"
            " permission)"
        )
    return lines


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
    prefix = aws.outputs.get("GoldenAmiParameterPrefix")
    parameter = config.ami_source.parameter if config.ami_source else None
    if parameter and prefix and not parameter.startswith(prefix):
        problems.append(
            f"ami_source.parameter: {parameter} is not under the stack's GoldenAmiParameterPrefix {prefix}: bluegreen"
            f" may read no other parameter (move it under {prefix}, or deploy with GoldenAmiParameterPrefix=...)"
        )
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


def start_release(
    aws: Aws, app: str, ami_id: str, *, dry_run: bool = False, retry_failed: bool = False, force: bool = False
) -> str:
    """Start a release, once the app and the AMI are known to exist (and to be a build, unless `force`): bad input
    starts nothing."""
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
    not_a_build = None if force else release_eligibility.check(found[0], ec2)
    if not_a_build:
        raise CliError(f"--ami: {not_a_build}; release it only knowingly: add --force")
    payload = {"app": app, "ami_id": ami_id, "dry_run": dry_run, "retry_failed": retry_failed, "source": "manual"}
    if force:
        payload["force"] = True
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
    found["mode"] = config.release_mode
    found["ratio"] = {"blue": config.split.blue_percent, "green": 100 - config.split.blue_percent}
    if split_view.is_split(config.release_mode, found["live"]):
        found.update(split_status(aws, app, found))
    return found


def split_status(aws: Aws, app: str, found: dict) -> dict:
    """A split app's halves (every group of the app, by slot: AMI, desired, in service, weight, role), and the progress
    of the split release in flight (its half, the goal, the moves)."""
    groups = autoscaling.groups_of_app(app, aws.client("autoscaling"))
    lock = found["in_flight"]
    record = state_table.get(app, f"RELEASE#{lock['release_id']}", table(aws)) if lock else None
    return {
        "halves": split_view.halves(groups, found["weights"], found["live"], (lock or {}).get("release_id")),
        "split": split_view.progress(lock, record, groups),
    }


def history(aws: Aws, app: str, limit: int = 20) -> list[dict]:
    """Releases, quarantine cases, superseded AMIs and failed copies of shared AMIs, newest first."""
    check_app_name(app)
    tbl = table(aws)
    # The table's keys are no field of a release, case or superseded build: the documented fields only.
    items = [
        {k: v for k, v in item.items() if k not in ("pk", "sk")}
        for prefix in ("RELEASE#", "CASE#", "SUPERSEDED#", "COPYFAILED#")
        for item in state_table.history(app, prefix, limit, tbl)
    ]
    return sorted(items, key=lambda i: i.get("started_at") or i.get("opened_at") or i.get("at") or "", reverse=True)[
        :limit
    ]


def canary_verdicts(aws: Aws, app: str, release_id: str) -> list[dict]:
    """Every verdict the canary judge recorded for a release, oldest first (NotFound: no such release)."""
    check_app_name(app)
    record = state_table.get(app, f"RELEASE#{release_id}", table(aws))
    if record is None:
        raise NotFound(f"app {app!r} has no release {release_id!r}")
    return list(record.get("canary") or [])


def latest_verdict_per_step(verdicts: list[dict]) -> dict[int, dict]:
    """The last verdict of each traffic step, by percent."""
    return {v["percent"]: v for v in verdicts}


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
    return request_rollback(aws, app)[0]


def request_rollback(aws: Aws, app: str) -> tuple[str, bool]:
    """`rollback`; (the release's id, whether it is a split release). A split release only gets the request: its
    rollback relaunches the emptied old halves before it moves any traffic."""
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
    record = state_table.get(app, f"RELEASE#{release_id}", tbl) or {}
    if record.get("split"):
        # Both halves are new and the old groups empty: the release's own rollback relaunches them before any traffic
        # moves (all traffic on one half now would leave it serving with its share of the fleet).
        return release_id, True
    new_slot = record["slot"]
    config = load_config(aws, app)
    # Back, not half way back: a listener or rule that refuses stays for the release's own rollback to set.
    router(aws, config).set_weights({other_slot(new_slot): 100, new_slot: 0}, put_back=False)
    return release_id, False


# --- quarantine ------------------------------------------------------------------------------------------------

INSTANCE_ID = re.compile(r"^i-[0-9a-f]{8}([0-9a-f]{9})?$")


def quarantine_request(targets: list[str], reason: str, ami_id: str | None = None, swap_only: bool = False) -> dict:
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
    if not reason.strip():
        raise CliError('--reason: say why, e.g. --reason "GuardDuty finding 3f2a: C&C traffic" (it goes in the case)')
    if swap_only and (ids or not apps):
        raise CliError("--swap-only: name the app alone (its case whose swap failed is swapped again)")
    request: dict[str, Any] = {"reason": reason.strip()}
    if apps:
        request["app"] = check_app_name(apps[0])
    if ids:
        request["instance_ids"] = ids
    if ami_id:
        request["ami_id"] = check_ami_id(ami_id)
    if swap_only:
        request["swap_only"] = True
    return request


def start_quarantine(
    aws: Aws, targets: list[str], reason: str, ami_id: str | None = None, swap_only: bool = False
) -> str:
    """Isolate the named instances (or an app's whole live fleet) and swap the app onto fresh instances; or swap again
    the fleet of the app's case whose swap failed."""
    request = quarantine_request(targets, reason, ami_id, swap_only)
    if swap_only:
        load_config(aws, request["app"])  # an unknown app is "not found" here, not a failed execution
        latest = state_table.history(request["app"], "CASE#", 1, table(aws))
        if not latest or latest[0].get("status") not in ("swap_failed", "isolation_failed"):
            found = f"its latest case {latest[0]['case_id']} is {latest[0].get('status')}" if latest else "it has none"
            raise NotFound(f"app {request['app']!r} has no case whose swap failed to swap again ({found})")
    label = request.get("app") or request["instance_ids"][0]
    started = aws.client("stepfunctions").start_execution(
        stateMachineArn=aws.outputs["QuarantineStateMachineArn"],
        name=re.sub(r"[^A-Za-z0-9_-]", "-", f"quarantine-{label}-{datetime.now(UTC):%Y%m%dT%H%M%S%f}")[:80],
        input=json.dumps(request),
    )
    return started["executionArn"]


# --- cases: the responder's view, and the end of an investigation ----------------------------------------------


def case(aws: Aws, app: str, case_id: str | None = None) -> dict:
    """The app's case (the latest when no id is given), as the state table holds it."""
    load_config(aws, app)
    tbl = table(aws)
    if case_id is not None:
        if not re.match(r"^[0-9A-Za-z-]{1,64}$", case_id):
            raise CliError(f"CASE_ID: {case_id!r} is not a case id (see `bluegreen history {app}`)")
        item = state_table.get(app, f"CASE#{case_id}", tbl)
        if not item:
            raise NotFound(f"app {app!r} has no case {case_id} (see `bluegreen history {app}`)")
        return item
    latest = state_table.history(app, "CASE#", 1, tbl)
    if not latest:
        raise NotFound(f"app {app!r} has no quarantine case")
    return latest[0]


def role_budgets(aws: Aws, item: dict) -> list[dict]:
    """For each fleet role a case denied: its inline-policy characters used and left (IAM's 10,240), and how many of
    them are quarantine denies (collected when their instances are released or long gone)."""
    roles = sorted(
        {
            step["role"]
            for record in (item.get("instances") or {}).values()
            if (step := (record.get("steps") or {}).get("revoke_credentials") or {}).get("role")
        }
    )
    budgets = []
    for role in roles:
        try:
            budgets.append(deny_policies.budget(role, aws.client("iam")))
        except aws.client("iam").exceptions.NoSuchEntityException:
            budgets.append({"role": role, "gone": True})
    return budgets


def open_case(aws: Aws, app: str) -> dict | None:
    """The app's open case (its CASE pointer joined with the case), or None."""
    pointer = state_table.get(app, "CASE", table(aws))
    if not pointer:
        return None
    return {
        **(state_table.get(app, f"CASE#{pointer['case_id']}", table(aws)) or {}),
        "owner_execution": pointer.get("execution_arn"),
    }


def case_of_execution(aws: Aws, arn: str, app: str | None = None) -> tuple[str | None, dict | None]:
    """(app, case item) of a quarantine execution: the case it opened, joined or swaps again (None while it has not
    resolved one yet)."""
    if app is None:
        given = json.loads(aws.client("stepfunctions").describe_execution(executionArn=arn)["input"])
        app = given.get("app") if isinstance(given, dict) and isinstance(given.get("app"), str) else None
    for name in [app] if app else list_apps(aws):
        for item in state_table.history(name, "CASE#", 5, table(aws)):
            mine = item.get("execution_arn") == arn or any(
                t.get("execution_arn") == arn for t in item.get("triggers", [])
            )
            if mine:
                return name, item
    return app, None


def case_timeline(item: dict) -> list[dict]:
    """Every dated thing a case records, oldest first: {"at", "what", "detail"}."""
    rows: list[dict] = []

    def add(at: Any, what: str, detail: str = "") -> None:
        if at:
            rows.append({"at": str(at), "what": what, "detail": detail})

    add(item.get("event_time"), "security event", f"{item.get('source', '')}: {item.get('reason', '')}")
    add(item.get("opened_at"), "case opened", item.get("execution_arn", ""))
    for trigger in item.get("triggers", []):
        what = "swap again requested" if trigger.get("swap_only") else f"{trigger.get('kind')} trigger"
        detail = trigger.get("finding_type") or trigger.get("alarm_name") or trigger.get("reason", "")
        add(trigger.get("received_at"), what, f"{detail} {', '.join(trigger.get('instance_ids', []))}".strip())
    for instance_id, record in sorted((item.get("instances") or {}).items()):
        add((record.get("metadata") or {}).get("recorded_at"), f"{instance_id} recorded", "metadata before any change")
        for name, step in (record.get("steps") or {}).items():
            if isinstance(step, dict):
                add(
                    step.get("at"),
                    f"{instance_id} {name}",
                    ("" if step.get("ok") else "FAILED ") + step.get("result", ""),
                )
        add(record.get("contained_at"), f"{instance_id} contained", "network and credentials")
        add(record.get("released_at"), f"{instance_id} released", record.get("released_reason", ""))
    add(item.get("contained_at"), "contained", "every instance's network and credentials cut")
    add(item.get("isolated_at"), "isolated", "every step done")
    add(item.get("swap_started_at"), "swap started", f"AMI {item.get('ami_id', '')}")
    add(item.get("swap_again_at"), "swap again", "")
    add(item.get("swapped_at"), "swapped", (item.get("swap") or {}).get("green_asg", ""))
    for error in item.get("errors", []):
        add(error.get("at"), f"error {error.get('error')}", error.get("cause", ""))
    if item.get("status") in ("swap_failed", "isolation_failed"):
        add(item.get("closed_at"), f"case {item['status']}", f"{item.get('error', '')}: {item.get('cause', '')}")
    elif item.get("closed_at"):
        add(item.get("closed_at"), "case closed", item.get("status", ""))
    return sorted(rows, key=lambda r: _instant(r["at"]))


def _instant(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return datetime.max.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def release_instance(aws: Aws, instance_id: str, reason: str) -> dict:
    """Undo a quarantine's isolation when the investigation is over: the instance's own security groups on each
    interface, its instance profile, its role's sessions allowed again, its Elastic IPs (when still free). Termination
    protection, kept volumes and snapshots stay; the instance stays out of any group. Step -> what was done."""
    if not INSTANCE_ID.match(instance_id):
        raise CliError(f"INSTANCE_ID: {instance_id!r} is not an instance id (i- and 8 or 17 hex digits)")
    if not reason.strip():
        raise CliError("--reason: say why the investigation is over (it goes in the case)")
    client = aws.client("ec2")
    instance = ec2.describe_instances([instance_id], client).get(instance_id)
    if instance is None:
        raise NotFound(f"instance {instance_id} does not exist in this region")
    case_id, app = ec2.tag_of(instance, "bluegreen:quarantine"), ec2.tag_of(instance, "bluegreen:app")
    if not case_id or not app:
        raise NotFound(f"instance {instance_id} is not quarantined (no bluegreen:quarantine tag)")
    tbl = table(aws)
    record = ((state_table.get(app, f"CASE#{case_id}", tbl) or {}).get("instances") or {}).get(instance_id)
    if not record:
        raise NotFound(f"case {case_id} of {app} has no record of {instance_id}")
    pointer = state_table.get(app, "CASE", tbl) or {}
    if pointer.get("case_id") == case_id:
        raise CliError(f"{instance_id}: its case {case_id} of {app} is still open; release it once the case has closed")
    steps = record.get("steps") or {}
    done: dict[str, str] = {}
    # The network: each interface still attached gets back the groups it had before the case.
    before = {n["id"]: n["groups"] for n in (record.get("metadata") or {}).get("network_interfaces", [])}
    for interface in instance.get("NetworkInterfaces", []):
        groups = before.get(interface["NetworkInterfaceId"])
        if groups:
            ec2.set_interface_groups(interface["NetworkInterfaceId"], groups, client)
    done["network"] = f"own groups back on {len(before)} interface(s)"
    # The network ACL rules that denied its addresses: each removed if it is still the one the case made.
    entries = (steps.get("network_acl") or {}).get("entries") or []
    if entries:
        done["network_acl"] = "; ".join(network_acl_containment.remove(entries, client))
    # Credentials: the role's sessions from this instance allowed again, then its own instance profile back (from
    # what the case recorded before any change).
    revoked = steps.get("revoke_credentials") or {}
    original = revoked.get("original_profile") or (record.get("metadata") or {}).get("iam_instance_profile")
    association = ec2.profile_associations([instance_id], client).get(instance_id) if original else None
    if original and association and association["IamInstanceProfile"]["Arn"] != original:
        role = revoked.get("role") or iam.role_of_profile(original, aws.client("iam"))
        if role and revoked.get("policy"):
            done["sessions"] = _allow_sessions_again(aws, role, revoked["policy"], instance_id)
        ec2.replace_profile(association["AssociationId"], original, client)
        done["instance_profile"] = f"{original} back"
    # Elastic IPs: given back only while nobody else has them.
    for taken in (steps.get("disassociate_addresses") or {}).get("addresses", []):
        address = ec2.address_by_ip(taken["public_ip"], client)
        if address is None:
            done[f"address {taken['public_ip']}"] = "released from the account meanwhile: not given back"
        elif address.get("AssociationId"):
            done[f"address {taken['public_ip']}"] = (
                f"associated elsewhere now ({address.get('InstanceId') or address.get('NetworkInterfaceId')}): not given back"
            )
        else:
            ec2.associate_address(
                address["AllocationId"], taken["network_interface_id"], taken.get("private_ip"), client
            )
            done[f"address {taken['public_ip']}"] = f"back on {taken['network_interface_id']}"
    ec2.tag_resources([instance_id], {"bluegreen:quarantine-released": case_id}, client)
    ec2.delete_tags([instance_id], ["bluegreen:quarantine"], client)
    done["tags"] = f"bluegreen:quarantine removed, bluegreen:quarantine-released={case_id}"
    done["kept"] = "termination protection, volumes kept on termination, snapshots; out of any Auto Scaling group"
    released = {
        **record,
        "status": "released",
        "released_at": datetime.now(UTC).isoformat(),
        "released_reason": reason.strip(),
        "release": done,
    }
    state_table.record_case_instance(app, case_id, instance_id, released, tbl)
    return {"instance_id": instance_id, "app": app, "case_id": case_id, "done": done}


def _allow_sessions_again(aws: Aws, role: str, policy: str, instance_id: str) -> str:
    """Take the instance out of its case's deny on the role (the deny names every instance of that execution, by
    ec2:SourceInstanceARN and aws:userId); the deny goes when it names no instance any more."""
    api = aws.client("iam")
    document = iam.role_policy(role, policy, api)
    if document is None:
        return f"{policy} already gone from role {role}"
    remaining = deny_policies.without(document, {instance_id})
    if not deny_policies.instances_of(remaining):
        iam.delete_role_policy(role, policy, api)
        return f"{policy} deleted from role {role}"
    iam.put_role_policy(role, policy, remaining, api)
    return f"{instance_id} taken out of {policy} on role {role} (it still denies the case's other instances)"


def check_quarantine_groups(aws: Aws, config: AppConfig) -> None:
    """The app's own quarantine groups exist, are in the app's VPC (its target groups'), and fit their job."""
    named = {
        k: v
        for k, v in (
            ("isolation", config.quarantine.security_group_id),
            ("untracking", config.quarantine.untracking_group_id),
        )
        if v
    }
    if not named:
        return
    arns = sorted({arn for slot in config.slots.values() for arn in slot.target_group_arns})
    try:
        found = aws.client("elbv2").describe_target_groups(TargetGroupArns=arns)["TargetGroups"]
        vpcs = {g["VpcId"] for g in found}
    except aws.client("elbv2").exceptions.TargetGroupNotFoundException:
        vpcs = set()
    vpc_id = next(iter(vpcs)) if len(vpcs) == 1 else None  # slots in two VPCs: only existence can be checked
    described = ec2.security_groups(list(named.values()), aws.client("ec2"))
    for kind, group_id in named.items():
        problem = isolation.group_problem(kind, group_id, described.get(group_id), vpc_id)
        if problem:
            raise CliError(f"config of {config.app!r} is invalid: {problem}")


def history_detail(item: dict) -> str:
    """One line on a history row: a case's instances and trigger, a release's source, what replaced a superseded
    build and when."""
    if item.get("kind") == "copy_failed":
        return f"copy of {item.get('source_ami') or '?'} failed at {item.get('at', '?')}: {item.get('reason', '')}"
    if item.get("kind") == "superseded":
        return f"superseded by {item.get('superseded_by') or '?'} at {item.get('at', '?')}: {item.get('reason', '')}"
    if item.get("kind") != "case":
        return "; ".join(p for p in (item.get("source", ""), split_view.history_detail(item)) if p)
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
