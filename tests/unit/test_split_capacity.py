"""The split-fleet capacity planner: from every state a release or its rollback can be in, a safe plan to the goal."""

from __future__ import annotations

import itertools

import pytest
from orchestrator.config import parse_config
from orchestrator.domain import split_capacity, split_release
from orchestrator.domain.split_capacity import ABSENT, Fleet, Group, State, plan, safe
from orchestrator.errors import ConfigInvalidError, SplitFleetUnsupportedError

FLEET = Fleet(4, (2, 2), 50)
BEFORE = (2, 2)


def group(level: int, healthy: int | None = None, trusted: bool = True) -> Group:
    if level == ABSENT:
        return Group()
    return Group(level, level if healthy is None else healthy, trusted)


def test_a_release_vacates_the_first_half_by_surging_the_other() -> None:
    steady = State((group(2), group(2)), (Group(), Group()), 50)
    steps = plan(steady, FLEET, split_capacity.vacated("blue"))
    assert [(m.kind, m.slot, m.which, m.level) for m in steps] == [
        ("scale", "green", "old", 4),
        ("weights", "", "", 0),
        ("scale", "blue", "old", 0),
    ]


def test_the_second_half_shrinks_the_surge_before_the_new_half_surges() -> None:
    # blue is new at its share, green old and surged: growing blue first would run 8 instances
    state = State((group(0), group(4)), (group(2), Group()), 50)
    steps = plan(state, FLEET, split_capacity.vacated("green"))
    assert [(m.slot, m.which, m.level) for m in steps[:2]] == [("green", "old", 2), ("blue", "new", 4)]


def test_a_rollback_puts_all_traffic_on_the_old_half_first() -> None:
    # blue's new group took 25 % when a gate failed; green's old group holds the whole fleet
    state = State((group(0), group(4)), (group(2), Group()), 25)
    steps = plan(state, FLEET, split_capacity.restored(BEFORE, 50), "back")
    assert (steps[0].kind, steps[0].level) == ("weights", 0)


def test_a_rollback_never_grows_a_new_group_nor_counts_on_an_unhealthy_one() -> None:
    state = State((group(0), group(4)), (group(2, 0, trusted=False), Group()), 0)
    steps = plan(state, FLEET, split_capacity.restored(BEFORE, 50), "back")
    assert steps[0].kind == "delete"
    assert all(not (m.which == "new" and m.kind == "scale" and m.level > 2) for m in steps)


def test_a_release_never_brings_an_emptied_old_group_back() -> None:
    state = State((group(0), group(4)), (group(2), Group()), 50)
    steps = plan(state, FLEET, split_capacity.vacated("green"))
    assert not [m for m in steps if m.which == "old" and m.slot == "blue"]


def _states():
    """Every state of a 4-instance fleet with a new group of 2 or 4 instances or none per slot, old groups at 0, 2 or
    4, and the weights at 0, 25, 50, 75 or 100 on blue (a step cut anywhere)."""
    for old_blue, old_green in itertools.product((0, 2, 4), repeat=2):
        for new_blue, new_green in itertools.product((ABSENT, 2, 4), repeat=2):
            for blue in (0, 25, 50, 75, 100):
                yield State((group(old_blue), group(old_green)), (group(new_blue), group(new_green)), blue)


@pytest.mark.parametrize("goal_name", ["back", "rest"])
def test_from_every_safe_state_the_plan_reaches_its_goal_through_safe_states_only(goal_name: str) -> None:
    goal = split_capacity.restored(BEFORE, 50) if goal_name == "back" else split_capacity.at_rest_on_new(FLEET)
    direction = "back" if goal_name == "back" else "forward"
    checked = 0
    for state in _states():
        if not safe(state, FLEET):
            continue
        if goal_name == "rest" and ABSENT in (state.new[0].level, state.new[1].level):
            continue  # the release's end needs both new groups built
        steps = plan(state, FLEET, goal, direction)
        assert steps is not None, state
        current = state
        for step in steps:
            current = next(after for move, after in split_capacity.moves(current, FLEET, direction) if move == step)
            assert safe(current, FLEET), (state, steps)
            assert sum(max(0, g.level) for g in (*current.old, *current.new)) <= 6
        assert goal(current), (state, steps)
        checked += 1
    assert checked >= 10  # the states a 4-instance fleet can safely be in (e.g. 13 for the rollback)


