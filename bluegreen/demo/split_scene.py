"""The demo's split-fleet scene: an app whose two slots both serve (50/50), a release replacing each half in turn.

The live view shows the release panel (phase, weights, groups) and, under it, each half: its groups, their instances
and healthy ones, old or new version, and the instances against the 150 % ceiling, from the invariant monitor's
samples (`PeakMonitor`, given `fleet` so it checks the split capacity rules: serving >= the fleet, instances <= 150 %).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from bluegreen.aws import Aws
from bluegreen.cli import ops, views
from bluegreen.demo.seed import SeededApp, register_ami, seed_app
from bluegreen.proof.invariants import Sample
from bluegreen.proof.peak_instances import PeakMonitor, ceiling, running

APP = "catalog"
ROUTER = "route53"
FLEET = 4
# Two steps a half (scaled to its share: 25 %, then 50 %) and a 30 s bake: the scene shows each half's gates without
# doubling the demo's length.
TRAFFIC = {"steps": [50, 100], "bake_seconds": 30, "alarm_names": [f"{APP}-5xx", f"{APP}-p99"]}


def seed(aws: Aws, urls: dict[str, str]) -> SeededApp:
    return seed_app(aws, APP, instances=FLEET, test_urls=urls, split=True, config={"traffic": TRAFFIC})


def expected() -> str:
    return f"SUCCEEDED, peak <= {ceiling(FLEET)}"


def halves(sample: Sample | None, new_ami: str, fleet: int) -> Group:
    """Each slot's groups and weight, and the instances against the ceiling, from one monitor sample."""
    if sample is None:
        return Group(Text("halves: waiting for the first sample", style="dim"))
    grid = Table(box=None, pad_edge=False, show_header=True, header_style="dim")
    for column in ("slot", "weight", "group", "instances", "healthy", "version"):
        grid.add_column(column)
    for name, group in sorted(sample.groups.items(), key=lambda item: (item[1]["slot"] or "", item[0])):
        slot = group["slot"] or "?"
        version = "new" if group["ami"] == new_ami else "old"
        grid.add_row(
            Text(slot, style=views.SLOT_STYLE.get(slot, "")),
            f"{sample.weights.get(slot, 0)} %",
            name,
            str(group["instances"]),
            str(group["healthy"]),
            Text(version, style="bold" if version == "new" else "dim"),
        )
    now, most = running(sample), ceiling(fleet)
    serving = sum(g["healthy"] for g in sample.groups.values() if sample.weights.get(g["slot"], 0) > 0)
    line = Text("instances ", style="dim")
    line.append(f"{now} / {most}", style="red" if now > most else "bold")
    line.append(f" (ceiling: 150 % of {fleet})  ", style="dim")
    line.append("█" * now, style="cyan")
    line.append("░" * max(most - now, 0), style="dim")
    line.append("   serving ", style="dim")
    line.append(f"{serving} healthy", style="red" if serving < fleet else "bold")
    line.append(f" (at least {fleet})", style="dim")
    return Group(grid, line)


def release_both_halves(
    aws: Aws, console: Console, title: str, drain_seconds: float, execution_for_ami: Callable[[Aws, str], str]
) -> tuple[str, PeakMonitor]:
    """A new AMI for the split app (its EC2 event starts the release, found by `execution_for_ami`); watch both halves
    replaced. Returns the outcome as the scene reports it, and the monitor (its breaches and peak)."""
    monitor = PeakMonitor(aws, APP, drain_seconds=drain_seconds, fleet=FLEET).__enter__()
    try:
        weights = ops.status(aws, APP)["weights"]
        console.print(
            f"{APP}: a split fleet of {FLEET} at rest, blue {weights['blue']} % / green {weights['green']} %,"
            f" {FLEET // 2} instances each; a release replaces one half, then the other, never above"
            f" {ceiling(FLEET)} instances"
        )
        ami = register_ami(aws, f"{APP}-v2", app=APP)
        arn = execution_for_ami(aws, ami)
        with Live(console=console, refresh_per_second=8, transient=False) as live:
            while True:
                sample = views.snapshot(aws, APP, arn)
                live.update(Group(views.render(APP, sample, title), halves(monitor.latest, ami, FLEET)))
                if sample["execution"].status != "RUNNING":
                    execution = sample["execution"]
                    break
                time.sleep(0.3)
    finally:
        monitor.__exit__(None, None, None)
    split = ((execution.output or {}).get("release") or {}).get("split") or {}
    for number, move in enumerate(split.get("moves") or [], 1):
        console.print(f"  move {number}: {move}", highlight=False)
    recorded = split.get("peak_instances")
    console.print(
        f"{APP}: peak {monitor.peak} instances sampled ({100 * monitor.peak // FLEET} % of {FLEET}), {recorded}"
        f" recorded by the release; ceiling {ceiling(FLEET)}"
    )
    if execution.status != "SUCCEEDED":
        return f"{execution.status} {execution.error}", monitor
    if monitor.peak > ceiling(FLEET) or recorded != monitor.peak:
        return f"SUCCEEDED, peak {monitor.peak} (recorded {recorded})", monitor
    return expected(), monitor
