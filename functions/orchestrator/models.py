"""The typed state that flows between the deploy state machine's tasks. Field names are stable: the ASL reads them."""

# No `from __future__ import annotations`: pydantic would evaluate each field's annotation from a string on
# every cold start (a tenth of a handler's import, measured by bluegreen.proof.cold_start).
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from orchestrator.config import AppConfig

Outcome = Literal[
    "Proceed",
    "Ignored",
    "Settling",
    "AlreadyLive",
    "Duplicate",
    "Queued",
    "Superseded",
    "DryRun",
    "Reconcile",
    "Copied",
]
SlotName = Literal["blue", "green"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class DeployRequest(BaseModel):
    """A release asked for by name (CLI, console, `aws stepfunctions start-execution`, the queue, a quarantine)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    app: str
    ami_id: str
    dry_run: bool = False
    retry_failed: bool = False
    force: bool = False  # release an AMI that looks like a backup or an image of a fleet's own host, knowingly
    emergency: bool = False
    source: Literal["manual", "queue", "quarantine"] = "manual"
    first_slot: SlotName | None = None  # a split app's half to replace first (a quarantine's: its instance's half)
    # The parent execution, as Step Functions links a nested execution (the quarantine's SwapFleet passes it): only
    # it may start an emergency release (orchestrator.domain.emergency).
    started_by: str | None = Field(default=None, alias="AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID")


class Waits(_Model):
    """Every wait and deadline of a release, in seconds, already scaled (the twin runs them fast).

    Each loop has its own poll interval: a long window polls less often (orchestrator.budget).
    """

    poll_seconds: int = 15  # the green health loop
    health_timeout_seconds: int = 900
    settle_poll_seconds: int = 30
    settle_seconds: int = 600
    dns_poll_seconds: int = 40
    dns_sync_seconds: int = 600
    bake_seconds: int = 300
    # WaitForBake waits this long: the whole bake, or (with a canary judge) the time between two of its looks.
    bake_check_seconds: int = -1
    bake_checks: int = 1  # looks per bake
    scale: float = 1.0  # every wait is the AWS one times this (the twin runs scaled down)
    drain_seconds: int = 360
    keep_seconds: int = 0
    keep_poll_seconds: int = 15
    cleanup_poll_seconds: int = 90  # the old fleet's drain and deletion, and green's removal on rollback
    old_drain_seconds: int = 3_600
    group_delete_seconds: int = 1_800
    lease_seconds: int = 3_600
    smoke_retry_seconds: float = 1.0

    @model_validator(mode="after")
    def _one_look_per_bake(self) -> Self:
        if self.bake_check_seconds < 0:  # planned before the judge existed: one look after the whole bake
            self.bake_check_seconds = self.bake_seconds
        return self


class LiveFleet(_Model):
    slot: SlotName
    asg_name: str
    ami_id: str | None = None
    ami_built: str | None = None  # the live AMI's CreationDate, as bluegreen recorded it when it went live
    release_id: str | None = None
    min_size: int = 0
    max_size: int = 0
    desired_capacity: int = 0


class PlanItem(_Model):
    what: str
    detail: str = ""


class ClonePlan(_Model):
    copied: list[PlanItem] = []
    adjusted: list[PlanItem] = []
    not_copied: list[PlanItem] = []
    refused: list[PlanItem] = []  # what green cannot copy faithfully: the release is refused before any change


class HealthReport(_Model):
    healthy: bool
    desired: int
    in_service: int
    healthy_targets: int
    instances: dict[str, str] = Field(default_factory=dict)


class TrafficProgress(_Model):
    change_id: str | None = None
    in_sync: bool = True
    sync_by: str | None = None  # the change must be INSYNC by then
    percent: int = 0
    done: bool = False
    alarm_waits: int = 0
    # wait: bake again; approve: the canary judge had no data and the app asks a human (WaitForApproval).
    verdict: Literal["ok", "wait", "approve"] = "ok"


class CanaryProgress(_Model):
    """The canary judge's bookkeeping across a release's steps (its evidence is in the release record)."""

    balancers: dict[str, str] = {}  # target group ARN -> `app/<name>/<id>` of its load balancer (CloudWatch's)
    percent: int = -1  # the step the counters below belong to
    since: str | None = None  # start of the step's window
    looks: int = 0
    rebakes: int = 0  # bakes again on Nodata
    marginal_rebakes: int = 0  # bakes again on Marginal
    # The step's latency bound: blue's latency statistic in the step's first minute with data; the latency test counts
    # each slot's requests slower than it in the minutes after that one.
    latency_bound: float | None = None
    bound_minute: str | None = None
    outcome: str = ""  # the step's latest verdict: Pass, Marginal, Fail or Nodata
    summary: str = ""


class SplitGroupBefore(_Model):
    """A slot's group as it was before a split release (what a rollback brings back)."""

    asg_name: str
    min_size: int
    max_size: int
    desired_capacity: int
    ami_id: str | None = None
    suspended: list[str] = []  # its processes suspended before the release (a rollback leaves them so)


class SplitProgress(_Model):
    """A split-fleet release's bookkeeping (domain/split_release.py); the capacity planner decides every move."""

    # split: both slots live, each half replaced in turn; adopt: a blue/green app becomes split (its one group's slot
    # is replaced last); join: a split app becomes blue/green (one half vacated, the whole fleet built in its slot).
    mode: Literal["split", "adopt", "join"] = "split"
    fleet: int  # N: the instances the app serves with
    shares: dict[SlotName, int]  # each slot's instances at rest
    ratio: int  # percent on blue at rest (at the release's end)
    order: list[SlotName]  # the halves in the order they are replaced
    half: int = 0
    before: dict[SlotName, SplitGroupBefore] = {}  # each slot's group before the release (none: adoption's idle slot)
    blue_weight_before: int = 100
    # vacate: empty the half to replace; rest: the release's end (surge undone); back: the rollback's end.
    goal: Literal["vacate", "rest", "back"] = "vacate"
    pending: dict[str, Any] | None = None  # the move made last, until it is in effect (healthy, gone, in sync)
    zero_since: dict[SlotName, str] = {}  # when each slot's weight last reached zero (its drain starts then)
    done: bool = False  # the goal is reached
    wait_seconds: int = 1  # until the next look
    moves: list[str] = []  # every move made, in order (the release record keeps them)
    peak_instances: int = 0  # the most instances seen running at once


class Release(_Model):
    """One AMI going live for one app: created by Prepare, updated by every later task."""

    outcome: Outcome = "Proceed"
    reason: str = ""
    app: str | None = None
    ami_id: str | None = None
    ami_built: str | None = None  # the AMI's CreationDate (kept in the live pointer once it is live)
    release_id: str | None = None
    execution_arn: str | None = None
    state_machine_arn: str | None = None
    source: Literal["event", "manual", "queue", "quarantine"] = "manual"
    emergency: bool = False
    dry_run: bool = False
    settle_until: str | None = None  # an event's AMI that matches no app yet is looked at again until then
    matched_by: str = ""  # the rule that maps the AMI to the app: its tag, the app's ami_source, or a name by hand
    ami_notes: list[str] = []  # what the plan says about the AMI (shared by another account, its snapshots' keys)
    # The app's simple record (Route 53) or forward to one target group (ALB) becomes weighted when the lock is taken.
    convert_dns: bool = False
    reconciling: bool = False  # run by the reconciler for a release whose own execution ended without cleaning up
    config: AppConfig | None = None
    live: LiveFleet | None = None
    idle_slot: SlotName | None = None
    green_asg: str | None = None
    lt_version: int | None = None
    clone_plan: ClonePlan | None = None
    # What Prepare read to plan the clone (live group without its instances, its extras, target group labels, the
    # launch template's versions): CreateGreenGroup builds green from the same reads, moments later, and drops them.
    clone_reads: dict[str, Any] | None = None
    # Read by Prepare off the live group (a blue/green release's old one) for the commit and the clean-up: its
    # scheduled actions, and the alarms bluegreen made for it. None: read again then (a split release's old groups).
    old_schedules: list[str] | None = None
    # The fleet's instance types and the architectures each supports (kept in the live pointer: they never change).
    type_architectures: dict[str, list[str]] = {}
    # The instance type of the launch template version live launches, which green's version copies ("": none, the
    # mixed instances policy's overrides name them). Kept in the live pointer with green's version number: a numbered
    # version never changes, so the next release need not read it again.
    lt_instance_type: str | None = None
    old_alarms: list[str] | None = None
    steps: list[int] = []
    step_index: int = 0
    weights: dict[str, int] = {}
    waits: Waits = Waits()
    approval_required: bool = False
    healthy_by: str | None = None
    committed: bool = False
    expected_duration_seconds: int = 0
    health: HealthReport | None = None
    traffic: TrafficProgress | None = None
    canary: CanaryProgress | None = None
    old_remaining: int = -1
    old_drained: bool = False  # no instance left, or the drain deadline passed (the group is then force-deleted)
    old_drain_by: str | None = None
    delete_by: str | None = None  # deadline of the group deletion loop (old group, or green on rollback)
    old_gone: bool = False
    rollback_drain_seconds: int = 0
    keep_until: str | None = None
    keep_window_over: bool = False
    # A split release: the group the current half is cloned from (its old group, or the other slot's on adoption).
    clone_source: LiveFleet | None = None
    split: SplitProgress | None = None


class ExecutionInput(BaseModel):
    """What an execution's first task receives: the execution's own input, its ARN and its machine's."""

    input: dict
    execution_arn: str
    state_machine_arn: str


class TaskInput(_Model):
    """What every task after Prepare receives: the release, and the error when on the rollback path."""

    release: Release
    error: dict | None = None
