"""Split-fleet releases (README "Split-fleet releases"): both slots take traffic, and a release replaces one half at a
time without the serving capacity ever dropping below the fleet, nor the instances rising above 150 % of it.

A half is replaced by the deploy machine's own states (clone, health, smoke tests through the slot's test path,
approval, gradual shift with bake and alarm gates and the canary judge, the untouched half its baseline). Around them,
`move` brings the fleet to each goal one move at a time, each move the first of the capacity planner's safe plan
(domain/split_capacity.py) from what it observes now:

- vacate: the other slot surged to the whole fleet and all traffic on it, the half to replace empty (its old group is
  kept, scaled to zero with its launch template version, for a rollback);
- rest: the release's end, the surge undone (both new groups at their share, the weights at the ratio);
- back: a rollback's end (every old group as it was, the new ones gone, the weights as they were).

Because every move is planned from what is observed, a rollback from any point, a reconciler after a crash, or a
retried task all take the same path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from orchestrator.adapters import autoscaling, cloudwatch, elbv2
from orchestrator.config import SLOTS, AppConfig
from orchestrator.domain import clone, green_launch, health, routers, split_capacity
from orchestrator.domain.release import live_pointer, other_slot, steps_for
from orchestrator.domain.release_gate import gate, go_live, renew
from orchestrator.domain.split_capacity import ABSENT, Fleet, Group, Move, State
from orchestrator.errors import SplitCapacityError, SplitFleetUnsupportedError
from orchestrator.models import LiveFleet, Release, SplitGroupBefore, SplitProgress

NEVER = datetime(1970, 1, 1, tzinfo=UTC).isoformat()  # a slot without traffic since before the release began


# --- planning a split release (Prepare) --------------------------------------------------------------------------


def groups_to_release(config: AppConfig, weights: dict[str, int]) -> dict[str, dict] | None:
    """Each slot's group when this is a split release, else None: the app is configured split, or it is a split app
    at rest joining blue/green (both slots weighted, one group each, both on one AMI). Traffic split any other way (by
    hand, between two versions) is the operator's to settle: the blue/green path refuses it (TrafficSplitError)."""
    if config.release_mode == "split":
        return slot_groups(config.app)
    if not all(weights.get(slot, 0) > 0 for slot in SLOTS):
        return None
    groups = slot_groups(config.app)
    amis = {autoscaling.tag_value(g, autoscaling.TAG_AMI) for g in groups.values()}
    return groups if len(groups) == 2 and len(amis) == 1 and None not in amis else None


def slot_groups(app: str) -> dict[str, dict]:
    """The app's group in each slot (by its bluegreen:slot tag); refused when a slot has two."""
    found: dict[str, list[dict]] = {slot: [] for slot in SLOTS}
    for group in autoscaling.groups_of_app(app):
        slot = autoscaling.tag_value(group, autoscaling.TAG_SLOT)
        if slot in found:
            found[slot].append(group)
    for slot, groups in found.items():
        if len(groups) > 1:
            names = ", ".join(g["AutoScalingGroupName"] for g in groups)
            raise SplitFleetUnsupportedError(
                f"slot {slot} of {app} has {len(groups)} groups ({names}): a split release needs at most one per slot;"
                " delete the one that takes no traffic"
            )
    return {slot: groups[0] for slot, groups in found.items() if groups}


def fleet_of(split: SplitProgress) -> Fleet:
    return Fleet(split.fleet, (split.shares["blue"], split.shares["green"]), split.ratio)


