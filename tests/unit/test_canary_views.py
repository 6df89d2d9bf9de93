"""The terminal views of the canary judge's verdicts: the watch panel's latest verdict per step, and the history."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console

from bluegreen.cli import ops, views


def verdict(percent: int, outcome: str, look: int, final: bool) -> dict:
    return {
        "at": f"2026-12-06T03:0{look}:00+00:00",
        "percent": percent,
        "look": look,
        "final": final,
        "outcome": outcome,
        "summary": f"{outcome}: server_errors green 0.0{look} vs blue 0.01",
    }


def text_of(renderable: object) -> str:
    console = Console(width=160, record=True)
    console.print(renderable)
    return console.export_text()


def test_watch_shows_the_latest_verdict_of_each_step() -> None:
    # Given a release judged twice at 10 % (a Marginal, then a Pass) and failed at 50 %
    recorded = [verdict(10, "Marginal", 5, True), verdict(10, "Pass", 10, True), verdict(50, "Fail", 2, False)]
    latest = ops.latest_verdict_per_step(recorded)
    assert {p: v["outcome"] for p, v in latest.items()} == {10: "Pass", 50: "Fail"}
    # When the watch panel is drawn
    execution = ops.Execution(
        arn="arn",
        status="FAILED",
        output=None,
        error=None,
        cause=None,
        started=datetime(2026, 12, 6, 3, 0, tzinfo=UTC),
        stopped=None,
    )
    sample = {"execution": execution, "phase": "Bake", "health": "ok", "weights": {"blue": 50, "green": 50}}
    shown = text_of(views.render("shop", {**sample, "groups": [], "canary": latest}))
    # Then each step's latest verdict is a line, with its evidence
    assert "canary  10 % Pass" in shown and "canary  50 % Fail" in shown
    assert "Marginal" not in shown and "server_errors green 0.02 vs blue 0.01" in shown


def test_history_of_a_release_lists_every_verdict_and_marks_the_bakes_end() -> None:
    recorded = [verdict(10, "Marginal", 5, True), verdict(50, "Fail", 2, False)]
    shown = text_of(views.verdicts_table(recorded, "canary verdicts"))
    assert "5 (end of bake)" in shown and "Marginal" in shown and "Fail" in shown
