"""`make bench`'s split-fleet section: the peak counted from the monitor's samples, what fails a run, the report."""

from __future__ import annotations

from collections import Counter

from bluegreen.aws import Aws
from bluegreen.proof.bench_costs import calls_by_task, services
from bluegreen.proof.bench_split import SECTION, ModeRun, growth, passes, report
from bluegreen.proof.invariants import Sample
from bluegreen.proof.peak_instances import PeakMonitor, ceiling


def group(slot: str, instances: int, healthy: int | None = None) -> dict:
    healthy = instances if healthy is None else healthy
    return {"slot": slot, "ami": "ami-1", "min": 0, "desired": instances, "healthy": healthy, "instances": instances}


def feed(monitor: PeakMonitor, *samples: tuple[dict, dict]) -> PeakMonitor:
    for n, (weights, groups) in enumerate(samples):
        monitor.observe(Sample(at=n + 0.05, weights=weights, groups=groups, started=float(n)))
    return monitor


HALF = {"blue": 50, "green": 50}


def test_the_peak_is_the_most_instances_of_any_sample_whatever_their_state() -> None:
    # Given a split fleet of 4: at rest, green surged (6, 2 of them still launching), then blue emptied
    monitor = feed(
        PeakMonitor(Aws(), "shop", drain_seconds=0.0, fleet=4),
        (HALF, {"b": group("blue", 2), "g": group("green", 2)}),
        (HALF, {"b": group("blue", 2), "g": group("green", 4, healthy=2)}),
        ({"blue": 0, "green": 100}, {"b": group("blue", 0), "g": group("green", 4)}),
    )
    # Then the peak is 6, counted with the launching instances, and which groups held them is kept
    assert monitor.peak == 6
    assert monitor.peak_groups == {"b": 2, "g": 4}
    # And the monitor still judged the capacity rules: serving never below 4, never above 6
    assert monitor.breaches == []
    assert monitor.samples == 3


def test_a_peak_above_the_ceiling_is_counted_and_breaches_the_split_rule() -> None:
    monitor = feed(
        PeakMonitor(Aws(), "shop", drain_seconds=0.0, fleet=4),
        (HALF, {"b": group("blue", 4), "g": group("green", 4)}),
    )
    assert monitor.peak == 8 > ceiling(4) == 6
    assert [b.invariant for b in monitor.breaches] == ["I1"]


def test_the_ceiling_is_150_percent_rounded_down() -> None:
    assert [ceiling(n) for n in (2, 4, 5, 20)] == [3, 6, 7, 30]


def run(mode: str = "split", peak: int = 6, recorded: int | None = 6, instances: int = 4, **kw) -> ModeRun:
    defaults = {
        "app": "modes1-sp4",
        "router": "route53",
        "status": "SUCCEEDED",
        "transitions": 86,
        "invocations": 35,
        "seconds": 17.0,
        "calls_by_task": {
            "MoveSplitFleet": Counter({"autoscaling:DescribeAutoScalingGroups": 3, "route53:GetChange": 1})
        },
    }
    return ModeRun(mode=mode, instances=instances, peak=peak, recorded_peak=recorded, **{**defaults, **kw})


def test_a_run_fails_the_bench_on_a_peak_off_its_modes_rule_or_a_recorded_peak_that_was_not_sampled() -> None:
    assert run().problems() == []
    assert run(mode="blue_green", peak=8, recorded=None).problems() == []
    assert run(mode="blue_green", peak=6, recorded=None).problems() == ["peak 6, not twice the fleet of 4"]
    assert run(peak=7, recorded=7).problems() == ["peak 7 above 150 % of 4"]
    assert run(peak=6, recorded=5).problems() == ["recorded peak 5, sampled 6"]
    assert run(status="FAILED").problems() == ["ended FAILED"]
    assert run(breaches=["I1: serving 3"]).problems() == ["I1: serving 3"]
    assert passes([run(), run(mode="blue_green", peak=8)])
    assert not passes([run(), run(peak=6, recorded=None)])
    assert not passes([])


def test_calls_are_counted_per_task_and_per_service() -> None:
    found = run()
    assert found.calls == 4
    assert found.calls_by_service == Counter({"autoscaling": 3, "route53": 1})


def test_moves_are_shown_without_the_app_and_with_new_groups_named_new() -> None:
    moves = ["scale modes1-sp4-green-initial to 4", "scale modes1-sp4-blue-20261206T081537-ffa9 to 4"]
    assert run(moves=moves).shown_moves() == ["scale green-initial to 4", "scale blue-new to 4"]


def test_the_report_puts_each_mode_beside_the_other_and_their_growth_with_the_fleet() -> None:
    runs = [
        run(mode="blue_green", peak=8, recorded=None, transitions=36),
        run(moves=["weights blue 0 / green 100"]),
        run(mode="blue_green", peak=40, recorded=None, instances=20, transitions=36),
        run(peak=30, recorded=30, instances=20, transitions=90),
    ]
    lines = report(runs)
    assert lines[0] == SECTION
    assert "| split | route53 | 4 | SUCCEEDED | 86 | 35 | 4 | 1 | 6 | 6 | 150 % | 17.0 | 0 |" in lines
    assert "| blue/green | route53 | 20 | SUCCEEDED | 36 | 35 | 4 | - | 40 | - | 200 % | 17.0 | 0 |" in lines
    assert "| split | route53 | 86 -> 90 | 35 -> 35 | 4 -> 4 | 6 -> 30 |" in lines
    assert "| MoveSplitFleet | 4 | 4 |" in lines
    assert "1. weights blue 0 / green 100" in lines
    text = " ".join(lines)
    assert "Route 53, 4 instances: 4 against 4, 1.0x; 86 transitions against 36" in text
    assert "Within the 2x of two halves." in text
    assert "at 20 instances that is 10 instances fewer at the peak" in text
    assert "Transitions, invocations or calls differ between 4 and 20 instances" in text
    assert growth(runs, "split", "route53", "peak") == (6, 30)
    assert growth(runs, "split", "alb", "peak") is None


def test_the_twin_call_log_is_counted_per_task_in_the_order_tasks_first_called() -> None:
    log = [
        {"function": "bluegreen-PrepareReleaseFunction-AB12", "action": "ec2:DescribeImages"},
        {"function": "bluegreen-MoveSplitFleetFunction-CD34", "action": "autoscaling:DescribeAutoScalingGroups"},
        {"function": "bluegreen-PrepareReleaseFunction-AB12", "action": "ec2:DescribeImages"},
    ]
    found = calls_by_task(log)
    assert list(found) == ["PrepareRelease", "MoveSplitFleet"]
    assert found["PrepareRelease"] == Counter({"ec2:DescribeImages": 2})
    assert services(found) == Counter({"ec2": 2, "autoscaling": 1})
