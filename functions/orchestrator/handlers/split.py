"""Handler of the deploy machine's split-fleet tasks (MoveSplitFleet, NextSplitHalf, RestoreSplitFleet)."""

from typing import Any, Literal

from orchestrator.domain import split_release
from orchestrator.models import Release, TaskInput
from orchestrator.runtime import handler, now


class SplitInput(TaskInput):
    # move: one look and at most one move towards the split's goal; next_half: a half is released, on to the next.
    action: Literal["move", "next_half"] = "move"


@handler(SplitInput)
def move_split_fleet(event: SplitInput, context: Any) -> Release:
    if event.action == "next_half":
        return split_release.next_half(event.release, now())
    return split_release.move(event.release, now())
