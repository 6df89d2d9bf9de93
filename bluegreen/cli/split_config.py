"""`app put` of a split app: what its fleet as it stands cannot do in split mode is refused before anything is stored,
in one line naming the field to change, with the numbers (README "Split-fleet releases", "Refusals").

The fleet N is the sum of the desired capacity of the app's groups (tagged bluegreen:app, each in its slot by its
bluegreen:slot tag); the capacity planner's own rule (`split_capacity.surge_problem`) says whether a release of it can
keep every slot's share serving and the instances within 150 % of N. A blue/green app being adopted has one group: N is
its desired capacity.
"""

from __future__ import annotations

from orchestrator.adapters.autoscaling import TAG_SLOT, tag_value
from orchestrator.config import SLOTS
from orchestrator.domain.split_capacity import shares_of, surge_problem


def by_slot(groups: list[dict]) -> dict[str, list[dict]]:
    """The app's groups in each slot (a group without a slot tag is none of the app's halves)."""
    found: dict[str, list[dict]] = {}
    for group in groups:
        slot = tag_value(group, TAG_SLOT)
        if slot in SLOTS:
            found.setdefault(slot, []).append(group)
    return found


def refusal(groups: list[dict], blue_percent: int) -> str:
    """'' when a split release of these groups can keep the mode's rules; else one line starting with the field to
    change (`release_mode`, or `split.weights` when the ratio alone is the cause), the problem, the fix and the fleet."""
    slots = by_slot(groups)
    for slot, in_slot in sorted(slots.items()):
        if len(in_slot) > 1:
            names = ", ".join(sorted(g["AutoScalingGroupName"] for g in in_slot))
            return (
                f"release_mode: slot {slot} has {len(in_slot)} groups ({names}): a split release needs at most one per"
                " slot; delete the one that takes no traffic"
            )
    live = {slot: in_slot[0] for slot, in_slot in slots.items() if in_slot[0]["DesiredCapacity"] > 0}
    size = sum(g["DesiredCapacity"] for g in live.values())
    problem = surge_problem(size, blue_percent, {slot: g["MaxSize"] for slot, g in live.items()})
    if not problem:
        return ""
    ratio_alone = bool(surge_problem(size, blue_percent, {})) and not surge_problem(size, 50, {})
    return f"{'split.weights' if ratio_alone else 'release_mode'}: {problem} ({describe(live, size)})"


def describe(live: dict[str, dict], size: int) -> str:
    """The fleet as the check saw it: N, and each slot's group with its desired capacity and MaxSize."""
    groups = "; ".join(
        f"{slot} {g['AutoScalingGroupName']} desired {g['DesiredCapacity']}, MaxSize {g['MaxSize']}"
        for slot, g in sorted(live.items())
    )
    return f"fleet {size}: {groups or 'no group with instances'}"


def summary(groups: list[dict], blue_percent: int) -> str:
    """What `app put` reports for a split app that passed: the shares at rest and a release's peak."""
    live = [in_slot[0] for in_slot in by_slot(groups).values() if in_slot[0]["DesiredCapacity"] > 0]
    size = sum(g["DesiredCapacity"] for g in live)
    blue, green = shares_of(size, blue_percent)
    return (
        f"split: fleet {size}, blue {blue} + green {green} at rest; a release runs at most {size + max(blue, green)}"
        f" instances ({size * 3 // 2} is 150 %), each half replaced while the other serves at full capacity"
    )
