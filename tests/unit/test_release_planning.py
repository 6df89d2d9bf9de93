"""Release planning: ids, slots, waits, traffic splits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from orchestrator.config import parse_config
from orchestrator.domain.release import (
    check_ami_id,
    live_slot_from_weights,
    new_release_id,
    plan_waits,
    traffic_split,
)
from orchestrator.errors import AmiInvalidError, TrafficSplitError

from tests.unit.test_config import VALID, with_change


def test_release_ids_sort_by_time() -> None:
    early = new_release_id(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    late = new_release_id(datetime(2026, 1, 2, 3, 4, 6, tzinfo=UTC))
    assert early.startswith("20260102T030405-")
    assert early < late


@pytest.mark.parametrize("bad", ["ami-123", "AMI-0123456789abcdef0", "ami-0123456789abcdefg", "", None, 42])
def test_malformed_ami_ids_are_refused(bad: object) -> None:
    with pytest.raises(AmiInvalidError, match="ami_id"):
        check_ami_id(bad)


@pytest.mark.parametrize("good", ["ami-12345678", "ami-0123456789abcdef0"])
def test_well_formed_ami_ids_pass(good: str) -> None:
    assert check_ami_id(good) == good


def test_live_slot_is_the_one_holding_traffic() -> None:
    assert live_slot_from_weights({"blue": 100, "green": 0}) == "blue"
    assert live_slot_from_weights({"blue": 0, "green": 0}) is None
    with pytest.raises(TrafficSplitError):
        live_slot_from_weights({"blue": 50, "green": 50})


def test_bake_never_undercuts_the_record_ttl() -> None:
    config = parse_config(with_change("traffic.bake_seconds", 5), "shop")
    waits = plan_waits(config, scale=1, deregistration_delay=300)
    assert waits.bake_seconds == 60


def test_drain_defaults_to_ttl_plus_deregistration_delay() -> None:
    config = parse_config(VALID, "shop")
    assert plan_waits(config, scale=1, deregistration_delay=120).drain_seconds == 180
    configured = parse_config(with_change("drain_seconds", 45), "shop")
    assert plan_waits(configured, scale=1, deregistration_delay=120).drain_seconds == 45


def test_waits_scale_down_for_the_twin() -> None:
    config = parse_config(VALID, "shop")
    waits = plan_waits(config, scale=0.01, deregistration_delay=300)
    assert waits.bake_seconds == 3  # 300 s * 0.01
    assert waits.poll_seconds == 1  # never zero: a poll loop must not spin
    assert waits.lease_seconds > waits.bake_seconds


def test_emergency_profile_has_short_bake_and_no_keep() -> None:
    config = parse_config(with_change("keep_previous_seconds", 600), "shop")
    waits = plan_waits(config, scale=1, deregistration_delay=300, emergency=True)
    assert waits.bake_seconds == 60  # 30 s emergency bake, raised to the TTL
    assert waits.keep_seconds == 0


@pytest.mark.parametrize("percent", [1, 10, 50, 99, 100])
def test_split_sums_to_100_and_never_zero(percent: int) -> None:
    weights = traffic_split("green", percent)
    assert weights["green"] == percent
    assert sum(weights.values()) == 100
