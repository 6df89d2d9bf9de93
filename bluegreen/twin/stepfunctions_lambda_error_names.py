"""moto reports a failed Invoke of a Task whose Resource is a function ARN as "Exception"; AWS names the Lambda error.

Real AWS (Step Functions Developer Guide, "Handling errors"): when the Invoke call itself fails, the Task fails with
`Lambda.<ErrorCode>`, e.g. `Lambda.TooManyRequestsException` or `Lambda.ServiceException`, which Retry policies
match; the `lambda:invoke` integration and a plain function ARN Resource report the same names.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from moto.stepfunctions.parser.api import HistoryEventType, LambdaFunctionFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_lambda as lambda_integration,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

from bluegreen.twin.patching import Patches

_original_from_error = StateTaskLambda._from_error


def _from_error(self: Any, env: Any, ex: Exception) -> Any:
    if not isinstance(ex, ClientError):
        return _original_from_error(self, env, ex)
    error, cause = lambda_integration.StateTaskServiceLambda._error_cause_from_client_error(ex)
    return FailureEvent(
        env=env,
        error_name=CustomErrorName(error),
        event_type=HistoryEventType.LambdaFunctionFailed,
        event_details=EventDetails(
            lambdaFunctionFailedEventDetails=LambdaFunctionFailedEventDetails(error=error, cause=cause)
        ),
    )


patches = Patches(__name__, (StateTaskLambda, "_from_error", _from_error))
install, uninstall = patches.install, patches.uninstall
