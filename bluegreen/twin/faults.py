"""Faults the twin injects into Lambda invocations, named by the function they hit; shared by every request thread.

A twin control, not an AWS behaviour: tests use it (`POST /_twin/faults`) to make a task fail the ways Lambda can.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

# `late_timeout`: the handler runs to its end, then the invocation times out, as when a function runs out of time
# after its last AWS call: the work is done but the state machine never learns it (retries must be idempotent).
# `slow`: the invocation takes SLOW_SECONDS longer than its work (a cold start, a slow dependency), then succeeds.
FAULT_KINDS = ("error", "throttle", "timeout", "late_timeout", "slow")
SLOW_SECONDS = 2.0


class InjectedFaultError(Exception):
    """Raised inside a Lambda function by an `error` fault, as if the handler crashed."""


@dataclass
class Fault:
    function: str  # a logical id or any substring of the function name
    kind: str
    times: int  # how many more invocations it hits
    event_contains: str = ""  # only invocations whose event (as JSON) contains this, e.g. one release's AMI id


class FaultRegistry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, function: str, kind: str, times: int = 1, event_contains: str = "") -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {FAULT_KINDS}, got {kind!r}")
        if not function or times < 1:
            raise ValueError("function must be non-empty and times >= 1")
        with self._lock:
            self._faults.append(Fault(function, kind, times, event_contains))

    def take(self, function_name: str, event: str = "") -> str | None:
        """Consume one hit of the first fault matching `function_name` (and the event); return its kind."""
        with self._lock:
            for fault in self._faults:
                if fault.function in function_name and fault.event_contains in event:
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault.kind
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self._faults]


faults = FaultRegistry()
