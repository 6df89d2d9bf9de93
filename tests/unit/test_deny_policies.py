"""The quarantine's inline denies: both condition keys, and which instances still need theirs
(orchestrator.domain.deny_policies, orchestrator.domain.isolation.deny_policy)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

from orchestrator.domain import deny_policies
from orchestrator.domain.isolation import deny_policy

ARN = "arn:aws:ec2:us-east-1:123456789012:instance/"
NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)


def test_the_deny_names_each_instance_by_source_arn_and_by_session() -> None:
    document = deny_policy([f"{ARN}i-0aaaaaaaaaaaaaaaa", f"{ARN}i-0bbbbbbbbbbbbbbbb"], "AROAEXAMPLEROLEID")
    by_session = document["Statement"][1]
    assert by_session["Effect"] == "Deny" and by_session["Action"] == "*"
    assert by_session["Condition"] == {
        "StringEquals": {
            "aws:userId": ["AROAEXAMPLEROLEID:i-0aaaaaaaaaaaaaaaa", "AROAEXAMPLEROLEID:i-0bbbbbbbbbbbbbbbb"]
        }
    }
    assert deny_policies.instances_of(document) == {"i-0aaaaaaaaaaaaaaaa", "i-0bbbbbbbbbbbbbbbb"}


def test_taking_an_instance_out_leaves_the_others_under_both_keys() -> None:
    document = deny_policy([f"{ARN}i-0aaaaaaaaaaaaaaaa", f"{ARN}i-0bbbbbbbbbbbbbbbb"], "AROAEXAMPLEROLEID")
    left = deny_policies.without(copy.deepcopy(document), {"i-0aaaaaaaaaaaaaaaa"})
    assert deny_policies.instances_of(left) == {"i-0bbbbbbbbbbbbbbbb"}
    assert len(left["Statement"]) == 2
    assert deny_policies.without(left, {"i-0bbbbbbbbbbbbbbbb"})["Statement"] == []


def instance(state: str, tags: dict[str, str]) -> dict:
    return {"State": {"Name": state}, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}


def test_a_deny_is_needless_once_released_or_long_gone_never_while_quarantined() -> None:
    recent, old = NOW - timedelta(hours=1), NOW - timedelta(hours=13)
    assert deny_policies.needless(instance("running", {"bluegreen:quarantine-released": "c"}), recent, NOW)
    assert not deny_policies.needless(instance("running", {"bluegreen:quarantine": "c"}), old, NOW)
    assert not deny_policies.needless(instance("running", {}), old, NOW)  # another case still isolating it
    # gone: its copied credentials may still be valid for hours
    assert not deny_policies.needless(None, recent, NOW)
    assert deny_policies.needless(None, old, NOW)
    assert deny_policies.needless(instance("terminated", {"bluegreen:quarantine": "c"}), old, NOW)
    assert not deny_policies.needless(None, None, NOW)  # no time known: kept


def test_a_policy_names_when_its_case_began() -> None:
    assert deny_policies.case_began("bluegreen-quarantine-20261122T035210-3f9a-1a2b3c4d") == datetime(
        2026, 11, 22, 3, 52, 10, tzinfo=UTC
    )
    assert deny_policies.case_began("bluegreen-quarantine-manual") is None
