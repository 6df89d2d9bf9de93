"""Which AWS API calls each Lambda function makes in the twin: the evidence that invariant I6 is checked against.

The twin runs every handler in its own process; while one runs, its context carries the function's name, and every
botocore call made in that context is recorded as the IAM action it needs (`service:Action`) under that function.
Calls from other threads (the tests, the Step Functions interpreter) are not recorded; a handler's worker threads are,
when it runs them in its own context (contextvars.copy_context). `call_log` keeps the calls in order, with their
simple parameters. `new_account()` starts a new record for a new twin: a handler of an earlier twin that is still
running in this process (its execution outlived its test module) is not recorded against the new one.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Callable, Iterator
from typing import Any

from botocore.client import BaseClient

from bluegreen.twin import change_signals
from bluegreen.twin.patching import Patches

# botocore service names whose IAM action prefix differs from the name.
IAM_PREFIX = {"elbv2": "elasticloadbalancing", "stepfunctions": "states"}

# A context variable, not a thread-local: a handler that fans out to worker threads with the caller's context
# (contextvars.copy_context) keeps its name there.
# It holds the function's name and the account (twin) it runs in.
_function: contextvars.ContextVar[tuple[str, int] | None] = contextvars.ContextVar("bluegreen_function", default=None)
_pinned: contextvars.ContextVar[int | None] = contextvars.ContextVar("bluegreen_twin_account", default=None)
_lock = threading.Lock()
_account = 0
_calls: dict[str, set[str]] = {}
# The same calls in the order they were made, with their scalar parameters (and lists of scalars), so a test can
# check the order of calls on one resource (e.g. the two security groups each interface gets). Bounded.
_log: list[dict[str, Any]] = []
LOG_LIMIT = 20_000
# What runs before each call of a handler, by the behaviour that put it there (`bluegreen.twin.iam_authorization`):
# check(client, operation, params, function name) may raise the service's own error instead of letting it through.
CHECKS: dict[str, Callable[[BaseClient, str, Any, str | None], None]] = {}


@contextlib.contextmanager
def on_behalf_of(account: int) -> Iterator[None]:
    """A handler run in this block belongs to that twin (one its event started), even if it was replaced meanwhile:
    its calls are then nobody's. Between the check that the twin is current and the handler's start, the next twin's
    module could begin, and the calls of a function of the earlier stack were recorded against the new one."""
    token = _pinned.set(account)
    try:
        yield
    finally:
        _pinned.reset(token)


@contextlib.contextmanager
def running(function_name: str) -> Iterator[None]:
    """Record the AWS calls this thread makes as calls of `function_name`."""
    pinned = _pinned.get()
    token = _function.set((function_name, _account if pinned is None else pinned))
    try:
        yield
    finally:
        _function.reset(token)
        change_signals.handlers.fire()  # what it changed is in place: a test waiting on it reads again


def iam_action(service_name: str, operation: str) -> str:
    return f"{IAM_PREFIX.get(service_name, service_name)}:{operation}"


def _record(client: BaseClient, operation: str, params: Any = None) -> None:
    running_as = _function.get()
    if running_as is None:
        return
    function, account = running_as
    action = iam_action(client.meta.service_model.service_name, operation)
    with _lock:
        if account != _account:  # a handler of an earlier twin, still running
            return
        _calls.setdefault(function, set()).update(_authorized_as(action, params))
        if len(_log) >= LOG_LIMIT:
            del _log[: LOG_LIMIT // 10]
        _log.append({"function": function, "action": action, "params": _scalars(params)})


# A DynamoDB transaction is no IAM action: IAM authorizes each of its items as the single-item action.
TRANSACTION_ITEMS = {
    "ConditionCheck": "ConditionCheckItem",
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
}


def _authorized_as(action: str, params: Any) -> set[str]:
    """The IAM actions a call is authorized as: its own, or for TransactWriteItems, those of its items."""
    if action != "dynamodb:TransactWriteItems" or not isinstance(params, dict):
        return {action}
    return {f"dynamodb:{TRANSACTION_ITEMS[verb]}" for item in params.get("TransactItems", []) for verb in item}


def _scalars(params: Any) -> dict[str, Any]:
    """The call's top-level parameters that are scalars or lists of scalars (ids, names, flags): what tells calls apart."""
    if not isinstance(params, dict):
        return {}
    kept: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, str | int | float | bool):
            kept[key] = value
        elif isinstance(value, list) and all(isinstance(v, str | int | float | bool) for v in value):
            kept[key] = list(value)
    return kept


def calls() -> dict[str, list[str]]:
    """Function name -> the sorted IAM actions it has called since the last `clear()`."""
    with _lock:
        return {function: sorted(actions) for function, actions in sorted(_calls.items())}


def call_log(function: str | None = None) -> list[dict[str, Any]]:
    """Every recorded call in order (of one function when given): {"function", "action", "params"}."""
    with _lock:
        return [dict(c) for c in _log if function is None or function in c["function"]]


def clear() -> None:
    with _lock:
        _calls.clear()
        _log.clear()


def new_account() -> None:
    """Forget every call, and never record calls of handlers that started before this."""
    global _account
    with _lock:
        _account += 1
        _calls.clear()
        _log.clear()


def account() -> int:
    """Which twin this process runs now: each `new_account()` starts the next."""
    return _account


def running_function() -> str | None:
    """The Lambda function whose handler runs in this context (None outside a handler, or in an earlier twin's)."""
    running_as = _function.get()
    if running_as is None or running_as[1] != _account:
        return None
    return running_as[0]


def _make_api_call(self: BaseClient, operation_name: str, api_params: Any) -> Any:
    _record(self, operation_name, api_params)
    for check in list(CHECKS.values()):
        check(self, operation_name, api_params, running_function())
    return _original_make_api_call(self, operation_name, api_params)


_original_make_api_call = BaseClient._make_api_call
# Every botocore client call goes through this one method, whatever session built the client.
patches = Patches(__name__, (BaseClient, "_make_api_call", _make_api_call))
install, uninstall = patches.install, patches.uninstall
