"""Split-fleet releases beside blue/green ones: part of `make bench` (or alone: `python -m bluegreen.proof.bench_split`).

The same app (steps 10/50/100, 60 s bake, 30 s deregistration delay) released once in each mode, on each router, at
two fleet sizes (even: a split fleet is two equal halves). Per release: state transitions and Lambda invocations (the
execution history), the handlers' AWS calls per task and service (the twin's call log), the planner's moves, and the
peak: the most instances the app ran at once, sampled every 0.1 s apart from the product (`peak_instances`), checked
against the peak the release recorded (`split.peak_instances`), with the invariants (the split capacity rules for a
split app) checked on every sample.
"""

from __future__ import annotations

import itertools
import re
import sys
import textwrap
import time
from collections import Counter
from dataclasses import dataclass, field

from bluegreen.aws import Aws
from bluegreen.cli import ops
from bluegreen.demo.seed import register_ami, seed_app
from bluegreen.demo.standin import start_slot_servers
from bluegreen.proof import bench_costs
from bluegreen.proof.peak_instances import PeakMonitor, ceiling
from bluegreen.twin import local, server

WAIT_SCALE = 0.01
FLEETS = (4, 20)
ROUTERS = ("route53", "alb")
MODES = ("blue_green", "split")
SECTION = "## Split-fleet releases beside blue/green ones"
_apps = itertools.count(1)
NEW_GROUP = re.compile(r"\b(blue|green)-\d{8}T\d{6}-[0-9a-f]+")


@dataclass
class ModeRun:
    app: str
    mode: str
    router: str
    instances: int
    status: str
    transitions: int
    invocations: int
    seconds: float
    peak: int  # sampled: the most instances the app's groups held at once
    recorded_peak: int | None  # the release's own `split.peak_instances` (a blue/green release records none)
    moves: list[str] = field(default_factory=list)  # the planner's moves, in order
    calls_by_task: dict[str, Counter[str]] = field(default_factory=dict)
    breaches: list[str] = field(default_factory=list)

    @property
    def calls(self) -> int:
        return sum(sum(c.values()) for c in self.calls_by_task.values())

    @property
    def calls_by_service(self) -> Counter[str]:
        return bench_costs.services(self.calls_by_task)

    def shown_moves(self) -> list[str]:
        """The moves with the app's name left out of its groups', and a new group's release id shown as `new`."""
        return [NEW_GROUP.sub(r"\1-new", move.replace(f"{self.app}-", "")) for move in self.moves]

    def problems(self) -> list[str]:
        """What makes this run fail the bench: a failed release, a breach, a peak off the mode's rule, or a
        recorded peak that is not what was sampled."""
        found = [f"ended {self.status}"] if self.status != "SUCCEEDED" else []
        found += self.breaches
        if self.mode == "split":
            if self.peak > ceiling(self.instances):
                found.append(f"peak {self.peak} above 150 % of {self.instances}")
            if self.recorded_peak != self.peak:
                found.append(f"recorded peak {self.recorded_peak}, sampled {self.peak}")
        elif self.peak != 2 * self.instances:
            found.append(f"peak {self.peak}, not twice the fleet of {self.instances}")
        return found


@dataclass
class Seeded:
    """An app seeded in its mode, its new AMI registered (its own event's tag wait under way), its test servers."""

    mode: str
    router: str
    instances: int
    app: str
    ami: str
    servers: dict = field(default_factory=dict)


def seed(aws: Aws, mode: str, router: str, instances: int) -> Seeded:
    app = f"modes{next(_apps)}-{'sp' if mode == 'split' else 'bg'}{instances}"
    servers = dict(start_slot_servers(aws, app))
    urls = {s: servers[s].url for s in servers}
    seed_app(aws, app, instances=instances, test_urls=urls, router=router, split=mode == "split")
    return Seeded(mode, router, instances, app, register_ami(aws, f"{app}-v2", app=None), servers)


