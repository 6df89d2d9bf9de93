"""The capacity planner of split-fleet releases: the shortest safe sequence of moves from where the fleet is to a goal.

A split app runs its fleet of N instances in two slots that both take traffic. A release, its rollback and its
reconciliation all move the same few things: a group's desired capacity (to 0, to its slot's share, or to N), a group's
deletion, and the weights (the configured ratio, or all on one slot). Whatever the starting point (a gate failed half
way through a half, an operator stopped the execution, a reconciler picks up after a crash), the next move is the first
of the shortest plan in which every state along the way keeps the two rules of the mode:

- serving: each slot with weight w holds at least w % of N healthy instances (so the fleet as a whole serves at 100 %);
- ceiling: the app runs at most 150 % of N instances (counting instances launched and not yet gone).

The planner is pure: `State` is what the executor (domain/split_release.py) observed, levels already rounded the safe
way (capacity down to the level the healthy instances reach, instances up to the level they fill).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Literal

SLOTS = ("blue", "green")
ABSENT = -1  # no such group (a slot without an old group is an adoption from the blue/green mode)

MoveKind = Literal["scale", "delete", "weights"]
Goal = Callable[["State"], bool]
Direction = Literal["forward", "back"]
# A rollback takes traffic off the new version first: each state of its plan in which a slot holding a new group takes
# traffic costs this many moves more (so a plan keeps the new version serving only where nothing else can).
NEW_SERVING_COST = 10


@dataclass(frozen=True)
class Group:
    """One group as the planner sees it: the instances it runs (its level) and the healthy capacity it gives."""

    level: int = ABSENT  # instances it runs (desired, or more while some are still leaving)
    healthy: int = 0  # instances it serves with
    trusted: bool = True  # scaling it up will give healthy instances (False: a new group that never got healthy)


@dataclass(frozen=True)
class State:
    old: tuple[Group, Group]  # per slot (blue, green): the group that was live in it before the release
    new: tuple[Group, Group]  # per slot: this release's group
    blue_weight: int  # percent on blue (green has the rest)


@dataclass(frozen=True)
class Move:
    kind: MoveKind
    slot: str = ""
    which: Literal["old", "new", ""] = ""
    level: int = 0  # scale: the new desired capacity; weights: percent on blue

    def describe(self, groups: dict[str, dict[str, str | None]]) -> str:
        if self.kind == "weights":
            return f"weights blue {self.level} / green {100 - self.level}"
        name = groups[self.which].get(self.slot) or f"{self.which} {self.slot}"
        return f"delete {name}" if self.kind == "delete" else f"scale {name} to {self.level}"


@dataclass(frozen=True)
class Fleet:
    """The app's numbers for one release: N, each slot's share of it, and the weight ratio."""

    size: int
    shares: tuple[int, int]  # instances per slot at rest (blue, green)
    ratio: int  # percent on blue at rest

    @property
    def ceiling(self) -> int:
        return self.size * 3 // 2

    def levels(self, index: int) -> tuple[int, ...]:
        return tuple(sorted({0, self.shares[index], self.size}))

    def level_up(self, index: int, count: int) -> int:
        """The smallest level that holds `count` instances (instances still leaving count)."""
        return next((level for level in self.levels(index) if level >= count), max(count, self.size))

    def level_down(self, index: int, count: int) -> int:
        """The largest level that `count` healthy instances fill."""
        return max(level for level in self.levels(index) if level <= count)


def shares_of(size: int, ratio: int) -> tuple[int, int]:
    """Instances per slot for a fleet of `size` split `ratio` % on blue."""
    blue = round(size * ratio / 100)
    return blue, size - blue


def surge_problem(size: int, ratio: int, max_sizes: dict[str, int]) -> str:
    """Why a fleet of `size` cannot be released in split mode within its rules (with the numbers); '' when it can."""
    if size < 2:
        return f"a split fleet needs at least 2 instances (one per slot); it has {size}"
    shares = shares_of(size, ratio)
    if min(shares) < 1:
        return f"{size} instances split {ratio}/{100 - ratio} leave a slot with no instance: use a larger fleet"
    peak = size + max(shares)
    if peak > size * 3 // 2:
        return (
            f"{size} instances split {ratio}/{100 - ratio} ({shares[0]} + {shares[1]}) need {peak} at a release's peak"
            f" (the surged slot's {size} plus the {max(shares)} replacing the larger share), above the 150 % ceiling of"
            f" {size * 3 // 2}: use an even fleet split 50/50"
        )
    for slot, max_size in sorted(max_sizes.items()):
        if max_size < size:
            return (
                f"the {slot} slot's group has MaxSize {max_size}, below the {size} it must hold while the other slot is"
                f" replaced: raise its MaxSize to at least {size}"
            )
    return ""


def _capacity(state: State, index: int) -> int:
    return sum(max(0, g.healthy) for g in (state.old[index], state.new[index]) if g.level != ABSENT)


def _instances(state: State) -> int:
    return sum(max(0, g.level) for g in (*state.old, *state.new))


def safe(state: State, fleet: Fleet) -> bool:
    weights = (state.blue_weight, 100 - state.blue_weight)
    serving = all(weights[i] * fleet.size <= 100 * _capacity(state, i) for i in (0, 1))
    return serving and _instances(state) <= fleet.ceiling


def _with(state: State, which: str, index: int, group: Group) -> State:
    groups = list(getattr(state, which))
    groups[index] = group
    return replace(state, **{which: tuple(groups)})


def moves(state: State, fleet: Fleet, direction: Direction = "forward") -> Iterator[tuple[Move, State]]:
    """Every single move from `state`, and the state it leads to (once its instances are healthy or gone).

    Forward (a release), an old group is never brought back once empty; back (a rollback), a new group never grows.
    """
    for index, slot in enumerate(SLOTS):
        for which in ("old", "new"):
            group: Group = getattr(state, which)[index]
            if group.level == ABSENT:
                continue
            for level in fleet.levels(index):
                if level == group.level or (which == "new" and level == 0):
                    continue
                if level > group.level and not _may_grow(group, which, direction):
                    continue
                healthy = level if level > group.level else min(group.healthy, level)
                after = Group(level=level, healthy=healthy, trusted=group.trusted)
                yield Move("scale", slot, which, level), _with(state, which, index, after)  # type: ignore[arg-type]
            if which == "new":
                yield Move("delete", slot, "new"), _with(state, "new", index, Group())
    for blue in (fleet.ratio, 100, 0):
        if blue != state.blue_weight:
            yield Move("weights", level=blue), replace(state, blue_weight=blue)


def _may_grow(group: Group, which: str, direction: Direction) -> bool:
    if not group.trusted:  # a group that never got healthy is not counted on for more
        return False
    if which == "new":
        return direction == "forward"
    return direction == "back" or group.level > 0


def _new_serving(state: State) -> int:
    weights = (state.blue_weight, 100 - state.blue_weight)
    return sum(1 for i in (0, 1) if weights[i] > 0 and state.new[i].level > 0)


def plan(
    state: State, fleet: Fleet, goal: Goal, direction: Direction = "forward", limit: int = 24
) -> list[Move] | None:
    """The cheapest list of moves from `state` to one that meets `goal`, every state after the first safe; [] when
    `state` meets it already; None when no such plan exists (within `limit` moves).

    A move costs 1; going back, each state in which the new version takes traffic costs NEW_SERVING_COST more.
    """
    if goal(state):
        return []
    best = {state: 0}
    order = itertools.count()  # ties go to the plan found first (moves are tried in a fixed order)
    queue: list[tuple[int, int, State, list[Move]]] = [(0, next(order), state, [])]
    while queue:
        cost, _, current, path = heapq.heappop(queue)
        if goal(current):
            return path
        if cost > best.get(current, cost) or len(path) >= limit:
            continue
        for move, after in moves(current, fleet, direction):
            if not safe(after, fleet):
                continue
            step = 1 + (NEW_SERVING_COST * _new_serving(after) if direction == "back" else 0)
            if cost + step < best.get(after, cost + step + 1):
                best[after] = cost + step
                heapq.heappush(queue, (cost + step, next(order), after, [*path, move]))
    return None


# --- goals -------------------------------------------------------------------------------------------------------


def vacated(slot: str) -> Goal:
    """`slot` has no traffic and no instance left: its replacement can be built there."""
    index = SLOTS.index(slot)

    def goal(state: State) -> bool:
        weight = state.blue_weight if index == 0 else 100 - state.blue_weight
        return weight == 0 and state.old[index].level <= 0 and state.new[index].level == ABSENT

    return goal


def at_rest_on_new(fleet: Fleet) -> Goal:
    """Both new groups at their share, every old one empty, the weights at the ratio (the release's end)."""

    def goal(state: State) -> bool:
        return state.blue_weight == fleet.ratio and all(
            state.new[i].level == fleet.shares[i] and state.old[i].level <= 0 for i in (0, 1)
        )

    return goal


def at_rest_on_one(slot: str, fleet: Fleet) -> Goal:
    """All traffic and the whole fleet on `slot`'s new group, nothing else running (a split app joined into one)."""
    index = SLOTS.index(slot)

    def goal(state: State) -> bool:
        weight = state.blue_weight if index == 0 else 100 - state.blue_weight
        others = [state.old[index], state.old[1 - index], state.new[1 - index]]
        return weight == 100 and state.new[index].level == fleet.size and all(g.level <= 0 for g in others)

    return goal


def restored(old_levels: tuple[int, int], blue_weight: int) -> Goal:
    """Every old group back at the level it had, no new group left, the weights as they were (a rollback's end)."""

    def goal(state: State) -> bool:
        return (
            state.blue_weight == blue_weight
            and all(state.new[i].level == ABSENT for i in (0, 1))
            and all(max(state.old[i].level, 0) == max(old_levels[i], 0) for i in (0, 1))
            and all(state.old[i].healthy >= max(old_levels[i], 0) for i in (0, 1))
        )

    return goal
