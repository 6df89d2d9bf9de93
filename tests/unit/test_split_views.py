"""What `status`, `watch` and `history` show of a split app (README "Split-fleet releases"): both halves live, the
mode and ratio, a split release's half, goal and moves, and its record's peak against the fleet."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console

from bluegreen.cli import ops, split_view, views


def group(name: str, slot: str, desired: int, healthy: int, release: str = "r0", ami: str = "ami-old") -> dict:
    instances = [
        {"InstanceId": f"i-{name}{n}", "LifecycleState": "InService" if n < healthy else "Pending"}
        for n in range(desired)
    ]
    return {
        "AutoScalingGroupName": name,
        "DesiredCapacity": desired,
        "MaxSize": 4,
        "Instances": [{**i, "HealthStatus": "Healthy"} for i in instances],
        "Tags": [
            {"Key": "bluegreen:slot", "Value": slot},
            {"Key": "bluegreen:release", "Value": release},
            {"Key": "bluegreen:ami", "Value": ami},
        ],
    }


LIVE = {"slot": "blue", "asg_name": "shop-blue-r0", "groups": {"blue": "shop-blue-r0", "green": "shop-green-r0"}}
LIVE = {**LIVE, "mode": "split", "ami_id": "ami-old", "release_id": "r0"}
PLAN = {"mode": "split", "fleet": 4, "shares": {"blue": 2, "green": 2}, "ratio": 50, "order": ["blue", "green"]}


def text_of(renderable: object) -> str:
    console = Console(width=240, record=True)
    console.print(renderable)
    return console.export_text()


def test_status_shows_both_halves_the_mode_and_the_ratio_of_a_split_app_at_rest() -> None:
    # Given a split app at rest: a group of 2 in each slot, 50/50
    groups = [group("shop-green-r0", "green", 2, 2), group("shop-blue-r0", "blue", 2, 2)]
    found = {
        "app": "shop",
        "live": LIVE,
        "in_flight": None,
        "queued": None,
        "weights": {"blue": 50, "green": 50},
        "mode": "split",
        "ratio": {"blue": 50, "green": 50},
        "halves": split_view.halves(groups, {"blue": 50, "green": 50}, LIVE, None),
        "split": None,
    }
    # When its status is drawn
    shown = text_of(views.status_view([found]))
    # Then the app's line names both live groups and the mode with its ratio
    assert "split 50/50" in shown
    assert "blue: shop-blue-r0" in shown and "green: shop-green-r0" in shown
    # And each half has its row: slot, group, role, AMI, desired, in service, MaxSize, weight
    rows = [line.split() for line in shown.splitlines() if "shop-" in line and "│" in line and "live" in line]
    cells = [[c for c in r if c != "│"] for r in rows]
    assert ["blue", "shop-blue-r0", "live", "ami-old", "2", "2", "4", "50"] in cells
    assert ["green", "shop-green-r0", "live", "ami-old", "2", "2", "4", "50"] in cells


def test_a_split_release_in_flight_shows_its_half_goal_and_moves() -> None:
    # Given the second half being vacated: blue's new group built (and surged), green's not yet
    groups = [
        group("shop-blue-r0", "blue", 0, 0),
        group("shop-blue-r1", "blue", 4, 3, release="r1", ami="ami-new"),
        group("shop-green-r0", "green", 2, 2),
    ]
    lock = {"release_id": "r1", "phase": "SplitVacate", "split_moves": 7}
    found = split_view.progress(lock, {"split": PLAN}, groups)
    # Then the progress is half 2 of 2 (green), goal vacate, 7 moves
    assert (found["half"], found["slot"], found["goal"], found["moves"]) == (1, "green", "vacate", 7)
    assert split_view.progress_text(found).startswith("half 2/2 (green): vacating it")
    # And each group's role says which are this release's
    roles = {r["group"]: (r["role"], r["in_service"]) for r in split_view.halves(groups, {}, LIVE, "r1")}
    assert roles == {"shop-blue-r0": ("live", 0), "shop-blue-r1": ("new", 3), "shop-green-r0": ("live", 2)}


def test_the_half_follows_the_groups_the_release_built() -> None:
    first_built = [group("shop-blue-r1", "blue", 2, 2, release="r1"), group("shop-green-r0", "green", 4, 4)]
    both_built = [*first_built, group("shop-green-r1", "green", 2, 0, release="r1")]
    cases = [
        ("SplitVacate", [], 0),  # the first half is vacated: nothing built yet
        ("ShiftTraffic", first_built, 0),  # the first half takes its share
        ("SplitVacate", first_built, 1),  # the second half is vacated
        ("WaitHealthy", both_built, 1),  # the second half is built
        ("SplitRest", both_built, 2),  # both replaced: the surge undone
    ]
    for phase, groups, half in cases:
        lock = {"release_id": "r1", "phase": phase}
        assert split_view.progress(lock, {"split": PLAN}, groups)["half"] == half, phase
    # And the gate's own count of the half, when the lock has it, wins
    lock = {"release_id": "r1", "phase": "ShiftTraffic", "split_half": 1}
    assert split_view.progress(lock, {"split": PLAN}, first_built)["half"] == 1


def test_rest_and_rollback_say_so_and_a_blue_green_release_has_no_progress() -> None:
    rest = split_view.progress({"release_id": "r1", "phase": "SplitRest", "split_moves": 12}, {"split": PLAN}, [])
    back = split_view.progress({"release_id": "r1", "phase": "SplitBack", "split_moves": 1}, {"split": PLAN}, [])
    assert split_view.progress_text(rest) == "both halves replaced, undoing the surge; 12 moves"
    assert split_view.progress_text(back) == "rolling back: every old group back to its size; 1 move"
    assert split_view.progress({"release_id": "r1", "phase": "ShiftTraffic"}, {"slot": "green"}, []) is None


def test_the_mode_says_when_the_next_release_adopts_or_joins() -> None:
    blue_green_live = {"slot": "blue", "asg_name": "shop-blue-r0"}
    assert split_view.mode_text("split", 50, LIVE) == "split 50/50"
    assert split_view.mode_text("split", 60, blue_green_live) == (
        "split 60/40 (live: blue_green; the next release adopts it)"
    )
    assert split_view.mode_text("blue_green", 50, LIVE) == "blue_green (live: split; the next release joins it)"
    assert split_view.mode_text("blue_green", 50, blue_green_live) == "blue_green"


def test_history_shows_a_split_release_mode_peak_against_the_fleet_and_moves() -> None:
    # Given a split release's record: its plan at start, and on success its moves, peak and both groups
    record = {
        "kind": "release",
        "source": "manual",
        "split": PLAN,
        "split_moves": ["scale shop-green-r0 to 4"] * 14,
        "peak_instances": 6,
        "asg": "shop-blue-r1,shop-green-r1",
    }
    # Then its history line gives the mode, ratio, fleet and shares, order, peak against the fleet, the moves
    assert ops.history_detail(record) == (
        "manual; split 50/50, fleet 4 (blue 2 + green 2), blue then green; peak 6 instances (150 % of 4); 14 moves"
    )
    # And an adoption and a join say which way
    adopt = {**PLAN, "mode": "adopt", "order": ["green", "blue"]}
    assert ops.history_detail({"source": "event", "split": adopt}).startswith(
        "event; adopt: blue_green to split 50/50, fleet 4"
    )
    join = {**PLAN, "mode": "join", "order": ["blue"], "ratio": 50}
    assert "join: split to blue_green in blue" in ops.history_detail({"split": join})
    # And a blue/green release's line is its source alone
    assert ops.history_detail({"kind": "release", "source": "manual"}) == "manual"


def test_watch_draws_every_group_with_its_slot_and_the_split_progress() -> None:
    # Given a sample of a split release: both slots weighted, one group per slot and the new one
    execution = ops.Execution("arn", "RUNNING", None, None, None, datetime.now(UTC), None)
    groups = [group("shop-blue-r1", "blue", 2, 1, release="r1"), group("shop-green-r0", "green", 4, 4)]
    sample = {
        "execution": execution,
        "phase": "WaitHealthy",
        "health": "1/2",
        "weights": {"blue": 0, "green": 100},
        "release_id": "r1",
        "canary": {},
        "split": split_view.progress_text(
            split_view.progress({"release_id": "r1", "phase": "WaitHealthy", "split_moves": 4}, {"split": PLAN}, groups)
        ),
        "groups": [views.group_text(g) for g in groups],
    }
    shown = text_of(views.render("shop", sample))
    # Then the panel shows the half, each group's slot and in-service / desired, and both slots' bars
    assert "split: half 1/2 (blue): replacing it; 4 moves" in shown
    assert "shop-blue-r1 [blue] 1/2" in shown and "shop-green-r0 [green] 4/4" in shown
    assert "blue" in shown and "100 %" in shown


def test_a_dry_run_prints_the_split_plan_with_its_peak() -> None:
    assert split_view.plan_text(PLAN) == (
        "split 50/50, fleet 4 (blue 2 + green 2), blue then green; at most 6 instances at the peak"
    )
    join = {**PLAN, "mode": "join", "order": ["blue"]}
    assert split_view.plan_text(join).endswith(
        "in blue, fleet 4 (blue 2 + green 2), blue; at most 8 instances at the peak"
    )