def plan(
    config: AppConfig, weights: dict[str, int], groups: dict[str, dict], first_slot: str | None = None
) -> tuple[SplitProgress, str, dict]:
    """The split release's bookkeeping, its first half's slot (`first_slot`, else the config's), and the group that
    half is cloned from.

    Refused (SplitFleetUnsupportedError, nothing changed) when the fleet cannot be released within the mode's rules.
    """
    live = {slot: g for slot, g in groups.items() if g["DesiredCapacity"] > 0 or weights.get(slot, 0) > 0}
    if not live:
        raise SplitFleetUnsupportedError(f"{config.app} has no group with instances or traffic in either slot")
    mode = ("split" if len(live) == 2 else "adopt") if config.release_mode == "split" else "join"
    size = sum(g["DesiredCapacity"] for g in live.values())
    before = {slot: _before(g) for slot, g in live.items()}
    order = _order(mode, list(live), first_slot or config.split.first_slot)
    problem = _problem(config, mode, size, before, order)
    if problem:
        raise SplitFleetUnsupportedError(f"{config.app} (release_mode {config.release_mode}): {problem}")
    if mode == "join":  # planned on the halves as they are; the whole fleet ends in the first slot
        shares = tuple(before[s].desired_capacity if s in before else 0 for s in SLOTS)
        ratio = weights.get("blue", 0)
    else:
        shares, ratio = split_capacity.shares_of(size, config.split.blue_percent), config.split.blue_percent
    progress = SplitProgress(
        mode=mode,
        fleet=size,
        shares={"blue": shares[0], "green": shares[1]},
        ratio=ratio,
        order=order,  # type: ignore[arg-type]
        before=before,  # type: ignore[arg-type]
        blue_weight_before=weights.get("blue", 0),
        zero_since={slot: NEVER for slot in SLOTS if weights.get(slot, 0) == 0},  # type: ignore[misc]
    )
    source = live.get(order[0]) or next(iter(live.values()))
    return progress, order[0], source


def _before(group: dict) -> SplitGroupBefore:
    return SplitGroupBefore(
        asg_name=group["AutoScalingGroupName"],
        min_size=group["MinSize"],
        max_size=group["MaxSize"],
        desired_capacity=group["DesiredCapacity"],
        ami_id=autoscaling.tag_value(group, autoscaling.TAG_AMI),
        suspended=[p["ProcessName"] for p in group.get("SuspendedProcesses", [])],
    )


def _order(mode: str, live: list[str], first: str) -> list[str]:
    """The halves in release order: an adoption builds the empty slot first (the live one serves all meanwhile); a
    join rebuilds one slot only."""
    if mode == "adopt":
        return [other_slot(live[0]), live[0]]
    return [first] if mode == "join" else [first, other_slot(first)]


def _problem(config: AppConfig, mode: str, size: int, before: dict[str, SplitGroupBefore], order: list[str]) -> str:
    """Why the fleet cannot be released in this mode ('' when it can): every group that must hold the whole fleet
    while the other half is replaced needs the MaxSize for it."""
    if mode != "join":
        return split_capacity.surge_problem(size, config.split.blue_percent, {s: b.max_size for s, b in before.items()})
    for slot, b in before.items():
        if b.max_size < size and slot != order[0]:
            return (
                f"the {slot} slot's group has MaxSize {b.max_size}, below the {size} it must hold while the"
                f" {order[0]} slot is rebuilt: raise its MaxSize to at least {size}"
            )
    return ""


def source_of(split: SplitProgress, slot: str) -> SplitGroupBefore:
    """The old group `slot`'s new group is cloned from: the slot's own, or on adoption (an empty slot) the other's."""
    return split.before.get(slot) or split.before[other_slot(slot)]  # type: ignore[call-overload,index]


def size_at_rest(split: SplitProgress, slot: str) -> int:
    """The instances `slot`'s new group holds once the release is done: its share (a join: the whole fleet)."""
    return split.fleet if split.mode == "join" else split.shares[slot]  # type: ignore[index]


