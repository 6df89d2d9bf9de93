"""Fixtures of the twin's tests: a twin per test module, on a free port, with a tiny stack deployed; and the fidelity
machinery.

Module scope, so the twin (and the endpoint variables it sets) is gone before other tests run here.

Fidelity tests: a scenario marked `@pytest.mark.behaviour(module)` says what AWS does, and runs twice: with the twin's
behaviour in, where it must pass, and with only that behaviour taken out (plain moto), where it must fail. The second
run proves the twin module is needed; if moto ever learns the behaviour, it fails and says so.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from bluegreen.twin import behaviours, ec2_image_states, elbv2_target_health, server
from bluegreen.twin.api_faults import api_faults
from bluegreen.twin.deploy import deploy_stack
from bluegreen.twin.faults import faults

STACK_DIR = Path(__file__).parent / "stack"
# One of the stock Amazon images moto knows (x86_64), by id: listing them all to pick one costs a second per test.
STOCK_AMI = "ami-12c6146b"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "behaviour(module): a fidelity scenario of one twin behaviour module")


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
    faults.clear()
    api_faults.clear()
    elbv2_target_health.clear_target_health()
    ec2_image_states.reset()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker("behaviour"):
        metafunc.parametrize("flavour", ["twin", "plain-moto"], indirect=True)


@pytest.fixture
def flavour(request: pytest.FixtureRequest) -> Iterator[str]:
    """The twin as it is, or the twin with the test's behaviour taken out (plain moto for that behaviour)."""
    module = request.node.get_closest_marker("behaviour").args[0]
    behaviours.install()
    if request.param == "twin":
        yield "twin"
    else:
        with module.patches.removed():
            yield "plain-moto"


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Any:
    if pyfuncitem.funcargs.get("flavour") != "plain-moto":
        return (yield)
    try:
        yield
    # The scenario's assertion failed (pytest.raises that saw no error fails with pytest.fail.Exception, which is no
    # Exception), or moto refused a call it does not model.
    except (Exception, pytest.fail.Exception):
        return True
    module = pyfuncitem.get_closest_marker("behaviour").args[0]
    pytest.fail(f"the scenario passes on plain moto: {module.__name__} claims a behaviour moto already has")


@pytest.fixture
def aws(flavour: str) -> Iterator[Callable[[str], Any]]:
    """boto3 clients of an in-process moto (fresh per test), with the twin's behaviours as `flavour` says."""
    with mock_aws():
        yield _clients()


@pytest.fixture
def twin_moto() -> Iterator[Callable[[str], Any]]:
    """boto3 clients of an in-process moto (fresh per test) with every twin behaviour in, for unmarked scenarios."""
    behaviours.install()
    with mock_aws():
        yield _clients()


@functools.cache
def _session() -> boto3.Session:
    """One session for every test, so its loader keeps the service models it has parsed. `mock_aws()` sets boto3's
    default session aside, and a new session parses each model again (EC2's takes a quarter of a second): that was
    half of these tests' time. moto intercepts the requests of every session made after it is imported."""
    return boto3.Session(region_name="us-east-1")


def _clients() -> Callable[[str], Any]:
    """One boto3 client per service for the test (making a client costs tens of milliseconds)."""
    made: dict[str, Any] = {}
    return lambda service: made.get(service) or made.setdefault(service, _session().client(service))


def behind_a_load_balancer(ec2: Any, elbv2: Any, vpc_id: str, group_arn: str, cidr: str) -> None:
    """A load balancer whose listener forwards to the group: only then are its targets health-checked (else `unused`)."""
    subnets = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr.replace("X", str(n)), AvailabilityZone=f"us-east-1{zone}")[
            "Subnet"
        ]["SubnetId"]
        for n, zone in enumerate("ab")
    ]
    balancer = elbv2.create_load_balancer(Name=f"lb-{time.time_ns() % 10**12}", Subnets=subnets)["LoadBalancers"][0]
    elbv2.create_listener(
        LoadBalancerArn=balancer["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group_arn}],
    )
