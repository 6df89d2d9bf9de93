"""moto 5.2's interpreter cannot run the `states:startExecution` integration; this maps its request and response.

Real AWS: a Task with Resource `arn:aws:states:::states:startExecution` (or `.sync`, `.sync:2`) takes PascalCase
Parameters (StateMachineArn, Input, Name), calls StartExecution with them, and hands back PascalCase results
(ExecutionArn, StartDate; with `.sync:2` the child's DescribeExecution with Output as JSON). moto's interpreter
leaves the request and response normalisation of optimized integrations empty, so the call fails with a KeyError on
'StateMachineArn'. Here the Step Functions integration maps both through botocore's service model, as AWS does.
"""

from __future__ import annotations

import functools
from typing import Any

import botocore.session
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
    StateTaskServiceSfn,
)
from moto.stepfunctions.parser.utils import camel_to_snake_case

from bluegreen.twin.patching import Patches

_original_normalise_parameters = StateTaskServiceSfn._normalise_parameters


@functools.cache
def _operation(snake_name: str) -> Any:
    model = botocore.session.get_session().get_service_model("stepfunctions")
    name = next(n for n in model.operation_names if camel_to_snake_case(n) == snake_name)
    return model.operation_model(name)


def _normalise_parameters(
    self: StateTaskServiceSfn,
    parameters: dict,
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    _original_normalise_parameters(self, parameters, boto_service_name, service_action_name)  # Input as JSON text
    action = service_action_name or self._get_boto_service_action()
    self._to_boto_request(parameters, _operation(action).input_shape)


def _normalise_response(
    self: StateTaskServiceSfn,
    response: Any,
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    action = service_action_name or self._get_boto_service_action()
    self._from_boto_response(response, _operation(action).output_shape)


patches = Patches(
    __name__,
    (StateTaskServiceSfn, "_normalise_parameters", _normalise_parameters),
    (StateTaskServiceSfn, "_normalise_response", _normalise_response),
)
install, uninstall = patches.install, patches.uninstall
