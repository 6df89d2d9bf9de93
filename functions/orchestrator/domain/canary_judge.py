"""The canary judge: green against blue on the CloudWatch metrics of their own target groups, at each traffic step.

Each look is ONE GetMetricData request for both slots' target groups over the step's window. It compares rates,
never counts (green takes only its share of the traffic). A verdict is:
- Fail: a hard gate (green unhealthy or anomalous hosts for `unhealthy_minutes` in a row), or an error rate or the
  latency worse both significantly (p < alpha) and practically (ratio, and for errors an absolute difference). The
  latency is compared like with like: each slot's requests slower than one bound (blue's latency statistic in the
  step's first minute), counted by CloudWatch (its trimmed count `TC`) and tested as the errors are, on pooled counts, so
  green's smaller sample weighs as it should (its per-minute p99 is a much noisier figure than blue's);
- Marginal: as large an effect, but p only under `marginal_alpha`: bake again;
- Nodata: too few green requests or minutes (or blue ones): never promotes, bakes again;
- Pass.
Looks during the bake (`Waits.bake_checks` per bake) fail only on a clear failure; the look at the bake's end decides.
Every look spends a share of each alpha (`canary_alpha`), so a step's looks and bakes together spend at most the
configured alpha. A Marginal step bakes again on fresh minutes (the ones that made it Marginal are not judged again);
a Nodata one adds minutes to its window. At 100 % blue serves nothing: only the hard gates apply.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from orchestrator.adapters import cloudwatch, elbv2, state_table
from orchestrator.config import SLOTS, Analysis, AppConfig, load_balancer_of
from orchestrator.domain import canary_alpha, canary_stats
from orchestrator.errors import CanaryAnalysisFailedError
from orchestrator.models import CanaryProgress, Release

Outcome = Literal["Pass", "Marginal", "Fail", "Nodata"]
NAMESPACE = "AWS/ApplicationELB"
PERIOD = 60  # one-minute resolution: the finest ELB metrics have
# Query id prefix -> (metric name, statistic); the latency statistic is the app's.
COUNTS = {
    "req": "RequestCount",
    "err": "HTTPCode_Target_5XX_Count",
    "cli": "HTTPCode_Target_4XX_Count",
    "con": "TargetConnectionErrorCount",
}
GAUGES = {"unh": "UnHealthyHostCount", "ano": "AnomalousHostCount"}
LATENCY = ("lat", "TargetResponseTime")
SLOW = "slow"  # query id prefix of the count of requests slower than the step's latency bound
MAX_RESPONSE_SECONDS = 4_000  # no target answers later: an ALB's idle timeout is at most 4 000 s
GET_METRIC_DATA_PRICE = 0.01 / 1_000  # USD per metric requested (CloudWatch pricing, us-east-1)


@dataclass
class SlotFigures:
    requests: int = 0
    server_errors: int = 0  # target 5XX plus target connection errors (the load balancer answers those 502)
    client_errors: int = 0
    minutes: int = 0  # minutes with requests
    latency: list[float] = field(default_factory=list)  # the latency statistic per minute (seconds)
    latency_minutes: list[datetime] = field(default_factory=list)  # the minute of each of those
    slow: int = 0  # requests slower than the step's latency bound, in the minutes after the bound's
    slow_requests: int = 0  # all requests of those minutes
    unhealthy_run: int = 0  # the longest run of minutes with an unhealthy host
    anomalous_run: int = 0

    def rate(self, errors: int) -> float:
        return errors / self.requests if self.requests else 0.0


@dataclass
class Check:
    name: str
    outcome: Outcome
    test: str
    green: float | None
    blue: float | None
    ratio: float | None = None
    difference: float | None = None
    statistic: float | None = None
    p_value: float | None = None
    thresholds: dict[str, float] = field(default_factory=dict)


@dataclass
class Verdict:
    outcome: Outcome
    checks: list[Check]
    blue: SlotFigures
    green: SlotFigures

    def summary(self) -> str:
        """One line: the outcome and what decided it, with both slots' figures."""
        deciding = [c for c in self.checks if c.outcome == self.outcome] or self.checks
        parts = [_describe(c) for c in deciding]
        return f"{self.outcome}: " + "; ".join(parts)


