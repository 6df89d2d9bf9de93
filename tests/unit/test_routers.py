"""The ALB router's pure parts: weights read as percent, forward actions built to send back, smoke-test targets."""

from __future__ import annotations

import json

import pytest
from orchestrator.adapters import elbv2
from orchestrator.config import parse_config
from orchestrator.domain import routers, smoke
from orchestrator.domain.smoke import Response

from tests.unit.test_config import VALID
from tests.unit.test_config_alb import ALB, TEST_LISTENER

TG_BLUE = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/shop-blue/1"
TG_GREEN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/shop-green/1"


@pytest.mark.parametrize(
    ("by_slot", "expected"),
    [
        ({"blue": 1}, {"blue": 100, "green": 0}),
        ({"blue": 90, "green": 10}, {"blue": 90, "green": 10}),
        ({"blue": 1, "green": 1}, {"blue": 50, "green": 50}),
        # A slot with any weight is never read as 0 (I1 and the live slot depend on it), nor the other as 100
        ({"blue": 1, "green": 999}, {"blue": 1, "green": 99}),
        ({"blue": 999, "green": 1}, {"blue": 99, "green": 1}),
        ({"blue": 0, "green": 0}, {"blue": 0, "green": 0}),
    ],
)
def test_relative_weights_read_as_percent(by_slot: dict, expected: dict) -> None:
    assert routers.percent(by_slot) == expected


def test_a_forward_action_reads_the_same_in_either_shape() -> None:
    # Given a forward by TargetGroupArn (weight 1, as AWS says) and one by ForwardConfig
    single = {"Type": "forward", "TargetGroupArn": TG_BLUE}
    weighted = {"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": TG_BLUE, "Weight": 3}]}}
    # Then each reads as weights per target group
    assert elbv2.forward_split(single) == {TG_BLUE: 1}
    assert elbv2.forward_split(weighted) == {TG_BLUE: 3}


def test_weighted_actions_keep_every_other_action_and_the_stickiness() -> None:
    # Given an authenticate action (its secret is never described back) before a sticky forward
    oidc = {
        "Type": "authenticate-oidc",
        "Order": 1,
        "AuthenticateOidcConfig": {"Issuer": "https://id", "ClientSecret": "x"},
    }
    stickiness = {"Enabled": True, "DurationSeconds": 60}
    forward = {
        "Type": "forward",
        "Order": 2,
        "TargetGroupArn": TG_BLUE,
        "ForwardConfig": {
            "TargetGroups": [{"TargetGroupArn": TG_BLUE, "Weight": 1}],
            "TargetGroupStickinessConfig": stickiness,
        },
    }
    # When the forward gets new weights
    actions = elbv2.weighted_actions([oidc, forward], {TG_BLUE: 90, TG_GREEN: 10})
    # Then the authenticate action keeps its existing secret, and the forward weights both groups, sticky as before
    assert actions[0]["AuthenticateOidcConfig"] == {"Issuer": "https://id", "UseExistingClientSecret": True}
    assert actions[1] == {
        "Type": "forward",
        "Order": 2,
        "ForwardConfig": {
            "TargetGroups": [{"TargetGroupArn": TG_BLUE, "Weight": 90}, {"TargetGroupArn": TG_GREEN, "Weight": 10}],
            "TargetGroupStickinessConfig": stickiness,
        },
    }


def test_the_smoke_tests_target_the_slot_or_the_test_route() -> None:
    # Given a Route 53 app, an ALB app with slot URLs, and one with a header rule as its test route
    route53 = routers.of(parse_config(json.dumps(VALID), "shop"))
    alb = routers.of(parse_config(json.dumps(ALB), "shop"))
    document = json.loads(json.dumps(ALB))
    document["alb"]["test_route"] = {
        "listener_arn": TEST_LISTENER,
        "url": "http://shop.example.com:8080",
        "header": {"name": "X-Bluegreen-Test", "value": "idle"},
    }
    routed = routers.of(parse_config(json.dumps(document), "shop"))
    # Then the first two call the idle slot's own URL, the third the test route with its header
    assert route53.smoke_target("green") == ("https://shop-green.internal.example.com", {})
    assert alb.smoke_target("green") == ("https://shop-green.internal.example.com", {})
    assert routed.smoke_target("green") == ("http://shop.example.com:8080", {"X-Bluegreen-Test": "idle"})
    # And a Route 53 change is waited for, an ALB change is in effect at once
    assert (route53.changes_span_calls, alb.changes_span_calls) == (False, True)
    assert alb.in_sync(None) is True


def test_smoke_requests_carry_the_test_route_header() -> None:
    # Given a fake HTTP client that records what it is asked
    asked = []

    def get(url: str, method: str, timeout: int, headers: dict | None = None) -> Response:
        asked.append((url, headers))
        return Response(200, "ok", 5)

    # When a suite of one test runs through a header rule
    tests = parse_config(json.dumps({**VALID, "smoke_tests": [{"path": "/health"}]}), "shop").smoke_tests
    failures = smoke.run(tests, "http://lb", retry_seconds=0, get=get, headers={"X-T": "1"})
    # Then its request sends the header
    assert failures == []
    assert asked == [("http://lb/health", {"X-T": "1"})]
