"""The typed state that flows between the deploy state machine's tasks. Field names are stable: the ASL reads them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.config import AppConfig

Outcome = Literal["Proceed", "Ignored", "AlreadyLive", "Duplicate", "Queued", "DryRun"]
SlotName = Literal["blue", "green"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Waits(_Model):
    """Every wait of a release, in seconds, already scaled (the twin runs them fast)."""

    poll_seconds: int = 15
    health_timeout_seconds: int = 900
    bake_seconds: int = 300
    drain_seconds: int = 360
    keep_seconds: int = 0
    lease_seconds: int = 3_600
    smoke_retry_seconds: float = 1.0


class LiveFleet(_Model):
    slot: SlotName
    asg_name: str
    ami_id: str | None = None
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


class HealthReport(_Model):
    healthy: bool
    desired: int
    in_service: int
    healthy_targets: int
    instances: dict[str, str] = Field(default_factory=dict)


class TrafficProgress(_Model):
    change_id: str | None = None
    in_sync: bool = True
    percent: int = 0
    done: bool = False
    alarm_waits: int = 0
    verdict: Literal["ok", "wait"] = "ok"


class Release(_Model):
    """One AMI going live for one app: created by Prepare, updated by every later task."""

    outcome: Outcome = "Proceed"
    reason: str = ""
    app: str | None = None
    ami_id: str | None = None
    release_id: str | None = None
    execution_arn: str | None = None
    state_machine_arn: str | None = None
    source: Literal["event", "manual", "queue", "quarantine"] = "manual"
    emergency: bool = False
    dry_run: bool = False
    config: AppConfig | None = None
    live: LiveFleet | None = None
    idle_slot: SlotName | None = None
    green_asg: str | None = None
    lt_version: int | None = None
    clone_plan: ClonePlan | None = None
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
    old_remaining: int = -1
    old_gone: bool = False
    rollback_drain_seconds: int = 0


class TaskInput(_Model):
    """What every task after Prepare receives: the release, and the error when on the rollback path."""

    release: Release
    error: dict | None = None
