"""The time and history budget of a release: how often each loop polls, and the worst case a configuration can cost.

Step Functions ends an execution at 25,000 history events, or at its TimeoutSeconds, with no Catch and so no
rollback. Each poll of a loop (a Task, a Choice and a Wait) costs 9 events, so a long window polled often would kill a
release halfway. Every loop here therefore has a deadline and at most `MAX_POLLS` polls (a long window polls less
often), and a configuration whose worst case passes `HISTORY_BUDGET` events or the execution timeout is refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from orchestrator.config import AppConfig

HISTORY_LIMIT = 25_000  # Step Functions' hard limit for a Standard workflow's history
HISTORY_BUDGET = 5_000  # what a release may plan for; the rest is headroom for retries and operators
EVENTS_PER_TASK = 5  # TaskStateEntered, LambdaFunctionScheduled, ...Started, ...Succeeded, TaskStateExited
EVENTS_PER_STATE = 2  # entered and exited (Choice, Wait, Pass)
EVENTS_PER_POLL = EVENTS_PER_TASK + 2 * EVENTS_PER_STATE
EXECUTION_TIMEOUT_SECONDS = 691_200  # statemachine/deploy.asl.json TimeoutSeconds (8 days); a test ties the two

# Deadlines of the loops that have no deadline in the configuration (seconds in AWS, before WaitScale).
SETTLE_SECONDS = 600  # an AMI event whose AMI has no bluegreen:app tag yet (Packer tags after `available`)
DNS_SYNC_SECONDS = 600  # Route 53 changes "generally propagate to all Route 53 name servers within 60 seconds"
OLD_DRAIN_SECONDS = 3_600  # then the old group is force-deleted
GROUP_DELETE_SECONDS = 1_800
MAX_DEREGISTRATION_DELAY = 3_600  # ELB's largest deregistration delay: the worst case of a default drain
MAX_INSUFFICIENT_DATA_WAITS = 3

# The most polls each loop may make; its interval is stretched to fit.
MAX_POLLS = {
    "settle": 20,
    "health": 120,
    "dns": 15,
    "keep": 100,
    "old_drain": 60,
    "old_delete": 30,
    "removal": 30,
}
# RunSmokeTestsFunction's Timeout (template.yaml) less a margin: a smoke suite must finish within it.
SMOKE_FUNCTION_TIMEOUT_SECONDS = 900
SMOKE_BUDGET_SECONDS = SMOKE_FUNCTION_TIMEOUT_SECONDS - 60
SMOKE_RETRY_SECONDS = 2.0


def approval_possible(config: AppConfig) -> bool:
    """Whether a release of this app may wait for approval before traffic: always, or for a build account's AMI."""
    return config.approval.before_traffic or bool(config.ami_source and config.ami_source.build_account_approval)


def paced(window: float, poll: float, loop: str) -> int:
    """The poll interval of a loop: the configured one, stretched so the window takes at most MAX_POLLS polls."""
    return max(1, math.ceil(poll), math.ceil(window / MAX_POLLS[loop]))


def polls(window: float, interval: float) -> int:
    return math.ceil(window / max(interval, 1)) + 1


def smoke_suite_seconds(config: AppConfig) -> float:
    """The longest the smoke suite can take: every attempt of every test timing out, with the waits between."""
    return sum(t.attempts * t.timeout_seconds + (t.attempts - 1) * SMOKE_RETRY_SECONDS for t in config.smoke_tests)


def ttl_seconds(config: AppConfig) -> int:
    """How long clients may keep using the previous split: the record TTL for Route 53; none for an ALB, whose weights
    are in effect at once."""
    return config.dns.ttl_seconds if config.router == "route53" and config.dns else 0


MAX_BAKE_LOOKS = 30  # the canary judge looks at most this often per bake (a long bake looks less often)


def bake_looks(config: AppConfig, bake: float) -> int:
    """How many times the canary judge looks during one bake (1, at its end, without a judge)."""
    analysis = config.traffic.analysis
    if analysis is None or bake <= 0:
        return 1
    return min(MAX_BAKE_LOOKS, max(1, math.ceil(bake / analysis.check_seconds)))


def drain_seconds(config: AppConfig, deregistration_delay: int = MAX_DEREGISTRATION_DELAY) -> int:
    if config.drain_seconds is not None:
        return config.drain_seconds
    return ttl_seconds(config) + deregistration_delay


@dataclass
class Budget:
    """The worst case of one release (its forward path and a rollback), in history events and seconds, by field."""

    events: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total_events(self) -> int:
        return sum(self.events.values())

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


