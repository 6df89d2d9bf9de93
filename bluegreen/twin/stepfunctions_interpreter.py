"""moto only records Step Functions executions unless told to interpret them; the twin runs the real ASL.

Real AWS: StartExecution runs the state machine's definition: its Task, Choice, Wait, Retry and Catch semantics. moto
returns canned results unless its `execute_state_machine` setting is on; with it, moto's interpreter (a port of
LocalStack's) executes the definition. Its log of every failed state (a caught error too) is silenced: the twin's
users read executions instead.
"""

from __future__ import annotations

import logging

from moto.core.config import default_user_config

from bluegreen.twin.patching import Patches

patches = Patches(__name__, (default_user_config["stepfunctions"], "execute_state_machine", True))


def install() -> None:
    patches.install()
    logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)


uninstall = patches.uninstall
