"""The release budget: every loop is bounded, long windows poll less often, and a config that could outrun Step
Functions' history limit or the execution timeout is refused naming the field to change."""

from __future__ import annotations

import json

import pytest
from orchestrator import budget
from orchestrator.config import parse_config
from orchestrator.domain.release import plan_waits
from orchestrator.errors import ConfigInvalidError

from tests.unit.test_config import VALID


def config(**changes: object):
    """VALID with each change (`a__b=v` sets a.b) applied."""
    document = json.loads(json.dumps(VALID))
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = document
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return parse_config(json.dumps(document), "shop")


def test_the_default_config_costs_well_under_the_budget() -> None:
    worst = budget.worst_case(config())
    assert worst.total_events < budget.HISTORY_BUDGET / 2
    assert worst.total_seconds < budget.EXECUTION_TIMEOUT_SECONDS


@pytest.mark.parametrize(
    ("changes", "loop", "most_polls"),
    [
        # The two examples: a day's keep window at a 15 s poll, and a 2 h health timeout at 1 s.
        ({"keep_previous_seconds": 86_400}, "keep", budget.MAX_POLLS["keep"]),
        ({"health__timeout_seconds": 7_200, "health__poll_seconds": 1}, "health", budget.MAX_POLLS["health"]),
    ],
)
def test_a_long_window_polls_less_often_so_it_fits(changes: dict, loop: str, most_polls: int) -> None:
    # Given a config that once killed its execution at the history limit
    valid = config(**changes)
    # When its waits are planned at AWS speed
    waits = plan_waits(valid, scale=1, deregistration_delay=300)
    window, interval = {
        "keep": (waits.keep_seconds, waits.keep_poll_seconds),
        "health": (waits.health_timeout_seconds, waits.poll_seconds),
    }[loop]
    # Then the loop polls at most its share of times, and the whole release stays within the budget
    assert window / interval <= most_polls
    assert budget.worst_case(valid).total_events <= budget.HISTORY_BUDGET


def test_every_loop_has_a_deadline_and_a_bounded_interval() -> None:
    waits = plan_waits(config(), scale=1, deregistration_delay=300)
    for window, interval in [
        (waits.settle_seconds, waits.settle_poll_seconds),
        (waits.dns_sync_seconds, waits.dns_poll_seconds),
        (waits.old_drain_seconds, waits.cleanup_poll_seconds),
        (waits.group_delete_seconds, waits.cleanup_poll_seconds),
    ]:
        assert window > 0 and 1 <= interval <= window


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        (
            {"traffic__steps": list(range(5, 101, 5)), "health__timeout_seconds": 7_200, "health__poll_seconds": 1},
            "traffic.steps",
            "history events",
        ),
        (
            {"traffic__steps": [20, 40, 60, 80, 100], "traffic__bake_seconds": 86_400},
            "traffic.bake_seconds",
            "timeout",
        ),
        (
            {"smoke_tests": [{"path": "/", "attempts": 10, "timeout_seconds": 60}] * 2},
            "smoke_tests",
            "smoke-test function",
        ),
    ],
)
def test_a_config_that_could_outrun_the_execution_is_refused_naming_the_field(changes, field, words) -> None:
    with pytest.raises(ConfigInvalidError) as refused:
        config(**changes)
    message = str(refused.value)
    assert f"invalid: {field}:" in message and words in message
    assert "\n" not in message


def test_a_poll_costs_the_events_the_budget_counts() -> None:
    # A Task (5), a Choice (2) and a Wait (2): measured on the twin in tests/e2e/test_release.py as well
    assert budget.EVENTS_PER_POLL == 9
