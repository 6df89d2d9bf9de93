"""The typed state that flows between the quarantine state machine's tasks (statemachine/quarantine.asl.json reads
these fields). Apart from the deploy machine's (orchestrator/models.py), so a deploy task's function never builds them.
"""

# No `from __future__ import annotations`: pydantic would evaluate each field's annotation from a string on
# every cold start (a tenth of a handler's import, measured by bluegreen.proof.cold_start).
from typing import Literal

from pydantic import BaseModel, ConfigDict


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


TriggerKind = Literal["guardduty", "alarm", "manual"]
CaseStatus = Literal[
    "open", "isolated", "detaching", "swapping", "requeued", "swapped", "swap_failed", "isolation_failed"
]


class Trigger(_Model):
    """A security event, normalised: which instances (or groups, or app) it names, and why."""

    kind: TriggerKind
    instance_ids: list[str] = []
    group_names: list[str] = []
    app: str | None = None
    ami_id: str | None = None  # a manual request may name the known-good AMI to swap onto
    reason: str = ""
    severity: float | None = None
    finding_id: str | None = None
    finding_type: str | None = None
    alarm_name: str | None = None
    alarm_arn: str | None = None  # the event's resource: its tags say whether it is a security alarm
    event_id: str | None = None
    event_time: str | None = None
    ignored: str | None = None  # a well-formed event that is not for quarantine (sample, low severity, OK state)
    swap_only: bool = False  # by hand: swap again the fleet of the app's case whose swap failed


class Skipped(_Model):
    """What the case reports but does not touch: an unknown instance or group, another app's, terminated, quarantined."""

    resource: str
    reason: str


class Preemption(_Model):
    deadline: str | None = None
    lock_free: bool = False
    aborted: list[str] = []  # releases asked to roll back
    deferred_ami: str | None = None  # a queued release held back until the swap is done
    attempts: int = 0


class Swap(_Model):
    ami_id: str | None = None
    first_slot: Literal["blue", "green"] | None = None  # a split app: the half of the quarantined instance goes first
    outcome: str | None = None
    release_id: str | None = None
    green_asg: str | None = None
    execution_arn: str | None = None


class QuarantineCase(_Model):
    """One app's quarantine case as one execution sees it: created by ResolveCase, updated by every later task."""

    outcome: Literal["Proceed", "Ignored"] = "Proceed"
    reason: str = ""
    case_id: str | None = None
    app: str | None = None
    owner: bool = False  # this execution opened the case, so it preempts, swaps and closes it; joiners only isolate
    status: CaseStatus = "open"
    trigger: Trigger | None = None
    instance_ids: list[str] = []
    skipped: list[Skipped] = []
    isolation_group: str | None = None  # the app's own no-rule group; None: bluegreen's own in each VPC
    untracking_group: str | None = None  # the app's own all-traffic group; None: bluegreen's own in each VPC
    snapshot_volumes: bool = True
    revoke_credentials: bool = True
    network_acl: bool = True  # deny the instance's addresses in the VPC's network ACLs (always-tracked flows)
    network_acl_rule_quota: int = 20  # the account's 'Rules per network ACL', per direction and address family
    quarantine_profile_arn: str | None = None  # the stack's deny-all instance profile
    target_group_arns: list[str] = []  # the app's slots' target groups (with each group's own, deregistered from)
    notify_topic_arn: str | None = None
    isolated: list[str] = []
    received_at: str | None = None
    contained_at: str | None = None  # every instance of this execution cut off: network, then credentials
    isolated_at: str | None = None
    # Instances still in their Auto Scaling group (Pending, or in the warm pool): detached before any swap, by then.
    awaiting_detach: list[str] = []
    detach_by: str | None = None
    swap_only: bool = False  # a case whose swap failed, swapped again without isolating again
    poll_seconds: int = 15
    preempt_seconds: int = 3_600  # how long a release in flight may take to roll back before the swap gives up
    preempt: Preemption = Preemption()
    swap: Swap = Swap()
    execution_arn: str | None = None
    state_machine_arn: str | None = None
    error: str | None = None  # when the case failed: the error the execution ends with, and its cause
    cause: str | None = None


class CaseInput(_Model):
    """What every quarantine task after ResolveCase receives: the case, the swap's result or the error."""

    case: QuarantineCase
    swap_execution: dict | None = None
    error: dict | None = None
