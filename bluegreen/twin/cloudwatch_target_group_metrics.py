"""The load balancers' per-target-group metrics in CloudWatch, made from traffic a test or the demo says to model.

Real AWS (ELB User Guide, "CloudWatch metrics for your Application Load Balancer"): "Elastic Load Balancing reports
metrics to CloudWatch only when requests are flowing through the load balancer ... If there are no requests flowing
through the load balancer or no data for a metric, the metric is not reported"; `RequestCount`,
`HTTPCode_Target_5XX_Count`, `HTTPCode_Target_4XX_Count`, `TargetConnectionErrorCount` and `TargetResponseTime` are
reported only when non-zero ("Reporting criteria: There is a nonzero value"), `UnHealthyHostCount` and
`AnomalousHostCount` every minute; all in the `AWS/ApplicationELB` namespace at one-minute resolution, per target
group with the dimensions `TargetGroup` (`targetgroup/<name>/<id>`) and `LoadBalancer` (`app/<name>/<id>`).
GetMetricData returns each query's points of a period (`Period` 60), oldest first with `ScanBy`
`TimestampAscending`; a period without data has no point.

moto has no load balancer traffic, so no such metric: GetMetricData answers nothing. The twin answers those queries
from a model per target group (`set_traffic`, or `POST /_twin/traffic`): requests per minute, the fraction of
server errors, client errors and connection errors, the latency's median and p99 (log-normal), unhealthy and
anomalous hosts. Each minute's figures are drawn from the model with a seed of (model, group, minute), so two reads
agree: requests Poisson, errors binomial, a latency percentile as a sample quantile of that minute's requests
(its asymptotic normal law, in log space), `Average` as a sample mean, a trimmed count `TC(low:high)` with absolute
bounds in seconds (CloudWatch User Guide, "Statistics definitions": "Trimmed count (TC) is the number of data points
in the chosen range for a trimmed mean statistic"; a range excludes its lower bound and includes its upper one) as a
binomial count of that minute's requests in the range. Each statistic of a minute is drawn on its own (a real
minute's p99 and its count above a bound come from the same requests, so they move together). Injected regressions are models: a green
group with twice the errors, or 30 % more p99. Minutes in the future have no data; every past minute of the query has
(the traffic is modelled as having flowed), so a twin with scaled-down waits can read whole minutes at once.
"""

from __future__ import annotations

import functools
import math
import random
import threading
import zlib
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.cloudwatch import models

from bluegreen.twin.patching import Patches

NAMESPACE = "AWS/ApplicationELB"
ALWAYS_REPORTED = ("UnHealthyHostCount", "AnomalousHostCount", "HealthyHostCount")
Z99 = 2.3263478740408408  # the standard normal's 0.99 quantile


@dataclass(frozen=True)
class Traffic:
    """What one target group serves, per minute."""

    requests_per_minute: float = 600.0
    error_rate: float = 0.01  # target 5XX
    client_error_rate: float = 0.02  # target 4XX
    connection_error_rate: float = 0.0
    latency_median_ms: float = 80.0
    latency_p99_ms: float = 400.0
    unhealthy_hosts: int = 0
    anomalous_hosts: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        rates = (self.error_rate, self.client_error_rate, self.connection_error_rate)
        if self.requests_per_minute < 0 or any(not 0 <= r <= 1 for r in rates):
            raise ValueError("requests_per_minute must be >= 0 and every rate from 0 to 1")
        if not 0 < self.latency_median_ms < self.latency_p99_ms:
            raise ValueError("latency needs 0 < latency_median_ms < latency_p99_ms")


_lock = threading.Lock()
_models: dict[str, Traffic] = {}  # TargetGroup dimension (`targetgroup/<name>/<id>`) -> its traffic


def _group(target_group: str) -> str:
    return target_group.split(":", 5)[5] if target_group.startswith("arn:") else target_group


def set_traffic(target_group: str, **fields: Any) -> Traffic:
    """Model the traffic of a target group (its ARN or `targetgroup/<name>/<id>`); fields as `Traffic`'s."""
    model = Traffic(**fields)
    with _lock:
        _models[_group(target_group)] = model
    return model


def clear_traffic() -> None:
    with _lock:
        _models.clear()


def traffic() -> dict[str, dict]:
    with _lock:
        return {k: asdict(v) for k, v in _models.items()}


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def _binomial(rng: random.Random, n: int, p: float) -> int:
    if n <= 0 or p <= 0:
        return 0
    if n * p < 30:
        return min(n, _poisson(rng, n * p))
    return min(n, max(0, round(rng.gauss(n * p, math.sqrt(n * p * (1 - p))))))


def _latency(rng: random.Random, model: Traffic, stat: str, n: int) -> float:
    """Seconds: the minute's statistic over its n requests."""
    mu = math.log(model.latency_median_ms / 1000)
    sigma = (math.log(model.latency_p99_ms / 1000) - mu) / Z99
    if stat == "Average":
        spread = math.sqrt(math.expm1(sigma**2) / n)
        return math.exp(mu + sigma**2 / 2) * max(0.01, 1 + rng.gauss(0, spread))
    q = {"Maximum": 1 - 1 / (n + 1), "Minimum": 1 / (n + 1)}.get(stat) or float(stat[1:]) / 100
    z = _normal_quantile(q)
    density = math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    spread = sigma * math.sqrt(q * (1 - q) / n) / density  # sd of the sample quantile, relative (log space)
    return math.exp(mu + sigma * z + rng.gauss(0, spread))


