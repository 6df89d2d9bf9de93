"""The canary judge measured: detection and false-alarm rates, CPU time per look, CloudWatch calls and cost per release.

Each simulated step is a bake of the judge's default config (300 s, a look every 60 s, up to 2 more bakes on Marginal
or Nodata) at the configured minimum sample: green 400 requests a minute (2 000 per bake, `min_requests`) against
blue's 3 600 (a 10 % step), error rate 1 %, p99 400 ms. The metrics come from the twin's
`cloudwatch_target_group_metrics` (a fresh seed per step), read with GetMetricData as the Lambda reads them, and judged
by `canary_judge.look`, the gate task's own code. Run alone: `python -m bluegreen.proof.canary_bench` (updates its
section of docs/benchmarks.md); `make bench` runs it too.
"""

from __future__ import annotations

import copy
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from moto import mock_aws
from orchestrator.adapters import cloudwatch
from orchestrator.config import parse_config
from orchestrator.domain import canary_judge
from orchestrator.domain.release import plan_waits
from orchestrator.errors import CanaryAnalysisFailedError
from orchestrator.models import Release, TrafficProgress

from bluegreen.proof import bench_costs
from bluegreen.twin import cloudwatch_target_group_metrics as metrics

REPO = Path(__file__).resolve().parents[2]
STEPS = 200
SECTION = "## Canary judge: detection, false alarms, cost"
ACCOUNT = "123456789012"
GROUPS = {
    s: f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:targetgroup/bench-{s}/0123456789abcdef"
    for s in ("blue", "green")
}
LB = "app/bench/50dc6c495c0c9188"
CONFIG = {
    "app": "bench",
    "launch_template_id": "lt-0abc",
    "router": "alb",
    "alb": {"listener_arns": [f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:listener/{LB}/f2f7dc8efc522ab2"]},
    "slots": {s: {"target_group_arns": [arn], "test_base_url": f"http://{s}.example.com"} for s, arn in GROUPS.items()},
    "traffic": {"steps": [10, 50, 100], "bake_seconds": 300, "analysis": {}},
}
BASE = {"error_rate": 0.01, "client_error_rate": 0.02, "latency_median_ms": 80.0, "latency_p99_ms": 400.0}
SCENARIOS = {
    "A/A (green as blue)": {},
    "doubled error rate (1 % -> 2 %)": {"error_rate": 0.02},
    "p99 latency +30 % (400 -> 520 ms)": {"latency_p99_ms": 520.0},
}


@dataclass
class Scenario:
    name: str
    outcomes: dict[str, int] = field(default_factory=dict)  # how each step ended: Fail, Pass, approve
    first_bake_fail: int = 0
    looks: list[int] = field(default_factory=list)

    @property
    def failed(self) -> float:
        return self.outcomes.get("Fail", 0) / max(1, sum(self.outcomes.values()))


@dataclass
class Measured:
    scenarios: list[Scenario]
    cpu_ms: list[float]
    calls_per_release: int
    metrics_per_call: int
    cost_per_release: float
    wall_seconds: float


def _release(config: dict, percent: int) -> Release:
    parsed = parse_config(json.dumps(config), "bench")
    waits = plan_waits(parsed, scale=1.0, deregistration_delay=30)
    return Release(
        app="bench",
        release_id="r",
        config=parsed,
        idle_slot="green",
        waits=waits,
        traffic=TrafficProgress(percent=percent),
    )


def _timed_reader(spent: list[float]):
    def read(queries: list[dict], start: datetime, end: datetime) -> dict:
        began = time.process_time()
        try:
            return cloudwatch.metric_data(queries, start, end)
        finally:
            spent.append(time.process_time() - began)

    return read


def run_step(release: Release, now: datetime, cpu_ms: list[float]) -> tuple[str, int, bool]:
    """Look until the step ends: (its end: Fail, Pass or approve; looks; failed within its first bake)."""
    looks = 0
    while True:
        looks += 1
        reading: list[float] = []
        began = time.process_time()
        try:
            answer = canary_judge.look(
                release, now + timedelta(minutes=looks), _timed_reader(reading), dict, lambda *_: None
            )
        except CanaryAnalysisFailedError:
            cpu_ms.append((time.process_time() - began - sum(reading)) * 1000)
            return "Fail", looks, looks <= release.waits.bake_checks
        cpu_ms.append((time.process_time() - began - sum(reading)) * 1000)
        if answer == "ok":
            return "Pass", looks, False
        if answer == "approve":
            return "approve", looks, False


def measure(steps: int = STEPS) -> Measured:
    started = time.perf_counter()
    cpu_ms: list[float] = []
    results = []
    config = copy.deepcopy(CONFIG)
    metrics.install()
    try:
        with mock_aws():
            # Every simulated minute must be in the past (CloudWatch has no data from the future): step i's bake ends
            # i hours ago.
            origin = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=steps + 2)
            for name, green in SCENARIOS.items():
                scenario = Scenario(name)
                for i in range(steps):
                    metrics.set_traffic(GROUPS["blue"], requests_per_minute=3_600, seed=i, **BASE)
                    metrics.set_traffic(GROUPS["green"], requests_per_minute=400, seed=i, **{**BASE, **green})
                    outcome, looks, early = run_step(_release(config, 10), origin + timedelta(hours=i), cpu_ms)
                    scenario.outcomes[outcome] = scenario.outcomes.get(outcome, 0) + 1
                    scenario.first_bake_fail += early
                    scenario.looks.append(looks)
                results.append(scenario)
            # A whole release of a healthy green (steps 10, 50, 100): its GetMetricData calls.
            calls: list[float] = []
            for n, percent in enumerate((10, 50, 100)):
                share = percent / 100
                metrics.set_traffic(GROUPS["blue"], requests_per_minute=4_000 * (1 - share), seed=n, **BASE)
                metrics.set_traffic(GROUPS["green"], requests_per_minute=4_000 * share, seed=n, **BASE)
                release = _release(config, percent)
                looks = 0
                while (
                    canary_judge.look(
                        release,
                        origin + timedelta(minutes=10 * n + looks + 1),
                        _timed_reader(calls),
                        dict,
                        lambda *_: None,
                    )
                    != "ok"
                ):
                    looks += 1
    finally:
        metrics.clear_traffic()
        metrics.uninstall()
    per_call, price = canary_judge.cost_per_look(_release(config, 10).config)  # type: ignore[arg-type]
    return Measured(results, cpu_ms, len(calls), per_call, len(calls) * price, time.perf_counter() - started)


def section(m: Measured) -> list[str]:
    aa, errors, latency = m.scenarios
    cpu = sorted(m.cpu_ms)
    return [
        SECTION,
        "",
        "Produced by `make bench` (or alone: `python -m bluegreen.proof.canary_bench`). "
        f"{len(aa.looks)} simulated steps per scenario, each a bake of the default judge",
        "(`traffic.analysis: {}`: 300 s bake, a look every 60 s, up to 2 more bakes on Marginal and 2 on Nodata) at its minimum",
        "sample: green 400 requests a minute (2 000 per bake, `min_requests`) against blue's 3 600 (a 10 % step), 1 % target",
        "5XX, 2 % 4XX, p99 400 ms. The metrics are the twin's (`cloudwatch_target_group_metrics`, a fresh seed per step),",
        "read with GetMetricData and judged by `canary_judge.look`, the gate task's own code. Rates vary by a point or",
        "so from run to run (each run draws other minutes).",
        "",
        "| scenario | steps | failed (rolled back) | failed in the first bake | passed | mean looks per step | bar |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
        *[
            f"| {s.name} | {len(s.looks)} | {100 * s.failed:.1f} % | {100 * s.first_bake_fail / len(s.looks):.1f} % "
            f"| {100 * s.outcomes.get('Pass', 0) / len(s.looks):.1f} % | {statistics.mean(s.looks):.1f} "
            f"| {'at most 2 %' if s is aa else 'at least 90 %'} |"
            for s in (aa, errors, latency)
        ],
        "",
        f"CPU time of the judge per look (reading excluded), over {len(cpu)} looks: median"
        f" {statistics.median(cpu):.2f} ms, p99 {cpu[int(0.99 * (len(cpu) - 1))]:.2f} ms (pure Python; no scipy).",
        "",
        f"CloudWatch per release (steps 10/50/100, healthy green): {m.calls_per_release} GetMetricData calls (one per look,",
        f"5 looks per 300 s bake), {m.metrics_per_call} metrics each (7 per target group, 2 slots), so"
        f" {m.calls_per_release * m.metrics_per_call} metrics: ${m.cost_per_release:.4f} at $0.01 per 1 000 metrics requested",
        "(CloudWatch pricing, us-east-1). Route 53 router: one DescribeTargetGroups more per release (free), to name each",
        "target group's load balancer; the ALB router reads it from its listener ARN.",
        "",
        f"Wall time of this measurement: {m.wall_seconds:.0f} s.",
        "",
    ]


def passes(m: Measured) -> bool:
    aa, errors, latency = m.scenarios
    return aa.failed <= 0.02 and errors.failed >= 0.9 and latency.failed >= 0.9


def write_section(m: Measured, path: Path = REPO / "docs" / "benchmarks.md") -> None:
    """Put the section in docs/benchmarks.md, in place of an earlier one (the rest of the file is left as it is)."""
    bench_costs.replace_section(section(m), path)


def main() -> int:
    measured = measure()
    write_section(measured)
    print("\n".join(section(measured)))
    return 0 if passes(measured) else 1


if __name__ == "__main__":
    sys.exit(main())