def worst_case(config: AppConfig) -> Budget:
    budget = Budget()
    poll = config.health.poll_seconds
    steps = len(config.traffic.steps)
    waits = MAX_INSUFFICIENT_DATA_WAITS if config.traffic.insufficient_data == "wait" else 0
    bake = max(config.traffic.bake_seconds, ttl_seconds(config))
    drain = drain_seconds(config)
    keep = config.keep_previous_seconds

    budget.events["(fixed)"] = 9 * EVENTS_PER_TASK + 6 * EVENTS_PER_STATE
    budget.events["(settle)"] = polls(SETTLE_SECONDS, paced(SETTLE_SECONDS, poll, "settle")) * EVENTS_PER_POLL
    budget.seconds["(settle)"] = SETTLE_SECONDS
    budget.events["health.timeout_seconds"] = (
        polls(config.health.timeout_seconds, paced(config.health.timeout_seconds, poll, "health")) * EVENTS_PER_POLL
    )
    budget.seconds["health.timeout_seconds"] = config.health.timeout_seconds
    budget.seconds["smoke_tests"] = smoke_suite_seconds(config)
    if approval_possible(config):
        budget.seconds["approval.timeout_seconds"] = config.approval.timeout_seconds
    # An ALB's weights are in effect when ModifyListener/ModifyRule returns: no change to wait for.
    sync = DNS_SYNC_SECONDS if config.router == "route53" else 0
    dns_polls = polls(sync, paced(sync, poll, "dns")) if sync else 0
    per_step = 2 * EVENTS_PER_TASK + 3 * EVENTS_PER_STATE + dns_polls * EVENTS_PER_POLL + waits * EVENTS_PER_POLL
    budget.events["traffic.steps"] = steps * per_step
    budget.seconds["traffic.steps"] = steps * sync
    budget.seconds["traffic.bake_seconds"] = steps * bake * (1 + waits)
    analysis = config.traffic.analysis
    if analysis is not None:  # each look is a poll; Marginal and Nodata bake again; Nodata may ask for approval
        rebakes = 2 * analysis.max_rebakes  # as many for Marginal as for Nodata
        budget.events["traffic.analysis"] = steps * bake_looks(config, bake) * (1 + rebakes) * EVENTS_PER_POLL
        budget.seconds["traffic.analysis"] = steps * bake * rebakes
        if analysis.nodata == "approve":
            budget.seconds["traffic.analysis"] += steps * config.approval.timeout_seconds
    budget.seconds["drain_seconds"] = 2 * drain  # after the last step, and again for green if it rolls back
    budget.events["keep_previous_seconds"] = polls(keep, paced(keep, poll, "keep")) * EVENTS_PER_POLL
    budget.seconds["keep_previous_seconds"] = keep
    cleanup = {"old_drain": OLD_DRAIN_SECONDS, "old_delete": GROUP_DELETE_SECONDS, "removal": GROUP_DELETE_SECONDS}
    budget.events["(cleanup)"] = sum(polls(s, paced(s, poll, loop)) * EVENTS_PER_POLL for loop, s in cleanup.items())
    budget.seconds["(cleanup)"] = sum(cleanup.values())
    return budget


def _largest(contributions: dict[str, float]) -> str:
    named = {k: v for k, v in contributions.items() if not k.startswith("(")}
    return max(named, key=lambda k: named[k])


def check(config: AppConfig) -> None:
    """ValueError, naming the field to change, when the worst case passes the history budget or the timeout."""
    if smoke_suite_seconds(config) > SMOKE_BUDGET_SECONDS:
        raise ValueError(
            f"smoke_tests: the suite can take {smoke_suite_seconds(config):.0f} s (every attempt timing out), more"
            f" than the {SMOKE_BUDGET_SECONDS} s the smoke-test function may run: fewer attempts, shorter timeouts"
            " or fewer tests"
        )
    budget = worst_case(config)
    if budget.total_events > HISTORY_BUDGET:
        name = _largest(budget.events)
        raise ValueError(
            f"{name}: a release of this config can cost {budget.total_events:,} Step Functions history events"
            f" ({budget.events[name]:,} from {name}), over the {HISTORY_BUDGET:,} bluegreen allows (an execution"
            f" ends at {HISTORY_LIMIT:,}, with no rollback): reduce {name}"
        )
    limit = EXECUTION_TIMEOUT_SECONDS
    if budget.total_seconds > limit:
        name = _largest(budget.seconds)
        raise ValueError(
            f"{name}: a release of this config can last {budget.total_seconds / 3600:.0f} h"
            f" ({budget.seconds[name] / 3600:.0f} h from {name}), past the execution timeout of {limit // 3600} h"
            f" (an execution that times out does not roll back): reduce {name}"
        )
