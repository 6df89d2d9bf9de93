"""The safety contract (SPEC section 9), checked against a live stack: a monitor that samples while releases run.

I1 traffic: weights sum above zero; every weighted slot has a group with at least its minimum healthy in service.
I2 drain: a group is scaled in or deleted only after its slot's weight has been zero for the drain time.
I3 no orphans: at rest, exactly one group of the app, holding 100 % of the weight, and the lock free.
I4 once: an AMI goes live at most once; releases of one app never overlap.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

from orchestrator.adapters import route53, state_table

from bluegreen.aws import Aws
from bluegreen.ops import load_config, table


@dataclass
class Breach:
    invariant: str
    detail: str
    at: float


@dataclass
class Sample:
    at: float
    weights: dict[str, int]
    groups: dict[str, dict]


def sample(aws: Aws, app: str) -> Sample:
    config = load_config(aws, app)
    weights = route53.current_weights(config, aws.client("route53"))
    described = aws.client("autoscaling").describe_auto_scaling_groups(
        Filters=[{"Name": "tag:bluegreen:app", "Values": [app]}]
    )["AutoScalingGroups"]
    groups = {}
    for group in described:
        tags = {t["Key"]: t["Value"] for t in group.get("Tags", [])}
        healthy = sum(
            1
            for i in group.get("Instances", [])
            if i["LifecycleState"] == "InService" and i["HealthStatus"] == "Healthy"
        )
        groups[group["AutoScalingGroupName"]] = {
            "slot": tags.get("bluegreen:slot"),
            "min": group["MinSize"],
            "desired": group["DesiredCapacity"],
            "healthy": healthy,
        }
    return Sample(at=time.monotonic(), weights=weights, groups=groups)


@dataclass
class Monitor:
    """Samples an app every `period` seconds in a thread; `breaches` lists every violation seen."""

    aws: Aws
    app: str
    drain_seconds: float
    period: float = 0.1
    breaches: list[Breach] = field(default_factory=list)
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _zero_since: dict[str, float] = field(default_factory=dict)
    _last: Sample | None = None

    def __enter__(self) -> Monitor:
        self._thread = threading.Thread(target=self._run, name=f"invariants-{self.app}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.observe(sample(self.aws, self.app))
            except Exception as err:  # a sample that fails is a gap, not a breach; keep watching
                self.breaches.append(Breach("monitor", f"sample failed: {err}", time.monotonic()))
            self._stop.wait(self.period)

    def _breach(self, invariant: str, detail: str, at: float) -> None:
        self.breaches.append(Breach(invariant, detail, at))

    def observe(self, now: Sample) -> None:
        self.samples += 1
        if sum(now.weights.values()) <= 0:
            self._breach("I1", f"all weights zero: {now.weights}", now.at)
        for slot, weight in now.weights.items():
            if weight > 0:
                self._zero_since.pop(slot, None)
                serving = [g for g in now.groups.values() if g["slot"] == slot]
                if not any(g["healthy"] >= max(g["min"], 1) for g in serving):
                    self._breach("I1", f"{slot} has weight {weight} but no healthy group: {serving}", now.at)
            elif slot not in self._zero_since:
                # A slot at zero when watching starts has had no traffic as far as we know.
                self._zero_since[slot] = float("-inf") if self._last is None else now.at
        previous = self._last
        if previous is not None:
            for name, before in previous.groups.items():
                after = now.groups.get(name)
                shrunk = after is None or after["desired"] < before["desired"]
                if not shrunk:
                    continue
                zero_for = now.at - self._zero_since.get(before["slot"], now.at)
                # One sample period of slack: the change happened somewhere between two samples.
                if zero_for + self.period * 2 < self.drain_seconds:
                    what = "deleted" if after is None else f"scaled in to {after['desired']}"
                    self._breach("I2", f"{name} {what} after {zero_for:.2f}s at zero weight", now.at)
        self._last = now

    def check_at_rest(self) -> list[Breach]:
        """I3 and I4, once every execution has ended."""
        found: list[Breach] = []
        now = sample(self.aws, self.app)
        at = now.at
        if len(now.groups) != 1:
            found.append(Breach("I3", f"expected one group, found {sorted(now.groups)}", at))
        full = [s for s, w in now.weights.items() if w == 100]
        slots = {g["slot"] for g in now.groups.values()}
        if len(full) != 1 or full[0] not in slots:
            found.append(Breach("I3", f"weights {now.weights} do not put 100 % on the live group {slots}", at))
        if state_table.get(self.app, "LOCK", table(self.aws)):
            found.append(Breach("I3", "the lock is still held", at))
        releases = state_table.history(self.app, "RELEASE#", 1000, table(self.aws))
        live_amis = [r["ami_id"] for r in releases if r.get("status") == "succeeded"]
        for ami in {a for a in live_amis if live_amis.count(a) > 1}:
            found.append(Breach("I4", f"{ami} went live {live_amis.count(ami)} times", at))
        spans = sorted(
            (datetime.fromisoformat(r["started_at"]), datetime.fromisoformat(r.get("finished_at") or r["started_at"]))
            for r in releases
        )
        for (_, end), (start, _) in itertools.pairwise(spans):
            if start < end:
                found.append(Breach("I4", f"two releases overlapped at {start.isoformat()}", at))
        self.breaches.extend(found)
        return found
