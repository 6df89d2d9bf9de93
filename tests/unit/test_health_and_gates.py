"""Health that does not lie, and the alarm gate's verdicts."""

from __future__ import annotations

import pytest
from orchestrator.domain.gates import MAX_INSUFFICIENT_DATA_WAITS, judge_alarms
from orchestrator.domain.health import describe_unhealthy, evaluate

TG = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/shop-green/1"


def group(states: list[tuple[str, str]], desired: int | None = None) -> dict:
    instances = [
        {"InstanceId": f"i-{n}", "LifecycleState": lifecycle, "HealthStatus": status}
        for n, (lifecycle, status) in enumerate(states)
    ]
    return {"DesiredCapacity": len(states) if desired is None else desired, "Instances": instances}


def test_all_in_service_and_healthy_targets_is_healthy() -> None:
    fleet = group([("InService", "Healthy")] * 3)
    report = evaluate(fleet, {TG: {f"i-{n}": "healthy" for n in range(3)}})
    assert report.healthy
    assert (report.in_service, report.healthy_targets, report.desired) == (3, 3, 3)


@pytest.mark.parametrize("target_state", ["initial", "unused", "draining", "unhealthy", "unavailable"])
def test_a_target_not_healthy_is_not_healthy(target_state: str) -> None:
    fleet = group([("InService", "Healthy")] * 2)
    report = evaluate(fleet, {TG: {"i-0": "healthy", "i-1": target_state}})
    assert not report.healthy
    assert target_state in describe_unhealthy(report)


def test_an_instance_that_left_in_service_is_noticed() -> None:
    fleet = group([("InService", "Healthy"), ("Terminating", "Unhealthy")])
    report = evaluate(fleet, {TG: {"i-0": "healthy", "i-1": "healthy"}})
    assert not report.healthy
    assert "i-1: Terminating/Unhealthy" in describe_unhealthy(report)


def test_fewer_instances_than_desired_is_not_healthy() -> None:
    report = evaluate(group([("InService", "Healthy")], desired=3), {TG: {"i-0": "healthy"}})
    assert not report.healthy


def test_every_target_group_must_agree() -> None:
    other = TG.replace("shop-green", "shop-green-api")
    report = evaluate(group([("InService", "Healthy")]), {TG: {"i-0": "healthy"}, other: {"i-0": "initial"}})
    assert not report.healthy


def test_alarm_in_alarm_fails() -> None:
    assert judge_alarms({"a": "OK", "b": "ALARM"}, "ignore", 0)[0] == "fail"


@pytest.mark.parametrize(
    ("policy", "waits", "verdict"),
    [("ignore", 0, "ok"), ("fail", 0, "fail"), ("wait", 0, "wait"), ("wait", MAX_INSUFFICIENT_DATA_WAITS, "fail")],
)
def test_insufficient_data_follows_the_app_policy(policy: str, waits: int, verdict: str) -> None:
    assert judge_alarms({"a": "INSUFFICIENT_DATA"}, policy, waits)[0] == verdict


def test_no_alarms_pass() -> None:
    assert judge_alarms({}, "fail", 0) == ("ok", "")