def half_fleet(
    app: str, split: SplitProgress, slot: str, release_id: str | None, ami_id: str | None
) -> tuple[LiveFleet, LiveFleet]:
    """(live, clone source) for the half that replaces `slot`: live is the other slot's serving group (the canary
    judge's baseline), the source is the half's own old group (on adoption, the other slot's), built again at the
    half's size at rest."""
    other = other_slot(slot)
    before = source_of(split, slot)
    target = size_at_rest(split, slot)
    source = LiveFleet(
        slot=slot if slot in split.before else other,
        asg_name=before.asg_name,
        ami_id=before.ami_id,
        min_size=min(before.min_size, target),
        max_size=max(before.max_size, split.fleet),
        desired_capacity=target,
    )
    replaced = other in split.order[: split.half]  # the other half is new already (the second half)
    old = split.before.get(other)  # type: ignore[call-overload]
    live = LiveFleet(
        slot=other,
        asg_name=clone.green_name(app, other, release_id or "") if replaced else (old.asg_name if old else ""),
        ami_id=ami_id if replaced else (old.ami_id if old else source.ami_id),
        min_size=source.min_size,
        max_size=source.max_size,
        desired_capacity=split.shares.get(other, 0),  # type: ignore[call-overload]
    )
    return live, source


def steps_for_half(steps: list[int], split: SplitProgress | None, slot: str | None) -> list[int]:
    """The half's traffic steps: the app's steps (percent of the whole release) scaled to the slot's share."""
    if split is None or slot is None:
        return steps
    target = (split.ratio if slot == "blue" else 100 - split.ratio) if split.mode != "join" else 100  # percent
    scaled = sorted({max(1, round(step * target / 100)) for step in steps})
    return scaled if scaled[-1] == target else [*scaled, target]


# --- moving the fleet --------------------------------------------------------------------------------------------


@dataclass
class Observed:
    state: State
    groups: dict[str, dict[str, dict | None]]  # "old"/"new" -> slot -> the group's description (None: none)
    healthy: dict[str, int]  # group name -> healthy instances
    weights: dict[str, int]
    instances: int


def observe(release: Release) -> Observed:
    """Where the fleet is now: every group of both slots (one describe), their healthy targets, the weights."""
    split, config = release.split, release.config
    assert split and config and release.app and release.release_id
    fleet = fleet_of(split)
    names = {
        "old": {slot: b.asg_name for slot, b in split.before.items()},
        "new": {slot: clone.green_name(release.app, slot, release.release_id) for slot in SLOTS},
    }
    every = sorted({*names["old"].values(), *names["new"].values()})
    described = {g["AutoScalingGroupName"]: g for g in autoscaling.describe_groups(every)}
    groups = {which: {slot: described.get(name) for slot, name in by_slot.items()} for which, by_slot in names.items()}
    healthy: dict[str, int] = {}
    for slot in SLOTS:
        in_slot = [g for g in (groups["old"].get(slot), groups["new"].get(slot)) if g]
        ids = [i["InstanceId"] for g in in_slot for i in g.get("Instances", [])]
        states = {arn: elbv2.target_states(arn, ids) for arn in config.slots[slot].target_group_arns} if ids else {}
        for g in in_slot:
            healthy[g["AutoScalingGroupName"]] = health.evaluate(g, states).healthy_targets
    splits = routers.of(config).splits()
    weights = splits[0][1] if splits else {"blue": 0, "green": 0}
    if len({tuple(sorted(w.items())) for _, w in splits}) > 1:
        # An ALB change cut half way: plan from the split that gives blue the most (every later move sets them all).
        weights = max((w for _, w in splits), key=lambda w: w.get("blue", 0))

    def planned(which: str, index: int) -> Group:
        group = groups[which].get(SLOTS[index])
        if group is None:
            return Group()
        count = max(group["DesiredCapacity"], len(group.get("Instances", [])))
        good = healthy.get(group["AutoScalingGroupName"], 0)
        return Group(
            level=fleet.level_up(index, count),
            healthy=fleet.level_down(index, good),
            trusted=which == "old" or good >= group["DesiredCapacity"],
        )

    state = State(
        old=(planned("old", 0), planned("old", 1)),
        new=(planned("new", 0), planned("new", 1)),
        blue_weight=weights.get("blue", 0),
    )
    instances = sum(len(g.get("Instances", [])) for g in described.values())
    return Observed(state=state, groups=groups, healthy=healthy, weights=weights, instances=instances)


