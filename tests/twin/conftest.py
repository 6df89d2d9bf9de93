"""Fixtures of the twin's tests: a twin per test module, on a free port, with a tiny stack deployed.

Module scope, so the twin (and the endpoint variables it sets) is gone before other tests run here.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from bluegreen.twin import patches, server
from bluegreen.twin.deploy import deploy_stack

STACK_DIR = Path(__file__).parent / "stack"


@pytest.fixture(scope="module")
def twin() -> Iterator[server.TwinServer]:
    handle = server.start(port=0, functions_dir=STACK_DIR / "functions", retry_scale=0.05)
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def outputs(twin: server.TwinServer) -> dict[str, str]:
    return deploy_stack(twin.endpoint_url, STACK_DIR / "template.yaml", stack_name="twin-test")


@pytest.fixture(autouse=True)
def _clean_knobs() -> Iterator[None]:
    yield
    patches.faults.clear()
    patches.clear_target_health()