def _describe(check: Check) -> str:
    text = f"{check.name} green {_show(check.green)} vs blue {_show(check.blue)}"
    if check.ratio is not None:
        text += f" (x{_show(check.ratio)})"
    if check.p_value is not None:
        text += f", {check.test} p={check.p_value:.3g}" if check.p_value >= 1e-12 else f", {check.test} p<1e-12"
    if check.thresholds:
        text += " [" + ", ".join(f"{k} {v:g}" for k, v in check.thresholds.items()) + "]"
    return text


def _show(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _finite(value: float | None) -> float | None:
    """A JSON- and DynamoDB-safe number (no nan or infinity)."""
    return None if value is None or not math.isfinite(value) else round(value, 6)


# --- Reading: one GetMetricData request ---------------------------------------------------------------------------


def dimensions(config: AppConfig, balancers: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    """Per slot, (TargetGroup, LoadBalancer) dimension values of each of its target groups."""
    return {
        slot: [(arn.split(":", 5)[5], balancers.get(arn, "")) for arn in config.slots[slot].target_group_arns]
        for slot in SLOTS
    }


def queries(dims: dict[str, list[tuple[str, str]]], latency_statistic: str, bound: float | None = None) -> list[dict]:
    """The MetricDataQueries of a look: every metric of every target group of both slots, and once the step has its
    latency bound, each group's count of slower requests (at most 2 x 5 x 8 = 80 of GetMetricData's 500)."""
    wanted = [(k, m, "Sum") for k, m in COUNTS.items()]
    wanted += [(k, m, "Maximum") for k, m in GAUGES.items()]
    wanted.append((*LATENCY, latency_statistic))
    if bound is not None:
        # CloudWatch's trimmed count: the requests in (bound, MAX_RESPONSE_SECONDS], i.e. slower than the bound
        wanted.append((SLOW, LATENCY[1], f"TC({bound:.6f}:{MAX_RESPONSE_SECONDS})"))
    made = []
    for slot, groups in dims.items():
        for index, (group, balancer) in enumerate(groups):
            for key, metric, stat in wanted:
                made.append(
                    {
                        "Id": f"{key}_{slot}_{index}",
                        "MetricStat": {
                            "Metric": {
                                "Namespace": NAMESPACE,
                                "MetricName": metric,
                                "Dimensions": [
                                    {"Name": "TargetGroup", "Value": group},
                                    {"Name": "LoadBalancer", "Value": balancer},
                                ],
                            },
                            "Period": PERIOD,
                            "Stat": stat,
                        },
                        "ReturnData": True,
                    }
                )
    return made


def figures(
    points: dict[str, list[tuple[datetime, float]]], slot: str, groups: int, after: datetime | None = None
) -> SlotFigures:
    """A slot's figures from the points of its target groups. A count's missing minute is zero (CloudWatch reports
    those metrics only when non-zero); latency per minute is the request-weighted mean of its groups'; the slow
    requests and their minutes' requests are counted after the minute `after` (the latency bound's)."""
    out = SlotFigures()
    per_minute_requests: dict[datetime, float] = {}
    weighted: dict[datetime, list[float]] = {}
    unhealthy: set[datetime] = set()
    anomalous: set[datetime] = set()
    for index in range(groups):
        requests = dict(points.get(f"req_{slot}_{index}", []))
        out.requests += round(sum(requests.values()))
        out.server_errors += round(sum(v for _, v in points.get(f"err_{slot}_{index}", [])))
        out.server_errors += round(sum(v for _, v in points.get(f"con_{slot}_{index}", [])))
        out.client_errors += round(sum(v for _, v in points.get(f"cli_{slot}_{index}", [])))
        for minute, count in requests.items():
            per_minute_requests[minute] = per_minute_requests.get(minute, 0.0) + count
        if after is not None:  # a minute with requests but no count point had no slow request
            out.slow += round(sum(v for m, v in points.get(f"{SLOW}_{slot}_{index}", []) if m > after))
            out.slow_requests += round(sum(v for m, v in requests.items() if m > after))
        for minute, value in points.get(f"lat_{slot}_{index}", []):
            weight = requests.get(minute, 0.0)
            if weight > 0:
                acc = weighted.setdefault(minute, [0.0, 0.0])
                acc[0] += weight * value
                acc[1] += weight
        unhealthy |= {m for m, v in points.get(f"unh_{slot}_{index}", []) if v > 0}
        anomalous |= {m for m, v in points.get(f"ano_{slot}_{index}", []) if v > 0}
    out.minutes = sum(1 for v in per_minute_requests.values() if v > 0)
    ordered = sorted(weighted.items())
    out.latency = [total / weight for _, (total, weight) in ordered]
    out.latency_minutes = [minute for minute, _ in ordered]
    out.unhealthy_run, out.anomalous_run = _longest_run(unhealthy), _longest_run(anomalous)
    return out


def _longest_run(minutes: set[datetime]) -> int:
    longest = run = 0
    previous: datetime | None = None
    for minute in sorted(minutes):
        run = run + 1 if previous is not None and minute - previous == timedelta(seconds=PERIOD) else 1
        longest, previous = max(longest, run), minute
    return longest


# --- Judging ------------------------------------------------------------------------------------------------------


def judge(
    blue: SlotFigures,
    green: SlotFigures,
    settings: Analysis,
    *,
    final: bool,
    share: float = 1.0,
    baseline: bool = True,
    bound: float | None = None,
) -> Verdict:
    """The verdict of one look, which may spend `share` of each alpha (`canary_alpha.look_share`), with the step's
    latency `bound` (None until the step has one). During the bake (`final` False) only a Fail counts; without a
    baseline (blue serves nothing) only the hard gates apply."""
    checks = _hard_gates(green, settings)
    if baseline:
        checks.append(_rates("server_errors", green.server_errors, blue.server_errors, blue, green, settings, share))
        if settings.client_errors:
            checks.append(
                _rates("client_errors", green.client_errors, blue.client_errors, blue, green, settings, share)
            )
        checks.append(_latency(blue, green, settings, share, bound))
        if final:
            checks.append(_enough(blue, green, settings))
    outcomes = {c.outcome for c in checks}
    outcome: Outcome = next((o for o in ("Fail", "Nodata", "Marginal") if o in outcomes), "Pass")  # type: ignore[assignment]
    if not final and outcome != "Fail":
        outcome = "Pass"  # a look during the bake stops a clear failure only; the bake's end decides the rest
    return Verdict(outcome, checks, blue, green)


def _hard_gates(green: SlotFigures, settings: Analysis) -> list[Check]:
    k = settings.unhealthy_minutes
    return [
        Check(
            name,
            "Fail" if run >= k else "Pass",
            "hard gate",
            green=float(run),
            blue=None,
            thresholds={"minutes in a row": k},
        )
        for name, run in (("unhealthy_hosts", green.unhealthy_run), ("anomalous_hosts", green.anomalous_run))
    ]


def _rates(
    name: str, green_errors: int, blue_errors: int, blue: SlotFigures, green: SlotFigures, s: Analysis, share: float
) -> Check:
    g, b = green.rate(green_errors), blue.rate(blue_errors)
    ratio = g / b if b > 0 else (math.inf if g > 0 else 1.0)
    p = canary_stats.rate_test(green_errors, green.requests, blue_errors, blue.requests)
    alpha = s.error_alpha * share
    large = ratio >= s.error_ratio and g - b >= s.error_difference
    outcome: Outcome = "Fail" if large and p < alpha else "Marginal" if large and p < s.marginal_alpha else "Pass"
    return Check(
        name,
        outcome,
        "exact binomial test of green's share of the pooled errors (one-sided)",
        green=_finite(g),
        blue=_finite(b),
        ratio=_finite(ratio),
        difference=_finite(g - b),
        p_value=_finite(p),
        thresholds={"alpha": alpha, "ratio": s.error_ratio, "difference": s.error_difference},
    )


def _latency(blue: SlotFigures, green: SlotFigures, s: Analysis, share: float, bound: float | None) -> Check:
    """Practically worse: the ratio of the per-minute series' means (steadier than of their medians on a few minutes'
    data). Significantly worse: green's share of the requests slower than the step's bound, against blue's, by the
    exact test on pooled counts (a per-minute p99 of green's few requests is far noisier than blue's, which a test on
    the two series would read as a regression)."""
    g, b = _mean(green.latency), _mean(blue.latency)
    ratio = g / b if b > 0 else math.nan
    p = canary_stats.rate_test(green.slow, green.slow_requests, blue.slow, blue.slow_requests)
    alpha = s.latency_alpha * share
    large = math.isfinite(ratio) and ratio >= s.latency_ratio
    outcome: Outcome = "Fail" if large and p < alpha else "Marginal" if large and p < s.marginal_alpha else "Pass"
    thresholds = {"alpha": alpha, "ratio": s.latency_ratio}
    if bound is not None:
        thresholds["bound_seconds"] = round(bound, 6)
    return Check(
        f"latency_{s.latency_statistic}",
        outcome,
        "exact binomial test of green's share of the pooled requests slower than the bound (one-sided)",
        green=_finite(g),
        blue=_finite(b),
        ratio=_finite(ratio),
        difference=_finite(_share(green.slow, green.slow_requests) - _share(blue.slow, blue.slow_requests)),
        statistic=float(green.slow),
        p_value=_finite(p),
        thresholds=thresholds,
    )


def _share(part: int, whole: int) -> float:
    return part / whole if whole else math.nan


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def _enough(blue: SlotFigures, green: SlotFigures, s: Analysis) -> Check:
    short = min(green.requests, blue.requests) < s.min_requests or min(green.minutes, blue.minutes) < s.min_minutes
    return Check(
        "sample",
        "Nodata" if short else "Pass",
        "minimum sample",
        green=float(green.requests),
        blue=float(blue.requests),
        thresholds={"min_requests": s.min_requests, "min_minutes": s.min_minutes, "green_minutes": green.minutes},
    )


def evidence(
    verdict: Verdict, percent: int, look: int, final: bool, start: datetime, end: datetime, at: datetime
) -> dict:
    """What the release record keeps of a verdict: every figure of both slots, each check's test and thresholds."""

    def slot(f: SlotFigures) -> dict:
        return {
            "requests": f.requests,
            "server_errors": f.server_errors,
            "client_errors": f.client_errors,
            "minutes": f.minutes,
            "latency_per_minute": [_finite(v) for v in f.latency],
            "slow_requests": f.slow,  # slower than the step's latency bound, in the minutes after the bound's
            "requests_in_those_minutes": f.slow_requests,
            "unhealthy_minutes_in_a_row": f.unhealthy_run,
            "anomalous_minutes_in_a_row": f.anomalous_run,
        }

    return {
        "at": at.isoformat(),
        "percent": percent,
        "look": look,
        "final": final,
        "outcome": verdict.outcome,
        "summary": verdict.summary(),
        "window": [start.isoformat(), end.isoformat()],
        "slots": {"blue": slot(verdict.blue), "green": slot(verdict.green)},
        "checks": [asdict(c) for c in verdict.checks],
    }


# --- A look at the current step, from the gate task ---------------------------------------------------------------

Reader = Callable[[list[dict], datetime, datetime], dict[str, list[tuple[datetime, float]]]]


def look(
    release: Release,
    now: datetime,
    read: Reader = cloudwatch.metric_data,
    balancers: Callable[[list[str]], dict[str, str]] = elbv2.load_balancer_labels,
    record: Callable[[str, str, dict], None] = state_table.append_verdict,
) -> Literal["ok", "wait", "approve"]:
    """Judge the current step once; "ok" goes on, "wait" bakes (or looks) again, "approve" asks a human (Nodata, as
    the app says). Raises CanaryAnalysisFailedError on Fail, and on Marginal or Nodata past their rebakes."""
    assert release.config and release.traffic and release.app and release.release_id
    settings = release.config.traffic.analysis
    if settings is None or release.emergency:  # an emergency swap (quarantine) is not judged
        return "ok"
    canary = release.canary or CanaryProgress()
    if not canary.balancers:
        canary.balancers = _balancers(release.config, balancers)
    percent = release.traffic.percent
    if canary.percent != percent:  # the step's first look: its window opened when its bake began
        canary = canary.model_copy(
            update={
                "percent": percent,
                "looks": 0,
                "rebakes": 0,
                "marginal_rebakes": 0,
                "outcome": "",
                "summary": "",
                "latency_bound": None,
                "bound_minute": None,
            }
        )
        canary.since = (now - timedelta(seconds=release.waits.bake_check_seconds)).isoformat()
    canary.looks += 1
    release.canary = canary
    per_bake = max(1, release.waits.bake_checks)
    final = canary.looks % per_bake == 0
    share = canary_alpha.look_share(
        (canary.looks - 1) % per_bake + 1,
        per_bake,
        min(canary.rebakes + canary.marginal_rebakes, 2 * settings.max_rebakes),
        1 + 2 * settings.max_rebakes,
    )
    # The window in AWS's time: the twin runs its waits scaled down, its metrics are CloudWatch's minutes.
    span = (now - datetime.fromisoformat(canary.since or now.isoformat())).total_seconds() / (release.waits.scale or 1)
    end = now.replace(second=0, microsecond=0)
    start = min(end - timedelta(seconds=PERIOD), (now - timedelta(seconds=span)).replace(second=0, microsecond=0))
    dims = dimensions(release.config, canary.balancers)
    bound = canary.latency_bound
    after = datetime.fromisoformat(canary.bound_minute) if canary.bound_minute else None
    points = read(queries(dims, settings.latency_statistic, bound), start, end)
    green_slot = release.idle_slot or "green"
    blue_slot = next(s for s in SLOTS if s != green_slot)
    blue = figures(points, blue_slot, len(dims[blue_slot]), after)
    if bound is None and blue.latency:  # the step's latency bound: blue's statistic in its first minute with data
        canary.latency_bound, canary.bound_minute = blue.latency[0], blue.latency_minutes[0].isoformat()
    verdict = judge(
        blue,
        figures(points, green_slot, len(dims[green_slot]), after),
        settings,
        final=final,
        share=share,
        baseline=percent < 100,
        bound=bound,
    )
    canary.outcome, canary.summary = verdict.outcome, verdict.summary()
    if final or verdict.outcome == "Fail":
        record(release.app, release.release_id, evidence(verdict, percent, canary.looks, final, start, end, now))
    where = f"at {percent} % on {release.idle_slot}"
    if verdict.outcome == "Fail":
        raise CanaryAnalysisFailedError(f"{where}: {verdict.summary()}")
    if not final:
        return "wait"  # the next look, later in the bake
    if verdict.outcome == "Pass":
        return "ok"
    # Marginal and Nodata each have their own rebakes: too little data is no sign that green is worse.
    if verdict.outcome == "Marginal" and canary.marginal_rebakes < settings.max_rebakes:
        canary.marginal_rebakes += 1
        canary.since = now.isoformat()  # fresh minutes: those that made it Marginal are not judged again
        return "wait"
    if verdict.outcome == "Nodata" and canary.rebakes < settings.max_rebakes:
        canary.rebakes += 1
        return "wait"
    if verdict.outcome == "Nodata" and settings.nodata == "approve":
        return "approve"
    more = canary.rebakes + canary.marginal_rebakes
    raise CanaryAnalysisFailedError(f"{where}, after {more} more bake(s): {verdict.summary()}")


def _balancers(config: AppConfig, labels: Callable[[list[str]], dict[str, str]]) -> dict[str, str]:
    """Each target group's load balancer: the ALB router's own (no call); Route 53's, one DescribeTargetGroups."""
    arns = [arn for slot in SLOTS for arn in config.slots[slot].target_group_arns]
    if config.router == "alb" and config.alb is not None:
        routes = [*config.alb.listener_arns, *config.alb.rule_arns]
        return dict.fromkeys(arns, load_balancer_of(routes[0]))
    return labels(arns)


def cost_per_look(config: AppConfig) -> tuple[int, float]:
    """(metrics requested, USD) of a look once its step has a latency bound (the first look asks one metric less per
    target group): GetMetricData is priced per metric requested."""
    metrics = len(queries(dimensions(config, {}), "p99", bound=0.0))
    return metrics, metrics * GET_METRIC_DATA_PRICE