def _goal(release: Release) -> split_capacity.Goal:
    split = release.split
    assert split and release.idle_slot
    fleet = fleet_of(split)
    if split.goal == "vacate":
        return split_capacity.vacated(release.idle_slot)
    if split.goal == "rest":
        if split.mode == "join":
            return split_capacity.at_rest_on_one(split.order[0], fleet)
        return split_capacity.at_rest_on_new(fleet)
    levels = tuple(split.before[s].desired_capacity if s in split.before else ABSENT for s in SLOTS)
    return split_capacity.restored((levels[0], levels[1]), split.blue_weight_before)


def move(release: Release, now: datetime) -> Release:
    """One look, and at most one move, towards the split's goal; `split.done` once it is reached.

    Going forward the gate renews the lease and honours abort and rollback requests; going back only the lease.
    """
    split = release.split
    assert split and release.config
    back = is_back(release)
    progress = {"split_moves": len(split.moves), "split_half": split.half}  # what `bluegreen status` shows
    if back:
        renew(release, now, "SplitBack", **progress)
    else:
        gate(release, now, f"Split{split.goal.capitalize()}", **progress)
    observed = observe(release)
    split.peak_instances = max(split.peak_instances, observed.instances)
    split.done = False
    split.wait_seconds = release.waits.poll_seconds
    if split.pending and not _in_effect(release, observed, now):
        return release
    split.pending = None
    fleet = fleet_of(split)
    steps = split_capacity.plan(observed.state, fleet, _goal(release), "back" if split.goal == "back" else "forward")
    if steps is None:
        raise SplitCapacityError(
            f"no move of {release.app}'s fleet reaches the {split.goal} goal within the capacity rules from"
            f" {describe(observed, split)}: an operator must settle it"
        )
    if not steps:
        if split.goal == "back":
            _unpin_old(release, observed)
        split.done = True
        return release
    first = steps[0]
    draining = _drain_left(release, first, observed, now)
    if draining > 0:
        split.wait_seconds = draining
        return release
    _apply(release, first, observed, now)
    return release


def describe(observed: Observed, split: SplitProgress) -> str:
    parts = []
    for which in ("old", "new"):
        for slot in SLOTS:
            group = observed.groups[which].get(slot)
            if group:
                name = group["AutoScalingGroupName"]
                parts.append(f"{name} {observed.healthy.get(name, 0)}/{group['DesiredCapacity']} healthy")
    weights = f"weights blue {observed.weights.get('blue', 0)} / green {observed.weights.get('green', 0)}"
    return f"{', '.join(parts) or 'no group'}; {weights} (fleet {split.fleet})"


def _names(observed: Observed) -> dict[str, dict[str, str | None]]:
    return {
        which: {slot: (g or {}).get("AutoScalingGroupName") for slot, g in by_slot.items()}
        for which, by_slot in observed.groups.items()
    }


def _apply(release: Release, first: Move, observed: Observed, now: datetime) -> None:
    split, config = release.split, release.config
    assert split and config
    pending: dict = {"move": first.kind, "slot": first.slot, "which": first.which, "level": first.level}
    if first.kind == "weights":
        weights = {"blue": first.level, "green": 100 - first.level}
        pending["change_id"] = routers.of(config).set_weights(weights)
        pending["by"] = _after(now, release.waits.dns_sync_seconds)
        for slot in SLOTS:
            if weights[slot] == 0 and observed.weights.get(slot, 0) > 0:
                split.zero_since[slot] = now.isoformat()  # type: ignore[index]
        release.weights = weights
    else:
        group = observed.groups[first.which][first.slot]
        assert group is not None
        pending["group"] = group["AutoScalingGroupName"]
        if first.kind == "delete":
            autoscaling.delete_group(group["AutoScalingGroupName"])
            pending["by"] = _after(now, release.waits.group_delete_seconds)
        else:
            _scale(release, first, group)
            pending["grows"] = grows = first.level > group["DesiredCapacity"]
            # A rollback does not give up on relaunching an old group as soon as a release gives up on a new one.
            health = release.waits.old_drain_seconds if split.goal == "back" else release.waits.health_timeout_seconds
            wait = health if grows else release.waits.group_delete_seconds
            pending["by"] = _after(now, wait)
    split.pending = pending
    split.moves.append(first.describe(_names(observed)))
    split.wait_seconds = release.waits.poll_seconds if first.kind != "weights" else release.waits.dns_poll_seconds


