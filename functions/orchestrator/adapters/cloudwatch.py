"""CloudWatch: the state of the app's gate alarms."""

from __future__ import annotations

from typing import Any

from orchestrator.adapters.aws import client, paginate


def alarm_states(names: list[str], api: Any = None) -> dict[str, str]:
    """State per alarm name; an alarm that does not exist reads `MISSING`."""
    if not names:
        return {}
    api = api or client("cloudwatch")
    found = paginate(api, "describe_alarms", "MetricAlarms", AlarmNames=names)
    states = {a["AlarmName"]: a["StateValue"] for a in found}
    return {n: states.get(n, "MISSING") for n in names}
