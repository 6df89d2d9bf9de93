"""Quarantine triggers: GuardDuty findings, alarm state changes and manual requests, normalised; severity; case text."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from orchestrator.domain.quarantine import TriggerRules, _cause_text, _not_quarantinable, normalise
from orchestrator.errors import TriggerInvalidError

from bluegreen.cli import ops

EVENTS = Path(__file__).resolve().parents[2] / "events"
RULES = TriggerRules(min_severity=7, alarm_prefix="bluegreen-security-")


def event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def test_a_high_severity_finding_names_its_instance() -> None:
    trigger = normalise(event("guardduty-finding-ec2.json"), RULES, "us-east-1")
    assert trigger.kind == "guardduty"
    assert trigger.ignored is None
    assert trigger.instance_ids == ["i-0123456789abcdef0"]
    assert trigger.severity == 8
    assert trigger.finding_type == "Backdoor:EC2/C&CActivity.B!DNS"
    assert trigger.event_time == "2026-11-22T03:52:10Z"
    assert "Backdoor:EC2/C&CActivity.B!DNS" in trigger.reason


def test_sample_findings_are_ignored() -> None:
    trigger = normalise(event("guardduty-finding-sample.json"), RULES, "us-east-1")
    assert trigger.ignored and "sample" in trigger.ignored
    assert trigger.instance_ids == []


@pytest.mark.parametrize(("severity", "ignored"), [(2, True), (6.9, True), (7, False), (7.0, False), (8.9, False)])
def test_severity_is_enforced_at_the_threshold(severity: float, ignored: bool) -> None:
    raw = event("guardduty-finding-ec2.json")
    raw["detail"]["severity"] = severity
    assert bool(normalise(raw, RULES, "us-east-1").ignored) is ignored


def test_the_threshold_is_configurable() -> None:
    low = event("guardduty-finding-low-severity.json")
    assert normalise(low, RULES, "us-east-1").ignored
    assert normalise(low, TriggerRules(min_severity=2), "us-east-1").ignored is None


def test_findings_on_other_resources_or_regions_are_ignored() -> None:
    raw = event("guardduty-finding-ec2.json")
    bucket = copy.deepcopy(raw)
    bucket["detail"]["resource"] = {"resourceType": "S3Bucket", "s3BucketDetails": []}
    assert "S3Bucket" in (normalise(bucket, RULES, "us-east-1").ignored or "")
    assert "eu-west-1" in (normalise(raw, RULES, "eu-west-1").ignored or "")


@pytest.mark.parametrize(
    ("breakage", "field"),
    [
        (lambda d: d["detail"]["resource"]["instanceDetails"].pop("instanceId"), "instanceId"),
        (lambda d: d["detail"]["resource"]["instanceDetails"].update(instanceId="i-nothex!"), "instanceId"),
        (lambda d: d["detail"]["resource"].pop("instanceDetails"), "instanceId"),
        (lambda d: d["detail"].update(severity="high"), "severity"),
        (lambda d: d["detail"].pop("resource"), "resource"),
        (lambda d: d.update(detail="oops"), "detail"),
    ],
)
def test_malformed_findings_are_refused(breakage, field: str) -> None:
    raw = event("guardduty-finding-ec2.json")
    breakage(raw)
    with pytest.raises(TriggerInvalidError, match=field):
        normalise(raw, RULES, "us-east-1")


def test_an_instance_alarm_names_its_instance() -> None:
    trigger = normalise(event("alarm-instance.json"), RULES, "us-east-1")
    assert (trigger.kind, trigger.instance_ids, trigger.group_names) == ("alarm", ["i-0123456789abcdef0"], [])
    assert trigger.alarm_name == "bluegreen-security-shop-egress-i-0123456789abcdef0"


def test_a_group_alarm_names_its_group() -> None:
    trigger = normalise(event("alarm-asg.json"), RULES, "us-east-1")
    assert trigger.group_names == ["shop-blue-20261120T101500-3f9a"]
    assert trigger.instance_ids == []


def test_only_security_alarms_going_into_alarm_count() -> None:
    raw = event("alarm-instance.json")
    ok = copy.deepcopy(raw)
    ok["detail"]["state"]["value"] = "OK"
    assert "OK" in (normalise(ok, RULES, "us-east-1").ignored or "")
    other = copy.deepcopy(raw)
    other["detail"]["alarmName"] = "shop-5xx"
    assert "not a security alarm" in (normalise(other, RULES, "us-east-1").ignored or "")


def test_an_alarm_on_no_instance_or_group_is_refused() -> None:
    raw = event("alarm-instance.json")
    raw["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"] = {"LoadBalancer": "app/x/1"}
    with pytest.raises(TriggerInvalidError, match="InstanceId or AutoScalingGroupName"):
        normalise(raw, RULES, "us-east-1")


def test_manual_requests() -> None:
    trigger = normalise(event("quarantine-manual.json"), RULES, "us-east-1")
    assert (trigger.kind, trigger.app, trigger.instance_ids) == ("manual", "shop", ["i-0123456789abcdef0"])
    assert normalise({"app": "shop", "reason": " odd logins "}, RULES, "us-east-1").reason == "odd logins"
    twice = {"instance_ids": ["i-0123456789abcdef0", "i-0123456789abcdef0"], "reason": "x"}
    assert normalise(twice, RULES, "x").instance_ids == ["i-0123456789abcdef0"]
    again = normalise(event("quarantine-swap-again.json"), RULES, "x")
    assert (again.swap_only, again.app, again.instance_ids) == (True, "shop", [])


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({}, "name an app"),
        ({"reason": "x"}, "name an app"),
        ({"instance_id": "i-0123456789abcdef0"}, "instance_id"),
        ({"app": "Shop!"}, "app"),
        ({"instance_ids": "i-0123456789abcdef0", "reason": "x"}, "instance_ids"),
        ({"instance_ids": ["sg-12345678"], "reason": "x"}, "instance_ids"),
        ({"app": "shop", "ami_id": "ami-x", "reason": "x"}, "ami_id"),
        ({"app": "shop"}, "reason: say why"),
        ({"app": "shop", "reason": "   "}, "reason: say why"),
        ({"app": "shop", "reason": 7}, "reason: say why"),
        ({"app": "shop", "reason": "x", "swap_only": "yes"}, "swap_only: expected true or false"),
        ({"instance_ids": ["i-0123456789abcdef0"], "reason": "x", "swap_only": True}, "swap_only: name the app alone"),
        ({"app": "shop", "instance_ids": ["i-0123456789abcdef0"], "reason": "x", "swap_only": True}, "swap_only"),
        ({"detail-type": "EC2 AMI State Change", "detail": {}}, "detail-type"),
        ([], "input"),
    ],
)
def test_malformed_requests_are_refused(raw: object, field: str) -> None:
    with pytest.raises(TriggerInvalidError, match=field):
        normalise(raw, RULES, "us-east-1")


def test_which_instances_are_left_alone() -> None:
    running = {"State": {"Name": "running"}, "Tags": []}
    assert "unknown" in (_not_quarantinable(running, None, None) or "")
    assert "terminated" in (_not_quarantinable({"State": {"Name": "terminated"}}, "shop", None) or "")
    quarantined = {"State": {"Name": "running"}, "Tags": [{"Key": "bluegreen:quarantine", "Value": "c-1"}]}
    assert _not_quarantinable(quarantined, "shop", None) == "already quarantined in case c-1"
    assert "belongs to app 'shop'" in (_not_quarantinable(running, "shop", "cart") or "")
    assert _not_quarantinable(running, "shop", "shop") is None


def test_a_failed_swap_names_the_child_error() -> None:
    child = {"Status": "FAILED", "Error": "SmokeTestFailedError", "Cause": '{"errorMessage": "status 500"}'}
    assert _cause_text(json.dumps(child)) == "SmokeTestFailedError: status 500"
    assert _cause_text('{"errorMessage": "boom", "errorType": "X"}') == "boom"
    assert _cause_text("plain") == "plain"


def test_the_cli_request_splits_app_and_instances() -> None:
    assert ops.quarantine_request(["shop", "i-0123456789abcdef0"], "why") == {
        "reason": "why",
        "app": "shop",
        "instance_ids": ["i-0123456789abcdef0"],
    }
    assert ops.quarantine_request(["i-0123456789abcdef0"], "why", "ami-12345678")["ami_id"] == "ami-12345678"
    with pytest.raises(ops.CliError, match="at most one app"):
        ops.quarantine_request(["shop", "cart"], "why")


def test_history_shows_what_a_case_did() -> None:
    case = {
        "kind": "case",
        "instances": {"i-1": {"status": "isolated"}, "i-2": {"status": "failed"}},
        "skipped": [{"resource": "i-3", "reason": "unknown"}],
        "triggers": [{"kind": "guardduty", "finding_type": "Backdoor:EC2/C&CActivity.B!DNS"}, {"kind": "manual"}],
        "swap": {"release_id": "r-1"},
    }
    line = ops.history_detail(case)
    assert "isolated i-1" in line and "FAILED i-2" in line and "1 not touched" in line
    assert "2 event(s)" in line and "Backdoor" in line and "swap r-1" in line
    assert ops.history_detail({"kind": "release", "source": "quarantine"}) == "quarantine"


@pytest.mark.parametrize(
    ("targets", "reason", "swap_only", "says"),
    [
        (["shop"], "", False, "--reason: say why"),
        (["shop"], "   ", False, "--reason: say why"),
        (["shop", "i-0123456789abcdef0"], "why", True, "--swap-only: name the app alone"),
        (["i-0123456789abcdef0"], "why", True, "--swap-only: name the app alone"),
    ],
)
def test_the_cli_request_refuses_an_empty_reason_and_a_swap_again_of_instances(
    targets, reason, swap_only, says
) -> None:
    # Given / When a request a responder could type / Then it is refused in one line naming the option
    with pytest.raises(ops.CliError, match=says):
        ops.quarantine_request(targets, reason, swap_only=swap_only)


def test_a_swap_again_names_the_app_alone() -> None:
    assert ops.quarantine_request(["shop"], " swap failed: bad AMI ", swap_only=True) == {
        "reason": "swap failed: bad AMI",
        "app": "shop",
        "swap_only": True,
    }


def test_a_case_timeline_is_every_dated_step_in_order() -> None:
    # Given a case record as the quarantine writes it
    item = {
        "event_time": "2026-11-22T03:52:10Z",
        "opened_at": "2026-11-22T03:52:11.100000+00:00",
        "source": "guardduty",
        "reason": "C&C",
        "triggers": [{"kind": "guardduty", "finding_type": "Backdoor", "received_at": "2026-11-22T03:52:11+00:00"}],
        "instances": {
            "i-1": {
                "metadata": {"recorded_at": "2026-11-22T03:52:11.200000+00:00"},
                "steps": {
                    "snapshot": {"ok": True, "at": "2026-11-22T03:52:12.900000+00:00", "result": "2 volume(s)"},
                    "isolate_network": {
                        "ok": True,
                        "at": "2026-11-22T03:52:11.300000+00:00",
                        "result": "sg-a then sg-b",
                    },
                    "detach": {"ok": False, "at": "2026-11-22T03:52:12+00:00", "result": "failed: x"},
                },
                "contained_at": "2026-11-22T03:52:11.500000+00:00",
            }
        },
        "swapped_at": "2026-11-22T03:55:00+00:00",
        "swap": {"green_asg": "shop-green-1"},
        "status": "swapped",
        "closed_at": "2026-11-22T03:55:00+00:00",
    }
    # When its timeline is made
    rows = ops.case_timeline(item)
    # Then it is ordered by time, from the event to the close, with failed steps marked
    assert [r["what"] for r in rows] == [
        "security event",
        "guardduty trigger",
        "case opened",
        "i-1 recorded",
        "i-1 isolate_network",
        "i-1 contained",
        "i-1 detach",
        "i-1 snapshot",
        "swapped",
        "case closed",
    ]
    assert next(r for r in rows if r["what"] == "i-1 detach")["detail"] == "FAILED failed: x"
