"""moto's interpreter names an unnamed execution "None", so a second unnamed execution clashes with the first.

Real AWS (StartExecution, "name"): "If you don't provide a name for the execution, Step Functions automatically
generates a universally unique identifier (UUID) as the execution name."
"""

from __future__ import annotations

import uuid
from typing import Any

from moto.stepfunctions.parser.models import StepFunctionsParserBackend

from bluegreen.twin.patching import Patches

_original_start_execution = StepFunctionsParserBackend.start_execution


def _start_execution(self: Any, arn: str, name: str | None = None, *args: Any, **kwargs: Any) -> Any:
    return _original_start_execution(self, arn, name or str(uuid.uuid4()), *args, **kwargs)


patches = Patches(__name__, (StepFunctionsParserBackend, "start_execution", _start_execution))
install, uninstall = patches.install, patches.uninstall
