"""moto 5.2 starts an execution with any input; Step Functions refuses an input over 262,144 bytes.

Real AWS (Step Functions API, "StartExecution", input): "Length constraints apply to the payload size, and are
expressed as bytes in UTF-8 encoding. [...] Maximum length of 262144." ("Step Functions service quotas": "Maximum
input or output size for a task, state, or execution: 256 KiB of data as a UTF-8 encoded string.") The call fails
before the state machine is even looked up, with `ValidationException` "1 validation error detected: Value at 'input'
failed to satisfy constraint: Member must have size less than or equal to 262144 bytes in UTF-8 encoding" (the input
is sensitive, so the message does not repeat it). moto starts the execution. An execution whose state output grows
over the limit fails with `States.DataLimitExceeded`: moto's interpreter already does that (docs/twin-fidelity.md).
"""

from __future__ import annotations

from typing import Any

from moto.stepfunctions.exceptions import ValidationException
from moto.stepfunctions.responses import StepFunctionResponse

from bluegreen.twin.patching import Patches

MAX_INPUT_BYTES = 262_144
_original_start_execution = StepFunctionResponse.start_execution


def _start_execution(self: StepFunctionResponse) -> Any:
    execution_input = self._get_param("input")
    if execution_input is not None and len(execution_input.encode("utf-8")) > MAX_INPUT_BYTES:
        raise ValidationException(
            "1 validation error detected: Value at 'input' failed to satisfy constraint: "
            f"Member must have size less than or equal to {MAX_INPUT_BYTES} bytes in UTF-8 encoding"
        )
    return _original_start_execution(self)


patches = Patches(__name__, (StepFunctionResponse, "start_execution", _start_execution))
install, uninstall = patches.install, patches.uninstall