def _scale(release: Release, first: Move, group: dict) -> None:
    split = release.split
    assert split
    if first.which == "old" and first.level == 0:
        autoscaling.hold_empty(group, group["MaxSize"])  # kept whole for a rollback
        return
    before = split.before.get(first.slot) if first.which == "old" else None  # type: ignore[call-overload]
    resume = [p for p in autoscaling.HELD_PROCESSES if p not in (before.suspended if before else [])]
    # The minimum is pinned at the level while the release runs, so the group's own scaling cannot undo the move.
    autoscaling.scale_to(
        group, min_size=first.level, max_size=max(group["MaxSize"], first.level), desired=first.level, resume=resume
    )


def _in_effect(release: Release, observed: Observed, now: datetime) -> bool:
    """Whether the last move is in effect; raises once its deadline has passed."""
    split, config = release.split, release.config
    assert split and split.pending and config
    pending = split.pending
    if pending["move"] == "weights":
        done = routers.of(config).in_sync(pending.get("change_id"))
        what = f"the weights change {pending.get('change_id')} was not in sync"
    else:
        group = observed.groups[pending["which"]].get(pending["slot"])
        name = pending["group"]
        if pending["move"] == "delete":
            done = group is None
            what = f"{name} was not deleted"
            if done:
                cloudwatch.delete_alarms_with_prefix(clone.alarm_prefixes(name))
        elif group is None:
            raise SplitCapacityError(f"{name} was deleted by someone else while {release.app}'s fleet was being moved")
        elif pending.get("grows"):
            done = observed.healthy.get(name, 0) >= pending["level"]
            what = f"{name} was not healthy at {pending['level']} ({observed.healthy.get(name, 0)} healthy)"
            if not done and split.goal != "back":  # an instance Auto Scaling could not launch ends it now, saying why
                green_launch.check(name, autoscaling.scaling_activities(name))
        else:
            done = len(group.get("Instances", [])) <= pending["level"]
            what = f"{name} still ran {len(group.get('Instances', []))} instances, above {pending['level']}"
    if done:
        return True
    if now >= datetime.fromisoformat(pending["by"]):
        raise SplitCapacityError(f"{what} by {pending['by']} ({split.moves[-1] if split.moves else pending['move']})")
    return False


def _drain_left(release: Release, first: Move, observed: Observed, now: datetime) -> int:
    """Seconds before `first` may take instances out of a slot that has just lost its traffic (I2); 0 when it may."""
    split = release.split
    assert split
    if first.kind == "weights" or observed.weights.get(first.slot, 0) > 0:
        return 0  # a weighted slot keeps enough capacity (the planner's rule); Auto Scaling drains what leaves it
    if first.kind == "scale" and first.level >= (observed.groups[first.which][first.slot] or {}).get(
        "DesiredCapacity", 0
    ):
        return 0
    since = split.zero_since.get(first.slot)  # type: ignore[call-overload]
    if since is None:  # not seen reaching zero (a reconciler's first look): the whole drain, to be safe
        split.zero_since[first.slot] = since = now.isoformat()  # type: ignore[index]
    left = datetime.fromisoformat(since) + timedelta(seconds=release.waits.drain_seconds) - now
    return max(0, int(left.total_seconds() + 0.999))


