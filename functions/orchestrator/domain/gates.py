"""Alarm gates after each bake: what the alarms' states mean for the release."""

from __future__ import annotations

from typing import Literal

from orchestrator.budget import MAX_INSUFFICIENT_DATA_WAITS

Verdict = Literal["ok", "wait", "fail"]


def judge_alarms(states: dict[str, str], insufficient_data: str, waits_so_far: int) -> tuple[Verdict, str]:
    """`ALARM` fails; `INSUFFICIENT_DATA` (and a missing alarm) is ignored, waited on, or fails, as the app says."""
    firing = sorted(n for n, s in states.items() if s == "ALARM")
    if firing:
        return "fail", "in ALARM: " + ", ".join(firing)
    unknown = sorted(n for n, s in states.items() if s in ("INSUFFICIENT_DATA", "MISSING"))
    if not unknown or insufficient_data == "ignore":
        return "ok", ""
    detail = "INSUFFICIENT_DATA (or missing): " + ", ".join(unknown)
    if insufficient_data == "wait" and waits_so_far < MAX_INSUFFICIENT_DATA_WAITS:
        return "wait", detail
    return "fail", detail
