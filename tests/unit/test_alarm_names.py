"""No alarm bluegreen makes can be taken for a security alarm (orchestrator.domain.clone, quarantine triggers)."""

from __future__ import annotations

import pytest
from orchestrator.domain import clone
from orchestrator.domain.quarantine import TriggerRules, normalise


@pytest.mark.parametrize("app", ["security", "security-shop"])
def test_an_app_whose_alarm_copies_would_start_with_the_security_prefix_is_refused(app) -> None:
    assert "choose another app name" in (clone.names_collide(app, "bluegreen-security-") or "")


@pytest.mark.parametrize("app", ["shop", "sec", "secure", "scaling-shop"])
def test_other_app_names_are_fine(app) -> None:
    assert clone.names_collide(app, "bluegreen-security-") is None
    assert not clone.alarm_prefix(f"{app}-blue-r1").startswith("bluegreen-security-")


def test_a_short_security_prefix_that_would_take_every_copy_is_named() -> None:
    assert "bluegreen-scaling-shop-" in (clone.names_collide("shop", "bluegreen-") or "")


def test_an_alarm_named_as_bluegreens_copies_is_never_a_security_alarm() -> None:
    raw = {
        "detail-type": "CloudWatch Alarm State Change",
        "detail": {
            "alarmName": "bluegreen-scaling-shop-blue-r1-cpu-high",
            "state": {"value": "ALARM"},
            "configuration": {"metrics": []},
        },
    }
    trigger = normalise(raw, TriggerRules(alarm_prefix="bluegreen-"), "us-east-1")
    assert trigger.ignored and "copy bluegreen made of a scaling alarm" in trigger.ignored