def release(stack: local.LocalStack, seeded: Seeded) -> ModeRun:
    """Release the seeded app's new AMI by name (its own event ended), and measure that release."""
    aws, endpoint = stack.aws, stack.twin.endpoint_url
    server.clear_api_calls(endpoint)
    # The drain I2 allows for: record TTL (Route 53) + the seeded 30 s deregistration delay, at the twin's scale.
    drain = ((60 if seeded.router == "route53" else 0) + 30) * WAIT_SCALE
    fleet = seeded.instances if seeded.mode == "split" else 0
    monitor = PeakMonitor(aws, seeded.app, drain_seconds=drain, fleet=fleet)
    started = time.monotonic()
    with monitor:
        execution = ops.wait_for(aws, ops.start_release(aws, seeded.app, seeded.ami), timeout=300, poll=0.1)
        seconds = time.monotonic() - started
    calls = server.api_call_log(endpoint)
    monitor.check_at_rest()
    split = ((execution.output or {}).get("release") or {}).get("split") or {}
    transitions, invocations = bench_costs.history_counts(aws, execution.arn)
    return ModeRun(
        app=seeded.app,
        mode=seeded.mode,
        router=seeded.router,
        instances=seeded.instances,
        status=execution.status,
        transitions=transitions,
        invocations=invocations,
        seconds=seconds,
        peak=monitor.peak,
        recorded_peak=split.get("peak_instances") if split else None,
        moves=list(split.get("moves") or []),
        calls_by_task=bench_costs.calls_by_task(calls),
        breaches=[f"{b.invariant}: {b.detail}" for b in monitor.breaches],
    )


def measure(stack: local.LocalStack, fleets: tuple[int, ...] = FLEETS) -> list[ModeRun]:
    """Every app seeded and its AMI registered first, so their AMIs' own events settle together; then each release
    alone, one after another (the call log is the twin's: one release at a time is measured)."""
    apps = [seed(stack.aws, mode, router, n) for n in fleets for router in ROUTERS for mode in MODES]
    try:
        for seeded in apps:  # every AMI's own event has ended before the first release's calls are counted
            bench_costs.settled(stack.aws, seeded.ami)
        return [release(stack, seeded) for seeded in apps]
    finally:
        for seeded in apps:
            for slot_server in seeded.servers.values():
                slot_server.stop()


def passes(runs: list[ModeRun]) -> bool:
    return bool(runs) and not any(r.problems() for r in runs)


def _label(mode: str) -> str:
    return "split" if mode == "split" else "blue/green"


def _pick(runs: list[ModeRun], mode: str, router: str, instances: int) -> ModeRun | None:
    return next((r for r in runs if (r.mode, r.router, r.instances) == (mode, router, instances)), None)


def _columns(runs: list[ModeRun], instances: int) -> list[ModeRun]:
    """The runs of one fleet size, router by router, blue/green then split."""
    return [r for router in ROUTERS for mode in MODES if (r := _pick(runs, mode, router, instances))]


def growth(runs: list[ModeRun], mode: str, router: str, figure: str) -> tuple[int, int] | None:
    """A figure (an attribute of ModeRun) at the smallest and the largest fleet measured."""
    sizes = sorted({r.instances for r in runs})
    ends = [_pick(runs, mode, router, n) for n in (sizes[0], sizes[-1])] if sizes else []
    if len(sizes) < 2 or not all(ends):
        return None
    return getattr(ends[0], figure), getattr(ends[1], figure)


