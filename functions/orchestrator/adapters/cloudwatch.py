"""CloudWatch: the state of the app's gate alarms, and the metrics the canary judge reads."""

from __future__ import annotations

import contextlib
from datetime import datetime
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


def describe_alarms(names: list[str], api: Any = None) -> dict[str, dict]:
    """Each metric alarm that exists, by name."""
    if not names:
        return {}
    api = api or client("cloudwatch")
    return {a["AlarmName"]: a for a in paginate(api, "describe_alarms", "MetricAlarms", AlarmNames=names)}


def put_alarm(params: dict, api: Any = None) -> None:
    (api or client("cloudwatch")).put_metric_alarm(**params)


def alarm_tags(alarm_arn: str, api: Any = None) -> dict[str, str]:
    """The tags of one alarm (none when it no longer exists)."""
    api = api or client("cloudwatch")
    try:
        tags = api.list_tags_for_resource(ResourceARN=alarm_arn)["Tags"]
    except api.exceptions.ResourceNotFoundException:
        return {}
    return {t["Key"]: t["Value"] for t in tags}


def delete_alarms(names: list[str], api: Any = None) -> None:
    """Delete metric alarms by name, at most 100 per call; a name that no longer exists is no error (CloudWatch API,
    "DeleteAlarms": the alarms named correctly are still deleted)."""
    api = api or client("cloudwatch")
    for start in range(0, len(names), 100):
        with contextlib.suppress(api.exceptions.ResourceNotFound):  # deleted already (a retried task)
            api.delete_alarms(AlarmNames=names[start : start + 100])


def delete_alarms_with_prefix(prefixes: str | tuple[str, ...], api: Any = None) -> list[str]:
    """Delete every metric alarm whose name starts with one of the prefixes (at most 100 per call); their names."""
    api = api or client("cloudwatch")
    names = [
        a["AlarmName"]
        for prefix in ((prefixes,) if isinstance(prefixes, str) else prefixes)
        for a in paginate(api, "describe_alarms", "MetricAlarms", AlarmNamePrefix=prefix)
    ]
    delete_alarms(names, api)
    return names


def metric_data(
    queries: list[dict], start: datetime, end: datetime, api: Any = None
) -> dict[str, list[tuple[datetime, float]]]:
    """One GetMetricData request (its pages, if any): each query id's (timestamp, value) points, oldest first."""
    api = api or client("cloudwatch")
    points: dict[str, list[tuple[datetime, float]]] = {q["Id"]: [] for q in queries}
    params: dict[str, Any] = {
        "MetricDataQueries": queries,
        "StartTime": start,
        "EndTime": end,
        "ScanBy": "TimestampAscending",
    }
    while True:
        page = api.get_metric_data(**params)
        for result in page.get("MetricDataResults", []):
            points[result["Id"]].extend(zip(result.get("Timestamps", []), result.get("Values", []), strict=True))
        if not page.get("NextToken"):
            break
        params["NextToken"] = page["NextToken"]
    return {k: sorted(v) for k, v in points.items()}
