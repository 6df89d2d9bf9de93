"""An ALB reports its target groups' metrics to CloudWatch per minute, zero counts absent
(cloudwatch_target_group_metrics)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bluegreen.twin import cloudwatch_target_group_metrics

metrics = cloudwatch_target_group_metrics

GROUP = "targetgroup/shop-green/0123456789abcdef"
ARN = f"arn:aws:elasticloadbalancing:us-east-1:123456789012:{GROUP}"
BALANCER = "app/shop/fedcba9876543210"


@pytest.fixture(autouse=True)
def _no_model_left() -> Iterator[None]:
    yield
    metrics.clear_traffic()


def query(qid: str, metric: str, stat: str) -> dict:
    dims = [{"Name": "TargetGroup", "Value": GROUP}, {"Name": "LoadBalancer", "Value": BALANCER}]
    return {
        "Id": qid,
        "MetricStat": {
            "Metric": {"Namespace": "AWS/ApplicationELB", "MetricName": metric, "Dimensions": dims},
            "Period": 60,
            "Stat": stat,
        },
    }


@pytest.mark.behaviour(cloudwatch_target_group_metrics)
def test_get_metric_data_returns_a_target_groups_minutes_with_zero_counts_absent(aws) -> None:
    # Given a target group serving 300 requests a minute, 2 % target 5XX, no connection errors, p99 400 ms
    metrics.set_traffic(ARN, requests_per_minute=300, error_rate=0.02, connection_error_rate=0.0, latency_p99_ms=400)
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    start = end - timedelta(minutes=10)

    # When its metrics are read with one GetMetricData request
    wanted = [
        query("req", "RequestCount", "Sum"),
        query("err", "HTTPCode_Target_5XX_Count", "Sum"),
        query("con", "TargetConnectionErrorCount", "Sum"),
        query("lat", "TargetResponseTime", "p99"),
        query("unh", "UnHealthyHostCount", "Maximum"),
    ]
    answer = aws("cloudwatch").get_metric_data(
        MetricDataQueries=wanted, StartTime=start, EndTime=end, ScanBy="TimestampAscending"
    )
    results = {r["Id"]: r for r in answer["MetricDataResults"]}

    # Then each of the 10 minutes has its requests, oldest first, one minute apart
    requests = results["req"]
    assert len(requests["Values"]) == 10
    stamps = requests["Timestamps"]
    assert stamps == sorted(stamps) and all(b - a == timedelta(minutes=1) for a, b in itertools.pairwise(stamps))
    assert 240 <= sum(requests["Values"]) / 10 <= 360
    # And the 5XX count is near 2 % of them; a zero-count metric has no point at all, the host count has every minute
    assert 0.005 <= sum(results["err"]["Values"]) / sum(requests["Values"]) <= 0.04
    assert results["con"]["Values"] == []
    assert results["unh"]["Values"] == [0.0] * 10
    # And p99 latency is in seconds, near the model's 0.4 s
    assert all(0.25 <= v <= 0.65 for v in results["lat"]["Values"])
    # And a second read of the same window agrees (CloudWatch's data does not change when read again)
    again = aws("cloudwatch").get_metric_data(MetricDataQueries=wanted[:1], StartTime=start, EndTime=end)
    assert sorted(again["MetricDataResults"][0]["Values"]) == sorted(requests["Values"])


def test_a_regressed_model_reports_its_regression_and_no_minute_from_the_future(twin_moto) -> None:
    # Given a green group with twice the errors and 30 % more p99 than blue's
    blue_group = "targetgroup/shop-blue/00000000000000aa"
    metrics.set_traffic(blue_group, requests_per_minute=5_000, error_rate=0.01, latency_p99_ms=400)
    metrics.set_traffic(GROUP, requests_per_minute=5_000, error_rate=0.02, latency_p99_ms=520)
    now = datetime.now(UTC)

    def read(group: str, metric: str, stat: str) -> list[float]:
        q = query("q", metric, stat)
        q["MetricStat"]["Metric"]["Dimensions"][0]["Value"] = group
        return twin_moto("cloudwatch").get_metric_data(
            MetricDataQueries=[q], StartTime=now - timedelta(minutes=30), EndTime=now + timedelta(minutes=30)
        )["MetricDataResults"][0]["Values"]

    # Then green's error rate and p99 show it, minute after minute; and nothing is reported after now
    blue_errors, green_errors = (
        sum(read(blue_group, "HTTPCode_Target_5XX_Count", "Sum")),
        sum(read(GROUP, "HTTPCode_Target_5XX_Count", "Sum")),
    )
    assert 1.6 <= green_errors / blue_errors <= 2.5
    blue_p99, green_p99 = read(blue_group, "TargetResponseTime", "p99"), read(GROUP, "TargetResponseTime", "p99")
    assert len(blue_p99) == len(green_p99) and 30 <= len(green_p99) <= 31  # the past half hour, not the next
    assert 1.15 <= (sum(green_p99) / len(green_p99)) / (sum(blue_p99) / len(blue_p99)) <= 1.45


def test_a_trimmed_count_is_the_minutes_requests_in_its_range(twin_moto) -> None:
    # Given a group serving 5 000 requests a minute, median 80 ms, p99 400 ms
    metrics.set_traffic(GROUP, requests_per_minute=5_000, latency_median_ms=80, latency_p99_ms=400)
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    wanted = [
        query("req", "RequestCount", "Sum"),
        query("above_p99", "TargetResponseTime", "TC(0.4:4000)"),
        query("below_median", "TargetResponseTime", "TC(:0.08)"),
    ]
    # When its requests and trimmed counts are read over 20 minutes
    answer = twin_moto("cloudwatch").get_metric_data(
        MetricDataQueries=wanted, StartTime=end - timedelta(minutes=20), EndTime=end
    )
    results = {r["Id"]: r["Values"] for r in answer["MetricDataResults"]}
    requests = sum(results["req"])
    # Then each minute has a count (a whole number), about 1 % of the requests above the p99, half under the median
    assert len(results["above_p99"]) == 20 and all(v == int(v) for v in results["above_p99"])
    assert 0.007 <= sum(results["above_p99"]) / requests <= 0.013
    assert 0.47 <= sum(results["below_median"]) / requests <= 0.53
