"""moto 5.2 publishes no event when an alarm changes state; this adds the "CloudWatch Alarm State Change" event.

Real AWS: every state change of a metric alarm (OK, ALARM, INSUFFICIENT_DATA) sends an event with source
`aws.cloudwatch` and detail-type `CloudWatch Alarm State Change` to the account's default event bus. Its detail holds
alarmName, state and previousState (value, reason, reasonData, timestamp) and configuration (description and the
metrics, each with id, metricStat.metric.{namespace, name, dimensions as an object}, period and stat). Setting the
same state again sends nothing.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from moto.cloudwatch.models import Alarm, CloudWatchBackend
from moto.events.models import events_backends

from bluegreen.twin.patching import Patches

log = logging.getLogger(__name__)
_original_set_alarm_state = CloudWatchBackend.set_alarm_state


def _timestamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}+0000"


def _metrics(alarm: Alarm) -> list[dict[str, Any]]:
    if alarm.metric_data_queries:
        metrics = []
        for query in alarm.metric_data_queries:
            entry: dict[str, Any] = {"id": query.id, "returnData": query.return_data in (True, "true", "True")}
            if query.expression:
                entry["expression"] = query.expression
            if query.metric_stat:
                stat = query.metric_stat
                entry["metricStat"] = {
                    "metric": {
                        "namespace": stat.metric.namespace,
                        "name": stat.metric.metric_name,
                        "dimensions": {d.name: d.value for d in stat.metric.dimensions},
                    },
                    "period": int(stat.period),
                    "stat": stat.stat,
                }
            metrics.append(entry)
        return metrics
    return [
        {
            "id": "m1",
            "metricStat": {
                "metric": {
                    "namespace": alarm.namespace,
                    "name": alarm.metric_name,
                    "dimensions": {d.name: d.value for d in alarm.dimensions},
                },
                "period": int(alarm.period or 60),
                "stat": alarm.statistic or alarm.extended_statistic,
            },
            "returnData": True,
        }
    ]


def _set_alarm_state(self: CloudWatchBackend, alarm_name: str, reason: str, reason_data: str, state_value: str) -> None:
    alarm = self.alarms.get(alarm_name)
    before = (alarm.state_value, alarm.state_reason, alarm.state_updated_timestamp) if alarm else None
    _original_set_alarm_state(self, alarm_name, reason, reason_data, state_value)
    if before is None or before[0] == state_value:
        return
    alarm = self.alarms[alarm_name]
    detail = {
        "alarmName": alarm.name,
        "state": {"value": state_value, "reason": reason, "timestamp": _timestamp(alarm.state_updated_timestamp)},
        "previousState": {"value": before[0], "reason": before[1], "timestamp": _timestamp(before[2])},
        "configuration": {"description": alarm.description or "", "metrics": _metrics(alarm)},
    }
    if reason_data:
        detail["state"]["reasonData"] = reason_data
    try:
        events_backends[self.account_id][self.region_name].put_events(
            [
                {
                    "Source": "aws.cloudwatch",
                    "DetailType": "CloudWatch Alarm State Change",
                    "Resources": [alarm.alarm_arn],
                    "Detail": json.dumps(detail),
                }
            ]
        )
    except Exception:  # the alarm changed state either way; a failed delivery is EventBridge's problem
        log.exception("could not publish the state change of alarm %s", alarm_name)


patches = Patches(__name__, (CloudWatchBackend, "set_alarm_state", _set_alarm_state))
install, uninstall = patches.install, patches.uninstall