def report(runs: list[ModeRun]) -> list[str]:
    """The section of docs/benchmarks.md."""
    sizes = sorted({r.instances for r in runs})
    small = sizes[0]
    lines = [
        SECTION,
        "",
        "`python -m bluegreen.proof.bench_split` alone (a twin of its own), or in `make bench` (its first twin): waits",
        "at 1 %, one app per run, seeded in its mode (`seed_app(..., split=True)`: half the fleet in each slot,",
        "weights 50/50) and released once by name (steps 10/50/100, a split half's scaled to its share: 5/25/50;",
        "60 s bake; 30 s deregistration delay). Every app is seeded and its AMI's own event ended before the first",
        "release; calls are the twin's log of the handlers' calls during the release. Peak: the most instances in",
        "the app's groups at once, in any lifecycle state, sampled every 0.1 s apart from the product",
        "(`bluegreen.proof.peak_instances`), beside the peak the release recorded (`split.peak_instances`, seen at",
        "each look of MoveSplitFleet); the invariant monitor (a split app: serving capacity >= the fleet, instances",
        "<= 150 %) judged every sample, and the app at rest after it.",
        "",
        "| mode | router | instances | status | state transitions | Lambda invocations | AWS API calls "
        "| planner moves | peak instances (sampled) | peak recorded | peak / fleet | seconds (twin) | breaches |",
        "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *[
            f"| {_label(r.mode)} | {r.router} | {r.instances} | {r.status} | {r.transitions} | {r.invocations} "
            f"| {r.calls} | {len(r.moves) if r.mode == 'split' else '-'} | {r.peak} "
            f"| {r.recorded_peak if r.recorded_peak is not None else '-'} | {100 * r.peak // r.instances} % "
            f"| {r.seconds:.1f} | {len(r.breaches)} |"
            for r in sorted(runs, key=lambda r: (r.instances, ROUTERS.index(r.router), MODES.index(r.mode)))
        ],
        "",
        *explanation(runs),
        "",
    ]
    columns = _columns(runs, small)
    heads = " | ".join(f"{_label(r.mode)} {r.router}" for r in columns)
    rule = " | ".join("---:" for _ in columns)
    services = sorted(
        {s for r in columns for s in r.calls_by_service}, key=lambda s: -max(r.calls_by_service[s] for r in columns)
    )
    lines += [
        f"Calls per service, {small} instances:",
        "",
        f"| service | {heads} |",
        f"| --- | {rule} |",
        *[f"| {s} | {' | '.join(str(r.calls_by_service[s]) for r in columns)} |" for s in services],
        f"| all | {' | '.join(str(r.calls) for r in columns)} |",
        "",
        f"Calls per task, {small} instances (a split release runs the blue/green tasks for each half in turn;"
        " MoveSplitFleet is the planner's task, one invocation per look):",
        "",
        f"| task | {heads} |",
        f"| --- | {rule} |",
    ]
    tasks = list(dict.fromkeys(t for r in columns for t in r.calls_by_task))
    lines += [
        f"| {t} | {' | '.join(str(sum(r.calls_by_task.get(t, Counter()).values())) for r in columns)} |" for t in tasks
    ]
    split_small = _pick(runs, "split", "route53", small)
    if split_small:
        lines += ["", f"The planner's moves, split, route53, {small} instances, in order:", ""]
        lines += [f"{n}. {move}" for n, move in enumerate(split_small.shown_moves(), 1)]
    lines += ["", f"Growth from {sizes[0]} to {sizes[-1]} instances:", ""]
    lines += ["| mode | router | transitions | invocations | AWS API calls | peak instances |"]
    lines += ["| --- | --- | --- | --- | --- | --- |"]
    for router in ROUTERS:
        for mode in MODES:
            figures = [growth(runs, mode, router, f) for f in ("transitions", "invocations", "calls", "peak")]
            if all(figures):
                cells = " | ".join(f"{a} -> {b}" for a, b in figures if a is not None)
                lines.append(f"| {_label(mode)} | {router} | {cells} |")
    lines.append("")
    return lines


