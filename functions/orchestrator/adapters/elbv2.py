"""Elastic Load Balancing v2: target health and deregistration delays of the slots' target groups."""

from __future__ import annotations

from typing import Any

from orchestrator.adapters.aws import client

DEFAULT_DEREGISTRATION_DELAY = 300


def target_states(target_group_arn: str, instance_ids: list[str], api: Any = None) -> dict[str, str]:
    """Health state per instance in one target group; an instance not registered reads `unused`."""
    api = api or client("elbv2")
    if not instance_ids:
        return {}
    described = api.describe_target_health(TargetGroupArn=target_group_arn)["TargetHealthDescriptions"]
    states = {d["Target"]["Id"]: d["TargetHealth"]["State"] for d in described}
    return {i: states.get(i, "unused") for i in instance_ids}


def deregistration_delay(target_group_arn: str, api: Any = None) -> int:
    api = api or client("elbv2")
    attributes = api.describe_target_group_attributes(TargetGroupArn=target_group_arn)["Attributes"]
    for attribute in attributes:
        if attribute["Key"] == "deregistration_delay.timeout_seconds":
            return int(attribute["Value"])
    return DEFAULT_DEREGISTRATION_DELAY
