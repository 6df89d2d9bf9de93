"""Elastic Load Balancing v2: target health, deregistration delays, and registrations (quarantine)."""

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


def load_balancer_label(target_group_arn: str, api: Any = None) -> str | None:
    """`app/<name>/<id>` of the load balancer that routes to the target group (what ALB metrics name); None if none."""
    api = api or client("elbv2")
    groups = api.describe_target_groups(TargetGroupArns=[target_group_arn])["TargetGroups"]
    balancers = groups[0].get("LoadBalancerArns", []) if groups else []
    return balancers[0].split(":loadbalancer/")[-1] if balancers else None


def deregistration_delay(target_group_arn: str, api: Any = None) -> int:
    api = api or client("elbv2")
    attributes = api.describe_target_group_attributes(TargetGroupArn=target_group_arn)["Attributes"]
    for attribute in attributes:
        if attribute["Key"] == "deregistration_delay.timeout_seconds":
            return int(attribute["Value"])
    return DEFAULT_DEREGISTRATION_DELAY


# --- registrations: the quarantine path ------------------------------------------------------------------------


def registrations_of(target_group_arn: str, instance_ids: list[str], api: Any = None) -> dict[str, list[dict]]:
    """Each of these instances' registrations (id and port) in one target group; an instance not registered is left
    out. One call per target group, whatever the number of instances."""
    api = api or client("elbv2")
    wanted = set(instance_ids)
    described = api.describe_target_health(TargetGroupArn=target_group_arn)["TargetHealthDescriptions"]
    found: dict[str, list[dict]] = {}
    for d in described:
        if d["Target"]["Id"] in wanted:
            target = {k: v for k, v in d["Target"].items() if k in ("Id", "Port", "AvailabilityZone")}
            found.setdefault(d["Target"]["Id"], []).append(target)
    return found


def deregister(target_group_arn: str, targets: list[dict], api: Any = None) -> None:
    if targets:
        (api or client("elbv2")).deregister_targets(TargetGroupArn=target_group_arn, Targets=targets)
