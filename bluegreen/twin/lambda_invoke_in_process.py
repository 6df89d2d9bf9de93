"""moto runs Lambda functions in Docker, which these machines lack; the twin runs the real handler in its own process.

Real AWS (Lambda Developer Guide, "Lambda function errors in Python" and "Invoke"): the Python runtime calls the
handler with the event and a context object; an uncaught exception becomes a payload {"errorMessage", "errorType",
"stackTrace"} with the `X-Amz-Function-Error: Unhandled` header; a function that runs past its Timeout is stopped and
reported as "Task timed out after N seconds" (`Sandbox.Timedout`); a throttled Invoke is refused with HTTP 429
`TooManyRequestsException` before the function runs; a result that is not JSON serialisable fails with
`Runtime.MarshalError`. Faults from `bluegreen.twin.faults` are injected here.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from moto.awslambda import models
from moto.awslambda.exceptions import LambdaClientError

from bluegreen.twin import api_calls
from bluegreen.twin.faults import SLOW_SECONDS, InjectedFaultError, faults
from bluegreen.twin.patching import Patches

_functions_dir = Path(__file__).resolve().parents[2] / "functions"


def set_functions_dir(directory: Path | str) -> None:
    """Where handlers are imported from (default: the repo's functions/)."""
    global _functions_dir
    _functions_dir = Path(directory).resolve()


class _LambdaContext:
    """The attributes and method of the real Lambda context object that handlers and Powertools use."""

    def __init__(self, fn: Any, request_id: str) -> None:
        self.function_name: str = fn.function_name
        self.function_version: str = fn.version
        self.invoked_function_arn: str = fn.function_arn
        self.memory_limit_in_mb = int(fn.memory_size)
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{fn.function_name}"
        self.log_stream_name = f"{datetime.now(UTC):%Y/%m/%d}/[{fn.version}]{request_id.replace('-', '')}"
        self._deadline = time.monotonic() + int(fn.timeout)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class _RuntimeFailure(Exception):
    """A failure the Lambda runtime itself reports, under an errorType that names no Python class."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


class TooManyRequestsException(LambdaClientError):
    # Real Lambda rejects a throttled Invoke with HTTP 429 before the function runs.
    code = 429

    def __init__(self) -> None:
        super().__init__("TooManyRequestsException", "Rate Exceeded.")
        self.description = json.dumps(
            {"Type": "User", "message": self.message, "Reason": "ConcurrentInvocationLimitExceeded"}
        )


def _load_handler(handler: str) -> Callable[[Any, Any], Any]:
    if str(_functions_dir) not in sys.path:
        sys.path.insert(0, str(_functions_dir))
    module_name, _, attr = handler.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        message = f"Unable to import module '{module_name}': {exc}"
        raise _RuntimeFailure("Runtime.ImportModuleError", message) from None
    if not hasattr(module, attr):
        message = f"Handler '{attr}' missing on module '{module_name}'"
        raise _RuntimeFailure("Runtime.HandlerNotFound", message)
    return getattr(module, attr)


def _error_payload(exc: BaseException) -> str:
    # What the Python runtime returns for an uncaught exception; its stack starts in the function's code,
    # so the twin's own frame (the first) is left out.
    error_type = exc.error_type if isinstance(exc, _RuntimeFailure) else type(exc).__name__
    stack = traceback.format_list(traceback.extract_tb(exc.__traceback__)[1:])
    return json.dumps({"errorMessage": str(exc), "errorType": error_type, "stackTrace": stack})


def _timed_out(fn: Any, request_id: str) -> str:
    message = f"RequestId: {request_id} Error: Task timed out after {float(fn.timeout):.2f} seconds"
    return json.dumps({"errorType": "Sandbox.Timedout", "errorMessage": message})


def _invoke_in_process(self: Any, event: Any = None) -> tuple[str, bool, str]:
    request_id = str(uuid.uuid4())
    kind = faults.take(self.function_name, event if isinstance(event, str) else json.dumps(event))
    if kind == "throttle":
        raise TooManyRequestsException()
    if kind == "timeout":
        # Real Lambda stops the function at its Timeout and reports this; nobody waits for it here.
        return _timed_out(self, request_id), True, ""
    if kind == "slow":
        time.sleep(SLOW_SECONDS)
    if isinstance(event, str):  # moto passes "{}" when the Invoke had no payload
        event = json.loads(event)
    try:
        if kind == "error":
            raise InjectedFaultError(f"fault injected into {self.function_name}")
        handler = _load_handler(self.handler)
        # Every bluegreen function gets the same variables from SAM Globals, and Lambda adds the
        # region, so concurrent invocations writing them into the shared os.environ cannot disagree.
        # Per-function ones (AWS_LAMBDA_FUNCTION_NAME...) would, so they are left out.
        # Only what differs is written: setenv is not thread-safe in C, and another thread may be in getenv.
        wanted = {**self.environment_vars, "AWS_REGION": self.region}
        os.environ.update({k: v for k, v in wanted.items() if os.environ.get(k) != v})
        with api_calls.running(self.function_name):
            result = handler(event, _LambdaContext(self, request_id))
        if kind == "late_timeout":
            return _timed_out(self, request_id), True, ""
        try:
            return json.dumps(result), False, ""
        except TypeError as exc:
            raise _RuntimeFailure("Runtime.MarshalError", f"Unable to marshal response: {exc}") from None
    except Exception as exc:
        return _error_payload(exc), True, ""


_original_invoke = models.LambdaFunction.invoke


def _invoke(self: Any, body: str, request_headers: Any, response_headers: Any) -> str | bytes:
    # Real Lambda flags an uncaught exception or a timeout as "Unhandled"; moto says "Handled".
    payload = _original_invoke(self, body, request_headers, response_headers)
    if "x-amz-function-error" in response_headers:
        response_headers["x-amz-function-error"] = "Unhandled"
    return payload


patches = Patches(
    __name__,
    (models.LambdaFunction, "_invoke_lambda", _invoke_in_process),
    (models.LambdaFunction, "invoke", _invoke),
)
install, uninstall = patches.install, patches.uninstall
