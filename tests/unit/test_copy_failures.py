"""A failed copy bluegreen made is recorded once and told; any other failed AMI is left alone."""

from __future__ import annotations

from datetime import UTC, datetime

from orchestrator.domain import copy_failures

NOW = datetime(2026, 12, 6, 6, 0, tzinfo=UTC)


def failed(ami: str = "ami-copy", message: str = "Copy failed: key") -> dict:
    return {"detail": {"ImageId": ami, "State": "failed", "ErrorMessage": message}}


def fakes(monkeypatch, tags: dict[str, str], recorded: bool = True) -> tuple[list, list]:
    records, published = [], []
    image = {"ImageId": "ami-copy", "State": "failed", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
    monkeypatch.setattr(copy_failures.ec2, "describe_image", lambda ami: image)
    monkeypatch.setattr(copy_failures.state_table, "record_copy_failed", lambda *args: records.append(args) or recorded)
    monkeypatch.setattr(
        copy_failures.config_store, "load", lambda app, max_age: type("C", (), {"notify_topic_arn": "t2"})
    )
    monkeypatch.setattr(copy_failures.notify, "publish", lambda topics, subject, body: published.append((topics, body)))
    return records, published


def test_a_failed_copy_of_a_shared_ami_is_recorded_and_told(monkeypatch) -> None:
    records, published = fakes(monkeypatch, {"bluegreen:source-ami": "ami-src", "bluegreen:release-to": "shop"})
    result = copy_failures.on_failed(failed(), NOW, "t1")
    assert result["outcome"] == "CopyFailed"
    assert records == [("shop", "ami-copy", "ami-src", "Copy failed: key", NOW.isoformat())]
    assert [(topics, body["status"], body["reason"]) for topics, body in published] == [
        (["t1", "t2"], "copy_failed", "Copy failed: key")
    ]


def test_a_redelivered_event_is_told_once(monkeypatch) -> None:
    _, published = fakes(monkeypatch, {"bluegreen:source-ami": "ami-src", "bluegreen:release-to": "shop"}, False)
    assert copy_failures.on_failed(failed(), NOW, "t1")["outcome"] == "CopyFailed"
    assert published == []


def test_a_failed_ami_bluegreen_did_not_copy_is_ignored(monkeypatch) -> None:
    records, published = fakes(monkeypatch, {"Name": "backup"})
    assert copy_failures.on_failed(failed(), NOW, "t1")["outcome"] == "Ignored"
    assert copy_failures.on_failed({"detail": {"ImageId": "ami-1", "State": "available"}}, NOW, "t1")["outcome"] == (
        "Ignored"
    )
    assert records == [] and published == []
