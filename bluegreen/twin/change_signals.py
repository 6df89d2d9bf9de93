"""Speed only, no AWS behaviour: a test in the twin's process can sleep until the twin changes instead of polling it.

A test waiting for an execution's end asked DescribeExecution ten times a second, and one waiting for a release's
phase read the lock item twenty times a second: about 20 000 requests a suite, each costing the test's client and the
twin's server. The twin runs in the test's process, so it can say when something worth reading again happened:

- `executions`: an execution of the Step Functions interpreter started or ended (`stepfunctions_status_events`' hooks,
  whether or not status events are delivered);
- `items`: a DynamoDB item was written (`dynamodb_item_writes`' hook: PutItem, UpdateItem, DeleteItem,
  TransactWriteItems);
- `handlers`: a Lambda handler run by the twin returned (`api_calls.running`): whatever it changed is in place;
- `changes`: any of the above, for a wait on something else the twin holds (a group, a record, a listener), which
  only a handler or an execution changes while a test waits.

A waiter notes `count()`, reads through the API, and if it must wait, `wait_after(seen, seconds)`: it returns at once
when the signal fired since `seen` (so a change between the read and the wait is not lost), else at the first firing
or after `seconds`. The reads stay the API's; a signal only says when to read again.
"""

from __future__ import annotations

import threading


class Signal:
    """A counter of events, and a condition to sleep on until it moves."""

    def __init__(self, parent: Signal | None = None) -> None:
        self._changed = threading.Condition()
        self._count = 0
        self._parent = parent  # fired too, whenever this one is

    def count(self) -> int:
        return self._count

    def fire(self) -> None:
        with self._changed:
            self._count += 1
            self._changed.notify_all()
        if self._parent is not None:
            self._parent.fire()

    def wait_after(self, seen: int, seconds: float) -> bool:
        """Sleep until the count differs from `seen`, at most `seconds`; whether it did."""
        with self._changed:
            return self._changed.wait_for(lambda: self._count != seen, timeout=max(seconds, 0.0))


changes = Signal()
executions = Signal(changes)
items = Signal(changes)
handlers = Signal(changes)
