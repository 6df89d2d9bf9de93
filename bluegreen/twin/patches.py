"""Moto patches that make the local twin behave like AWS where bluegreen depends on it.

Each patch says what real AWS does; `install()` applies them all, once.
"""

from __future__ import annotations

import copy
import importlib
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from moto.core.config import default_user_config

from bluegreen.twin import (
    api_calls,
    autoscaling_detach_replacements,
    autoscaling_notifications,
    cloudwatch_alarm_events,
    ec2_launch_template_versions,
    ec2_network_interface_groups,
    events_rule_pattern_string,
    route53_changes,
    stepfunctions_callbacks,
    stepfunctions_nested_executions,
)

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
# `late_timeout`: the handler runs to its end, then the invocation times out, as when a function runs out of time
# after its last AWS call: the work is done but the state machine never learns it (retries must be idempotent).
FAULT_KINDS = ("error", "throttle", "timeout", "late_timeout")
TARGET_STATES = ("healthy", "unhealthy", "initial", "draining")

_install_lock = threading.Lock()
_installed = False
_functions_dir = REPO_ROOT / "functions"


class InjectedFaultError(Exception):
    """Raised inside a Lambda function by an `error` fault, as if the handler crashed."""


@dataclass
class Fault:
    function: str  # a logical id or any substring of the function name
    kind: str
    times: int  # how many more invocations it hits


