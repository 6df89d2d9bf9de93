"""The canary judge's verdicts, its one read per look, its bookkeeping across looks and bakes, and its config."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

import pytest
from orchestrator.config import Analysis, parse_config
from orchestrator.domain import canary_judge
from orchestrator.domain.canary_judge import SlotFigures, judge
from orchestrator.domain.canary_stats import binomial_sf
from orchestrator.domain.release import plan_waits
from orchestrator.errors import CanaryAnalysisFailedError, ConfigInvalidError
from orchestrator.models import Release, TrafficProgress

from tests.unit.test_config import VALID

DEFAULTS = Analysis()
NOW = datetime(2026, 12, 6, 3, 0, 30, tzinfo=UTC)


def slot(
    requests: int, errors: int, latency: list[float], minutes: int = 5, unhealthy: int = 0, **kw: int
) -> SlotFigures:
    return SlotFigures(
        requests=requests,
        server_errors=errors,
        client_errors=kw.get("client", 0),
        minutes=minutes,
        latency=latency,
        unhealthy_run=unhealthy,
        anomalous_run=kw.get("anomalous", 0),
        slow=kw.get("slow", 0),
        slow_requests=kw.get("slow_requests", 0),
    )


# Blue: 1 % of its requests slower than the step's bound in the four minutes after the bound's
BLUE = slot(18_000, 180, [0.40, 0.41, 0.39, 0.42, 0.405], slow=144, slow_requests=14_400)


def test_a_green_like_blue_passes() -> None:
    green = slot(2_000, 21, [0.41, 0.39, 0.40, 0.42, 0.41])
    verdict = judge(BLUE, green, DEFAULTS, final=True)
    assert verdict.outcome == "Pass", verdict.summary()


def test_a_doubled_error_rate_fails_with_its_evidence() -> None:
    # Given green at 2 % server errors against blue's 1 %, on enough requests
    green = slot(2_000, 40, [0.41, 0.39, 0.40, 0.42, 0.41])
    verdict = judge(BLUE, green, DEFAULTS, final=True)
    # Then it fails on the error check, which shows both rates, the ratio, the test's p-value and the thresholds
    assert verdict.outcome == "Fail"
    check = next(c for c in verdict.checks if c.name == "server_errors")
    assert (check.outcome, check.green, check.blue, check.ratio) == ("Fail", 0.02, 0.01, 2.0)
    assert check.p_value is not None and check.p_value < DEFAULTS.error_alpha
    assert check.thresholds == {"alpha": 0.005, "ratio": 1.25, "difference": 0.001}
    assert "server_errors green 0.02 vs blue 0.01 (x2)" in verdict.summary()


def test_a_significant_but_tiny_error_increase_passes() -> None:
    # Given huge volume: 0.105 % against 0.100 %, significant perhaps, but under the ratio and the difference
    blue, green = slot(10_000_000, 10_000, [0.4] * 5), slot(10_000_000, 10_500, [0.4] * 5)
    assert judge(blue, green, DEFAULTS, final=True).outcome == "Pass"


def test_a_large_effect_without_enough_evidence_is_marginal() -> None:
    # Given green's rate 1.6 x blue's on a sample where that is not yet significant at 1 % (but is at 20 %)
    green = slot(2_000, 32, [0.41, 0.39, 0.40, 0.42, 0.41])
    assert judge(BLUE, green, DEFAULTS, final=True).outcome == "Marginal"


def test_a_slower_green_fails_on_its_share_of_the_slow_requests_and_the_ratio() -> None:
    # Given green's p99 near 1.3 x blue's, and 2.5 % of its requests slower than the bound against blue's 1 %
    green = slot(2_000, 20, [0.52, 0.53, 0.50, 0.55, 0.51], slow=40, slow_requests=1_600)
    verdict = judge(BLUE, green, DEFAULTS, final=True, bound=0.4)
    check = next(c for c in verdict.checks if c.name == "latency_p99")
    assert verdict.outcome == "Fail" and check.outcome == "Fail"
    # Then the test is the exact one of green's share (1 600 of 16 000 requests) of the 184 slow ones
    assert check.statistic == 40.0 and check.p_value == pytest.approx(binomial_sf(40, 184, 0.1), abs=1e-6)  # 2.06e-6
    assert check.ratio is not None and check.ratio > 1.25 and check.thresholds["bound_seconds"] == 0.4
    assert check.difference == pytest.approx(0.015)


def test_a_noisier_green_series_with_no_more_slow_requests_passes() -> None:
    # Given green's per-minute p99, a figure of 400 requests, swinging wider than blue's (of 3 600) and above it on
    # average, while its share of slow requests is blue's: the spread of a small sample, not a regression
    green = slot(2_000, 20, [0.55, 0.38, 0.52, 0.47, 0.45], slow=16, slow_requests=1_600)
    verdict = judge(BLUE, green, DEFAULTS, final=True, bound=0.4)
    check = next(c for c in verdict.checks if c.name == "latency_p99")
    assert check.ratio is not None and check.ratio > DEFAULTS.latency_ratio
    assert (verdict.outcome, check.outcome) == ("Pass", "Pass"), verdict.summary()


def test_too_few_green_requests_or_minutes_is_nodata_never_pass() -> None:
    assert judge(BLUE, slot(500, 5, [0.4] * 5), DEFAULTS, final=True).outcome == "Nodata"
    assert judge(BLUE, slot(5_000, 50, [0.4] * 3, minutes=3), DEFAULTS, final=True).outcome == "Nodata"


@pytest.mark.parametrize("gate", ["unhealthy", "anomalous"])
def test_unhealthy_or_anomalous_green_hosts_fail_at_once_even_during_the_bake(gate: str) -> None:
    green = slot(100, 0, [0.4], minutes=2, **{gate: 2})
    verdict = judge(BLUE, green, DEFAULTS, final=False, share=0.0025)
    assert verdict.outcome == "Fail" and f"{gate}_hosts" in verdict.summary()


def test_a_look_during_the_bake_fails_only_a_clear_failure() -> None:
    # Given two minutes in, a look that may spend 2.2 % of each alpha: green's errors 1.6 x blue's is not clear; 5 x is
    blue, share = slot(7_200, 72, [0.4, 0.41], minutes=2), 0.022
    assert judge(blue, slot(800, 13, [0.4, 0.4], minutes=2), DEFAULTS, final=False, share=share).outcome == "Pass"
    assert judge(blue, slot(800, 40, [0.4, 0.4], minutes=2), DEFAULTS, final=False, share=share).outcome == "Fail"


def test_at_100_percent_only_the_hard_gates_apply() -> None:
    green = slot(20_000, 400, [0.9] * 5)
    assert judge(slot(0, 0, [], minutes=0), green, DEFAULTS, final=True, baseline=False).outcome == "Pass"


# --- looks at a release's step -----------------------------------------------------------------------------------

ALB_LB = "app/shop/50dc6c495c0c9188"


def release(analysis: dict | None = None, percent: int = 10) -> Release:
    document = copy.deepcopy(VALID)
    document["traffic"]["analysis"] = {"max_rebakes": 1, **(analysis or {})}
    config = parse_config(json.dumps(document), "shop")
    waits = plan_waits(config, scale=1.0, deregistration_delay=300)
    return Release(
        app="shop",
        release_id="r1",
        config=config,
        idle_slot="green",
        waits=waits,
        traffic=TrafficProgress(percent=percent),
        steps=[10, 50, 100],
        step_index=1,
    )


def minutes(start: datetime, n: int, value: float) -> list[tuple[datetime, float]]:
    return [(start + timedelta(minutes=i), value) for i in range(n)]


class FakeCloudWatch:
    """GetMetricData as CloudWatch answers: a point per minute with data (no 5XX point when there were none)."""

    def __init__(
        self, green_errors_per_minute: float, green_requests: float = 400.0, green_slow: float = 4.0, green_p99=0.4
    ) -> None:
        self.green_errors, self.green_requests = green_errors_per_minute, green_requests
        self.green_slow, self.green_p99 = green_slow, green_p99
        self.reads: list[tuple[int, datetime, datetime]] = []
        self.stats: list[set[str]] = []

    def __call__(self, queries: list[dict], start: datetime, end: datetime) -> dict:
        self.reads.append((len(queries), start, end))
        self.stats.append({q["MetricStat"]["Stat"] for q in queries})
        n = int((end - start).total_seconds() // 60)
        per_slot = {
            "blue": (3_600.0, 36.0, 0.4, 36.0),
            "green": (self.green_requests, self.green_errors, self.green_p99, self.green_slow),
        }
        out = {}
        for q in queries:
            key, slot_name, _ = q["Id"].split("_")
            requests, errors, latency, slow = per_slot[slot_name]
            value = {"req": requests, "err": errors, "lat": latency, "unh": 0.0, "ano": 0.0, "slow": slow}.get(key)
            out[q["Id"]] = minutes(start, n, value) if value else []
        return out


def test_one_read_per_look_and_the_bakes_end_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a 300 s bake looked at every 60 s, and a green as good as blue
    r = release()
    assert (r.waits.bake_checks, r.waits.bake_check_seconds) == (5, 60)
    cloudwatch, recorded = FakeCloudWatch(4.0), []
    labels = lambda arns: dict.fromkeys(arns, ALB_LB)  # noqa: E731
    record = lambda app, release_id, verdict: recorded.append(verdict)  # noqa: E731
    # When the judge looks five times, a minute apart
    answers = [canary_judge.look(r, NOW + timedelta(minutes=i), cloudwatch, labels, record) for i in range(5)]
    # Then the four looks during the bake wait, the fifth passes; each look made one read of 2 x 7 metrics, and 2 x 8
    # once the first look had set the step's latency bound (blue's p99 in its first minute): the slow requests' count
    assert answers == ["wait"] * 4 + ["ok"]
    assert [n for n, _, _ in cloudwatch.reads] == [14] + [16] * 4
    assert r.canary and r.canary.latency_bound == 0.4 and "TC(0.400000:4000)" in cloudwatch.stats[1]
    # And the window grew from the bake's start; only the bake's end was recorded, with both slots' figures
    assert cloudwatch.reads[-1][1] == (NOW - timedelta(seconds=60)).replace(second=0)
    assert len(recorded) == 1 and recorded[0]["outcome"] == "Pass" and recorded[0]["final"]
    assert recorded[0]["slots"]["green"]["requests"] == 2_000 and recorded[0]["slots"]["blue"]["requests"] == 18_000


def test_a_failing_green_stops_at_the_first_clear_look() -> None:
    r = release()
    cloudwatch, recorded = FakeCloudWatch(40.0), []
    with pytest.raises(CanaryAnalysisFailedError, match="at 10 % on green: Fail: server_errors"):
        for i in range(5):
            canary_judge.look(r, NOW + timedelta(minutes=i), cloudwatch, lambda a: {}, lambda *v: recorded.append(v))
    assert len(cloudwatch.reads) < 5 and recorded[-1][2]["outcome"] == "Fail"


@pytest.mark.parametrize(("nodata", "last"), [("fail", CanaryAnalysisFailedError), ("approve", "approve")])
def test_nodata_bakes_again_then_fails_or_asks_for_approval(nodata: str, last: object) -> None:
    # Given green with too few requests (100 a minute: 500 per bake, under the 2 000 needed)
    r = release({"nodata": nodata})
    cloudwatch = FakeCloudWatch(1.0, green_requests=100.0)
    answers = [
        canary_judge.look(r, NOW + timedelta(minutes=i), cloudwatch, lambda a: {}, lambda *v: None) for i in range(5)
    ]
    # Then the first bake's end is Nodata: bake again (max_rebakes 1)
    assert answers[-1] == "wait" and r.canary and r.canary.outcome == "Nodata"
    # And at the second bake's end: fail, or ask a human, as configured
    for i in range(5, 9):
        assert canary_judge.look(r, NOW + timedelta(minutes=i), cloudwatch, lambda a: {}, lambda *v: None) == "wait"
    if last is CanaryAnalysisFailedError:
        with pytest.raises(CanaryAnalysisFailedError, match="Nodata"):
            canary_judge.look(r, NOW + timedelta(minutes=9), cloudwatch, lambda a: {}, lambda *v: None)
    else:
        assert canary_judge.look(r, NOW + timedelta(minutes=9), cloudwatch, lambda a: {}, lambda *v: None) == last


def test_the_alb_router_needs_no_call_to_name_the_load_balancer() -> None:
    from tests.unit.test_config_alb import ALB

    config = parse_config(json.dumps({**ALB, "traffic": {"bake_seconds": 300, "analysis": {}}}), "shop")
    asked: list = []
    assert set(canary_judge._balancers(config, lambda arns: asked.append(arns) or {}).values()) == {ALB_LB}
    assert asked == []
    metrics, usd = canary_judge.cost_per_look(config)
    assert metrics == 16 and usd == pytest.approx(0.00016)


BAD = [
    ({"min_requests": 10}, "traffic.analysis.min_requests", "greater than or equal to 100"),
    ({"error_alpha": 0}, "traffic.analysis.error_alpha", "greater than 0"),
    ({"error_ratio": 0.5}, "traffic.analysis.error_ratio", "greater than or equal to 1"),
    ({"nodata": "pass"}, "traffic.analysis.nodata", "'fail' or 'approve'"),
    ({"latency_statistic": "p42"}, "traffic.analysis.latency_statistic", "'p50'"),
    ({"marginal_alpha": 0.01}, "traffic.analysis", "marginal_alpha must be larger"),
    ({"check_seconds": 10}, "traffic.analysis.check_seconds", "greater than or equal to 60"),
    ({"min_minutes": 10}, "traffic", "bake_seconds 300 is shorter than analysis.min_minutes"),
    ({"minimum_requests": 5}, "traffic.analysis.minimum_requests", "not a known field"),
]


@pytest.mark.parametrize(("analysis", "field", "message"), BAD, ids=[next(iter(b[0])) for b in BAD])
def test_a_bad_analysis_config_is_refused_in_one_line_naming_the_field(
    analysis: dict, field: str, message: str
) -> None:
    document = copy.deepcopy(VALID)
    document["traffic"]["analysis"] = analysis
    with pytest.raises(ConfigInvalidError) as raised:
        parse_config(json.dumps(document), "shop")
    text = str(raised.value)
    assert "\n" not in text and f": {field}:" in text and message in text, text


def test_a_long_bake_is_looked_at_less_often_and_the_judges_looks_count_in_the_budget() -> None:
    from orchestrator import budget

    # Given a judge on a 2 h bake (a look every 60 s would be 120 looks per bake)
    document = copy.deepcopy(VALID)
    document["traffic"] |= {"bake_seconds": 7_200, "steps": [50, 100], "analysis": {"max_rebakes": 0}}
    config = parse_config(json.dumps(document), "shop")
    # Then it looks at most MAX_BAKE_LOOKS times per bake, the looks spread over the bake
    waits = plan_waits(config, scale=1.0, deregistration_delay=300)
    assert waits.bake_checks == budget.MAX_BAKE_LOOKS
    assert waits.bake_check_seconds * waits.bake_checks == 7_200
    # And the worst case counts every look, of every bake the judge may add (Marginal and Nodata each)
    judged = budget.worst_case(
        parse_config(json.dumps(document | {"traffic": document["traffic"] | {"analysis": {}}}), "shop")
    )
    assert judged.events["traffic.analysis"] == 2 * budget.MAX_BAKE_LOOKS * (1 + 2 * 2) * budget.EVENTS_PER_POLL
    assert judged.seconds["traffic.analysis"] == 2 * 7_200 * 4
    # And a config whose judge could outrun the execution timeout is refused, naming the field
    document["traffic"] |= {"bake_seconds": 86_400, "analysis": {}}
    with pytest.raises(ConfigInvalidError, match=r"traffic\.bake_seconds: a release of this config can last"):
        parse_config(json.dumps(document), "shop")


def test_without_a_judge_a_bake_is_one_wait_as_before() -> None:
    config = parse_config(json.dumps(VALID), "shop")
    waits = plan_waits(config, scale=0.01, deregistration_delay=300)
    assert (waits.bake_checks, waits.bake_check_seconds) == (1, waits.bake_seconds)
    # A release planned before the judge existed (no bake_check_seconds in its state) waits its whole bake
    from orchestrator.models import Waits

    assert Waits.model_validate({"bake_seconds": 42}).bake_check_seconds == 42


def test_a_slower_green_fails_during_the_bake_on_its_slow_requests() -> None:
    # Given green with a p99 1.3 x blue's, 2.5 % of its requests slower than the bound (10 of 400 a minute) against 1 %
    r = release()
    cloudwatch = FakeCloudWatch(4.0, green_slow=10.0, green_p99=0.52)
    answers = []
    with pytest.raises(CanaryAnalysisFailedError, match="latency_p99"):
        for i in range(5):
            answers.append(canary_judge.look(r, NOW + timedelta(minutes=i), cloudwatch, lambda a: {}, lambda *v: None))
    # Then it fails during the bake, a clear failure: the first look has no bound yet, the next two too few slow requests
    # for their small share of alpha; the fourth (30 slow of 1 200 against 108 of 10 800: p 3.6e-5) fails. The
    # minute that set the bound is not counted
    assert answers == ["wait"] * 3
    assert r.canary and r.canary.bound_minute == (NOW - timedelta(seconds=60)).replace(second=0).isoformat()


def test_a_marginal_step_bakes_again_on_fresh_minutes() -> None:
    # Given green's errors 1.6 x blue's (32 of 2 000 against 1 %): large, not yet clear
    r = release()
    cloudwatch = FakeCloudWatch(6.4)
    answers = [
        canary_judge.look(r, NOW + timedelta(minutes=i), cloudwatch, lambda a: {}, lambda *v: None) for i in range(6)
    ]
    # Then the bake's end is Marginal and bakes again, and the next look reads only the minute after it
    assert answers[4] == "wait" and r.canary and r.canary.marginal_rebakes == 1
    fifth = (NOW + timedelta(minutes=4)).replace(second=0)
    assert cloudwatch.reads[5][1:] == (fifth, fifth + timedelta(minutes=1))


def test_slow_requests_are_counted_after_the_bounds_minute_a_missing_point_as_none() -> None:
    # Given three minutes of 400 requests; the first set the bound; the count of slow ones has a point in the third only
    t0 = NOW.replace(second=0)
    points = {
        "req_green_0": minutes(t0, 3, 400.0),
        "slow_green_0": [(t0, 9.0), (t0 + timedelta(minutes=2), 6.0)],
    }
    # Then the bound's minute is left out, and the second minute counts its 400 requests with no slow one
    figures = canary_judge.figures(points, "green", 1, after=t0)
    assert (figures.requests, figures.slow, figures.slow_requests) == (1_200, 6, 800)
    # And before the step has a bound nothing is counted
    assert canary_judge.figures(points, "green", 1).slow_requests == 0
