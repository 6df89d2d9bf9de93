"""Whether a fleet is healthy: every instance InService and Healthy in the group and `healthy` in every target group."""

from __future__ import annotations

from orchestrator.models import HealthReport

# `initial`, `unused`, `draining`, `unhealthy` and `unavailable` are not healthy: only `healthy` counts.
HEALTHY_TARGET = "healthy"


def evaluate(group: dict, target_states: dict[str, dict[str, str]]) -> HealthReport:
    """`target_states` maps target group ARN to {instance id: state}."""
    desired = int(group.get("DesiredCapacity", 0))
    instances: dict[str, str] = {}
    in_service = 0
    healthy_targets = 0
    for instance in group.get("Instances", []):
        iid = instance["InstanceId"]
        lifecycle = instance.get("LifecycleState", "Pending")
        status = instance.get("HealthStatus", "Unhealthy")
        per_group = [states.get(iid, "unused") for states in target_states.values()]
        serving = lifecycle == "InService" and status == "Healthy"
        in_service += serving
        all_healthy = bool(per_group) and all(s == HEALTHY_TARGET for s in per_group)
        healthy_targets += serving and all_healthy
        described = f"{lifecycle}/{status}"
        if per_group:
            described += " targets=" + ",".join(per_group)
        instances[iid] = described
    healthy = desired > 0 and healthy_targets >= desired and len(instances) >= desired
    return HealthReport(
        healthy=healthy,
        desired=desired,
        in_service=in_service,
        healthy_targets=healthy_targets,
        instances=instances,
    )


def describe_unhealthy(report: HealthReport) -> str:
    states = "; ".join(f"{iid}: {state}" for iid, state in sorted(report.instances.items())) or "no instances"
    return f"{report.healthy_targets}/{report.desired} healthy: {states}"