class FaultRegistry:
    """Faults to inject into Lambda invocations; shared by every request thread of the twin."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, function: str, kind: str, times: int = 1) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {FAULT_KINDS}, got {kind!r}")
        if not function or times < 1:
            raise ValueError("function must be non-empty and times >= 1")
        with self._lock:
            self._faults.append(Fault(function, kind, times))

    def take(self, function_name: str) -> str | None:
        """Consume one hit of the first fault matching `function_name`; return its kind."""
        with self._lock:
            for fault in self._faults:
                if fault.function in function_name:
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

_health_lock = threading.Lock()
_target_health: dict[str, str] = {}
_group_health: dict[str, str] = {}


def set_target_health(instance_ids: list[str], state: str, target_group_arn: str | None = None) -> None:
    """Make describe_target_health report `state` for these instances in every target group, or (with
    `target_group_arn`) for every target of that group, including targets registered later."""
    if state not in TARGET_STATES:
        raise ValueError(f"state must be one of {TARGET_STATES}, got {state!r}")
    with _health_lock:
        _target_health.update(dict.fromkeys(instance_ids, state))
        if target_group_arn:
            _group_health[target_group_arn] = state


def clear_target_health() -> None:
    with _health_lock:
        _target_health.clear()
        _group_health.clear()


def target_health_overrides() -> dict[str, str]:
    """Overrides by instance id, then by target group ARN (an instance's own override wins)."""
    with _health_lock:
        return {**_group_health, **_target_health}


def _override_for(target_id: str, target_group_arn: str) -> str | None:
    with _health_lock:
        return _target_health.get(target_id) or _group_health.get(target_group_arn)


IMAGE_STATES = ("pending", "available", "invalid", "deregistered", "transient", "failed", "error", "disabled")


def set_image_state(image_id: str, state: str, region: str = "us-east-1") -> None:
    """Make EC2 report an AMI in `state`, as it does while the AMI is built (`pending`) or after a failed build.

    moto creates every image `available` at once.
    """
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ec2.models import ec2_backends

    if state not in IMAGE_STATES:
        raise ValueError(f"state must be one of {IMAGE_STATES}, got {state!r}")
    images = ec2_backends[DEFAULT_ACCOUNT_ID][region].amis
    if image_id not in images:
        raise ValueError(f"no image {image_id} in {region}")
    images[image_id].state = state


_retry_scale = 1.0


def set_retry_scale(scale: float) -> None:
    """Multiply every ASL Retry interval by `scale`: 1 waits as long as AWS, fault tests want far less."""
    global _retry_scale
    if scale < 0:
        raise ValueError("the retry scale cannot be negative")
    _retry_scale = scale


class _ScaledSleep:
    """Stands in for the `time` module inside moto's retrier, whose only use of it is sleep()."""

    @staticmethod
    def sleep(seconds: float) -> None:
        time.sleep(seconds * _retry_scale)


def install(functions_dir: Path | str | None = None) -> None:
    """Apply every patch (once per process); `functions_dir` is where Lambda handlers are imported from."""
    global _installed, _functions_dir
    if functions_dir is not None:
        _functions_dir = Path(functions_dir).resolve()
    with _install_lock:
        if _installed:
            return
        # Moto only interprets ASL (instead of returning canned results) when this is on.
        default_user_config["stepfunctions"]["execute_state_machine"] = True
        _patch_lambda()
        _patch_step_functions()
        _patch_eventbridge()
        _patch_elbv2()
        _patch_cloudformation()
        _patch_request_routing()
        autoscaling_notifications.install()
        ec2_launch_template_versions.install()
        ec2_network_interface_groups.install()
        autoscaling_detach_replacements.install()
        cloudwatch_alarm_events.install()
        events_rule_pattern_string.install()
        stepfunctions_nested_executions.install()
        route53_changes.install()
        stepfunctions_callbacks.install()
        api_calls.install()
        # The interpreter logs every failed state (a caught error too); the twin's users read executions instead.
        logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
        _installed = True


# --- Lambda ---------------------------------------------------------------------------------------


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


def _patch_lambda() -> None:
    from moto.awslambda import models
    from moto.awslambda.exceptions import LambdaClientError

    class TooManyRequestsException(LambdaClientError):
        # Real Lambda rejects a throttled Invoke with HTTP 429 before the function runs.
        code = 429

        def __init__(self) -> None:
            super().__init__("TooManyRequestsException", "Rate Exceeded.")
            self.description = json.dumps(
                {"Type": "User", "message": self.message, "Reason": "ConcurrentInvocationLimitExceeded"}
            )

    def invoke_in_process(self: Any, event: Any = None) -> tuple[str, bool, str]:
        # Moto would run the function in Docker; the twin imports the real handler and calls it here.
        request_id = str(uuid.uuid4())
        kind = faults.take(self.function_name)
        if kind == "throttle":
            raise TooManyRequestsException()
        if kind == "timeout":
            # Real Lambda stops the function at its Timeout and reports this; nobody waits for it here.
            return _timed_out(self, request_id), True, ""
        if isinstance(event, str):  # moto passes "{}" when the Invoke had no payload
            event = json.loads(event)
        try:
            if kind == "error":
                raise InjectedFaultError(f"fault injected into {self.function_name}")
            handler = _load_handler(self.handler)
            # Every bluegreen function gets the same variables from SAM Globals, and Lambda adds the
            # region, so concurrent invocations writing them into the shared os.environ cannot disagree.
            # Per-function ones (AWS_LAMBDA_FUNCTION_NAME...) would, so they are left out.
            os.environ.update({**self.environment_vars, "AWS_REGION": self.region})
            with api_calls.running(self.function_name):
                result = handler(event, _LambdaContext(self, request_id))
            if kind == "late_timeout":
                return _timed_out(self, request_id), True, ""
            try:
                return json.dumps(result), False, ""
            except TypeError as exc:
                # Real Lambda fails the invocation when the result is not JSON serialisable.
                raise _RuntimeFailure("Runtime.MarshalError", f"Unable to marshal response: {exc}") from None
        except Exception as exc:
            return _error_payload(exc), True, ""

    original_invoke = models.LambdaFunction.invoke

    def invoke(self: Any, body: str, request_headers: Any, response_headers: Any) -> str | bytes:
        # Real Lambda flags an uncaught exception or a timeout as "Unhandled"; moto says "Handled".
        payload = original_invoke(self, body, request_headers, response_headers)
        if "x-amz-function-error" in response_headers:
            response_headers["x-amz-function-error"] = "Unhandled"
        return payload

    models.LambdaFunction._invoke_lambda = invoke_in_process
    models.LambdaFunction.invoke = invoke


# --- Step Functions -------------------------------------------------------------------------------


def _patch_step_functions() -> None:
    from botocore.exceptions import ClientError
    from moto.stepfunctions import models
    from moto.stepfunctions.parser.api import HistoryEventType, LambdaFunctionFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
        CustomErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_lambda as lambda_integration,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import (
        StateTaskLambda,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    from moto.stepfunctions.responses import get_backend
    from moto.stepfunctions.utils import cfn_to_api_tags

    def create_from_cloudformation_json(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **_: Any
    ) -> Any:
        # Real CloudFormation replaces ${key} with each DefinitionSubstitutions value; moto ignores them
        # and creates into the backend that never executes, so both are done here.
        props = cloudformation_json["Properties"]
        definition = props.get("DefinitionString") or json.dumps(props.get("Definition", {}))
        for key, value in (props.get("DefinitionSubstitutions") or {}).items():
            text = json.dumps(value) if isinstance(value, bool) else str(value)
            definition = definition.replace("${" + key + "}", text)
        return get_backend(account_id, region_name).create_state_machine(
            props.get("StateMachineName", resource_name),
            definition,
            props.get("RoleArn", ""),
            tags=cfn_to_api_tags(props.get("Tags", [])),
            sm_type=props.get("StateMachineType"),
        )

    def delete_from_cloudformation_json(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        get_backend(account_id, region_name).delete_state_machine(resource_name)

    models.StateMachine.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)
    models.StateMachine.delete_from_cloudformation_json = classmethod(delete_from_cloudformation_json)

    original_start_execution = StepFunctionsParserBackend.start_execution

    def start_execution(self: Any, arn: str, name: str | None = None, *args: Any, **kwargs: Any) -> Any:
        # Real Step Functions names an unnamed execution with a UUID; moto's interpreter names it "None",
        # so a second unnamed execution would clash with the first.
        return original_start_execution(self, arn, name or str(uuid.uuid4()), *args, **kwargs)

    StepFunctionsParserBackend.start_execution = start_execution

    original_from_error = StateTaskLambda._from_error

    def from_error(self: Any, env: Any, ex: Exception) -> Any:
        # A Task whose Resource is a function ARN reports a failed Invoke call as "Lambda.<ErrorCode>"
        # (e.g. Lambda.TooManyRequestsException), like the lambda:invoke integration; moto says "Exception".
        if not isinstance(ex, ClientError):
            return original_from_error(self, env, ex)
        error, cause = lambda_integration.StateTaskServiceLambda._error_cause_from_client_error(ex)
        return FailureEvent(
            env=env,
            error_name=CustomErrorName(error),
            event_type=HistoryEventType.LambdaFunctionFailed,
            event_details=EventDetails(
                lambdaFunctionFailedEventDetails=LambdaFunctionFailedEventDetails(error=error, cause=cause)
            ),
        )

    StateTaskLambda._from_error = from_error

    # Real Step Functions waits IntervalSeconds (with backoff and jitter) between retries; the twin can
    # shrink that so a fault test that exhausts a Retry does not sleep for minutes.
    retrier_decl.time = _ScaledSleep


# --- EventBridge ----------------------------------------------------------------------------------


def _delivered_event(event: dict[str, Any]) -> dict[str, Any]:
    # Real EventBridge delivers `time` as ISO-8601 ("2026-11-22T03:52:10Z"); moto keeps an epoch float
    # and adds an "ingestion-time" key that real events do not have.
    delivered = {k: v for k, v in event.items() if k != "ingestion-time"}
    if isinstance(delivered.get("time"), int | float):
        delivered["time"] = datetime.fromtimestamp(delivered["time"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return delivered


def _target_input(target: dict[str, Any], event: dict[str, Any]) -> str:
    # Real EventBridge sends the target's constant Input, or the part of the event at InputPath,
    # or the whole event.
    if "Input" in target:
        return str(target["Input"])
    if "InputPath" in target:
        from jsonpath_ng.ext import parse

        matches = parse(target["InputPath"]).find(event)
        return json.dumps(matches[0].value if matches else None)
    return json.dumps(event)


def _patch_eventbridge() -> None:
    from moto.events import models
    from moto.stepfunctions.responses import get_backend
    from moto.utilities.arns import parse_arn

    original_send = models.Rule.send_to_targets

    def send_to_targets(self: Any, original_event: dict[str, Any], transform_input: bool = True) -> None:
        # Real EventBridge starts an execution for a Step Functions target; moto raises NotImplementedError.
        if self.state != "ENABLED" or not self.event_pattern.matches_event(original_event):
            return
        state_machines = [t for t in self.targets if parse_arn(t["Arn"]).service == "states"]
        event = _delivered_event(original_event)
        for target in state_machines:
            arn = parse_arn(target["Arn"])
            try:
                get_backend(arn.account, arn.region).start_execution(
                    target["Arn"], name=str(uuid.uuid4()), execution_input=_target_input(target, event)
                )
            except Exception:
                # Real EventBridge does not fail PutEvents when a target fails; it retries, then DLQs.
                log.exception("could not start %s for rule %s", target["Arn"], self.name)
        others = [t for t in self.targets if t not in state_machines]
        if others:
            # A shallow copy so the shared rule's targets are never mutated under other threads.
            rule = copy.copy(self)
            rule.targets = others
            original_send(rule, original_event, transform_input)

    models.Rule.send_to_targets = send_to_targets


# --- Elastic Load Balancing -----------------------------------------------------------------------

_HEALTH_REASONS = {
    "unhealthy": ("Target.FailedHealthChecks", "Health checks failed"),
    "initial": ("Elb.RegistrationInProgress", "Target registration is in progress"),
    "draining": ("Target.DeregistrationInProgress", "Target deregistration is in progress"),
    "healthy": (None, None),
}


def _patch_elbv2() -> None:
    from moto.elbv2 import models

    original_health_for = models.FakeTargetGroup.health_for

    def health_for(self: Any, target: dict[str, Any], ec2_backend: Any) -> Any:
        # Real targets start "initial" and turn "healthy" once they pass health checks; moto reports
        # every registered target healthy at once, so the twin lets tests say otherwise.
        status = original_health_for(self, target, ec2_backend)
        state = _override_for(target["Id"], self.arn)
        if state and target["Id"] in self.targets:
            status.status = state
            status.reason, status.description = _HEALTH_REASONS[state]
        return status

    models.FakeTargetGroup.health_for = health_for


# --- the server itself ----------------------------------------------------------------------------


def _patch_request_routing() -> None:
    from moto import backends

    # Speed only: moto lists its own package directory on every request to route it (a tenth of the twin's time
    # in a release); the list never changes in a running process.
    services = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: services


# --- CloudFormation -------------------------------------------------------------------------------


def _patch_cloudformation() -> None:
    from moto.cloudformation import parsing

    # Moto's CloudFormation cannot create AWS::SQS::QueuePolicy (the DLQ policy SAM adds for the
    # EventBridge rule); skipping it is harmless here because the twin enforces no resource policies.
    parsing.NULL_MODELS.append("AWS::SQS::QueuePolicy")
    warnings.filterwarnings("ignore", message="Tried to parse AWS::SQS::QueuePolicy")
