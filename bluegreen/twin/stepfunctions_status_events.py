"""moto 5.2 sends no event when an execution starts or ends; the twin sends Step Functions' status-change events.

Real AWS (EventBridge events reference, "AWS Step Functions events"): "Step Functions sends the following events
directly to EventBridge: Step Functions Execution Status Change. Delivery type: Best effort." Each event (Step Functions
Developer Guide, "Automating Step Functions event delivery with EventBridge") has source `aws.states`, resources
`[<execution ARN>]` and a detail with `executionArn`, `stateMachineArn`, `name`, `status` (RUNNING, SUCCEEDED, FAILED,
TIMED_OUT, ABORTED), `startDate` and `stopDate` (epoch milliseconds), `input`, `inputDetails`, `output` (on success),
`outputDetails`, `error` and `cause`. StopExecution ends an execution ABORTED; passing its TimeoutSeconds ends it
TIMED_OUT.

Because AWS only promises best effort, the twin can also lose them: `set_delivery(False)` drops every status event
until it is turned on again (what a reconciler's periodic sweep is for). And because nobody waits days for an
execution's TimeoutSeconds, `time_out(execution_arn)` ends a running execution as that timeout would.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from moto.events.models import events_backends
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication, Execution
from moto.stepfunctions.parser.models import stepfunctions_parser_backends

from bluegreen.twin import api_calls, change_signals
from bluegreen.twin.patching import Patches

log = logging.getLogger(__name__)
_lock = threading.Lock()
_delivering = True


def set_delivery(enabled: bool) -> None:
    """Send status-change events (True, the default) or lose them all (False), as a best-effort delivery may."""
    global _delivering
    with _lock:
        _delivering = bool(enabled)


def delivering() -> bool:
    with _lock:
        return _delivering


def _millis(when: Any) -> int | None:
    return int(when.timestamp() * 1000) if when is not None else None


def _publish(execution: Execution, status: str | None = None) -> None:
    if not delivering():
        return
    if getattr(execution, "_twin_account", None) not in (None, api_calls.account()):
        return  # an earlier twin's execution, ending after its twin: its events went with its account
    status = status or (execution.exec_status.value if execution.exec_status else "RUNNING")
    output = execution.output if status == "SUCCEEDED" else None
    detail = {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine_arn,
        "name": execution.name,
        "status": status,
        "startDate": _millis(execution.start_date),
        "stopDate": _millis(execution.stop_date) if status != "RUNNING" else None,
        "input": json.dumps(execution.input_data)
        if not isinstance(execution.input_data, str)
        else execution.input_data,
        "inputDetails": {"included": True},
        "output": output if output is None or isinstance(output, str) else json.dumps(output),
        "outputDetails": {"included": True} if output is not None else None,
        "error": getattr(execution, "error", None),
        "cause": getattr(execution, "cause", None),
    }
    try:
        events_backends[execution.account_id][execution.region_name].put_events(
            [
                {
                    "Source": "aws.states",
                    "DetailType": "Step Functions Execution Status Change",
                    "Resources": [execution.exec_arn],
                    "Detail": json.dumps(detail),
                }
            ]
        )
    except Exception:  # the execution's status stands either way; a lost event is EventBridge's problem
        log.exception("could not publish the status change of %s", execution.exec_arn)


_original_terminated = BaseExecutionWorkerCommunication.terminated
_original_start = Execution.start


def _terminated(self: BaseExecutionWorkerCommunication) -> None:
    _original_terminated(self)
    try:
        _publish(self.execution)
    finally:
        change_signals.executions.fire()  # after the event: a waiter that sees the end finds its event sent


def _start(self: Execution) -> None:
    # Announced as it starts: a short execution may end before its worker thread is even scheduled, and its RUNNING
    # event must neither follow its end nor read the end's status.
    self._twin_account = api_calls.account()
    _publish(self, "RUNNING")
    _original_start(self)
    change_signals.executions.fire()  # the execution is listed by now (moto lists it before starting it)


def stop_running(error: str = "TwinStopped", cause: str = "the twin that ran this execution was replaced") -> int:
    """Stop every execution still running in this process (a twin is being replaced): how many were stopped.

    moto keeps running an execution's thread after its backends are reset, and such an execution would go on calling
    Lambda on whatever twin answers the port next, failing there, and each failure would start a reconciliation.
    """
    from datetime import UTC, datetime

    stopped = 0
    for account in stepfunctions_parser_backends.values():
        for backend in account.values():
            for execution in backend._get_executions():
                if execution.exec_worker is not None and execution.exec_status.value == "RUNNING":
                    _await_environment(execution.exec_worker)
                    try:
                        execution.stop(datetime.now(UTC), error, cause)
                        stopped += 1
                    except Exception:  # already ending on its own
                        log.debug("could not stop %s", execution.exec_arn, exc_info=True)
    return stopped


def _await_environment(worker: Any, seconds: float = 10.0) -> None:
    """moto's worker builds its program environment on its own thread, after parsing the ASL: a stop that comes first
    has nothing to stop (it raised, and the execution then ran to its end on whatever twin answered next). Wait for it,
    boundedly: on a busy machine the thread may not have been scheduled yet."""
    deadline = time.monotonic() + seconds
    while worker.env is None and time.monotonic() < deadline:
        time.sleep(0.01)


def time_out(execution_arn: str) -> None:
    """End a running execution as its state machine's TimeoutSeconds would: TIMED_OUT, with the status event."""
    running = find(execution_arn)
    if running is None or running.exec_worker is None or running.exec_status.value != "RUNNING":
        raise ValueError(f"{execution_arn} is not a running execution")
    # The interpreter reads the program state between states, and the change wakes a Wait that is sleeping.
    running.exec_worker.env.set_timed_out()


def find(execution_arn: str) -> Execution | None:
    """The interpreter's execution of that ARN, in any account and region of this process."""
    return next(
        (
            e
            for account in stepfunctions_parser_backends.values()
            for backend in account.values()
            for e in backend._get_executions()
            if e.exec_arn == execution_arn
        ),
        None,
    )


patches = Patches(
    __name__,
    (BaseExecutionWorkerCommunication, "terminated", _terminated),
    (Execution, "start", _start),
)
install, uninstall = patches.install, patches.uninstall
