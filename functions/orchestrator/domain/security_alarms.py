"""Which alarms may quarantine, and how often one may quarantine a whole fleet.

The name prefix is not enough: anyone allowed `cloudwatch:PutMetricAlarm` can name an alarm with it, and
`SetAlarmState` ("temporarily sets the state of an alarm for testing purposes", CloudWatch API) is an ordinary
developer permission. So a security alarm is also marked by a tag, `bluegreen:security-alarm=true`, which the README's
service control policy keeps to the security team (with the calls that create, change, set and tag those alarms); an
alarm without it is ignored, whatever its name. An alarm state change event carries no tags: ResolveCase reads them
(`ListTagsForResource`, on the alarm ARN the event names).

An alarm on an Auto Scaling group (`AutoScalingGroupName`) quarantines every instance of it and swaps the fleet under
emergency rules, and isolated instances are kept (money, subnet addresses): so such a case is rate-limited per app
(`quarantine.group_alarm_cases` per `quarantine.group_alarm_window_seconds`); past it, the event is refused, the
refusal recorded in the state table (`REFUSAL#<time>`) and notified. A single instance's finding or alarm is never
delayed, nor counted.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from orchestrator.adapters import cloudwatch, notify, state_table
from orchestrator.case_models import Trigger
from orchestrator.config import AppConfig

TAG = "bluegreen:security-alarm"
HISTORY = 50  # the latest cases looked at: more than any limit config allows


def unmarked(trigger: Trigger) -> str | None:
    """Why this alarm is not a security alarm despite its name (None: it is one)."""
    if not trigger.alarm_arn:
        return f"alarm {trigger.alarm_name}: the event names no alarm ARN, so its {TAG} tag cannot be checked"
    tags = cloudwatch.alarm_tags(trigger.alarm_arn)
    if tags.get(TAG) != "true":
        return (
            f"alarm {trigger.alarm_name} is not tagged {TAG}=true: its name alone does not make it a security alarm"
            " (tag it, with the security team's role)"
        )
    return None


def whole_group(trigger: Trigger) -> bool:
    return trigger.kind == "alarm" and bool(trigger.group_names)


def _counts(case: dict) -> bool:
    return any(t.get("kind") == "alarm" and t.get("group_names") for t in case.get("triggers", []))


def group_case_refusal(app: str, config: AppConfig, now: datetime) -> str | None:
    """Why a whole-group alarm may not open (or join) a case of this app now; None if it may."""
    limit, window = config.quarantine.group_alarm_cases, config.quarantine.group_alarm_window_seconds
    since = now - timedelta(seconds=window)
    recent = [
        c
        for c in state_table.history(app, "CASE#", HISTORY)
        if _counts(c) and c.get("opened_at") and datetime.fromisoformat(c["opened_at"]) >= since
    ]
    if len(recent) < limit:
        return None
    last = max((c["opened_at"] for c in recent), default="")
    return (
        f"app {app}: {len(recent)} whole-group alarm case(s) in the last {window}s (quarantine.group_alarm_cases is"
        f" {limit}; the latest opened {last or 'never'}): this alarm quarantines no group; quarantine by hand if it"
        " is real (bluegreen quarantine <app> --reason ...), single instances are not limited"
    )


def refuse(app: str, trigger: Trigger, reason: str, now: datetime, topics: list[str | None]) -> None:
    """Record and notify a refused whole-group alarm."""
    record = {
        "app": app,
        "kind": "refusal",
        "at": now.isoformat(),
        "alarm_name": trigger.alarm_name,
        "group_names": trigger.group_names,
        "event_time": trigger.event_time,
        "reason": reason,
    }
    state_table.put(app, f"REFUSAL#{now.isoformat()}", record)
    notify.publish(topics, f"bluegreen: {app}: whole-group security alarm refused (rate limit)"[:100], record)
