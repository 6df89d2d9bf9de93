"""moto applies concurrent writes to one DynamoDB item without a lock; DynamoDB applies each write atomically.

Real AWS (DynamoDB Developer Guide, "Working with items and attributes", "Atomic counters" and "Conditional writes";
API Reference, "UpdateItem"): every PutItem, UpdateItem and DeleteItem is applied atomically to its item, so two
`list_append` updates of one item both land, and a condition is checked against the item as the write finds it.
moto reads the item, works on it and stores it back with no lock: two UpdateItems of one item at the same moment
can each start from the same version, and one update is lost (seen: a quarantine case that two findings joined kept
one trigger). The twin serialises the backend's item writes (all items at once: stricter than DynamoDB, which
serialises per item, with the same outcome for every write).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb.models import DynamoDBBackend

from bluegreen.twin import change_signals
from bluegreen.twin.patching import Patches

# Re-entrant: TransactWriteItems applies its parts through update_item, put_item and delete_item.
_lock = threading.RLock()
WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")


def _atomic(write: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(write)
    def atomic(*args: Any, **kwargs: Any) -> Any:
        try:
            with _lock:
                return write(*args, **kwargs)
        finally:
            change_signals.items.fire()  # a test waiting on an item reads it again (after a refused write: for nothing)

    return atomic


patches = Patches(__name__, *((DynamoDBBackend, name, _atomic(getattr(DynamoDBBackend, name))) for name in WRITES))
install, uninstall = patches.install, patches.uninstall
