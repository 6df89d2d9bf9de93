"""Security alarms are marked by a tag; whole-group alarm cases are rate-limited per app
(orchestrator.domain.security_alarms)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from orchestrator.case_models import Trigger
from orchestrator.config import parse_config
from orchestrator.domain import security_alarms
from orchestrator.domain.quarantine import TriggerRules, normalise

from tests.unit.test_ami_sources import BASE

EVENTS = Path(__file__).resolve().parents[2] / "events"
NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)


def test_the_alarm_event_names_the_alarm_whose_tags_are_read() -> None:
    trigger = normalise(json.loads((EVENTS / "alarm-asg.json").read_text()), TriggerRules(), "us-east-1")
    assert trigger.alarm_arn and trigger.alarm_arn.endswith(":alarm:bluegreen-security-shop-egress-fleet")
    assert security_alarms.whole_group(trigger)


def test_an_alarm_event_naming_no_alarm_arn_is_not_taken_for_a_security_alarm() -> None:
    trigger = Trigger(kind="alarm", alarm_name="bluegreen-security-x", group_names=["g"])
    assert "names no alarm ARN" in (security_alarms.unmarked(trigger) or "")


def case(opened: datetime, group: bool) -> dict:
    trigger = {"kind": "alarm", "group_names": ["g"]} if group else {"kind": "guardduty"}
    return {"opened_at": opened.isoformat(), "triggers": [trigger]}


@pytest.mark.parametrize(
    ("cases", "limit", "refused"),
    [
        ([], 1, False),
        ([case(NOW - timedelta(hours=1), True)], 1, True),
        ([case(NOW - timedelta(hours=25), True)], 1, False),  # outside the window
        ([case(NOW - timedelta(hours=1), False)] * 5, 1, False),  # single-instance cases do not count
        ([case(NOW - timedelta(hours=1), True)], 2, False),
        ([], 0, True),  # 0: a group alarm never quarantines
    ],
)
def test_whole_group_alarm_cases_per_window(monkeypatch, cases, limit, refused) -> None:
    monkeypatch.setattr(security_alarms.state_table, "history", lambda app, prefix, limit: cases)
    config = parse_config({**BASE, "quarantine": {"group_alarm_cases": limit}})
    assert bool(security_alarms.group_case_refusal("shop", config, NOW)) is refused
