"""Faults the twin injects into Lambda invocations, named by the function they hit; shared by every request thread.

A twin control, not an AWS behaviour: tests use it (`POST /_twin/faults`) to make a task fail the ways Lambda can.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Generic, TypeVar

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


T = TypeVar("T")


class CountedFaults(Generic[T]):
    """Faults that each hit the next `times` matching requests, then are gone; shared by every request thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[T] = []

    def _append(self, fault: T) -> None:
        with self._lock:
            self._faults.append(fault)

    def _take(self, matches: Callable[[T], bool]) -> T | None:
        """Consume one hit of the first fault that `matches`."""
        with self._lock:
            for fault in self._faults:
                if matches(fault):
                    fault.times -= 1  # type: ignore[attr-defined]
                    if fault.times == 0:  # type: ignore[attr-defined]
                        self._faults.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self._faults]  # type: ignore[call-overload]

    def __bool__(self) -> bool:
        with self._lock:
            return bool(self._faults)


class FaultRegistry(CountedFaults[Fault]):
    def add(self, function: str, kind: str, times: int = 1, event_contains: str = "") -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {FAULT_KINDS}, got {kind!r}")
        if not function or times < 1:
            raise ValueError("function must be non-empty and times >= 1")
        self._append(Fault(function, kind, times, event_contains))

    def take(self, function_name: str, event: str = "") -> str | None:
        """Consume one hit of the first fault matching `function_name` (and the event); return its kind."""
        fault = self._take(lambda f: f.function in function_name and f.event_contains in event)
        return fault.kind if fault else None


faults = FaultRegistry()
