"""The demo's split scene view: each half's groups and the instances against the 150 % ceiling, from one sample."""

from __future__ import annotations

from rich.console import Console

from bluegreen.demo.split_scene import halves
from bluegreen.proof.invariants import Sample


def shown(sample: Sample | None) -> str:
    console = Console(width=120, record=True, color_system=None)
    console.print(halves(sample, "ami-new", 4))
    return console.export_text()


def group(slot: str, ami: str, instances: int, healthy: int) -> dict:
    return {"slot": slot, "ami": ami, "min": 0, "desired": instances, "healthy": healthy, "instances": instances}


def test_the_view_shows_each_group_its_version_and_the_instances_against_the_ceiling() -> None:
    # Given green surged to the whole fleet while blue's new half is being built
    sample = Sample(
        at=1.0,
        weights={"blue": 0, "green": 100},
        groups={
            "catalog-green-initial": group("green", "ami-old", 4, 4),
            "catalog-blue-new": group("blue", "ami-new", 2, 1),
        },
    )
    text = shown(sample)
    lines = {line.split()[3]: line.split() for line in text.splitlines() if line.startswith(("blue", "green"))}
    # Then each group is shown with its slot's weight, its instances, healthy ones and version
    assert lines["catalog-blue-new"] == ["blue", "0", "%", "catalog-blue-new", "2", "1", "new"]
    assert lines["catalog-green-initial"] == ["green", "100", "%", "catalog-green-initial", "4", "4", "old"]
    # And 6 instances against the ceiling of 6, serving 4 healthy (green's: blue has no weight)
    assert "instances 6 / 6 (ceiling: 150 % of 4)" in text
    assert "serving 4 healthy (at least 4)" in text


def test_before_the_first_sample_the_view_says_so() -> None:
    assert "waiting for the first sample" in shown(None)
