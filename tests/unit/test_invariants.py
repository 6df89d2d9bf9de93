"""The invariant monitor's judgement of I1 and I2 from samples, without AWS."""

from __future__ import annotations

import time

from bluegreen.aws import Aws
from bluegreen.proof.invariants import Monitor, Sample, shape_at_rest

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


# --- a split app (Monitor.fleet): capacity against the fleet, the 150 % ceiling ------------------------------------


def half(slot: str, desired: int, healthy: int | None = None, instances: int | None = None) -> dict:
    healthy = desired if healthy is None else healthy
    return {
        "slot": slot,
        "min": desired,
        "desired": desired,
        "healthy": healthy,
        "instances": desired if instances is None else instances,
        "ami": "ami-1",
    }


def watch_split(*samples: tuple[float, dict, dict]) -> Monitor:
    monitor = Monitor(Aws(), "shop", drain_seconds=1.0, fleet=4)
    for at, weights, groups in samples:
        monitor.observe(Sample(at=at, weights=weights, groups=groups, started=at - 0.05))
    return monitor


def test_a_split_release_that_keeps_its_capacity_and_ceiling_breaches_nothing() -> None:
    steady = {"b": half("blue", 2), "g": half("green", 2)}
    surged = {"b": half("blue", 2), "g": half("green", 4)}
    monitor = watch_split(
        (0.1, {"blue": 50, "green": 50}, steady),
        (0.2, {"blue": 50, "green": 50}, surged),
        (0.3, {"blue": 0, "green": 100}, surged),
        # green shrinks from its surge while it keeps its weight: Auto Scaling drains what leaves (no I2)
        (0.4, {"blue": 50, "green": 50}, {"b": half("blue", 2), "g": half("green", 2)}),
    )
    assert monitor.breaches == []


def test_serving_below_the_fleet_or_running_above_150_percent_breaches_i1() -> None:
    monitor = watch_split(
        # green took all the traffic with only its share healthy
        (0.1, {"blue": 0, "green": 100}, {"b": half("blue", 2), "g": half("green", 4, healthy=2)}),
        # 7 instances for a fleet of 4 (6 is 150 %)
        (0.2, {"blue": 50, "green": 50}, {"b": half("blue", 2, instances=3), "g": half("green", 4)}),
    )
    assert [b.detail.split(",")[0].split(":")[0] for b in monitor.breaches] == [
        "serving capacity 2 below the fleet of 4",
        "7 instances",
    ]


def test_a_split_app_at_rest_on_two_versions_or_without_traffic_on_a_half_breaches_i3() -> None:
    def shape(weights: dict, groups: dict) -> list[str]:
        return [b.detail for b in shape_at_rest(Sample(at=1.0, weights=weights, groups=groups))]

    assert shape({"blue": 50, "green": 50}, {"b": half("blue", 2), "g": half("green", 2)}) == []
    mixed = shape({"blue": 50, "green": 50}, {"b": half("blue", 2), "g": {**half("green", 2), "ami": "ami-2"}})
    assert len(mixed) == 1 and "different AMIs" in mixed[0]
    assert "expected one group per slot" in shape({"blue": 50, "green": 50}, {"b": half("blue", 2)})[0]


# --- a fingerprint of the twin's state (Monitor.fingerprint): reads only when it changed ----------------------------


class Reads(Monitor):
    """A monitor whose reads return the next of `answers` (weights, groups) and are counted."""

    def __init__(self, answers: list[tuple[dict, dict]], tokens: list) -> None:
        super().__init__(Aws(), "shop", drain_seconds=1.0, fingerprint=lambda: tokens.pop(0))
        self.answers = answers

    def sample(self) -> Sample:
        weights, groups = self.answers.pop(0)
        return Sample(at=time.monotonic(), weights=weights, groups=groups, started=time.monotonic())


def test_a_sample_reads_only_when_the_fingerprint_changed_and_keeps_the_reads_at_its_own_time() -> None:
    monitor = Reads([({"blue": 100, "green": 0}, BLUE), ({"blue": 0, "green": 100}, BOTH)], ["a", "a", "b"])
    first, same, changed = (monitor.next_sample() for _ in range(3))
    assert monitor.reads == 2  # the first sample and the one after the token changed
    assert (same.weights, same.groups) == (first.weights, first.groups)
    assert first.at <= same.started <= same.at  # the kept reads stand for this sample's time, not the first's
    assert (changed.weights, changed.groups) == ({"blue": 0, "green": 100}, BOTH)


def test_no_token_reads_every_time() -> None:
    monitor = Reads([({"blue": 100, "green": 0}, BLUE)] * 3, [None, None, None])
    for _ in range(3):
        monitor.next_sample()
    assert monitor.reads == 3


def test_a_breach_seen_through_kept_reads_is_still_a_breach() -> None:
    # Given green's group deleted right after blue took all the traffic back, and then nothing changes
    monitor = Reads(
        [({"blue": 50, "green": 50}, BOTH), ({"blue": 100, "green": 0}, BOTH), ({"blue": 100, "green": 0}, BLUE)],
        ["a", "b", "c", "c", "c"],
    )
    for _ in range(5):
        monitor.observe(monitor.next_sample())
    # Then I2 is breached once (the deletion), and the kept samples judge I1 as the reads did
    assert [b.invariant for b in monitor.breaches] == ["I2"]
    assert monitor.samples == 5 and monitor.reads == 3
