"""moto 5.2 drops the `cause` of SendTaskFailure; this passes it on to the waiting task, for the twin and the tests.

Real AWS: SendTaskFailure(taskToken, error, cause) fails the task waiting on the token (`.waitForTaskToken`) with
that error name and cause, exactly as if the task had raised them: a Catch sees {"Error": error, "Cause": cause}, and
an execution that ends on it reports both. (moto's interpreter already supports the callback itself.)
"""

from __future__ import annotations

from moto.core.responses import EmptyResult
from moto.stepfunctions import responses

from bluegreen.twin.patching import Patches


def _send_task_failure(self: responses.StepFunctionResponse) -> EmptyResult:
    self.stepfunction_backend.send_task_failure(
        self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
    )
    return EmptyResult()


patches = Patches(__name__, (responses.StepFunctionResponse, "send_task_failure", _send_task_failure))
install, uninstall = patches.install, patches.uninstall
