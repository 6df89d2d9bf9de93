"""moto 5.2 lacks Auto Scaling notification configurations; this adds them to moto, for the twin and the tests.

Real AWS: PutNotificationConfiguration stores (group, topic, types); DescribeNotificationConfigurations lists one
row per (group, topic, type) for the named groups (all groups when none are named); deleting a group drops its rows.
"""

from __future__ import annotations

from moto.autoscaling import responses
from moto.autoscaling.exceptions import AutoscalingClientError
from moto.core.responses import ActionResult, EmptyResult

from bluegreen.twin.patching import Patches

# (account, region) -> {(group, topic): set of types}
_STORE: dict[tuple[str, str], dict[tuple[str, str], set[str]]] = {}


def _store(response: responses.AutoScalingResponse) -> dict[tuple[str, str], set[str]]:
    key = (response.current_account, response.region)
    store = _STORE.setdefault(key, {})
    live = set(response.autoscaling_backend.autoscaling_groups)
    for group, topic in [k for k in store if k[0] not in live]:
        del store[(group, topic)]  # a deleted group takes its notification configurations with it
    return store


def _put(self: responses.AutoScalingResponse) -> EmptyResult:
    params = self._get_params()
    group, topic = params["AutoScalingGroupName"], params["TopicARN"]
    if group not in self.autoscaling_backend.autoscaling_groups:
        raise AutoscalingClientError("ValidationError", f"AutoScalingGroup name not found - {group}")
    _store(self)[(group, topic)] = set(params.get("NotificationTypes", []))
    return EmptyResult()


def _describe(self: responses.AutoScalingResponse) -> ActionResult:
    names = self._get_params().get("AutoScalingGroupNames") or []
    rows = [
        {"AutoScalingGroupName": group, "TopicARN": topic, "NotificationType": kind}
        for (group, topic), kinds in sorted(_store(self).items())
        if not names or group in names
        for kind in sorted(kinds)
    ]
    return ActionResult({"NotificationConfigurations": rows})


def _delete(self: responses.AutoScalingResponse) -> EmptyResult:
    params = self._get_params()
    _store(self).pop((params["AutoScalingGroupName"], params["TopicARN"]), None)
    return EmptyResult()


patches = Patches(
    __name__,
    (responses.AutoScalingResponse, "put_notification_configuration", _put),
    (responses.AutoScalingResponse, "describe_notification_configurations", _describe),
    (responses.AutoScalingResponse, "delete_notification_configuration", _delete),
)
install, uninstall = patches.install, patches.uninstall
