"""`app put` of a split app (README "Split-fleet releases", "Refusals"): a fleet that a split release could not move
within the mode's rules is refused before anything is stored, in one line naming the field and the fix, with the
numbers; a fleet that can be released is stored, with its shares and peak reported.

The world's app "shop" is a blue/green app whose blue group runs 3 instances (MaxSize 6)."""

from __future__ import annotations

import json

import pytest
from orchestrator.adapters import state_table

from bluegreen.cli import ops
from tests.integration.conftest import World


def cli_aws(world: World) -> ops.Aws:
    """The CLI's view of the world: its stack's outputs are the state table's name (there is no stack here)."""
    world.aws.__dict__["outputs"] = {"StateTableName": world.table}
    return world.aws


def split_document(world: World, **split: object) -> str:
    return json.dumps({**world.app.config, "release_mode": "split", **({"split": split} if split else {})})


def stored_mode(world: World) -> str:
    return ops.load_config(world.aws, "shop").release_mode


def resize(world: World, name: str, desired: int, max_size: int) -> None:
    world.client("autoscaling").update_auto_scaling_group(
        AutoScalingGroupName=name, MinSize=desired, MaxSize=max_size, DesiredCapacity=desired
    )


def add_green_group(world: World, desired: int, max_size: int) -> str:
    """A green group beside blue, as a split app has (tagged into the green slot)."""
    blue = world.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[world.app.blue_asg])
    template = blue["AutoScalingGroups"][0]["LaunchTemplate"]
    world.client("autoscaling").create_auto_scaling_group(
        AutoScalingGroupName="shop-green-initial",
        LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"], "Version": "1"},
        MinSize=desired,
        MaxSize=max_size,
        DesiredCapacity=desired,
        VPCZoneIdentifier=",".join(world.app.subnets),
        Tags=[
            {"Key": k, "Value": v, "PropagateAtLaunch": True}
            for k, v in {
                "bluegreen:app": "shop",
                "bluegreen:slot": "green",
                "bluegreen:ami": world.app.base_ami,
            }.items()
        ],
    )
    return "shop-green-initial"


def refused(world: World, document: str) -> str:
    with pytest.raises(ops.CliError) as err:
        ops.put_config(cli_aws(world), "shop", document)
    assert "\n" not in str(err.value)
    return str(err.value)


def test_an_odd_fleet_is_refused_naming_release_mode_with_the_numbers(world: World) -> None:
    # Given a blue/green app of 3 instances (an adoption would need 5 at the peak, above 150 % of 3)
    # When it is put in split mode
    message = refused(world, split_document(world))
    # Then the line names release_mode, the numbers and the fix, and nothing was stored
    assert message == (
        "config of 'shop' is invalid: release_mode: 3 instances split 50/50 (2 + 1) need 5 at a release's peak (the"
        " surged slot's 3 plus the 2 replacing the larger share), above the 150 % ceiling of 4: use an even fleet split"
        " 50/50 (fleet 3: blue shop-blue-initial desired 3, MaxSize 6)"
    )
    assert stored_mode(world) == "blue_green"


def test_a_ratio_whose_larger_share_breaks_the_ceiling_names_split_weights(world: World) -> None:
    # Given the app's fleet at 4 instances (releasable 50/50)
    resize(world, world.app.blue_asg, 4, 8)
    # When it is put in split mode at 75/25
    message = refused(world, split_document(world, weights={"blue": 3, "green": 1}))
    # Then the ratio is the field named (50/50 would do), with its numbers
    assert message.startswith("config of 'shop' is invalid: split.weights: 4 instances split 75/25 (3 + 1) need 7")
    assert stored_mode(world) == "blue_green"


def test_a_half_whose_max_size_cannot_hold_the_surge_is_refused(world: World) -> None:
    # Given a split fleet of 2 + 2 whose groups can hold only 2 each (a surge needs 4 in one slot)
    resize(world, world.app.blue_asg, 2, 2)
    add_green_group(world, 2, 2)
    # When the app is put in split mode
    message = refused(world, split_document(world))
    # Then the line says which slot's MaxSize, the number it needs, and the fleet
    assert message == (
        "config of 'shop' is invalid: release_mode: the blue slot's group has MaxSize 2, below the 4 it must hold while"
        " the other slot is replaced: raise its MaxSize to at least 4 (fleet 4: blue shop-blue-initial desired 2,"
        " MaxSize 2; green shop-green-initial desired 2, MaxSize 2)"
    )


def test_a_slot_with_two_groups_is_refused(world: World) -> None:
    # Given a second group tagged into the blue slot by someone else
    blue = world.client("autoscaling")
    add_green_group(world, 1, 4)
    blue.create_or_update_tags(
        Tags=[
            {
                "ResourceId": "shop-green-initial",
                "ResourceType": "auto-scaling-group",
                "Key": "bluegreen:slot",
                "Value": "blue",
                "PropagateAtLaunch": True,
            }
        ]
    )
    # When the app is put in split mode, Then the slot's two groups are named
    assert "release_mode: slot blue has 2 groups (shop-blue-initial, shop-green-initial)" in refused(
        world, split_document(world)
    )


def test_a_releasable_fleet_is_stored_with_its_shares_and_peak(world: World) -> None:
    # Given a fleet of 4 (adopted: one group, MaxSize 8)
    resize(world, world.app.blue_asg, 4, 8)
    # When it is put in split mode
    config, report = ops.check_config(cli_aws(world), "shop", split_document(world))
    ops.store_config(world.aws, config)
    # Then it is stored, and the report gives the shares at rest and a release's peak
    assert stored_mode(world) == "split"
    assert (
        "split: fleet 4, blue 2 + green 2 at rest; a release runs at most 6 instances (6 is 150 %), each half"
        " replaced while the other serves at full capacity"
    ) in report


def test_the_fleet_is_not_judged_while_a_release_moves_it(world: World) -> None:
    # Given a release in flight (its lock held) on the odd fleet
    state_table.put("shop", "LOCK", {"release_id": "r1"}, ops.table(cli_aws(world)))
    # When the app is put in split mode, Then it is stored, and the report says when the fleet is checked
    config, report = ops.check_config(world.aws, "shop", split_document(world))
    assert config.release_mode == "split"
    assert "split: a release is in flight; the fleet's sizes are checked when the next release starts" in report
