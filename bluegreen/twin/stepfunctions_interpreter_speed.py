"""Speed only, no AWS behaviour: moto's Step Functions interpreter parses the ASL and builds a Lambda client per use.

- Every execution parsed its state machine's definition again, as did every CreateStateMachine to validate it
  (ANTLR, about half a second for the deploy machine: a tenth of a release's CPU in the twin). The parse is kept per
  definition text. The program is safe to share between executions: its components are built once from the
  definition, and an execution's state lives in its own `Environment` (per-run data such as Retry attempts sits in
  the environment's heap, keyed by the component), which moto itself relies on when the branches of a Parallel run
  one program concurrently. A definition that does not parse is parsed (and refused) every time.
- Every Lambda Task built a new boto3 client (and copied its service model); one client per region and endpoint is
  kept. boto3 clients are thread-safe, and moto builds them all alike (fixed keys, no retries; it ignores a Task's
  Credentials), so nothing tells them apart but the region and the twin's port.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from antlr4 import ParserRuleContext
from botocore.client import BaseClient
from moto.settings import moto_server_port
from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for

from bluegreen.twin.patching import Patches

# Two state machines per stack, and a few more in the twin's own tests: a small bound keeps memory flat.
PROGRAMS = 16


_original_parse = AmazonStateLanguageParser.parse


@functools.lru_cache(maxsize=PROGRAMS)
def _parse(definition: str) -> tuple[EvalComponent, ParserRuleContext]:
    return _original_parse(definition)


@functools.lru_cache(maxsize=64)
def _client(region: str, service: str, port: str) -> BaseClient:
    return boto_client_for(region=region, service=service)


# lru_cache does not hold other threads back while it builds: executions started together would each build one.
_building = threading.Lock()


def _boto_client_for(region: str, service: str, state_credentials: Any = None) -> BaseClient:
    # The port is part of the key: each twin (a test module's) listens on its own.
    with _building:
        return _client(region, service, str(moto_server_port()))


patches = Patches(
    __name__,
    (AmazonStateLanguageParser, "parse", staticmethod(_parse)),
    (lambda_eval_utils, "boto_client_for", _boto_client_for),
)
install, uninstall = patches.install, patches.uninstall
