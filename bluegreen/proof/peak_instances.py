"""The most instances an app ran at once, counted apart from the product: the invariant monitor's samples, kept.

A release records its own peak (a split release's `split.peak_instances`, seen at each look of its MoveSplitFleet
task); this counts every instance of every group tagged with the app, in any lifecycle state (one still terminating
still runs), every `period` seconds in a thread, and checks the invariants as it goes (`Monitor`; `fleet` for a split
app's capacity rules). `make bench` compares the two, and the demo shows it against the 150 % ceiling.
"""

from __future__ import annotations

from dataclasses import dataclass

from bluegreen.proof.invariants import Monitor, Sample


def running(sample: Sample) -> int:
    """Instances in the app's groups in one sample."""
    return sum(group["instances"] for group in sample.groups.values())


@dataclass
class PeakMonitor(Monitor):
    """A Monitor that also keeps the most instances any sample saw (and the sample it was, for the report)."""

    peak: int = 0
    peak_groups: dict | None = None
    latest: Sample | None = None  # the last sample observed (a live view shows it)

    def observe(self, now: Sample) -> None:
        super().observe(now)
        self.latest = now
        if running(now) > self.peak:
            self.peak = running(now)
            self.peak_groups = {name: group["instances"] for name, group in now.groups.items()}


def ceiling(fleet: int) -> int:
    """The most instances a split release of `fleet` may run: 150 % of it, rounded down."""
    return fleet * 3 // 2
