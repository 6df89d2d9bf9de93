"""Terminal views: the live release view (phase, weights as bars, health, elapsed) and tables."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from orchestrator.adapters import state_table
from orchestrator.adapters.autoscaling import TAG_SLOT, tag_value
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bluegreen.aws import Aws
from bluegreen.cli import ops, split_view

BAR_WIDTH = 30
SLOT_STYLE = {"blue": "bold blue", "green": "bold green"}


def weight_bar(slot: str, weight: int) -> Text:
    filled = round(BAR_WIDTH * weight / 100)
    text = Text(f"{slot:>5} ", style=SLOT_STYLE.get(slot, ""))
    text.append("█" * filled, style=SLOT_STYLE.get(slot, ""))
    text.append("░" * (BAR_WIDTH - filled), style="dim")
    text.append(f" {weight:>3} %")
    return text


def snapshot(aws: Aws, app: str, arn: str) -> dict:
    """One sample of what the watch view shows."""
    execution = ops.describe(aws, arn)
    config = ops.load_config(aws, app)
    lock = state_table.get(app, "LOCK", ops.table(aws)) or {}
    mine = lock if lock.get("execution_arn") == arn else {}
    release_id = mine.get("release_id")
    record = state_table.get(app, f"RELEASE#{release_id}", ops.table(aws)) if release_id else None
    groups = aws.client("autoscaling").describe_auto_scaling_groups(
        Filters=[{"Name": "tag:bluegreen:app", "Values": [app]}]
    )["AutoScalingGroups"]
    return {
        "execution": execution,
        "phase": mine.get("phase") or ("Done" if execution.status != "RUNNING" else "Prepare"),
        "health": mine.get("health", "-"),
        "weights": ops.router(aws, config).splits()[0][1],
        "release_id": release_id,
        "canary": ops.latest_verdict_per_step((record or {}).get("canary") or []),
        "split": split_view.progress_text(split_view.progress(mine, record, groups)),
        "groups": [group_text(g) for g in groups],
    }


def group_text(group: dict) -> str:
    """A group on the watch panel: its name, its slot (a split app has a live group in each), in service / desired."""
    slot = tag_value(group, TAG_SLOT) or "?"
    in_service = split_view.in_service(group)
    return f"{group['AutoScalingGroupName']} [{slot}] {in_service}/{group['DesiredCapacity']}"


VERDICT_STYLE = {"Pass": "green", "Marginal": "yellow", "Nodata": "yellow", "Fail": "red"}


def verdict_line(verdict: dict) -> Text:
    text = Text(f"canary {verdict['percent']:>3} % ", style="dim")
    text.append(f"{verdict['outcome']:<8}", style=VERDICT_STYLE.get(verdict["outcome"], ""))
    text.append(" " + verdict.get("summary", "").split(": ", 1)[-1][:200])
    return text


def verdicts_table(verdicts: list[dict], title: str) -> Table:
    """Every verdict: when, the step, the look (final: the bake's end), the outcome and its evidence in one line."""
    rows = [
        {
            "at": v["at"],
            "step": f"{v['percent']} %",
            "look": f"{v['look']}{' (end of bake)' if v['final'] else ''}",
            "outcome": v["outcome"],
            "evidence": v.get("summary", ""),
        }
        for v in verdicts
    ]
    return table_of(rows, ["at", "step", "look", "outcome", "evidence"], title)


def _clock(execution: ops.Execution) -> tuple[float, str]:
    """Seconds the execution has run (or ran), and the colour of its status."""
    end = execution.stopped or datetime.now(UTC)
    style = {"SUCCEEDED": "green", "FAILED": "red", "RUNNING": "yellow"}.get(execution.status, "white")
    return (end - execution.started).total_seconds(), style


def render(app: str, sample: dict, title: str = "") -> Panel:
    execution: ops.Execution = sample["execution"]
    elapsed, status_style = _clock(execution)
    head = Text.assemble(
        (f"{app} ", "bold"),
        ("phase ", "dim"),
        (f"{sample['phase']:<16}", "bold cyan"),
        ("health ", "dim"),
        (f"{sample['health']:<6}", ""),
        ("elapsed ", "dim"),
        (f"{elapsed:5.1f}s  ", ""),
        (execution.status, status_style),
    )
    rows: list[Any] = [head]
    rows += [weight_bar(slot, weight) for slot, weight in sample["weights"].items()]
    if sample.get("split"):
        rows.append(Text(f"split: {sample['split']}", style="bold"))
    rows.append(Text("groups: " + (", ".join(sample["groups"]) or "none"), style="dim"))
    rows += [verdict_line(v) for _, v in sorted((sample.get("canary") or {}).items())]
    if execution.error:
        rows.append(Text(f"{execution.error}: {(execution.cause or '')[:300]}", style="red"))
    return Panel(Group(*rows), title=title or f"release {sample.get('release_id') or ''}", border_style=status_style)


def watch(
    aws: Aws, app: str, arn: str, console: Console, title: str = "", poll: float = 0.3, draw: bool = True
) -> ops.Execution:
    """Redraw until the execution ends; returns its final description (without `draw`, only waits: --output json)."""
    if not draw:
        return ops.wait_for(aws, arn, timeout=8 * 86_400, poll=poll)
    with Live(console=console, refresh_per_second=8, transient=False) as live:
        while True:
            sample = snapshot(aws, app, arn)
            live.update(render(app, sample, title))
            if sample["execution"].status != "RUNNING":
                return sample["execution"]
            time.sleep(poll)


def watch_many(
    aws: Aws, targets: list[tuple[str, str, str]], console: Console, poll: float = 0.3
) -> list[ops.Execution]:
    """Several releases side by side, one panel each ((app, execution ARN, title)), until all have ended."""
    with Live(console=console, refresh_per_second=8, transient=False) as live:
        while True:
            samples = [snapshot(aws, app, arn) for app, arn, _ in targets]
            grid = Table.grid(expand=True, padding=(0, 1))
            for _ in targets:
                grid.add_column(ratio=1)
            grid.add_row(*(render(app, s, title) for (app, _, title), s in zip(targets, samples, strict=True)))
            live.update(grid)
            if all(s["execution"].status != "RUNNING" for s in samples):
                return [s["execution"] for s in samples]
            time.sleep(poll)


STEP_COLUMNS = ("isolate_network", "revoke_credentials", "protect", "detach", "deregister", "snapshot")


def _mark(step: dict | None) -> str:
    if not step:
        return "…"
    if not step.get("ok"):
        return "FAILED"
    return "waiting" if step.get("awaiting") else "done"


def case_sample(aws: Aws, arn: str, app: str | None = None) -> dict:
    """One sample of the case view: the execution, its case, and the swap's progress."""
    execution = ops.describe(aws, arn)
    app, item = ops.case_of_execution(aws, arn, app)
    item = item or (execution.output or {}).get("case") or {}
    sample: dict[str, Any] = {"execution": execution, "app": app, "case": item, "swap": None}
    if app and item.get("status") in ("swapping", "requeued"):
        lock = state_table.get(app, "LOCK", ops.table(aws)) or {}
        config = ops.load_config(aws, app)
        sample["swap"] = {
            "phase": lock.get("phase", "waiting for the lock"),
            "weights": ops.router(aws, config).splits()[0][1],
        }
    return sample


def render_case(sample: dict) -> Panel:
    execution: ops.Execution = sample["execution"]
    item = sample["case"]
    elapsed, status_style = _clock(execution)
    head = Text.assemble(
        (f"{sample.get('app') or '?'} ", "bold"),
        ("case ", "dim"),
        (f"{item.get('case_id') or '-':<22}", "bold cyan"),
        ("status ", "dim"),
        (f"{item.get('status', 'resolving'):<16}", ""),
        ("elapsed ", "dim"),
        (f"{elapsed:5.1f}s  ", ""),
        (execution.status, status_style),
    )
    rows: list[Any] = [head, Text(item.get("reason", ""), style="dim")]
    instances = item.get("instances") or {}
    if instances:
        grid = Table(show_header=True, box=None, pad_edge=False)
        for column in ("instance", "status", *STEP_COLUMNS):
            grid.add_column(column)
        for instance_id, record in sorted(instances.items()):
            steps = record.get("steps") or {}
            grid.add_row(instance_id, record.get("status", ""), *[_mark(steps.get(c)) for c in STEP_COLUMNS])
        rows.append(grid)
    if sample.get("swap"):
        rows.append(Text(f"swap: {sample['swap']['phase']}", style="bold"))
        rows += [weight_bar(slot, weight) for slot, weight in sample["swap"]["weights"].items()]
    if execution.error:
        rows.append(Text(f"{execution.error}: {(execution.cause or '')[:300]}", style="red"))
    return Panel(Group(*rows), title="quarantine", border_style=status_style)


def watch_case(
    aws: Aws, arn: str, console: Console, app: str | None = None, poll: float = 0.3, draw: bool = True
) -> ops.Execution:
    """Redraw a quarantine case until its execution ends; returns its final description (without `draw`, only
    waits: --output json)."""
    if not draw:
        return ops.wait_for(aws, arn, timeout=8 * 86_400, poll=poll)
    with Live(console=console, refresh_per_second=8, transient=False) as live:
        while True:
            sample = case_sample(aws, arn, app)
            app = app or sample.get("app")
            live.update(render_case(sample))
            if sample["execution"].status != "RUNNING":
                return sample["execution"]
            time.sleep(poll)


def status_view(rows: list[dict]) -> Group:
    """`bluegreen status`: one row per app; then, for each split app, its halves (every group, by slot)."""
    flat = [status_row(r) for r in rows]
    tables: list[Any] = [table_of(flat, list(flat[0]) if flat else ["app"], "bluegreen status")]
    for row in rows:
        if row.get("halves") is not None:
            tables.append(table_of(row["halves"], HALF_COLUMNS, f"halves of {row['app']}"))
    return Group(*tables)


HALF_COLUMNS = ["slot", "group", "role", "ami", "desired", "in_service", "max", "weight"]


def status_row(found: dict) -> dict:
    """One app's line of `bluegreen status` (ops.status): its live fleet (both halves of a split app), mode, weights
    (each listener and rule of an ALB app, which may disagree mid-change), the release in flight and the queue."""
    live = found["live"] or {}
    lock = found["in_flight"] or {}
    progress = split_view.progress_text(found.get("split"))
    return {
        "app": found["app"],
        "mode": split_view.mode_text(found.get("mode", "blue_green"), found.get("ratio", {}).get("blue", 50), live),
        "live": "\n".join(f"{slot}: {name}" for slot, name in live["groups"].items())
        if live.get("groups")
        else live.get("asg_name", "-"),
        "ami": live.get("ami_id", "-"),
        "weights": "\n".join(f"{where}: {weights_text(w)}" for where, w in found["routes"].items())
        if found.get("routes")
        else weights_text(found["weights"]),
        "in flight": lock.get("release_id", "-"),
        "phase": lock.get("phase", "-") + (f"\n{progress}" if progress else ""),
        "queued": (found["queued"] or {}).get("ami_id", "-"),
    }


def weights_text(weights: dict[str, int]) -> str:
    return " ".join(f"{slot}={weight}" for slot, weight in weights.items())


def table_of(rows: list[dict], columns: list[str], title: str = "") -> Table:
    out = Table(title=title, show_lines=False)
    for column in columns:
        out.add_column(column)
    for row in rows:
        out.add_row(*[str(row.get(c, "")) if row.get(c) is not None else "" for c in columns])
    return out
