"""`bluegreen rollback` in a split release's keep window (README "Split-fleet releases"): both halves are new and the
old groups empty, so the command only asks; the release's own rollback relaunches the old halves before any traffic
moves. (A blue/green release's old fleet is whole: its weights flip back at once.)"""

from __future__ import annotations

from orchestrator.adapters import state_table

from bluegreen.cli import ops
from tests.integration.conftest import World

PLAN = {"mode": "split", "fleet": 4, "shares": {"blue": 2, "green": 2}, "ratio": 50, "order": ["blue", "green"]}


def in_keep_window(world: World, **record: object) -> ops.Aws:
    world.aws.__dict__["outputs"] = {"StateTableName": world.table}
    tbl = ops.table(world.aws)
    state_table.put("shop", "LOCK", {"release_id": "r1", "phase": "KeepWindow"}, tbl)
    state_table.put("shop", "RELEASE#r1", {"release_id": "r1", "slot": "blue", **record}, tbl)
    return world.aws


def weights(world: World) -> dict[str, int]:
    return ops.router(world.aws, ops.load_config(world.aws, "shop")).splits()[0][1]


def test_a_split_release_is_asked_to_roll_back_and_no_half_takes_all_traffic(world: World) -> None:
    # Given a split release in its keep window, and the weights as the router serves them
    aws = in_keep_window(world, split=PLAN)
    before = weights(world)
    # When an operator rolls it back
    assert ops.request_rollback(aws, "shop") == ("r1", True)
    # Then the request is on the lock for the release's next look, and the weights did not move
    assert state_table.get("shop", "LOCK", ops.table(aws))["rollback_requested"] is True
    assert weights(world) == before


def test_a_blue_green_release_flips_its_weights_back_at_once(world: World) -> None:
    # Given a blue/green release into blue in its keep window
    aws = in_keep_window(world)
    # When an operator rolls it back, Then all traffic is on green (the previous fleet) at once
    assert ops.request_rollback(aws, "shop") == ("r1", False)
    assert weights(world) == {"blue": 0, "green": 100}
