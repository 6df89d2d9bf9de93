"""The invariant monitor's judgement of I1 and I2 from samples, without AWS."""

from __future__ import annotations

from bluegreen.aws import Aws
from bluegreen.proof.invariants import Monitor, Sample

BLUE = {"blue-1": {"slot": "blue", "min": 2, "desired": 2, "healthy": 2}}
BOTH = {**BLUE, "green-1": {"slot": "green", "min": 2, "desired": 2, "healthy": 2}}
GREEN = {"green-1": BOTH["green-1"]}


def watch(*samples: tuple[float, float, dict, dict]) -> Monitor:
    """Feed (started, at, weights, groups) samples to a monitor with a 1 s drain time."""
    monitor = Monitor(Aws(), "shop", drain_seconds=1.0)
    for started, at, weights, groups in samples:
        monitor.observe(Sample(at=at, weights=weights, groups=groups, started=started))
    return monitor


def test_a_group_deleted_after_the_drain_time_is_no_breach() -> None:
    # Given blue at zero weight from t=0.1, when its group goes at t=1.3
    monitor = watch(
        (0.0, 0.05, {"blue": 50, "green": 50}, BOTH),
        (0.1, 0.15, {"blue": 0, "green": 100}, BOTH),
        (1.3, 1.35, {"blue": 0, "green": 100}, GREEN),
    )
    # Then nothing is breached
    assert monitor.breaches == []


def test_a_group_deleted_right_after_its_weight_reached_zero_breaches_i2() -> None:
    monitor = watch(
        (0.0, 0.05, {"blue": 50, "green": 50}, BOTH),
        (0.1, 0.15, {"blue": 0, "green": 100}, BOTH),
        (0.2, 0.25, {"blue": 0, "green": 100}, GREEN),
    )
    assert [b.invariant for b in monitor.breaches] == ["I2"]


def test_a_stalled_sampler_never_reports_a_drain_it_cannot_prove_short() -> None:
    # Given the sampler stalled for 2 s while blue went to zero and was deleted 1.5 s later
    monitor = watch(
        (0.0, 0.05, {"blue": 50, "green": 50}, BOTH),
        (2.0, 2.05, {"blue": 0, "green": 100}, BOTH),
        (2.1, 2.15, {"blue": 0, "green": 100}, GREEN),
    )
    # Then the weight may have been zero for 2.15 s: no breach can be shown
    assert monitor.breaches == []


def test_weights_all_zero_or_on_a_slot_without_healthy_instances_breach_i1() -> None:
    sick = {"green-1": {**BOTH["green-1"], "healthy": 1}}
    monitor = watch(
        (0.0, 0.05, {"blue": 0, "green": 0}, BLUE),
        (0.1, 0.15, {"blue": 0, "green": 100}, sick),
    )
    assert [b.invariant for b in monitor.breaches] == ["I1", "I1"]