def test_a_state_that_breaks_the_rules_is_not_safe() -> None:
    # 50 % on a slot with no healthy instance
    assert not safe(State((group(2, 0), group(2)), (Group(), Group()), 50), FLEET)
    # 8 instances for a fleet of 4
    assert not safe(State((group(4), group(4)), (Group(), Group()), 50), FLEET)
    assert safe(State((group(2), group(4)), (Group(), Group()), 50), FLEET)


@pytest.mark.parametrize(
    ("size", "ratio", "maxes", "expected"),
    [
        (4, 50, {"blue": 4, "green": 4}, ""),
        (3, 50, {"blue": 4, "green": 4}, "need 5 at a release's peak"),
        (10, 60, {"blue": 10, "green": 10}, "need 16 at a release's peak"),
        (1, 50, {"blue": 1}, "at least 2 instances"),
        (4, 50, {"blue": 4, "green": 3}, "MaxSize 3, below the 4"),
    ],
)
def test_a_fleet_the_rules_cannot_hold_is_refused_with_the_numbers(size, ratio, maxes, expected) -> None:
    problem = split_capacity.surge_problem(size, ratio, maxes)
    assert (expected in problem) if expected else problem == ""


# --- a split release's plan, as Prepare makes it (domain/split_release.py) ---------------------------------------


def _group(slot: str, desired: int, max_size: int | None = None) -> dict:
    return {
        "AutoScalingGroupName": f"shop-{slot}-initial",
        "MinSize": desired,
        "MaxSize": desired * 2 if max_size is None else max_size,
        "DesiredCapacity": desired,
        "Tags": [{"Key": "bluegreen:slot", "Value": slot}, {"Key": "bluegreen:ami", "Value": "ami-0123456789abcdef0"}],
    }


def _config(mode: str = "split", weights: dict | None = None):
    return parse_config(
        {
            "app": "shop",
            "launch_template_id": "lt-0123456789abcdef0",
            "router": "alb",
            "alb": {"listener_arns": ["arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shop/1/2"]},
            "slots": {
                s: {
                    "target_group_arns": [
                        f"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/shop-{s}/1"
                    ],
                    "test_base_url": "http://127.0.0.1:9",
                }
                for s in ("blue", "green")
            },
            "release_mode": mode,
            **({"split": {"weights": weights}} if weights else {}),
        }
    )


def test_prepare_plans_a_split_release_from_both_halves() -> None:
    groups = {"blue": _group("blue", 2), "green": _group("green", 2)}
    progress, first, source = split_release.plan(_config(), {"blue": 50, "green": 50}, groups)
    assert (progress.mode, progress.fleet, progress.shares, progress.order) == (
        "split",
        4,
        {"blue": 2, "green": 2},
        ["blue", "green"],
    )
    assert (first, source["AutoScalingGroupName"]) == ("blue", "shop-blue-initial")
    assert split_release.steps_for_half([10, 50, 100], progress, "blue") == [5, 25, 50]


@pytest.mark.parametrize(
    ("groups", "weights", "expected"),
    [
        ({"blue": (2, None), "green": (1, None)}, None, "need 5 at a release's peak"),
        ({"blue": (2, 3), "green": (2, 4)}, None, "blue slot's group has MaxSize 3, below the 4"),
        ({"blue": (3, None), "green": (3, None)}, {"blue": 2, "green": 1}, "need 10 at a release's peak"),
    ],
)
def test_prepare_refuses_a_split_release_the_rules_cannot_hold_before_any_change(groups, weights, expected) -> None:
    described = {slot: _group(slot, desired, top) for slot, (desired, top) in groups.items()}
    with pytest.raises(SplitFleetUnsupportedError, match=expected):
        split_release.plan(_config(weights=weights), {"blue": 50, "green": 50}, described)


def test_a_ratio_that_is_not_two_positive_weights_is_refused_naming_the_field() -> None:
    for weights in ({"blue": 0, "green": 50}, {"blue": 50}, {"blue": 1, "green": 255}):
        with pytest.raises(ConfigInvalidError, match=r"split\.weights"):
            _config(weights=weights)