def explanation(runs: list[ModeRun]) -> list[str]:
    """Why the modes differ, with this run's figures (the smallest fleet, Route 53)."""
    sizes = sorted({r.instances for r in runs})
    bg, split = (_pick(runs, mode, "route53", sizes[0]) if sizes else None for mode in MODES)
    if not bg or not split or not bg.calls:
        return []
    planner = split.calls_by_task.get("MoveSplitFleet", Counter())
    looks = planner.get("dynamodb:UpdateItem", 0)  # its gate: one per look
    rest = split.calls - sum(planner.values())
    flat = all(
        (g := growth(runs, mode, router, figure)) is None or g[0] == g[1]
        for mode in MODES
        for router in ROUTERS
        for figure in ("transitions", "invocations", "calls")
    )
    n, big = sizes[0], sizes[-1]
    total = sum(planner.values())
    calls = (
        f"Why a split release costs more calls (Route 53, {n} instances: {split.calls} against {bg.calls},"
        f" {split.calls / bg.calls:.1f}x; {split.transitions} transitions against {bg.transitions},"
        f" {split.invocations} invocations against {bg.invocations}): it is two half releases in one execution."
        " CreateGreenGroup, CheckGreenHealth, RunSmokeTests, ShiftTraffic and CheckAlarms run for each half (each"
        " half's three steps: 6 weight changes and 6 gates where blue/green has 3), CommitRelease and DeleteOldGroup"
        " settle two old groups, and the second half's group is cloned from its own old group (the clone plan read"
        f" again): {rest} calls without the planner, {rest / bg.calls:.1f}x blue/green's. The rest is the planner:"
        f" MoveSplitFleet made {len(split.moves)} moves in {looks} looks (for each half: the other slot surged to"
        " the whole fleet, all traffic to it, the half emptied after the drain; at the end the surge undone), and"
        " each look reads every group (one DescribeAutoScalingGroups), the targets of each slot with instances (one"
        f" DescribeTargetHealth per target group) and the weights before its one move: {total} calls,"
        f" {100 * total // split.calls} % of the release. "
        + (
            "That is more than the 2x of two halves we expected. "
            if split.calls > 2 * bg.calls
            else "Within the 2x of two halves. "
        )
        + "On the twin a move takes effect by the next look, so these looks are the fewest there can be; in AWS"
        " every poll while a surge launches, Route 53 syncs or a slot drains adds a look (5 calls on Route 53 every"
        " `health.poll_seconds`, where CheckGreenHealth's poll makes 3)."
    )
    peak = (
        (
            f"Neither mode's transitions, invocations nor calls grow with the fleet ({n} and {big} instances alike):"
            " every read covers a whole group or target group in one call, and a move sets a group's size, not its"
            " instances. "
            if flat
            else f"Transitions, invocations or calls differ between {n} and {big} instances (the growth table). "
        )
        + "The peak grows with the fleet, in proportion: blue/green builds the whole new fleet beside the old one"
        f" ({bg.peak} instances for {n}, 200 %), a split release surges one half's slot to the whole fleet while"
        f" the other half still runs ({split.peak} for {n}, 150 %); at {big} instances that is"
        f" {2 * big - big * 3 // 2} instances fewer at the peak. The price, beside the calls: a longer release"
        f" ({split.seconds:.0f} s against {bg.seconds:.0f} s here: two halves of steps and bakes, two drains), and"
        " a rollback in the keep window relaunches the emptied old groups instead of shifting back to a warm fleet."
    )
    return [*textwrap.wrap(calls, 118), "", *textwrap.wrap(peak, 118)]


def main() -> int:
    """This section alone: a twin of its own, then the section replaced in docs/benchmarks.md."""
    stack = local.start(port=0, wait_scale=WAIT_SCALE, retry_scale=0.02)
    try:
        runs = measure(stack)
    finally:
        stack.stop()
    lines = report(runs)
    bench_costs.replace_section(lines)
    print("\n".join(lines))
    for run in runs:
        for problem in run.problems():
            print(f"{_label(run.mode)} {run.router} {run.instances}: {problem}")
    return 0 if passes(runs) else 1


if __name__ == "__main__":
    sys.exit(main())
