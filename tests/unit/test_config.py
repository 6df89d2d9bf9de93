"""The app configuration: valid documents load; every bad one fails with one line naming the field."""

from __future__ import annotations

import copy
import json

import pytest
from orchestrator.config import parse_config
from orchestrator.errors import ConfigInvalidError

VALID = {
    "app": "shop",
    "launch_template_id": "lt-0abc",
    "dns": {"hosted_zone_id": "Z123", "record_name": "www.shop.example.com"},
    "slots": {
        slot: {
            "target_group_arns": [
                f"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/shop-{slot}/0123456789abcdef"
            ],
            "alias": {"dns_name": f"shop-{slot}.elb.amazonaws.com", "hosted_zone_id": "Z35SXDOTRQ7X7K"},
            "test_base_url": f"https://shop-{slot}.internal.example.com",
        }
        for slot in ("blue", "green")
    },
    "traffic": {"steps": [10, 50, 100], "bake_seconds": 300, "alarm_names": ["shop-5xx"]},
}


def with_change(path: str, value: object) -> dict:
    document = copy.deepcopy(VALID)
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
    def __repr__(self) -> str:  # a stable test id, the same in every xdist worker
        return "<deleted>"


DELETE = _Delete()


def test_valid_document_loads_with_defaults() -> None:
    config = parse_config(json.dumps(VALID), "shop")
    assert config.traffic.steps == [10, 50, 100]
    assert config.health.poll_seconds == 15
    assert config.dns.ttl_seconds == 60
    assert config.approval.before_traffic is False


BAD = [
    ("traffic.steps", [10, 50], "traffic.steps", "last step must be 100"),
    ("traffic.steps", [50, 10, 100], "traffic.steps", "strictly increase"),
    ("traffic.steps", [0, 100], "traffic.steps", "from 1 to 100"),
    ("traffic.steps", [], "traffic.steps", "at least 1"),
    ("traffic.steps", [10, 10, 100], "traffic.steps", "strictly increase"),
    ("traffic.bake_seconds", -5, "traffic.bake_seconds", "greater than or equal to 0"),
    ("traffic.insufficient_data", "maybe", "traffic.insufficient_data", "'ignore', 'wait' or 'fail'"),
    ("drain_seconds", -1, "drain_seconds", "greater than or equal to 0"),
    ("keep_previous_seconds", -30, "keep_previous_seconds", "greater than or equal to 0"),
    ("slots.green", DELETE, "slots", "green is missing"),
    ("slots.blue.target_group_arns", [], "slots.blue.target_group_arns", "at least 1"),
    ("slots.blue.test_base_url", "ftp://x", "slots.blue.test_base_url", "is not an http:// or https:// URL"),
    ("app", "Shop_1", "app", "must match"),
    ("app", "s", "app", "must match"),
    ("launch_template_id", "template-1", "launch_template_id", "is not a launch template id"),
    ("dns", DELETE, "dns", "is required"),
    ("dns.record_type", "CNAME", "dns.record_type", "'A' or 'AAAA'"),
    ("health.poll_seconds", 0, "health.poll_seconds", "greater than or equal to 1"),
    ("health.timeout_seconds", 5, "health.timeout_seconds", "greater than or equal to 30"),
    ("traffic.bake_secs", 30, "traffic.bake_secs", "not a known field"),
    ("quarantine", {"security_group_id": "isolate"}, "quarantine.security_group_id", "is not a security group id"),
    ("notify_topic_arn", "topic", "notify_topic_arn", "is not an SNS topic ARN"),
    ("smoke_tests", [{"path": "health"}], "smoke_tests.0.path", "is not a path that starts with /"),
    # Strict: a string is no boolean and no number, whatever it says.
    ("quarantine", {"snapshot_volumes": "no"}, "quarantine.snapshot_volumes", "valid boolean"),
    ("approval", {"before_traffic": "true"}, "approval.before_traffic", "valid boolean"),
    ("keep_previous_seconds", "600", "keep_previous_seconds", "valid integer"),
    ("dns.record_name", "not a dns name!", "dns.record_name", "is not a DNS name"),
    ("dns.record_name", "www..example.com", "dns.record_name", "is not a DNS name"),
    ("dns.hosted_zone_id", "/hostedzone/Z123", "dns.hosted_zone_id", "is not a Route 53 hosted zone id"),
    ("slots.green.alias.dns_name", "http://lb.example.com", "slots.green.alias.dns_name", "is not a DNS name"),
    ("slots.blue.target_group_arns", ["shop-blue"], "slots.blue.target_group_arns.0", "is not a target group ARN"),
    ("traffic.alarm_names", [""], "traffic.alarm_names.0", "at least 1 character"),
    ("smoke_tests", [{"path": "/", "attempts": 0}], "smoke_tests.0.attempts", "greater than or equal to 1"),
]


@pytest.mark.parametrize(("path", "value", "field", "message"), BAD, ids=[f"{b[0]}={b[1]!r}" for b in BAD])
def test_bad_document_names_the_field(path: str, value: object, field: str, message: str) -> None:
    # Given a document with one bad field
    document = with_change(path, value)
    # When it is parsed
    with pytest.raises(ConfigInvalidError) as raised:
        parse_config(json.dumps(document), "shop")
    # Then the error is one line naming that field and what is wrong
    text = str(raised.value)
    assert "\n" not in text
    assert f": {field}:" in text
    assert message in text


def test_not_json_is_one_clear_line() -> None:
    with pytest.raises(ConfigInvalidError, match="not valid JSON"):
        parse_config("{app: shop", "shop")


def test_document_for_another_app_is_refused() -> None:
    with pytest.raises(ConfigInvalidError, match="names 'shop' but is stored for 'cart'"):
        parse_config(json.dumps(VALID), "cart")


def test_a_config_too_large_for_a_standard_parameter_is_refused_in_one_line() -> None:
    # Given a 200 KB document (a smoke test with a huge expected body)
    document = with_change("smoke_tests", [{"path": "/", "expect_body_contains": "x" * 200_000}])
    # When it is read, Then it is refused for its size, naming SSM's limit, in one line
    with pytest.raises(ConfigInvalidError) as raised:
        parse_config(json.dumps(document), "shop")
    assert "config: " in str(raised.value) and "4,096" in str(raised.value) and "\n" not in str(raised.value)
