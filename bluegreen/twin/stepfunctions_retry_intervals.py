"""Step Functions waits each Retry's IntervalSeconds (times BackoffRate, with jitter); the twin can scale that wait.

Real AWS (Amazon States Language, "Retrying after an error"): the interpreter sleeps IntervalSeconds before the first
retry and multiplies it by BackoffRate for each later one. moto's retrier does the same with time.sleep; the twin
multiplies every such sleep by `set_retry_scale` (1 = as in AWS), so a fault test that exhausts a Retry does not sleep
for minutes. Wait states are scaled by the stack's own `WaitScale` parameter instead, as the product sees it.
"""

from __future__ import annotations

import time

from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

from bluegreen.twin.patching import Patches

_retry_scale = 1.0


def set_retry_scale(scale: float) -> None:
    """Multiply every ASL Retry interval by `scale`."""
    global _retry_scale
    if scale < 0:
        raise ValueError("the retry scale cannot be negative")
    _retry_scale = scale


class _ScaledSleep:
    """Stands in for the `time` module inside moto's retrier, whose only use of it is sleep()."""

    @staticmethod
    def sleep(seconds: float) -> None:
        time.sleep(seconds * _retry_scale)


patches = Patches(__name__, (retrier_decl, "time", _ScaledSleep))
install, uninstall = patches.install, patches.uninstall