def _unpin_old(release: Release, observed: Observed) -> None:
    """A rollback's end: each old group gets back the minimum and maximum it had (its level is already its own)."""
    split = release.split
    assert split
    for slot, before in split.before.items():
        group = observed.groups["old"].get(slot)
        if group and (group["MinSize"], group["MaxSize"]) != (before.min_size, before.max_size):
            autoscaling.set_capacity(
                before.asg_name,
                min_size=before.min_size,
                max_size=before.max_size,
                desired=before.desired_capacity,
            )


# --- between the halves, the end, the rollback ------------------------------------------------------------------


def next_half(release: Release, now: datetime) -> Release:
    """A half took its share with every gate passed: on to the next half (its slot vacated first), or, after the last,
    to the release's end (the surge undone)."""
    split, config = release.split, release.config
    assert split and config and release.app and release.release_id
    split.half += 1
    split.pending = None
    if split.half < len(split.order):
        slot = split.order[split.half]
        release.live, release.clone_source = half_fleet(release.app, split, slot, release.release_id, release.ami_id)
        release.idle_slot = slot
        release.green_asg = clone.green_name(release.app, slot, release.release_id)
        release.steps = steps_for_half(steps_for(config, release.emergency), split, slot)
        release.step_index = 0
        release.traffic = release.canary = release.health = None
        release.healthy_by = None
        release.clone_reads = None
        release.approval_required = False  # asked once, before the first half took any traffic
        split.goal = "vacate"
    else:
        split.goal = "rest"
    return move(release, now)


def begin_back(release: Release) -> Release:
    """The rollback path: every old group back as it was; after the commit, forward to the release's end instead."""
    split = release.split
    assert split
    split.goal = "rest" if release.committed else "back"
    split.pending = None
    split.done = False
    return release


def is_back(release: Release) -> bool:
    """On the rollback path (abort and rollback requests no longer apply)."""
    return bool(release.split and (release.split.goal == "back" or release.committed))


def old_groups(release: Release) -> list[str]:
    split = release.split
    assert split
    return [b.asg_name for b in split.before.values()]


def new_groups(release: Release) -> dict[str, str]:
    """Each slot's new group once the release is done (a join builds one)."""
    split = release.split
    assert split and release.app and release.release_id
    slots = split.order if split.mode == "join" else list(SLOTS)
    return {slot: clone.green_name(release.app, slot, release.release_id) for slot in slots}


def commit(release: Release, now: datetime) -> Release:
    """The point of no return of a split release: the new groups live (the pointer names both), their minimums
    unpinned, the old groups (empty already) made ready for deletion."""
    split, config = release.split, release.config
    assert split and config and release.app
    groups = new_groups(release)
    first = split.order[0]
    mode = "blue_green" if split.mode == "join" else "split"
    # The gate before the point of no return is the pointer's own transaction (release_gate.go_live).
    go_live(release, now, "Drain", live_pointer(release, first, groups[first], now, groups=groups, mode=mode))
    where = "both" if len(groups) > 1 else first
    routers.of(config).publish_live(
        f"release={release.release_id} ami={release.ami_id} slot={where} asg={','.join(groups.values())}"
    )
    for slot, name in groups.items():
        # The sizes its clone was made with (half_fleet), its minimum no longer pinned at its size.
        _, sized = half_fleet(release.app, split, slot, release.release_id, release.ami_id)
        autoscaling.set_capacity(name, min_size=sized.min_size, max_size=sized.max_size, desired=sized.desired_capacity)
    for name in old_groups(release):
        autoscaling.stop_scaling(name)
        autoscaling.set_capacity(name, min_size=0, max_size=0, desired=0)
    release.committed = True
    release.green_asg = groups[first]
    release.old_drain_by = _after(now, release.waits.old_drain_seconds)
    return release


def _after(now: datetime, seconds: int) -> str:
    return (now + timedelta(seconds=seconds)).isoformat()
