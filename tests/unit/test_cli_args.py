"""The CLI takes global options anywhere on the line, as the AWS CLI does."""

from __future__ import annotations

from bluegreen.cli.commands import hoist_global_options


def test_global_options_move_before_the_command() -> None:
    argv = ["status", "shop", "--output", "json", "--region=eu-west-1"]
    assert hoist_global_options(argv) == ["--output", "json", "--region=eu-west-1", "status", "shop"]


def test_command_options_stay_where_they_are() -> None:
    argv = ["deploy", "shop", "--ami", "ami-1", "--dry-run"]
    assert hoist_global_options(argv) == argv
