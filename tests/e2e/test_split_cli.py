"""The operator's view of a split app on the twin (README "Split-fleet releases"): `status` shows both halves live and,
while a split release runs, which half it replaces and the goal; `watch` draws every group with its slot; `history`
gives the release's mode, peak against the fleet and moves; `app put` reports the fleet's shares and peak."""

from __future__ import annotations

import json
import time

import pytest

from bluegreen.cli import ops, views
from tests.e2e.conftest import App, run_cli

SPLIT = {"seed": {"split": True}}


def cli(app: App, capsys, monkeypatch, *args: str, stdin: str = "") -> str:
    code, out, err = run_cli(app.endpoint, capsys, monkeypatch, "--region", "us-east-1", *args, stdin=stdin)
    assert code == 0, (args, out, err)
    return out


def follow(app: App, arn: str) -> tuple[set[str], set[str]]:
    """Until the execution ends: every split progress `status` showed, and every group line `watch` drew."""
    progress: set[str] = set()
    drawn: set[str] = set()
    while ops.describe(app.aws, arn).status == "RUNNING":
        found = ops.status(app.aws, app.name)
        if found.get("split"):
            progress.add(f"{found['split']['half']}:{found['split']['slot']}:{found['split']['goal']}")
        drawn.update(views.snapshot(app.aws, app.name, arn)["groups"])
        time.sleep(0.05)  # the rest (one move, a look or two) is on screen for about a second
    return progress, drawn


@pytest.mark.parametrize("app", [SPLIT], indirect=True, ids=["route53"])
def test_status_watch_history_and_app_put_of_a_split_app(app: App, capsys, monkeypatch) -> None:
    # Given a split app at rest (2 + 2 instances, 50/50)
    at_rest = json.loads(cli(app, capsys, monkeypatch, "status", app.name, "--output", "json"))[0]
    assert at_rest["mode"] == "split" and at_rest["ratio"] == {"blue": 50, "green": 50}
    assert sorted((h["slot"], h["role"], h["desired"], h["weight"]) for h in at_rest["halves"]) == [
        ("blue", "live", 2, 50),
        ("green", "live", 2, 50),
    ]
    table = cli(app, capsys, monkeypatch, "status", app.name)
    assert "50/50" in table and f"halves of {app.name}" in table
    # And its configuration put again reports the fleet's shares and a release's peak
    document = cli(app, capsys, monkeypatch, "app", "get", app.name)
    put = cli(app, capsys, monkeypatch, "app", "put", app.name, "-", stdin=document)
    assert "split: fleet 4, blue 2 + green 2 at rest; a release runs at most 6 instances" in put
    # And a dry run prints the split plan: the fleet, its shares, the halves' order, the peak
    ami = app.publish_ami()
    plan = cli(app, capsys, monkeypatch, "deploy", app.name, "--ami", ami, "--dry-run")
    assert "split: split 50/50, fleet 4 (blue 2 + green 2), blue then green; at most 6 instances at the peak" in plan
    # When a release runs, followed by status and watch
    arn = app.start(ami)
    progress, drawn = follow(app, arn)
    assert ops.describe(app.aws, arn).status == "SUCCEEDED"
    # Then status showed the first half (blue) vacated and replaced, then the second (green), then the rest
    assert {"0:blue:vacate", "0:blue:None", "1:green:vacate", "1:green:None", "2:None:rest"} <= progress, progress
    # And watch drew groups of both slots
    assert any("[blue]" in line for line in drawn) and any("[green]" in line for line in drawn), drawn
    # And the live pointer names both new groups, each a live half at its share
    after = ops.status(app.aws, app.name)
    assert {h["role"] for h in after["halves"]} == {"live"} and len(after["halves"]) == 2
    assert sorted(after["live"]["groups"]) == ["blue", "green"] and after["split"] is None
    # And history gives the mode, the fleet, the peak against it and the moves
    record = json.loads(cli(app, capsys, monkeypatch, "history", app.name, "--output", "json"))[0]
    peak, moves = record["peak_instances"], len(record["split_moves"])
    assert 4 < peak <= 6 and moves > 4
    assert ops.history_detail(record) == (
        f"manual; split 50/50, fleet 4 (blue 2 + green 2), blue then green; peak {peak} instances"
        f" ({round(100 * peak / 4)} % of 4); {moves} moves"
    )
