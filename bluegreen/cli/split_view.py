"""What `status`, `watch` and `history` say about a split app (README "Split-fleet releases"): both slots live, each
holding its share of the fleet, and a release replacing one half at a time.

Pure functions over what the CLI read: the app's groups (Auto Scaling descriptions), the router's weights, the state
table's LOCK, LIVE and RELEASE# items.
"""

from __future__ import annotations

from orchestrator.adapters.autoscaling import TAG_AMI, TAG_RELEASE, TAG_SLOT, tag_value

# The lock's phase while the split executor moves the fleet, and the goal it moves it to.
GOAL_OF_PHASE = {"SplitVacate": "vacate", "SplitRest": "rest", "SplitBack": "back"}
# Phases after every half was replaced: the surge undone, the keep window, the commit.
AFTER_THE_HALVES = ("SplitRest", "KeepWindow", "Drain")
GOAL_TEXT = {
    "vacate": "vacating it (the other half surged first)",
    "rest": "both halves replaced, undoing the surge",
    "back": "rolling back: every old group back to its size",
}


def is_split(release_mode: str, live: dict | None, record: dict | None = None) -> bool:
    """Both slots are (or are about to be) live: the app is configured split, its pointer names both halves, or the
    release in flight is a split release (one that adopts or joins included)."""
    return release_mode == "split" or (live or {}).get("mode") == "split" or bool((record or {}).get("split"))


def ratio_text(blue_percent: int) -> str:
    return f"{blue_percent}/{100 - blue_percent}"


def mode_text(release_mode: str, blue_percent: int, live: dict | None) -> str:
    """The app's release mode as configured and, when its live fleet is still in the other mode, what the next
    release does about it."""
    live_split = (live or {}).get("mode") == "split"
    if release_mode == "split":
        mode = f"split {ratio_text(blue_percent)}"
        return mode if live_split or not live else f"{mode} (live: blue_green; the next release adopts it)"
    return "blue_green (live: split; the next release joins it)" if live_split else "blue_green"


def in_service(group: dict) -> int:
    return sum(
        1
        for i in group.get("Instances", [])
        if i.get("LifecycleState") == "InService" and i.get("HealthStatus", "Healthy") == "Healthy"
    )


def halves(groups: list[dict], weights: dict[str, int], live: dict | None, release_id: str | None) -> list[dict]:
    """One row per group of the app, by slot: its group, AMI, desired and in-service instances, the slot's weight,
    and its role (new: built by the release in flight; live: named by the live pointer; old: neither)."""
    named = set(((live or {}).get("groups") or {}).values()) or {(live or {}).get("asg_name")}
    rows = []
    for group in groups:
        name = group["AutoScalingGroupName"]
        slot = tag_value(group, TAG_SLOT) or "?"
        built_now = release_id is not None and tag_value(group, TAG_RELEASE) == release_id
        # No live pointer yet (an app bluegreen has not released): the groups its weights serve are its live ones.
        live_now = name in named if live else weights.get(slot, 0) > 0
        rows.append(
            {
                "slot": slot,
                "group": name,
                "ami": tag_value(group, TAG_AMI) or "",
                "desired": group["DesiredCapacity"],
                "in_service": in_service(group),
                "max": group["MaxSize"],
                "weight": weights.get(slot, 0),
                "role": "new" if built_now else ("live" if live_now else "old"),
            }
        )
    return sorted(rows, key=lambda r: (r["slot"], r["role"] == "new", r["group"]))


def progress(lock: dict | None, record: dict | None, groups: list[dict]) -> dict | None:
    """A split release in flight: its halves in order, the half being replaced (0-based; len(order) once all are),
    the goal the fleet is moved to (vacate / rest / back; None while the half is built, tested and shifted) and the
    moves made so far. None when no split release is in flight."""
    plan = (record or {}).get("split")
    if not lock or not plan:
        return None
    order = list(plan.get("order") or [])
    phase = lock.get("phase", "")
    release_id = lock.get("release_id")
    built = [s for s in order if any(_built_by(g, s, release_id) for g in groups)]
    half = lock.get("split_half")
    if half is None:
        half = _half_from_groups(phase, len(order), len(built))
    return {
        "mode": plan.get("mode", "split"),
        "order": order,
        "half": half,
        "slot": order[half] if 0 <= half < len(order) else None,
        "goal": GOAL_OF_PHASE.get(phase),
        "moves": int(lock.get("split_moves") or 0),
        "fleet": plan.get("fleet"),
    }


def _built_by(group: dict, slot: str, release_id: str | None) -> bool:
    return tag_value(group, TAG_SLOT) == slot and tag_value(group, TAG_RELEASE) == release_id


def _half_from_groups(phase: str, halves_count: int, built: int) -> int:
    """The half in progress, from the groups this release has built so far: while a half is vacated (or its group
    created) its own group does not exist yet; later it does. (The gate's `split_half`, when the lock has it, is
    exact; this is the fallback.)"""
    if phase in AFTER_THE_HALVES:
        return halves_count
    if phase in ("SplitVacate", "CreateGreen", "Prepare"):
        return min(built, max(halves_count - 1, 0))
    return max(built - 1, 0)


def progress_text(found: dict | None) -> str:
    """One line: the half being replaced (or the rest and back phases), and the moves made."""
    if not found:
        return ""
    moves = f"{found['moves']} move{'s' if found['moves'] != 1 else ''}"
    goal = found["goal"]
    if goal in ("rest", "back") or found["slot"] is None:
        return f"{GOAL_TEXT.get(goal or 'rest', 'both halves replaced')}; {moves}"
    head = f"half {found['half'] + 1}/{len(found['order'])} ({found['slot']})"
    if found["mode"] != "split":
        head += f", {found['mode']}"
    return f"{head}: {GOAL_TEXT['vacate'] if goal == 'vacate' else 'replacing it'}; {moves}"


def history_detail(record: dict) -> str:
    """A split release's line in the history: its mode and ratio, the fleet and its shares, the halves' order, and on
    success the peak instances (against the 150 % ceiling), the moves made and the groups now live."""
    plan = record.get("split") or {}
    if not plan:
        return ""
    fleet = plan.get("fleet") or 0
    parts = [_plan_head(plan)]
    peak = record.get("peak_instances")
    if peak is not None and fleet:
        parts.append(f"peak {peak} instances ({round(100 * peak / fleet)} % of {fleet})")
    if record.get("split_moves") is not None:
        parts.append(f"{len(record['split_moves'])} moves")
    return "; ".join(parts)


def plan_text(plan: dict) -> str:
    """A dry run's line for a split release: its mode, the fleet and shares, the halves' order, the peak it plans."""
    fleet = plan.get("fleet") or 0
    shares = plan.get("shares") or {}
    # A join builds the whole fleet in one slot while the other serves it all; a half is built beside the surged other.
    peak = fleet + (fleet if plan.get("mode") == "join" else max(shares.values(), default=0))
    return f"{_plan_head(plan)}; at most {peak} instances at the peak"


def _plan_head(plan: dict) -> str:
    shares = plan.get("shares") or {}
    order = " then ".join(plan.get("order") or [])
    ratio = ratio_text(plan.get("ratio", 50))
    head = {
        "split": f"split {ratio}",
        "adopt": f"adopt: blue_green to split {ratio}",
        "join": f"join: split to blue_green in {order}",
    }.get(plan.get("mode", "split"), "split")
    return f"{head}, fleet {plan.get('fleet') or 0} (blue {shares.get('blue', 0)} + green {shares.get('green', 0)}), {order}"
