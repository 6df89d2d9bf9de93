"""The deploy pipeline's tasks: each takes the release (and time) and returns the release, updated.

Each function here is one Step Functions task. They call the AWS adapters; the handlers only parse and return.
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from orchestrator import budget
from orchestrator.adapters import (
    autoscaling,
    cloudwatch,
    config_store,
    ec2,
    elbv2,
    notify,
    state_table,
)
from orchestrator.adapters.aws import client
from orchestrator.config import APP_NAME, AppConfig, describe_validation_error
from orchestrator.domain import (
    build_accounts,
    canary_judge,
    clone,
    gates,
    green_launch,
    health,
    release_eligibility,
    routers,
    shared,
    shared_ami_access,
    smoke,
    sources,
    split_release,
    trigger_filter,
)
from orchestrator.domain.emergency import check_emergency
from orchestrator.domain.release import (
    check_ami_id,
    expected_duration,
    live_pointer,
    live_slot_from_weights,
    live_text,
    new_release_id,
    other_slot,
    plan_waits,
    scaled,
    steps_for,
    traffic_split,
)
from orchestrator.domain.release_gate import gate, go_live
from orchestrator.errors import (
    AlarmTriggeredError,
    AmiInvalidError,
    AmiSourceConflictError,
    AppNotFoundError,
    CloneUnsupportedError,
    DnsChangeTimeoutError,
    GreenUnhealthyError,
    GroupDeletionTimeoutError,
    InputInvalidError,
    LiveFleetNotFoundError,
    RollbackIncompleteError,
    SmokeTestFailedError,
)
from orchestrator.models import ClonePlan, DeployRequest, HealthReport, LiveFleet, Release, TrafficProgress, Waits

AMI_EVENT = "EC2 AMI State Change"
PARAMETER_EVENT = "Parameter Store Change"
PARAMETER_OPERATIONS = ("Create", "Update")


# --- Prepare ---------------------------------------------------------------------------------------------------


def normalise(raw: dict, region: str) -> Release | tuple[str | None, str | None, dict]:
    """An ignored Release, or (app or None, AMI id or None, options) from an AMI event (this account's, or one a build
    account forwarded), a golden-AMI parameter's change event, or a request by name.

    A parameter event gives neither app nor AMI: options["parameter"] names the parameter, read later.
    """
    if raw.get("detail-type") == AMI_EVENT:
        detail = raw.get("detail") or {}
        ami_id = detail.get("ImageId")
        if detail.get("State") != "available":
            return Release(outcome="Ignored", reason=f"AMI {ami_id} is {detail.get('State')}, not available")
        if raw.get("region") and raw["region"] != region:
            return Release(outcome="Ignored", reason=f"AMI {ami_id} is in {raw['region']}, not {region}")
        return None, check_ami_id(ami_id), {"source": "event", "event_account": raw.get("account")}
    if raw.get("detail-type") == PARAMETER_EVENT:
        detail = raw.get("detail") or {}
        name = detail.get("name")
        if detail.get("operation") not in PARAMETER_OPERATIONS:
            return Release(outcome="Ignored", reason=f"parameter {name}: {detail.get('operation')} names no new AMI")
        if not isinstance(name, str) or not name:
            raise InputInvalidError("input.detail.name: a Parameter Store Change event names its parameter")
        if raw.get("region") and raw["region"] != region:
            return Release(outcome="Ignored", reason=f"parameter {name} is in {raw['region']}, not {region}")
        return None, None, {"source": "event", "parameter": name}
    try:
        request = DeployRequest.model_validate(raw)
    except ValidationError as err:
        raise InputInvalidError(f"input.{describe_validation_error(err)}") from None
    if not APP_NAME.match(request.app):
        raise InputInvalidError(f"input.app: {request.app!r} is not an app name (use [a-z][a-z0-9-]{{1,30}})")
    return request.app, check_ami_id(request.ami_id), request.model_dump(exclude={"app", "ami_id"})


def account_of(arn: str) -> str:
    """The account of an ARN (the state machine's: this account)."""
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else ""


def find_live(config: AppConfig, weights: dict[str, int], seen: dict[str, dict] | None = None) -> LiveFleet:
    """The live fleet: the state table's pointer (from `seen`, the app's items read already, else read here), else
    the app's tagged group in the slot that holds traffic."""
    return find_live_group(config, weights, seen)[0]


def find_live_group(
    config: AppConfig, weights: dict[str, int], seen: dict[str, dict] | None = None
) -> tuple[LiveFleet, dict]:
    """The live fleet and its group's description (one read of it)."""
    pointer = seen.get("LIVE") if seen is not None else state_table.get(config.app, "LIVE")
    slot = live_slot_from_weights(weights)
    if pointer and slot in (None, pointer["slot"]):
        group = autoscaling.describe_group(pointer["asg_name"])
        if group:
            live = _live_from(group, pointer["slot"], pointer.get("ami_id"), pointer.get("release_id"))
            return live.model_copy(update={"ami_built": pointer.get("ami_built")}), group
    groups = autoscaling.groups_of_app(config.app)
    if slot is not None:
        groups = [g for g in groups if autoscaling.tag_value(g, autoscaling.TAG_SLOT) == slot]
    if len(groups) != 1:
        found = ", ".join(g["AutoScalingGroupName"] for g in groups) or "none"
        raise LiveFleetNotFoundError(
            f"live fleet of {config.app!r}: expected one Auto Scaling group tagged bluegreen:app={config.app}"
            f" in the slot holding traffic ({slot or 'any'}), found {found}"
        )
    group = groups[0]
    group_slot = slot or autoscaling.tag_value(group, autoscaling.TAG_SLOT)
    if group_slot not in ("blue", "green"):
        raise LiveFleetNotFoundError(
            f"live fleet {group['AutoScalingGroupName']}: tag bluegreen:slot must be blue or green"
        )
    ami_id, release_id = (
        autoscaling.tag_value(group, autoscaling.TAG_AMI),
        autoscaling.tag_value(group, autoscaling.TAG_RELEASE),
    )
    return _live_from(group, group_slot, ami_id, release_id), group


def _live_from(group: dict, slot: str, ami_id: str | None, release_id: str | None) -> LiveFleet:
    return LiveFleet(
        slot=slot,
        asg_name=group["AutoScalingGroupName"],
        ami_id=ami_id,
        release_id=release_id,
        min_size=group["MinSize"],
        max_size=group["MaxSize"],
        desired_capacity=group["DesiredCapacity"],
    )


def live_launch_template_version(group: dict) -> str:
    return str(clone.launch_template_spec(group).get("Version") or "$Default")


def live_instance_type(config: AppConfig, group: dict, pointer: dict) -> str:
    """The instance type of the launch template version the live group launches ("": it names none). A numbered
    version never changes: the one the live pointer names (green's last time, which copied it) is not read again."""
    version = live_launch_template_version(group)
    known = clone.launch_template_spec(group).get("LaunchTemplateId") == config.launch_template_id
    if known and version == str(pointer.get("lt_version")) and pointer.get("lt_instance_type") is not None:
        return str(pointer["lt_instance_type"])
    data = ec2.launch_template_data(config.launch_template_id, version)
    return data["LaunchTemplateData"].get("InstanceType") or ""


def check_image(image: dict, group: dict, instance_type: str, known: dict[str, list[str]]) -> dict[str, list[str]]:
    """Refuse an AMI that is not available or that the fleet's instance types cannot run; the architectures of those
    types (`known`: what the live pointer kept of them: an instance type's architectures never change)."""
    if image.get("State") != "available":
        raise AmiInvalidError(
            f"ami_id: {image['ImageId']} is {image.get('State')}, not available"
            " (release it once it is available; its AMI event starts the release by itself)"
        )
    overrides = group.get("MixedInstancesPolicy", {}).get("LaunchTemplate", {}).get("Overrides", [])
    types = sorted({t for t in [instance_type] + [o.get("InstanceType") for o in overrides] if t})
    if any(t not in known for t in types):
        known = ec2.architectures_of(types)
    fits = set.intersection(*(set(known.get(t, [])) for t in types)) if types else set()
    if types and image.get("Architecture") not in fits:
        raise AmiInvalidError(
            f"ami_id: {image['ImageId']} is built for {image.get('Architecture')}, but the fleet runs"
            f" {', '.join(types)} ({'/'.join(sorted(fits)) or 'no common architecture'}):"
            " build the AMI for that architecture, or change the launch template's instance types"
        )
    return {t: known[t] for t in types if t in known}


def prepare(
    raw: dict, *, execution_arn: str, state_machine_arn: str, region: str, now: datetime, scale: float
) -> Release:
    # Back from WaitForAmiToSettle: the state machine keeps its input and puts the previous outcome under "release".
    previous = raw.get("release") if isinstance(raw.get("release"), dict) else {}
    normalised = normalise({k: v for k, v in raw.items() if k != "release"}, region)
    if isinstance(normalised, Release):
        return normalised
    app, ami_id, options = normalised
    settled = previous.get("outcome") == "Settling"  # back from a wait: this pass looks at everything again
    event = options["source"] == "event"
    matched_by = ""
    # Every app's configuration, read once (fresh) when a trigger must be matched against them; an app's own comes from
    # there when they were read, else alone (one read however many apps there are: a release by name).
    all_configs = functools.cache(config_store.load_all)

    @functools.cache
    def own_config(name: str) -> AppConfig:
        read = all_configs() if all_configs.cache_info().currsize else []
        return next((c for c in read if c.app == name), None) or config_store.load(name, max_age=0)

    if options.get("parameter"):
        name = options["parameter"]
        match = sources.match_parameter(name, all_configs())
        if match is None:
            return Release(outcome="Ignored", reason=f"parameter {name} is no app's ami_source.parameter")
        app, matched_by = match.app, match.rule
        ami_id = config_store.golden_ami(name)
        try:
            check_ami_id(ami_id)
        except AmiInvalidError:
            raise AmiInvalidError(
                f"ami_source.parameter: {name} holds {ami_id!r}, not an AMI id: publish the new AMI's id there"
            ) from None
        if settled and previous.get("ami_id") not in (None, ami_id):
            reason = f"parameter {name} names {ami_id} now, not {previous['ami_id']}: its own change event releases it"
            return Release(outcome="Ignored", app=app, ami_id=previous["ami_id"], reason=reason)
    assert ami_id is not None
    if options.get("emergency"):  # only the stack's quarantine machine, for its own case: refused before any change
        check_emergency(app, ami_id, options.get("started_by"), state_machine_arn)
    account = account_of(state_machine_arn)
    try:
        image = ec2.describe_image(ami_id)
    except AmiInvalidError:
        if not event:
            raise
        # This account's AMI is gone (Packer's encrypt_boot deregisters its temporary AMI); a build account's may not
        # be shared here yet (Packer's ami_users shares it after `available`): looked at again, for a bounded time.
        sender = options.get("event_account") or account
        if sender == account:
            reason = f"AMI {ami_id} was deregistered before its release began"
            return Release(outcome="Ignored", ami_id=ami_id, reason=reason)
        return _settle(
            ami_id,
            previous.get("settle_until"),
            now,
            scale,
            f"is not visible in account {account} yet (its owner {sender} shares it after its event?)",
            gave_up=build_accounts.not_visible(ami_id, sender, account),
        )
    if event and image.get("State") != "available":
        return Release(outcome="Ignored", ami_id=ami_id, reason=f"AMI {ami_id} is {image.get('State')}, not available")
    # A backup, or an image of a fleet's own host, is never released by itself (domain/release_eligibility.py); a
    # queued release was checked when it was asked for, the quarantine's swap is onto the live build.
    trusted = options.get("emergency") or options.get("force") or options.get("source") == "queue"
    by_tags = None if trusted else release_eligibility.image_problem(image, None)
    if app is None and not by_tags:
        # Matched before its source instance is described: an AMI that no app takes costs no DescribeInstances.
        match = sources.match_image(image, all_configs())
        if match is None:
            # Waited for only while an app could still take it by a late tag (domain/trigger_filter.py).
            if not trigger_filter.could_be_tagged_late(image, account, all_configs()):
                reason = f"AMI {ami_id} ({image.get('Name')!r}, owner {image.get('OwnerId')}) matches no app's rule"
                return Release(outcome="Ignored", ami_id=ami_id, reason=reason)
            return _settle(ami_id, previous.get("settle_until"), now, scale, "has no bluegreen:app tag or ami_source")
        app, matched_by = match.app, match.rule
    not_a_build = by_tags or (None if trusted else release_eligibility.check(image))
    if not_a_build:
        if event:
            return Release(outcome="Ignored", ami_id=ami_id, reason=f"{not_a_build}: never released by an event")
        raise AmiInvalidError(release_eligibility.refusal(not_a_build))
    assert app is not None
    if not matched_by:
        matched_by = _rule_of_named(app, image, own_config(app))
    # What the state table holds for this app and AMI, in one read: the lock, the live pointer, the AMI's claim.
    seen = state_table.read_many(app, ["LOCK", "LIVE", f"AMI#{ami_id}"])
    if not options.get("emergency"):
        # Before anything that writes (superseded records, the queue): EventBridge delivers at least once, and a
        # redelivered event of a build released before (live, replaced or rolled back) must do nothing at all.
        duplicate = _already_released(ami_id, execution_arn, bool(options.get("retry_failed")), seen)
        if duplicate:
            return duplicate.model_copy(update={"matched_by": matched_by})
    if event and not settled:
        # Every trigger looks again after a short wait before anything starts: a builder's temporary AMI (Packer's
        # encrypt_boot deregisters it once its encrypted copy exists) or a parameter changed twice must do no harm.
        return _settle(ami_id, None, now, scale, "", app=app, matched_by=matched_by)
    built = image.get("CreationDate") or now.isoformat()
    # Fresh: a release started right after `bluegreen app put` must use the configuration just stored.
    try:
        # One that load_all left out (missing, or no longer valid) is read alone, for the error that says why.
        config = own_config(app)
    except AppNotFoundError as missing:
        if not event:  # asked for by name: an error the caller must see
            raise
        # A tag names the app, but nobody configured it (yet, or any more): not this stack's to release.
        return Release(outcome="Ignored", app=app, ami_id=ami_id, matched_by=matched_by, reason=f"{ami_id}: {missing}")
    refused_ami, ami_notes = shared.check(image, account)
    emergency = bool(options.get("emergency"))
    dry_run = bool(options.get("dry_run"))
    source = config.ami_source
    copying = shared.is_shared(image, account) and source and source.copy_shared and not emergency
    if copying:  # a copy reads the AMI's storage, which a launch does not
        refused_ami += shared_ami_access.copy_refusals(image, account)
    if refused_ami and not dry_run:
        raise AmiInvalidError(f"ami_id: {refused_ami[0].detail}")
    if copying:
        if dry_run:
            ami_notes.append(f"copy_shared: {ami_id} would be copied into this account and the copy released")
        else:
            return _copy_shared(app, image, region, matched_by)
    elif shared.is_shared(image, account) and not refused_ami:  # launched as it is: Auto Scaling uses the owner's key
        refused_grant, grant_notes = shared_ami_access.launch_grants(image, account, dry_run)
        refused_ami, ami_notes = refused_ami + refused_grant, ami_notes + grant_notes
        if refused_ami and not dry_run:
            raise AmiInvalidError(f"ami_id: {refused_ami[0].detail}")
    epoch = int(now.timestamp())
    if not emergency and not dry_run:
        # A release in flight may have traffic split between the slots: queue behind it before reading the weights.
        # The queued AMI is validated when it starts.
        waiting = _queue_if_busy(app, ami_id, options["source"], epoch, built, execution_arn, seen=seen)
        if waiting:
            return waiting.model_copy(update={"matched_by": matched_by})
    build_approval = build_accounts.build_account_approval(config, image, account, options["source"])
    if build_approval:
        ami_notes.append(build_approval)
    router = routers.of(config)
    weights = router.weights()
    split = idle_slot = None
    groups = split_release.groups_to_release(config, weights)
    if groups is not None:
        split, idle_slot, live_group = split_release.plan(config, weights, groups, options.get("first_slot"))
        live, clone_source = split_release.half_fleet(app, split, idle_slot, None, ami_id)
    else:
        live, live_group = find_live_group(config, weights, seen)
        clone_source = None
    convert_dns = router.check(live.slot)
    pointer = seen.get("LIVE") or {}
    instance_type = live_instance_type(config, live_group, pointer)
    architectures = check_image(image, live_group, instance_type, pointer.get("type_architectures") or {})

    release = Release(
        split=split,
        clone_source=clone_source,
        app=app,
        ami_id=ami_id,
        ami_built=image.get("CreationDate"),
        execution_arn=execution_arn,
        state_machine_arn=state_machine_arn,
        source=options["source"],
        emergency=emergency,
        dry_run=bool(options.get("dry_run")),
        config=config,
        live=live,
        idle_slot=idle_slot or other_slot(live.slot),
        steps=split_release.steps_for_half(steps_for(config, emergency), split, idle_slot),
        weights=weights,
        convert_dns=convert_dns,
        approval_required=(config.approval.before_traffic or bool(build_approval)) and not emergency,
        matched_by=matched_by,
        ami_notes=ami_notes,
        type_architectures=architectures,
        lt_instance_type=None if split else instance_type,  # a split release's halves may copy other versions
    )
    # An emergency swap (quarantine) redeploys the known-good AMI, usually the live one, onto fresh instances.
    older = _older_than_live(live, built)
    if older and options["source"] in ("event", "queue") and not emergency:
        state_table.record_superseded(app, ami_id, live.ami_id or "", older, now.isoformat(), options["source"])
        return release.model_copy(update={"outcome": "Superseded", "reason": f"{ami_id} was built {older}"})
    if older:
        release.reason = f"{ami_id} was built {older}: released anyway, because it was asked for by name"
    if live.ami_id == ami_id and not emergency:
        return release.model_copy(update={"outcome": "AlreadyLive", "reason": f"{ami_id} is live in {live.asg_name}"})
    retry_failed = bool(options.get("retry_failed"))
    holder = seen.get("LOCK") or {}
    # A Prepare retried after it timed out finds the lock its first attempt took: it goes on as that release.
    mine = holder.get("release_id") if holder.get("execution_arn") == execution_arn else None

    delay = router.deregistration_delay(config.slots[live.slot].target_group_arns)
    release.waits = plan_waits(config, scale=scale, deregistration_delay=delay, emergency=emergency)
    release.release_id = mine or new_release_id(now)
    release.green_asg = clone.green_name(app, release.idle_slot, release.release_id)
    release.expected_duration_seconds = expected_duration(release.waits, release.steps, release.approval_required)
    if split:  # each half has its own health wait, steps and drain
        release.expected_duration_seconds *= len(split.order)
    # The plan is made before anything changes: what green cannot copy faithfully refuses the release here.
    release.clone_reads = read_for_clone(release, live_group, router)
    if not split:  # the live group is the old one: what the commit and the clean-up act on, read once here
        release.old_schedules, release.old_alarms = _own_schedules_and_alarms(live.asg_name, release.clone_reads)
    release.clone_plan, _, _ = _clone_params(release, release.clone_reads, lt_version="<new>", now=now)
    release.clone_plan.refused.extend(refused_ami)
    refused = "; ".join(f"{i.what} {i.detail}" for i in release.clone_plan.refused)
    if release.dry_run:
        reason = f"dry run: nothing was changed; the release would be refused: {refused}" if refused else ""
        return release.model_copy(update={"outcome": "DryRun", "reason": reason or "dry run: nothing was changed"})
    if refused:
        raise CloneUnsupportedError(f"live group {live.asg_name} cannot be cloned faithfully: {refused}")

    lock_fields = {
        "ami_id": ami_id,
        "execution_arn": execution_arn,
        "phase": "Prepare",
        "green_asg": release.green_asg,
    }
    record = {
        "kind": "release",
        "release_id": release.release_id,
        "ami_id": ami_id,
        "slot": release.idle_slot,
        "status": "in_flight",
        "started_at": now.isoformat(),
        "execution_arn": execution_arn,
        "source": options["source"],
        "previous": live.model_dump(mode="json"),
        **({"split": split.model_dump(mode="json")} if split else {}),
    }
    claim = None if emergency else ami_id

    def begin() -> str:
        # Lock, claim, execution pointer and release record: one transaction, so a refusal leaves nothing behind.
        lease = release.waits.lease_seconds
        return state_table.begin_release(
            app, release.release_id or "", lock_fields, epoch, lease, record, claim, retry_failed
        )

    refusal = begin()
    if refusal == "lock":
        # Taken since we looked: queue behind it (or, if it has ended meanwhile, take the lock after all).
        waiting = _queue_if_busy(app, ami_id, options["source"], epoch, built, execution_arn, emergency)
        if waiting:
            return release.model_copy(update={"outcome": waiting.outcome, "reason": waiting.reason})
        refusal = begin()
        if refusal == "lock":
            return release.model_copy(update={"outcome": "Queued", "reason": f"another release of {app} is in flight"})
    if refusal == "claim":
        return release.model_copy(update={"outcome": "Duplicate", "reason": f"{ami_id} was claimed meanwhile"})
    if convert_dns:
        # After the lock, so no other release reads the weights half-way; no traffic moves (live stays at 100).
        try:
            router.convert(live.slot)
        except Exception:
            state_table.release_lock(app, release.release_id or "")
            raise
    return release


def _settle(
    ami_id: str,
    settle_until: str | None,
    now: datetime,
    scale: float,
    missing: str,
    app: str | None = None,
    matched_by: str = "",
    gave_up: str | None = None,
) -> Release:
    """Look at an event's AMI again after a wait, until the deadline, and only then release it.

    `missing` says what the AMI lacks (no rule matches it yet: Packer's amazon-ebs builder tags an AMI only after it is
    available; not shared here yet: Packer's ami_users shares it after that); past the deadline it is ignored, saying
    `gave_up` (or `missing`). Without `missing`, the AMI matched: the next look re-checks that it
    still exists, is available and matches, before anything changes.
    """
    deadline = settle_until or _after(now, max(1, scaled(budget.SETTLE_SECONDS, scale)))
    if missing and _past(now, deadline):
        return Release(outcome="Ignored", ami_id=ami_id, reason=gave_up or f"AMI {ami_id} {missing}")
    poll = max(1, scaled(budget.paced(budget.SETTLE_SECONDS, 0, "settle"), scale))
    reason = (
        f"AMI {ami_id} {missing}: looking again until {deadline}"
        if missing
        else f"AMI {ami_id} matched {app} ({matched_by}): looking again in {poll}s before anything starts"
    )
    return Release(
        outcome="Settling",
        app=app,
        ami_id=ami_id,
        settle_until=deadline,
        matched_by=matched_by,
        waits=Waits(settle_poll_seconds=poll),
        reason=reason,
    )


def _rule_of_named(app: str, image: dict, config: AppConfig) -> str:
    """What a release by name says of the AMI against the app's own rules (informational: the operator named it)."""
    try:
        match = sources.match_image(image, [config])
    except AmiSourceConflictError as err:
        return f"named by hand; {err}"
    if match is None:
        return f"named by hand (no rule of {app} matches {image['ImageId']})"
    return f"named by hand; matches {match.rule}"


def _copy_shared(app: str, image: dict, region: str, matched_by: str) -> Release:
    """Copy a shared AMI into this account (once), tagged for the app; the copy's own `available` event releases it,
    through this same Prepare (the tag matches), so the copy gets the same dedupe and newest-build rules."""
    source_ami = image["ImageId"]
    existing = ec2.copy_of(source_ami)
    if existing:
        reason = f"{source_ami} was copied already as {existing['ImageId']} ({existing.get('State')})"
        return Release(outcome="Copied", app=app, ami_id=existing["ImageId"], matched_by=matched_by, reason=reason)
    name = f"{image.get('Name') or source_ami}-{source_ami}"
    tags = {sources.TAG_RELEASE: app, ec2.TAG_SOURCE_AMI: source_ami}
    copy = ec2.copy_image(source_ami, region, name, tags)
    reason = f"{source_ami} (owner {image.get('OwnerId')}) copied as {copy}: the copy is released once it is available"
    return Release(outcome="Copied", app=app, ami_id=copy, matched_by=matched_by, reason=reason)


def _queue_if_busy(
    app: str,
    ami_id: str,
    source: str,
    epoch: int,
    built: str,
    execution_arn: str,
    emergency: bool = False,
    seen: dict[str, dict] | None = None,
) -> Release | None:
    """While another release holds the app's lock: Duplicate for its own AMI, else Queued, unless a later build is
    queued already (then Superseded: EventBridge does not deliver in order, so the newest build wins, not the last
    event). The queue keeps one AMI.

    None when the lock is free or ours (a retried Prepare), including when the release in flight ended between the
    checks (then this AMI is taken off the queue again, so the caller goes on with it; nobody else would start it).
    """
    holder = seen.get("LOCK") if seen is not None else state_table.get(app, "LOCK")
    if not holder or holder.get("expires_at", 0) < epoch or holder.get("execution_arn") == execution_arn:
        return None
    if holder.get("ami_id") == ami_id and not emergency:
        # The same AMI event delivered twice (EventBridge delivers at least once): one release is enough.
        reason = f"{ami_id} is being released right now ({holder.get('release_id')})"
        return Release(outcome="Duplicate", app=app, ami_id=ami_id, reason=reason)
    at = datetime.fromtimestamp(epoch, UTC).isoformat()
    queued, other = state_table.queue_newest(
        app, {"ami_id": ami_id, "queued_at": epoch, "source": source, "created_at": built}
    )
    if not queued:
        other = other or {}
        if other.get("ami_id") == ami_id:
            return Release(outcome="Duplicate", app=app, ami_id=ami_id, reason=f"{ami_id} is queued already")
        why = f"a later build is queued: {other.get('ami_id')} (built {other.get('created_at')}, this {built})"
        state_table.record_superseded(app, ami_id, other.get("ami_id", ""), why, at, source)
        return Release(outcome="Superseded", app=app, ami_id=ami_id, reason=f"{ami_id} superseded: {why}")
    if other and other.get("ami_id") != ami_id:
        why = f"a later build was queued in its place: {ami_id} (built {built}, this {other.get('created_at')})"
        state_table.record_superseded(app, other["ami_id"], ami_id, why, at, other.get("source", ""))
    holder = state_table.get(app, "LOCK")
    if holder and holder.get("expires_at", 0) >= epoch:
        reason = f"release {holder.get('release_id')} of {app} is in flight: {ami_id} starts after it"
        return Release(outcome="Queued", app=app, ami_id=ami_id, reason=reason)
    state_table.unqueue(app, ami_id)
    return None


def _already_released(ami_id: str, execution_arn: str, retry_failed: bool, seen: dict[str, dict]) -> Release | None:
    """Duplicate when this AMI has a claim of another release than this execution's own (a Prepare retried after a
    timeout claims again); a failed one is released again only with --retry-failed."""
    claim = seen.get(f"AMI#{ami_id}")
    if not claim:
        return None
    app = claim["pk"].removeprefix("APP#")
    holder = seen.get("LOCK") or {}
    mine = holder.get("release_id") if holder.get("execution_arn") == execution_arn else None
    status = claim.get("status")
    if claim.get("release_id") == mine or (retry_failed and status == "failed"):
        return None
    reason = f"{ami_id} was already released (release {claim.get('release_id')}, {status})"
    if status == "failed":
        reason += f": release it again with `bluegreen deploy {app} --ami {ami_id} --retry-failed`"
    return Release(outcome="Duplicate", app=app, ami_id=ami_id, reason=reason)


def _older_than_live(live: LiveFleet, built: str) -> str:
    """'before the live AMI <id> (...)' when this build is older than the live one, else ''."""
    if not live.ami_id:
        return ""
    try:
        # Recorded in the live pointer when bluegreen released it; a fleet it never released is looked up.
        live_built = live.ami_built or ec2.describe_image(live.ami_id).get("CreationDate")
    except AmiInvalidError:  # the live AMI was deregistered since: nothing to compare with
        return ""
    if live_built and built < live_built:
        return f"{built}, before the live AMI {live.ami_id} ({live_built})"
    return ""


def read_for_clone(release: Release, live_group: dict, router: routers.Router | None = None) -> dict[str, Any]:
    """Everything the clone is planned from besides the release itself, read once (Prepare) for plan and create.
    `router`: Prepare's, which may have read the target groups already."""
    config, live = release.config, release.clone_source or release.live
    assert config and live and release.idle_slot
    extras: dict[str, Any] = autoscaling.group_extras(live_group)
    extras["alarms"] = cloudwatch.describe_alarms(
        [a["AlarmName"] for p in extras["scaling_policies"] for a in p.get("Alarms", [])]
    )
    router = router or routers.of(config)
    # An ALB app's idle target groups join its load balancer when the release converts or shifts, if not before.
    # Only a policy on ALBRequestCountPerTarget names them (clone._retarget_policy).
    green_target_groups = config.slots[release.idle_slot].target_group_arns
    labels = {}
    if any(_resource_label(p) for p in extras["scaling_policies"]):
        labels = {arn: router.load_balancer_label(arn) or router.balancer_label() for arn in green_target_groups}
    # The template's default and latest numbers matter only to pin a group that launches `$Default` or `$Latest`
    # (a split release pins the other slot's group too).
    named = str(clone.launch_template_spec(live_group).get("Version") or "$Default")
    versions = ec2.launch_template_versions(config.launch_template_id) if release.split or not named.isdigit() else None
    return {
        "live_group": {k: v for k, v in live_group.items() if k != "Instances"},  # instances are not cloned
        "extras": extras,
        "labels": labels,
        "versions": list(versions) if versions else [None, None],
    }


def _resource_label(policy: dict) -> str | None:
    return policy.get("TargetTrackingConfiguration", {}).get("PredefinedMetricSpecification", {}).get("ResourceLabel")


def _own_schedules_and_alarms(group: str, reads: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The group's scheduled actions, and the alarms bluegreen made for it (named by clone.alarm_prefixes, each the
    trigger of one of its policies), from Prepare's reads."""
    extras, prefixes = reads["extras"], clone.alarm_prefixes(group)
    schedules = [action["ScheduledActionName"] for action in extras["scheduled_actions"]]
    alarms = {a["AlarmName"] for p in extras["scaling_policies"] for a in p.get("Alarms", [])}
    return schedules, sorted(a for a in alarms if a.startswith(prefixes))


def _clone_params(
    release: Release, reads: dict[str, Any], lt_version: int | str, now: datetime
) -> tuple[ClonePlan, dict, dict]:
    config, live = release.config, release.clone_source or release.live
    assert config and live and release.idle_slot and release.release_id and release.ami_id
    live_group = reads["live_group"]
    green_target_groups = config.slots[release.idle_slot].target_group_arns
    router = routers.of(config)
    plan, params, after = clone.plan_clone(
        live_group,
        reads["extras"],
        name=clone.green_name(config.app, release.idle_slot, release.release_id),
        launch_template_id=config.launch_template_id,
        lt_version=lt_version,
        target_group_arns=green_target_groups,
        tags=clone.release_tags(config.app, release.idle_slot, release.release_id, release.ami_id),
        live_target_group_arns=config.slots[live.slot].target_group_arns,
        load_balancer_labels=reads["labels"],
        now=now,
    )
    # Pin green's minimum at live's capacity until traffic is all on green, so scaling cannot shrink it early.
    params["MinSize"] = max(params.get("MinSize", 0), live.desired_capacity)
    params["DesiredCapacity"] = live.desired_capacity
    until = "the release's end" if release.split else "100 %"
    plan.adjusted.append(
        clone.PlanItem(what="MinSize", detail=f"pinned at {live.desired_capacity} until {until}, then {live.min_size}")
    )
    if release.split:
        params["MaxSize"] = max(params.get("MaxSize", 0), live.max_size)
    if release.convert_dns:
        what = "DNS record" if config.router == "route53" else "Forward actions"
        plan.adjusted.append(clone.PlanItem(what=what, detail=router.conversion(live.slot)))
    named, pin = clone.pinned_version(live_group, *reads["versions"])
    if pin is not None:
        plan.adjusted.append(_pin_item(live.asg_name, named, pin))
    return plan, params, after


def _pin_item(group: str, named: str, pin: int) -> clone.PlanItem:
    return clone.PlanItem(
        what="Live LaunchTemplate version",
        detail=f"{group} launched {named}, version {pin}: pinned to {pin} first, so green's new version never"
        " changes what live launches",
    )


# --- Create green ----------------------------------------------------------------------------------------------


def create_green(release: Release, now: datetime) -> Release:
    """Green's launch template version and group. No gate: Prepare's transaction took the lock (with its lease, and no
    abort yet to read) a moment ago; a split release's second half comes from MoveSplitFleet's gate."""
    assert release.config and release.live and release.green_asg and release.idle_slot
    # The smoke tests reach green through the app's own load balancer, if it has a test route (ALB router).
    routers.of(release.config).point_test_route(release.idle_slot)
    # Prepare's reads, moments old (a release from before they were carried reads them again).
    source = release.clone_source or release.live
    reads = release.clone_reads or read_for_clone(release, autoscaling.require_group(source.asg_name))
    pinned = None
    if release.lt_version is None:
        named, pin = clone.pinned_version(reads["live_group"], *reads["versions"])
        if pin is not None:
            pinned = _pin_item(source.asg_name, named, pin)
            # A new version would change what `$Latest` means for live: live keeps the version it launches now.
            autoscaling.pin_launch_template_version(reads["live_group"], pin)
            reads = {**reads, "live_group": autoscaling.require_group(source.asg_name)}
        if release.split:  # the other slot serves (and surges) on through the release: it keeps its version too
            _pin_others(release, source.asg_name, reads["versions"])
        # A retried task sends the same request with the same token: EC2 returns the version its first attempt made.
        release.lt_version = ec2.create_launch_template_version(
            release.config.launch_template_id,
            live_launch_template_version(reads["live_group"]),
            release.ami_id or "",
            note=version_note(release),
            token=f"bluegreen-{release.release_id}",
        )
    plan, params, after = _clone_params(release, reads, release.lt_version, now)
    if pinned:
        plan.adjusted.append(pinned)
    autoscaling.create_group(params)
    policy_arns = autoscaling.apply_extras(release.green_asg, after)
    for alarm in after["alarms"]:
        cloudwatch.put_alarm(clone.with_policy_arns(alarm, policy_arns))
    release.clone_plan = plan
    release.clone_reads = None
    release.healthy_by = (now + timedelta(seconds=release.waits.health_timeout_seconds)).isoformat()
    return release


def version_note(release: Release) -> str:
    """The description of the launch template version a release makes: how a rollback finds it when the task that
    made it failed before saying its number."""
    return f"bluegreen {release.app} release {release.release_id}"


def _pin_others(release: Release, source: str, versions: list[int]) -> None:
    assert release.split and release.config
    others = [name for name in split_release.old_groups(release) if name != source]
    for group in autoscaling.describe_groups(others):
        if clone.launch_template_spec(group).get("LaunchTemplateId") not in (None, release.config.launch_template_id):
            continue  # another template: this release's new version changes nothing for it
        _, pin = clone.pinned_version(group, *versions)
        if pin is not None:
            autoscaling.pin_launch_template_version(group, pin)


# --- Wait healthy ----------------------------------------------------------------------------------------------


def fleet_health(asg_name: str, target_group_arns: list[str]) -> HealthReport:
    group = autoscaling.require_group(asg_name)
    ids = [i["InstanceId"] for i in group.get("Instances", [])]
    return health.evaluate(group, {arn: elbv2.target_states(arn, ids) for arn in target_group_arns})


def check_green_health(release: Release, now: datetime) -> Release:
    assert release.config and release.idle_slot and release.green_asg
    report = fleet_health(release.green_asg, release.config.slots[release.idle_slot].target_group_arns)
    release.health = report
    if report.healthy:  # straight on to the smoke tests, whose gate renews the lease and reads abort and rollback
        return release
    # While the release waits, one write per poll: the gate renews the lease, reads abort and rollback requests and
    # records the health counts for `watch`.
    gate(release, now, "WaitHealthy", health=_health_counts(report))
    # A launch Auto Scaling could not make ends the release now, saying why.
    green_launch.check(release.green_asg, autoscaling.scaling_activities(release.green_asg))
    if release.healthy_by and now >= datetime.fromisoformat(release.healthy_by):
        raise GreenUnhealthyError(f"{release.green_asg} not healthy in time: {health.describe_unhealthy(report)}")
    return release


def _health_counts(report: HealthReport | None) -> str | None:
    return f"{report.healthy_targets}/{report.desired}" if report else None


# --- Smoke tests -----------------------------------------------------------------------------------------------


def run_smoke_tests(release: Release, now: datetime, get: smoke.HttpGet = smoke.http_request) -> Release:
    assert release.config and release.idle_slot
    router = routers.of(release.config)
    # Proof first: through a test route, requests reach the idle slot only if the route leads there alone.
    problem = router.test_route_problem(release.idle_slot)
    if problem:
        raise SmokeTestFailedError(f"{problem} (no smoke request was sent)")
    base_url, headers = router.smoke_target(release.idle_slot)
    failures = smoke.run(
        release.config.smoke_tests,
        base_url,
        retry_seconds=release.waits.smoke_retry_seconds,
        get=get,
        headers=headers,
    )
    if failures:
        raise SmokeTestFailedError("; ".join(failures))
    # The gate comes after the smoke requests (they change nothing): it renews the lease, reads abort and rollback
    # requests, records the health counts and, unless an approval comes first, is the first traffic step's gate too:
    # its phase, and the weights that step sets (a rollback of an ALB step cut half way reads them).
    if release.approval_required:
        gate(release, now, "SmokeTest", health=_health_counts(release.health))
    else:
        weights = traffic_split(release.idle_slot, release.steps[release.step_index])
        gate(release, now, "ShiftTraffic", health=_health_counts(release.health), weights=weights)
    return release


# --- Approval --------------------------------------------------------------------------------------------------


def request_approval(release: Release, task_token: str, now: datetime, topic: str | None) -> dict:
    gate(release, now, "AwaitingApproval", task_token=task_token)
    assert release.config
    why = next((n for n in release.ami_notes if n.startswith(build_accounts.APPROVAL_NOTE)), None)
    notify.publish(
        [topic, release.config.notify_topic_arn],
        f"bluegreen: {release.app} release {release.release_id} awaits approval",
        {
            "app": release.app,
            "release_id": release.release_id,
            "ami_id": release.ami_id,
            "approve": f"bluegreen approve {release.app}",
            "reject": f"bluegreen reject {release.app}",
            **({"canary": release.canary.summary} if release.canary else {}),  # asked because the judge had no data
            **({"why": why} if why else {}),  # asked because a build account made the AMI
        },
    )
    return {"requested": True}


# --- Shift traffic ---------------------------------------------------------------------------------------------


def shift_traffic(release: Release, now: datetime) -> Release:
    assert release.config and release.idle_slot
    percent = release.steps[release.step_index]
    weights = traffic_split(release.idle_slot, percent)
    first = release.step_index == 0
    if (first and release.approval_required) or (
        not first and (not release.traffic or release.traffic.verdict != "ok")
    ):
        # After an approval (or a step the canary judge asked a human for), this step renews the lease, reads abort and
        # rollback requests, and records the weights it sets (a rollback of an ALB step cut half way reads them). Every
        # other step comes straight from a gate that did all of that a moment ago: the first from the smoke tests'
        # (which recorded these weights), the others from a passing CheckAlarms. The lease it renewed still fences this
        # change (no other release can take a lock whose lease runs), and its abort read is this step's.
        gate(release, now, "ShiftTraffic", weights=weights)
    router = routers.of(release.config)
    # All traffic on green: a router that keeps the live record beside the weights (Route 53's TXT) changes it with them.
    live = _live_text(release) if percent == 100 and not release.split and router.publishes_with_weights else None
    # Route 53: one change batch, in sync within about a minute; ALB: every listener and rule, in effect at once.
    change_id = router.set_weights(weights, live=live)
    release.weights = weights
    release.step_index += 1
    release.traffic = TrafficProgress(
        change_id=change_id,
        in_sync=router.in_sync(change_id),
        percent=percent,
        sync_by=_after(now, release.waits.dns_sync_seconds),
    )
    return release


def check_dns_change(release: Release, now: datetime) -> Release:
    assert release.config and release.traffic
    release.traffic.in_sync = routers.of(release.config).in_sync(release.traffic.change_id)
    if not release.traffic.in_sync and _past(now, release.traffic.sync_by):
        raise DnsChangeTimeoutError(
            f"Route 53 change {release.traffic.change_id} ({release.traffic.percent} % on {release.idle_slot}) was not"
            f" INSYNC by {release.traffic.sync_by}"
        )
    return release


def _after(now: datetime, seconds: int) -> str:
    return (now + timedelta(seconds=seconds)).isoformat()


def _past(now: datetime, deadline: str | None) -> bool:
    return deadline is not None and now >= datetime.fromisoformat(deadline)


def check_alarms(release: Release, now: datetime) -> Release:
    gate(release, now, "Bake")
    assert release.config and release.traffic
    states = cloudwatch.alarm_states(release.config.traffic.alarm_names)
    # Waits on INSUFFICIENT_DATA count in whole bakes (a canary judge looks several times per bake).
    waits = release.traffic.alarm_waits // max(1, release.waits.bake_checks)
    verdict, detail = gates.judge_alarms(states, release.config.traffic.insufficient_data, waits)
    if verdict == "fail":
        raise AlarmTriggeredError(f"at {release.traffic.percent} % on {release.idle_slot}: {detail}")
    release.traffic.alarm_waits += verdict == "wait"
    if verdict == "ok":  # the canary judge, if the app has one (its own module); Fail raises
        verdict = canary_judge.look(release, now)
    release.traffic.verdict = verdict
    release.traffic.done = verdict == "ok" and release.step_index >= len(release.steps)
    return release


# --- Drain and terminate old -----------------------------------------------------------------------------------


def hold_keep_window(release: Release, now: datetime) -> Release:
    """After drain: blue stays whole at zero weight; `bluegreen rollback` may flip back until the window ends.

    Polled (every `poll_seconds`) rather than one long wait, so an operator's rollback or abort acts at once.
    """
    if release.keep_until is None:
        release.keep_until = (now + timedelta(seconds=release.waits.keep_seconds)).isoformat()
    gate(release, now, "KeepWindow", keep_until=release.keep_until)
    release.keep_window_over = now >= datetime.fromisoformat(release.keep_until)
    return release


def commit_release(release: Release, now: datetime) -> Release:
    """The point of no return: green becomes live, its minimum unpinned, and blue is scaled in."""
    if release.split:
        return split_release.commit(release, now)
    assert release.config and release.live and release.green_asg and release.idle_slot
    # The gate before the point of no return is the pointer's own transaction: abort or rollback asked, nothing changes.
    go_live(release, now, "Drain", live_pointer(release, release.idle_slot, release.green_asg, now))
    # ALB: the SSM parameter /bluegreen/live/<app>. Route 53's TXT record `_bluegreen.<record name>` changed with the
    # last step's weights (a rollback since would have taken it back).
    router = routers.of(release.config)
    if not router.publishes_with_weights:
        router.publish_live(_live_text(release))
    autoscaling.set_min_size(release.green_asg, release.live.min_size)
    # Nothing may bring the old fleet back: its scheduled actions (Prepare read them) could raise its capacity again.
    # Scale-in protection is lifted by CheckOldDrained, which reads the group's instances anyway.
    autoscaling.stop_scaling(release.live.asg_name, release.old_schedules)
    autoscaling.set_capacity(release.live.asg_name, min_size=0, max_size=0, desired=0)
    release.committed = True
    release.old_drain_by = _after(now, release.waits.old_drain_seconds)
    return release


def check_old_drained(release: Release, now: datetime) -> Release:
    """Drained when no instance is left; past the deadline the group is force-deleted with what remains."""
    assert release.live
    names = split_release.old_groups(release) if release.split else [release.live.asg_name]
    groups = autoscaling.describe_groups(names)
    for group in groups:
        # Scale-in protection (often copied from a group setting) keeps instances through the scale-in: lifted, and the
        # group asked to be empty again, so Auto Scaling ends them now.
        if autoscaling.lift_protection(group):
            autoscaling.set_capacity(group["AutoScalingGroupName"], min_size=0, max_size=0, desired=0)
    remaining = sum(len(g.get("Instances", [])) for g in groups)
    release.old_remaining = remaining
    release.old_drained = remaining == 0 or _past(now, release.old_drain_by)
    return release


def delete_old_group(release: Release, now: datetime) -> Release:
    assert release.live
    release.delete_by = release.delete_by or _after(now, release.waits.group_delete_seconds)
    names = split_release.old_groups(release) if release.split else [release.live.asg_name]
    # CheckOldDrained has just seen them empty (unless its drain deadline passed): no quarantined instance to detach.
    gone = [autoscaling.delete_group(name, empty=release.old_remaining == 0) for name in names]
    release.old_gone = all(gone)
    if not release.old_gone and _past(now, release.delete_by):
        left = ", ".join(name for name, done in zip(names, gone, strict=True) if not done)
        raise GroupDeletionTimeoutError(f"{left} still exists at {release.delete_by}")
    if release.old_gone and release.old_alarms is not None:  # Prepare read them off the old group's policies
        cloudwatch.delete_alarms(release.old_alarms)
    elif release.old_gone:
        cloudwatch.delete_alarms_with_prefix(tuple(p for name in names for p in clone.alarm_prefixes(name)))
    return release


def complete_release(release: Release, now: datetime, topic: str | None) -> Release:
    assert release.config and release.app and release.release_id
    asg = ",".join(split_release.new_groups(release).values()) if release.split else release.green_asg
    record = {"status": "succeeded", "finished_at": now.isoformat(), "asg": asg}
    if release.split:
        record["split_moves"] = release.split.moves
        record["peak_instances"] = release.split.peak_instances
    previous = (
        ",".join(split_release.old_groups(release)) if release.split else (release.live and release.live.asg_name)
    )
    _finish(release, topic, "succeeded", record, None, {"asg": release.green_asg, "previous": previous})
    return release


def _finish(
    release: Release, topic: str | None, status: str, record: dict, ami: dict | None, detail: dict, headline: str = ""
) -> None:
    """Record the end, tell people (once per outcome, even if run twice), free the lock and start the queued release
    if any."""
    assert release.app and release.release_id and release.config
    before = state_table.record_end(release.app, release.release_id, record)
    # A task retried after its first run finished (and then timed out) must not tell people twice; one whose first run
    # failed between telling and freeing tells them again (at least once).
    if before.get("notified") != status:
        notify.publish(
            [topic, release.config.notify_topic_arn],
            f"bluegreen: {release.app} release {release.release_id} {headline or status}",
            {
                "app": release.app,
                "release_id": release.release_id,
                "ami_id": release.ami_id,
                "status": status,
                **detail,
            },
        )
    if state_table.free_release(release.app, release.release_id, release.execution_arn, status, ami):
        start_queued(release)


def start_queued(release: Release, sfn: Any = None) -> str | None:
    queued = state_table.pop_queue(release.app or "")
    if not queued or not release.state_machine_arn:
        return None
    started = (sfn or client("stepfunctions")).start_execution(
        stateMachineArn=release.state_machine_arn,
        input=json.dumps({"app": release.app, "ami_id": queued["ami_id"], "source": "queue"}),
    )
    return started["executionArn"]


# --- Rollback --------------------------------------------------------------------------------------------------


def rollback_traffic(release: Release, now: datetime) -> Release:
    """All traffic back on the previous fleet, unless green was already committed (then finish forward)."""
    assert release.config and release.live and release.app
    pointer = state_table.get(release.app, "LIVE") or {}
    release.committed = release.committed or pointer.get("release_id") == release.release_id
    if release.split:  # the split fleet's planner brings every group back (RestoreSplitFleet)
        return split_release.begin_back(release)
    router = routers.of(release.config)
    splits = [weights for _, weights in router.splits()]
    keep_slot = release.idle_slot if release.committed else release.live.slot
    wanted = {keep_slot: 100, other_slot(keep_slot): 0}
    live_back = _live_back(router, release) if not release.committed else {}
    if any(weights != wanted for weights in splits) or live_back:
        # No put back here: every listener and rule already changed is one more on the way back (a retry does the rest).
        router.set_weights(wanted, put_back=False, **live_back)
    idle_weight = max(weights.get(release.idle_slot or "", 0) for weights in splits)
    had_traffic = idle_weight > 0 or release.step_index > 0
    if router.changes_span_calls and not had_traffic:
        # A step that failed half way was put back, but the idle slot may have served for a moment: it drains too.
        lock = state_table.get(release.app, "LOCK") or {}
        attempted = lock.get("weights") if lock.get("release_id") == release.release_id else None
        had_traffic = bool((attempted or {}).get(release.idle_slot or "", 0))
    # I2: a group that served traffic keeps its instances for the drain time after its weight reaches zero.
    release.rollback_drain_seconds = release.waits.drain_seconds if had_traffic and not release.committed else 0
    release.weights = wanted
    return release


def _live_text(release: Release) -> str:
    assert release.idle_slot and release.green_asg
    return live_text(release.release_id, release.ami_id, release.idle_slot, release.green_asg)


def _live_back(router: routers.Router, release: Release) -> dict[str, Any]:
    """The live record back to the previous fleet, when the last step left it naming this release (read on every
    rollback: a reconciled release's step is not known, and an operator's rollback may have moved the weights back
    already). The previous fleet's own text if bluegreen released it (it wrote one then), else the record is deleted
    (there was none)."""
    assert release.live
    if not router.publishes_with_weights or not release.green_asg:
        return {}
    if router.published_live() != _live_text(release):
        return {}
    live = release.live
    if live.release_id:
        return {"live": live_text(live.release_id, live.ami_id, live.slot, live.asg_name)}
    return {"unpublish": True}


def remove_failed_group(release: Release, now: datetime) -> Release:
    """Delete the group that is not live: green after a rollback, or the old fleet after a committed release."""
    assert release.config and release.live and release.app and release.release_id and release.idle_slot
    if release.split:  # rolled back: the planner deleted the new groups; finished forward: the old ones go
        doomed = split_release.old_groups(release) if release.committed else []
    elif release.committed:
        doomed = [release.live.asg_name]
    else:
        doomed = [clone.green_name(release.app, release.idle_slot, release.release_id)]
    release.delete_by = release.delete_by or _after(now, release.waits.group_delete_seconds)
    release.old_gone = all([autoscaling.delete_group(name) for name in doomed])
    if not release.old_gone and _past(now, release.delete_by):
        raise RollbackIncompleteError(f"{', '.join(doomed)} still exists at {release.delete_by}: delete it by hand")
    if release.old_gone and not release.committed and release.lt_version is None and release.ami_id:
        # CreateGreenGroup failed (or its execution died) after making the version, before it said its number.
        release.lt_version = ec2.version_described(
            release.config.launch_template_id, release.ami_id, version_note(release)
        )
    if release.old_gone and doomed:
        cloudwatch.delete_alarms_with_prefix(tuple(p for name in doomed for p in clone.alarm_prefixes(name)))
    if release.old_gone and not release.committed and release.lt_version is not None:
        kept = ec2.delete_launch_template_version(release.config.launch_template_id, release.lt_version)
        if kept:  # someone made green's version the template's default: AWS keeps it, and so does the record
            release.reason = f"launch template version {release.lt_version} kept: {kept}"
    return release


def record_failure(release: Release, error: dict, now: datetime, topic: str | None) -> Release:
    """Rolled back, or (after the commit) finished forward: green is live, so the release succeeded after all."""
    assert release.app and release.release_id
    name, cause = error.get("Error", "States.Unknown"), _cause_text(error.get("Cause", ""))
    status = "succeeded" if release.committed else "rolled_back"
    record = {
        "status": status,
        "error": name,
        "cause": cause[:4000],
        "finished_at": now.isoformat(),
        "finished_forward": release.committed or None,
        "asg": release.green_asg if release.committed else None,
    }
    failed_claim = not release.committed and release.ami_id and not release.emergency
    ami = {"ami_id": release.ami_id, "status": "failed", "error": name} if failed_claim else None
    headline = f"{status} (finished forward after {name})" if release.committed else status
    _finish(release, topic, status, record, ami, {"error": name, "cause": cause[:1000]}, headline)
    return release


def _cause_text(cause: str) -> str:
    """Step Functions wraps a Lambda error as JSON text; keep its message."""
    try:
        parsed = json.loads(cause)
    except (TypeError, ValueError):
        return str(cause)
    return parsed.get("errorMessage", cause) if isinstance(parsed, dict) else str(cause)
