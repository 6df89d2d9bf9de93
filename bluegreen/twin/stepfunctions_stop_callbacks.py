"""moto 5.2 keeps a stopped execution RUNNING while a task waits for its task token; AWS ends it at once.

Real AWS (Step Functions API Reference, "StopExecution"): "Stops an execution." The execution is ABORTED at once, in
whatever state it is: a task waiting for a callback (`.waitForTaskToken`) is abandoned, and a later SendTaskSuccess
or SendTaskFailure for its token fails with TaskTimedOut. The same holds when an execution passes its TimeoutSeconds.
moto marks the program stopped but leaves the task waiting on its token (up to its own timeout, a day for an
approval), so the execution never ends.
"""

from __future__ import annotations

from typing import Any

from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped, ProgramTimedOut

from bluegreen.twin.patching import Patches

_original_set_stop = Environment.set_stop
_original_set_timed_out = Environment.set_timed_out
_original_set_error = Environment.set_error


def _interrupt_callbacks(env: Environment) -> None:
    for endpoint in list(env.callback_pool_manager._pool.values()):
        endpoint.interrupt_all()


def _set_stop(self: Environment, *args: Any, **kwargs: Any) -> None:
    _original_set_stop(self, *args, **kwargs)
    _interrupt_callbacks(self)


def _set_timed_out(self: Environment) -> None:
    _original_set_timed_out(self)
    _interrupt_callbacks(self)


def _set_error(self: Environment, *args: Any, **kwargs: Any) -> None:
    # The abandoned task fails as it unwinds; the execution has already ended ABORTED (or TIMED_OUT) and stays so.
    if isinstance(self._program_state, ProgramStopped | ProgramTimedOut):
        return
    _original_set_error(self, *args, **kwargs)


patches = Patches(
    __name__,
    (Environment, "set_stop", _set_stop),
    (Environment, "set_timed_out", _set_timed_out),
    (Environment, "set_error", _set_error),
)
install, uninstall = patches.install, patches.uninstall
