"""The router fields of the app configuration: `route53` stays the default, `alb` names its listeners and rules; every
bad document fails with one line naming the field and the fix."""

from __future__ import annotations

import copy
import json

import pytest
from orchestrator import budget
from orchestrator.config import load_balancer_of, parse_config
from orchestrator.domain.release import plan_waits
from orchestrator.errors import ConfigInvalidError

from tests.unit.test_config import VALID

ACCOUNT = "123456789012"
LB = "app/shop/50dc6c495c0c9188"
LISTENER = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:listener/{LB}/f2f7dc8efc522ab2"
TEST_LISTENER = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:listener/{LB}/0467ef3c8400ae65"
RULE = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:listener-rule/{LB}/f2f7dc8efc522ab2/9683b2d02a6cabee"
OTHER_LB_RULE = (
    f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:listener-rule/app/cart/1111111111111111/2222222222222222/3333"
)

TG_A = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:targetgroup/shop-green-a/0123456789abcdef"
TG_B = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:targetgroup/shop-green-b/0123456789abcdef"
ALB = {
    "app": "shop",
    "launch_template_id": "lt-0abc",
    "router": "alb",
    "alb": {"listener_arns": [LISTENER], "rule_arns": [RULE]},
    "slots": {
        slot: {
            "target_group_arns": [f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:targetgroup/shop-{slot}/1"],
            "test_base_url": f"https://shop-{slot}.internal.example.com",
        }
        for slot in ("blue", "green")
    },
    "traffic": {"steps": [10, 50, 100], "bake_seconds": 30, "alarm_names": ["shop-5xx"]},
}


def changed(document: dict, path: str, value: object) -> dict:
    document = copy.deepcopy(document)
    *parents, last = path.split(".")
    node = document
    for key in parents:
        node = node.setdefault(key, {})
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return document


class _Delete:
    def __repr__(self) -> str:
        return "<deleted>"


DELETE = _Delete()


def test_an_existing_config_keeps_the_route53_router() -> None:
    # Given a configuration written before the ALB router existed
    # When it is parsed, Then it is routed by Route 53, as before
    config = parse_config(json.dumps(VALID), "shop")
    assert config.router == "route53"
    assert config.alb is None


def test_an_alb_config_loads_without_dns_or_aliases() -> None:
    # Given an ALB-routed app: no record, no aliases
    config = parse_config(json.dumps(ALB), "shop")
    # Then its listeners and rules are weighted in the order named (listeners first), stickiness refused by default
    assert config.router == "alb"
    assert config.alb.routes == [LISTENER, RULE]
    assert config.alb.sticky_sessions == "refuse"
    assert load_balancer_of(RULE) == LB == load_balancer_of(LISTENER)


HEADER = {"name": "X-Bluegreen-Test", "value": "idle"}


def test_a_test_route_may_stand_in_for_the_slots_test_urls() -> None:
    # Given an ALB app whose smoke tests go through a header rule of its own load balancer
    document = changed(
        ALB, "alb.test_route", {"rule_arn": RULE.replace("9683", "aaaa"), "url": "https://shop.com", "header": HEADER}
    )
    for slot in ("blue", "green"):
        document = changed(document, f"slots.{slot}.test_base_url", DELETE)
    # When it is parsed, Then the slots need no test URL of their own
    config = parse_config(json.dumps(document), "shop")
    assert config.alb.test_route.url == "https://shop.com"


BAD = [
    # (id, path, value, base document, what the one line must say)
    ("router-unknown", "router", "nlb", VALID, "router: Input should be 'route53' or 'alb'"),
    ("route53-with-alb", "alb", {"listener_arns": [LISTENER]}, VALID, 'alb: is for the alb router only: set router to "alb"'),
    ("route53-without-alias", "slots.blue.alias", DELETE, VALID, "slots.blue.alias: is required by the route53 router"),
    ("route53-without-test-url", "slots.green.test_base_url", DELETE, VALID, "slots.green.test_base_url: is required"),
    ("alb-missing", "alb", DELETE, ALB, "alb: is required by the alb router: name the listeners or rules"),
    ("alb-with-dns", "dns", {"hosted_zone_id": "Z1", "record_name": "www.shop.com"}, ALB, "dns: the alb router weights target groups, not records: remove dns"),
    ("alb-with-alias", "slots.blue.alias", {"dns_name": "shop-blue.elb.amazonaws.com", "hosted_zone_id": "Z35SXDOTRQ7X7K"}, ALB, "slots.blue.alias: the alb router weights target groups, not records: remove alias"),
    ("alb-nothing-named", "alb", {"listener_arns": [], "rule_arns": []}, ALB, "alb: name at least one listener (alb.listener_arns) or rule"),
    ("listener-not-an-arn", "alb.listener_arns", ["shop-listener"], ALB, "alb.listener_arns: 'shop-listener' is not an Application Load Balancer listener ARN (arn:aws:elasticloadbalancing:<region>:<account>:listener/app/"),
    ("listener-of-an-nlb", "alb.listener_arns", [LISTENER.replace("/app/", "/net/")], ALB, "is not an Application Load Balancer listener ARN"),
    ("rule-given-as-listener", "alb.listener_arns", [RULE], ALB, "alb.listener_arns: "),
    ("rule-not-an-arn", "alb.rule_arns", [LISTENER], ALB, "alb.rule_arns: "),
    ("listener-twice", "alb.listener_arns", [LISTENER, LISTENER], ALB, "alb.listener_arns: a listener is named twice"),
    ("two-load-balancers", "alb.rule_arns", [OTHER_LB_RULE], ALB, "alb: the listeners and rules are on 2 load balancers"),
    ("unpaired-target-groups", "slots.green.target_group_arns", [TG_A, TG_B], ALB, "slots.green.target_group_arns: blue has 1 target groups and green 2: the alb router pairs them by position"),
    ("shared-target-group", "slots.green.target_group_arns", ALB["slots"]["blue"]["target_group_arns"], ALB, "slots.green.target_group_arns: a target group is in both slots"),
    ("no-test-url-no-route", "slots.blue.test_base_url", DELETE, ALB, "slots.blue.test_base_url: is required unless alb.test_route reaches the idle slot"),
    ("sticky-maybe", "alb.sticky_sessions", "maybe", ALB, "alb.sticky_sessions: Input should be 'refuse' or 'accept'"),
    ("test-route-both", "alb.test_route", {"listener_arn": TEST_LISTENER, "rule_arn": RULE, "url": "http://x"}, ALB, "alb.test_route: name either listener_arn (a test listener on another port) or rule_arn"),
    ("test-route-neither", "alb.test_route", {"url": "http://x"}, ALB, "alb.test_route: name either listener_arn"),
    ("test-route-no-url", "alb.test_route", {"listener_arn": TEST_LISTENER}, ALB, "alb.test_route.url: is required"),
    ("test-route-bad-listener", "alb.test_route", {"listener_arn": RULE, "url": "http://x"}, ALB, "alb.test_route: listener_arn: expected an Application Load Balancer listener ARN"),
    ("test-route-carries-traffic", "alb.test_route", {"listener_arn": LISTENER, "url": "http://x"}, ALB, "alb.test_route.listener_arn: is also in alb.listener_arns: the test route must carry no user traffic"),
    ("test-route-other-lb", "alb.test_route", {"rule_arn": OTHER_LB_RULE, "url": "http://x", "header": HEADER}, ALB, "alb: the listeners and rules are on 2 load balancers"),
    ("test-rule-without-header", "alb.test_route", {"rule_arn": RULE.replace("9683", "aaaa"), "url": "http://x"}, ALB, "alb.test_route: rule_arn needs header, the one the rule matches"),
    ("test-header-bad-name", "alb.test_route", {"listener_arn": TEST_LISTENER, "url": "http://x", "header": {"name": "X Test", "value": "1"}}, ALB, "alb.test_route.header.name: 'X Test' is not an HTTP header name"),
    ("alb-unknown-field", "alb.listeners", [LISTENER], ALB, "alb.listeners: is not a known field"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "value", "base", "says"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_a_bad_router_field_is_one_line_naming_it(path: str, value: object, base: dict, says: str) -> None:
    # Given a document with one router field wrong
    document = changed(base, path, value)
    # When it is parsed
    with pytest.raises(ConfigInvalidError) as raised:
        parse_config(json.dumps(document), "shop")
    # Then the error is one line that names the field and says what to do
    text = str(raised.value)
    assert "\n" not in text
    assert says in text, text


def test_an_alb_release_bakes_as_configured_and_drains_for_the_deregistration_delay() -> None:
    # Given an ALB app with a 30 s bake (less than a DNS TTL) and its default drain
    config = parse_config(json.dumps(ALB), "shop")
    # When its waits are planned at AWS speed, with a largest deregistration delay of 45 s
    waits = plan_waits(config, scale=1, deregistration_delay=45)
    # Then the bake is the configured one (no TTL floor) and the drain is the deregistration delay alone
    assert waits.bake_seconds == 30
    assert waits.drain_seconds == 45
    # And the same config routed by Route 53 bakes at least its TTL and drains TTL + delay
    route53 = parse_config(json.dumps(changed(VALID, "traffic.bake_seconds", 30)), "shop")
    waits = plan_waits(route53, scale=1, deregistration_delay=45)
    assert (waits.bake_seconds, waits.drain_seconds) == (60, 60 + 45)


def test_an_alb_release_plans_no_dns_sync_in_its_worst_case() -> None:
    # Given the same steps routed both ways
    alb = budget.worst_case(parse_config(json.dumps(ALB), "shop"))
    route53 = budget.worst_case(parse_config(json.dumps(changed(VALID, "traffic.bake_seconds", 30)), "shop"))
    # Then the ALB release waits for no change to sync, so its worst case is shorter and cheaper
    assert alb.seconds["traffic.steps"] == 0
    assert route53.seconds["traffic.steps"] == 3 * budget.DNS_SYNC_SECONDS
    assert alb.events["traffic.steps"] < route53.events["traffic.steps"]


def test_an_alb_config_whose_worst_case_is_too_long_is_still_refused() -> None:
    # Given an ALB app whose keep window alone passes the execution timeout
    document = changed(ALB, "keep_previous_seconds", 86_400)
    document = changed(document, "traffic.bake_seconds", 86_400)
    document = changed(document, "traffic.steps", list(range(5, 101, 5)))
    # When it is parsed, Then it is refused naming the field to reduce
    with pytest.raises(ConfigInvalidError, match=r"traffic\.bake_seconds: a release of this config can last"):
        parse_config(json.dumps(document), "shop")
