"""Issue 16, item 8: with BuildOrganizationId, the build bus takes events only from principals of that organization
(aws:PrincipalOrgID in its policy, evaluated by the twin): a build account named in BuildAccountIds but outside the
organization releases nothing, and its event never reaches the trigger screen."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from bluegreen.twin import local, server
from tests.e2e.conftest import RETRY_SCALE, WAIT_SCALE
from tests.e2e.test_trigger_screen import forward, share
from tests.e2e.test_triggers import BUILD_ACCOUNT, bake_in, build_account, set_source

ORGANIZATION = "o-exampleorg1"


@pytest.fixture(scope="module")
def stack() -> Iterator[local.LocalStack]:
    parameters = {"BuildAccountIds": BUILD_ACCOUNT, "BuildOrganizationId": ORGANIZATION}
    running = local.start(port=0, wait_scale=WAIT_SCALE, retry_scale=RETRY_SCALE, parameters=parameters)
    yield running
    running.stop()


def test_a_build_account_outside_the_organization_releases_nothing(app) -> None:
    # Given an app whose AMIs come from the build account, which is in no organization (so not in ORGANIZATION)
    set_source(app, {"owners": [BUILD_ACCOUNT], "name_pattern": f"{app.name}-*"})
    image = bake_in(build_account(app)("ec2"), f"{app.name}-outside-the-org")
    share(app, image)
    server.clear_api_calls(app.endpoint)
    # When it forwards the AMI's event to the build bus
    forward(app, image)
    time.sleep(2.0)
    # Then the bus refuses it: the trigger screen never sees it, no execution starts, nothing changes
    assert server.api_call_log(app.endpoint, "TriggerFilterFunction") == []
    assert app.executions_for(image, events=True) == []
    assert app.groups() == [app.seeded.blue_asg] and app.lock() is None
