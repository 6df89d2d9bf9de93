"""Release planning: ids, the idle slot, every wait of a release, and the expected duration."""

from __future__ import annotations

import math
import re
import secrets
from datetime import datetime

from orchestrator import budget
from orchestrator.config import AppConfig
from orchestrator.errors import AmiInvalidError, TrafficSplitError
from orchestrator.models import Release, Waits

AMI_ID = re.compile(r"^ami-[0-9a-f]{8}([0-9a-f]{9})?$")
# Emergency profile (quarantine swap): straight to 100 %, no approval, a short bake.
EMERGENCY_STEPS = [100]
EMERGENCY_BAKE_SECONDS = 30


def new_release_id(now: datetime) -> str:
    """Sortable by time, unique enough for one app: 20261122T035210-3f9a."""
    return f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"


def check_ami_id(ami_id: object) -> str:
    if not isinstance(ami_id, str) or not AMI_ID.match(ami_id):
        raise AmiInvalidError(f"ami_id: {ami_id!r} is not an AMI id (expected ami- and 8 or 17 hex digits)")
    return ami_id


def other_slot(slot: str) -> str:
    return "green" if slot == "blue" else "blue"


def live_slot_from_weights(weights: dict[str, int]) -> str | None:
    """The slot holding all traffic; None when nothing is weighted yet; an error while traffic is split."""
    holding = [slot for slot, weight in weights.items() if weight > 0]
    if len(holding) > 1:
        raise TrafficSplitError(
            f"traffic is split {weights}: finish or roll back the release in flight before starting another"
        )
    return holding[0] if holding else None


def scaled(seconds: float, scale: float) -> int:
    return max(0, math.ceil(seconds * scale))


def plan_waits(config: AppConfig, *, scale: float, deregistration_delay: int, emergency: bool = False) -> Waits:
    """Every wait, scaled. Bake never undercuts the record TTL (an ALB has none: the configured bake stands); drain
    defaults to TTL + the largest deregistration delay; each loop polls at most budget.MAX_POLLS times, so a long
    window polls less often."""
    ttl = budget.ttl_seconds(config)
    poll = config.health.poll_seconds
    bake = EMERGENCY_BAKE_SECONDS if emergency else config.traffic.bake_seconds
    drain = budget.drain_seconds(config, deregistration_delay)
    keep = 0 if emergency else config.keep_previous_seconds
    # The lease must outlast the longest wait between two renewals (each task renews it), and no more: a dead
    # execution's lock is freed by the reconciler, the lease is only the last resort. Approval counts only when
    # this release waits for it.
    analysis = config.traffic.analysis
    asks = budget.approval_possible(config) or (analysis is not None and analysis.nodata == "approve")
    approval = config.approval.timeout_seconds if asks and not emergency else 0
    longest = max(
        bake,
        ttl,
        drain,
        approval,
        budget.paced(keep, poll, "keep"),
        budget.paced(config.health.timeout_seconds, poll, "health"),
        budget.paced(budget.OLD_DRAIN_SECONDS, poll, "old_drain"),
    )

    def interval(window: float, loop: str) -> int:
        return max(1, scaled(budget.paced(window, poll, loop), scale))

    cleanup = max(budget.OLD_DRAIN_SECONDS, budget.GROUP_DELETE_SECONDS)
    looks = 1 if emergency else budget.bake_looks(config, max(bake, ttl))
    return Waits(
        poll_seconds=interval(config.health.timeout_seconds, "health"),
        health_timeout_seconds=max(1, scaled(config.health.timeout_seconds, scale)),
        settle_poll_seconds=interval(budget.SETTLE_SECONDS, "settle"),
        settle_seconds=max(1, scaled(budget.SETTLE_SECONDS, scale)),
        dns_poll_seconds=interval(budget.DNS_SYNC_SECONDS, "dns"),
        dns_sync_seconds=max(1, scaled(budget.DNS_SYNC_SECONDS, scale)),
        bake_seconds=scaled(max(bake, ttl), scale),
        bake_check_seconds=scaled(max(bake, ttl) / looks, scale),
        bake_checks=looks,
        scale=scale,
        drain_seconds=scaled(drain, scale),
        keep_seconds=scaled(keep, scale),
        keep_poll_seconds=interval(keep, "keep"),
        cleanup_poll_seconds=interval(cleanup, "old_drain"),
        old_drain_seconds=max(1, scaled(budget.OLD_DRAIN_SECONDS, scale)),
        group_delete_seconds=max(1, scaled(budget.GROUP_DELETE_SECONDS, scale)),
        # Plus the longest a task can take with its retries (a smoke suite: 15 minutes).
        lease_seconds=scaled(longest, scale) + budget.SMOKE_FUNCTION_TIMEOUT_SECONDS,
        smoke_retry_seconds=min(budget.SMOKE_RETRY_SECONDS, max(0.05, budget.SMOKE_RETRY_SECONDS * scale)),
    )


def steps_for(config: AppConfig, emergency: bool) -> list[int]:
    return list(EMERGENCY_STEPS if emergency else config.traffic.steps)


def expected_duration(waits: Waits, steps: list[int], approval: bool) -> int:
    """A lower bound of the release's length when nothing goes wrong (waits only)."""
    return waits.poll_seconds + len(steps) * waits.bake_seconds + waits.drain_seconds + waits.keep_seconds


def traffic_split(idle_slot: str, percent: int) -> dict[str, int]:
    """Weights for one step: idle gets p, the other 100 - p; never both zero."""
    return {idle_slot: percent, other_slot(idle_slot): 100 - percent}


def live_text(release_id: str | None, ami_id: str | None, slot: str, asg: str) -> str:
    """What the router's live record says (Route 53's TXT `_bluegreen.<record>`, the ALB router's SSM parameter)."""
    return f"release={release_id} ami={ami_id} slot={slot} asg={asg}"


def live_pointer(release: Release, slot: str, asg_name: str, now: datetime, **more: object) -> dict:
    """The state table's LIVE item for a release going live (`more`: a split app's groups and mode)."""
    return {
        "slot": slot,
        "asg_name": asg_name,
        **more,
        "ami_id": release.ami_id,
        "ami_built": release.ami_built,
        "release_id": release.release_id,
        "lt_version": release.lt_version,
        "type_architectures": release.type_architectures,
        "lt_instance_type": release.lt_instance_type,
        "since": now.isoformat(),
    }
