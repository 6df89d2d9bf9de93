"""Which AWS API calls each Lambda function makes in the twin: the evidence that invariant I6 is checked against.

The twin runs every handler in its own process; while one runs, its thread carries the function's name, and every
botocore call made from that thread is recorded as the IAM action it needs (`service:Action`) under that function.
Calls from other threads (the tests, the Step Functions interpreter) are not recorded.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from botocore.client import BaseClient

from bluegreen.twin.patching import Patches

# botocore service names whose IAM action prefix differs from the name.
IAM_PREFIX = {"elbv2": "elasticloadbalancing", "stepfunctions": "states"}

_local = threading.local()
_lock = threading.Lock()
_calls: dict[str, set[str]] = {}


@contextlib.contextmanager
def running(function_name: str) -> Iterator[None]:
    """Record the AWS calls this thread makes as calls of `function_name`."""
    previous = getattr(_local, "function", None)
    _local.function = function_name
    try:
        yield
    finally:
        _local.function = previous


def iam_action(service_name: str, operation: str) -> str:
    return f"{IAM_PREFIX.get(service_name, service_name)}:{operation}"


def _record(client: BaseClient, operation: str) -> None:
    function = getattr(_local, "function", None)
    if function is None:
        return
    action = iam_action(client.meta.service_model.service_name, operation)
    with _lock:
        _calls.setdefault(function, set()).add(action)


def calls() -> dict[str, list[str]]:
    """Function name -> the sorted IAM actions it has called since the last `clear()`."""
    with _lock:
        return {function: sorted(actions) for function, actions in sorted(_calls.items())}


def clear() -> None:
    with _lock:
        _calls.clear()


def _make_api_call(self: BaseClient, operation_name: str, api_params: Any) -> Any:
    _record(self, operation_name)
    return _original_make_api_call(self, operation_name, api_params)


_original_make_api_call = BaseClient._make_api_call
# Every botocore client call goes through this one method, whatever session built the client.
patches = Patches(__name__, (BaseClient, "_make_api_call", _make_api_call))
install, uninstall = patches.install, patches.uninstall