def _trimmed_count(rng: random.Random, model: Traffic, stat: str, n: int) -> float | None:
    """`TC(low:high)` with absolute bounds (seconds, either may be empty): that minute's requests in (low, high];
    None for a form the twin does not model (percentage bounds)."""
    low, _, high = stat[3:-1].partition(":")
    if "%" in stat or not stat.endswith(")"):
        return None
    mu = math.log(model.latency_median_ms / 1000)
    sigma = (math.log(model.latency_p99_ms / 1000) - mu) / Z99

    def below(bound: str, default: float) -> float:  # P(latency <= bound) under the log-normal model
        value = float(bound) if bound.strip() else None
        if value is None:
            return default
        return 0.0 if value <= 0 else 0.5 * math.erfc(-(math.log(value) - mu) / (sigma * math.sqrt(2)))

    share = max(0.0, below(high, 1.0) - below(low, 0.0))
    return float(_binomial(rng, n, share))


@functools.lru_cache(maxsize=256)
def _normal_quantile(q: float) -> float:
    """Inverse standard normal CDF by bisection on erfc (accurate to 1e-12; the twin calls it rarely)."""
    low, high = -40.0, 40.0
    for _ in range(200):
        mid = (low + high) / 2
        if 0.5 * math.erfc(-mid / math.sqrt(2)) < q:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def _epoch(at: datetime) -> int:
    return int((at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp())


def minute(model: Traffic, group: str, at: datetime) -> dict[str, float]:
    """Every metric of one group for the minute starting `at`; a metric absent is not reported that minute."""
    return dict(_minute(model, group, _epoch(at)))


@functools.lru_cache(maxsize=8192)  # a look reads each minute's figures once per metric: draw them once
def _minute(model: Traffic, group: str, epoch: int) -> tuple[tuple[str, float], ...]:
    rng = random.Random(zlib.crc32(f"{model.seed}|{group}|{epoch}".encode()))
    n = _poisson(rng, model.requests_per_minute)
    figures: dict[str, float] = {
        "UnHealthyHostCount": float(model.unhealthy_hosts),
        "AnomalousHostCount": float(model.anomalous_hosts),
    }
    counts = {
        "RequestCount": n,
        "HTTPCode_Target_5XX_Count": _binomial(rng, n, model.error_rate),
        "HTTPCode_Target_4XX_Count": _binomial(rng, n, model.client_error_rate),
        "TargetConnectionErrorCount": _binomial(rng, n, model.connection_error_rate),
    }
    figures.update({k: float(v) for k, v in counts.items() if v > 0})
    if n > 0:
        figures["TargetResponseTime"] = float(n)  # its SampleCount; the statistic is drawn per query
    return tuple(figures.items())


def _datapoint(model: Traffic, group: str, metric: str, stat: str, at: datetime) -> float | None:
    figures = minute(model, group, at)
    if metric not in figures:
        return None
    if metric != "TargetResponseTime":
        return figures[metric]  # a count's Sum (one point per minute: Sum, Maximum, Minimum and Average agree)
    n = int(figures[metric])
    if stat == "SampleCount":
        return float(n)
    rng = random.Random(zlib.crc32(f"{model.seed}|{group}|{_epoch(at)}|{stat}".encode()))
    if stat.startswith("TC("):
        return _trimmed_count(rng, model, stat, n)
    return _latency(rng, model, stat, n)


def _modelled(query: dict) -> tuple[Traffic, str, dict] | None:
    stat = query.get("MetricStat")
    if not stat or stat["Metric"].get("Namespace") != NAMESPACE:
        return None
    dims = {d["Name"]: d["Value"] for d in stat["Metric"].get("Dimensions", [])}
    with _lock:
        model = _models.get(dims.get("TargetGroup", ""))
    if model is None or "LoadBalancer" not in dims:
        return None
    return model, dims["TargetGroup"], stat


_original_get_metric_data = models.CloudWatchBackend.get_metric_data


def _get_metric_data(
    self: Any,
    queries: list[dict[str, Any]],
    start_time: datetime,
    end_time: datetime,
    scan_by: str = "TimestampAscending",
) -> list[dict[str, Any]]:
    modelled = {q["Id"]: found for q in queries if (found := _modelled(q)) is not None}
    rest = [q for q in queries if q["Id"] not in modelled]
    answered = (
        {r["id"]: r for r in _original_get_metric_data(self, rest, start_time, end_time, scan_by)} if rest else {}
    )
    if not rest and start_time >= end_time:
        raise models.ValidationError("The parameter EndTime must be greater than StartTime.")
    now = datetime.now(UTC).replace(tzinfo=start_time.tzinfo and UTC)  # moto hands over naive UTC times
    for query in queries:
        if query["Id"] not in modelled:
            continue
        model, group, stat = modelled[query["Id"]]
        period = timedelta(seconds=int(stat["Period"]))
        at = start_time.replace(second=0, microsecond=0)
        at += period if at < start_time else timedelta(0)
        values, timestamps = [], []
        while at < end_time and at <= now:  # no data from the future; the current minute is reported as it goes
            value = _datapoint(model, group, stat["Metric"]["MetricName"], stat["Stat"], at)
            if value is not None:
                values.append(value)
                timestamps.append(at)
            at += period
        if scan_by == "TimestampDescending":
            values.reverse()
            timestamps.reverse()
        label = query.get("Label") or f"{stat['Metric']['MetricName']} {stat['Stat']}"
        answered[query["Id"]] = {
            "id": query["Id"],
            "label": label,
            "values": values,
            "timestamps": timestamps,
            "status_code": "Complete",
        }
    return [answered[q["Id"]] for q in queries if q["Id"] in answered and q.get("ReturnData", True)]


patches = Patches(__name__, (models.CloudWatchBackend, "get_metric_data", _get_metric_data))
install, uninstall = patches.install, patches.uninstall
