"""The quarantine's inline denies on fleet roles, collected when they deny nothing that matters any more.

A role's inline policies share 10,240 characters ("Role policy size cannot exceed 10,240 characters", IAM User Guide,
"IAM and AWS STS quotas", white space aside). Each case execution writes one deny (`bluegreen-quarantine-<case>-<hash>`)
on each fleet role it cuts; left there, a few dozen cases over a role's life fill it, and every later quarantine fails
its credential step. So, before a deny is written when the role has no room (and after every isolation, when nothing
is urgent), each earlier deny loses the instances that no longer need it, and goes when it names none:
- an instance released after its investigation (`bluegreen:quarantine-released`, no `bluegreen:quarantine`): it
  has its own credentials back;
- an instance that no longer exists, or is terminated, once its case began more than CREDENTIALS_OUTLIVE ago: the
  temporary credentials an instance profile hands out expire within hours, but one copied off the instance stays valid
  until then, so its deny stays that long.
An instance still quarantined (or still being isolated by another case) keeps its deny. Nothing else is touched: only
policies named with the quarantine's prefix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from orchestrator.adapters import ec2, iam
from orchestrator.errors import RolePolicyLimitError

PREFIX = "bluegreen-quarantine-"
ROLE_POLICY_QUOTA = 10_240
CREDENTIALS_OUTLIVE = timedelta(hours=12)
KEYS = ("ec2:SourceInstanceARN", "aws:userId")


@dataclass
class Collected:
    role: str
    kept: list[str] = field(default_factory=list)  # policies left as they were
    trimmed: list[str] = field(default_factory=list)  # policies rewritten without some instances
    deleted: list[str] = field(default_factory=list)
    freed: list[str] = field(default_factory=list)  # instances whose deny went


def document(instance_arns: list[str], role_id: str | None = None) -> dict:
    """Every request made with the role's credentials issued to these instances is denied, wherever it comes from: by
    `ec2:SourceInstanceARN`, and by `aws:userId` `<RoleId>:<instance id>` (the session an instance profile gets is
    named after the instance), as AWS's own remediation of stolen instance credentials does (Knowledge Center,
    GuardDuty `InstanceCredentialExfiltration`)."""
    statements = [
        {
            "Sid": "BluegreenQuarantine",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"StringEquals": {"ec2:SourceInstanceARN": sorted(instance_arns)}},
        }
    ]
    if role_id:
        sessions = sorted(f"{role_id}:{arn.rsplit('/', 1)[-1]}" for arn in instance_arns)
        statements.append(
            {
                "Sid": "BluegreenQuarantineSessions",
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:userId": sessions}},
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def put(role: str, policy: str, document: dict, now: datetime) -> None:
    """The deny; if the role's inline policies are full, the denies that protect nothing any more go first."""
    try:
        iam.put_role_policy(role, policy, document)
    except RolePolicyLimitError:
        collect(role, {policy}, now)
        iam.put_role_policy(role, policy, document)


def collect_quietly(role: str, policy: str, now: datetime) -> str:
    """collect, said in one line for the case; a failure only said (the next case, or a full role, collects again)."""
    try:
        done = collect(role, {policy}, now)
    except Exception as err:
        return f"role {role}: earlier denies not collected ({err}); the next case collects them"
    return (
        f"role {role}: {len(done.deleted)} earlier deny(ies) deleted, {len(done.trimmed)} trimmed, of"
        f" {len(done.freed)} released or long-gone instance(s); {len(done.kept)} still needed"
    )


def policy_size(document: dict) -> int:
    """Characters IAM counts (white space aside): the compact JSON."""
    return len(json.dumps(document, separators=(",", ":"), ensure_ascii=False))


def instances_of(document: dict) -> set[str]:
    """The instance ids a quarantine deny names (either condition key)."""
    found: set[str] = set()
    for statement in document.get("Statement", []):
        for key in KEYS:
            values = (statement.get("Condition") or {}).get("StringEquals", {}).get(key, [])
            for value in [values] if isinstance(values, str) else values:
                found.add(value.rsplit("/", 1)[-1].rsplit(":", 1)[-1])
    return found


def without(document: dict, instance_ids: set[str]) -> dict:
    """The deny with these instances taken out of every condition; statements that name nobody are dropped."""
    kept = []
    for statement in document.get("Statement", []):
        condition = (statement.get("Condition") or {}).get("StringEquals", {})
        for key in KEYS:
            if key in condition:
                values = [condition[key]] if isinstance(condition[key], str) else condition[key]
                condition[key] = [v for v in values if v.rsplit("/", 1)[-1].rsplit(":", 1)[-1] not in instance_ids]
                if not condition[key]:
                    del condition[key]
        if condition or "Condition" not in statement:
            kept.append(statement)
    return {**document, "Statement": kept}


def case_began(policy: str) -> datetime | None:
    """bluegreen-quarantine-<case>-<hash>, the case id starting with its time (20261122T035210-3f9a)."""
    try:
        return datetime.strptime(policy.removeprefix(PREFIX)[:15], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def needless(instance: dict | None, began: datetime | None, now: datetime) -> bool:
    """Whether an instance's deny protects nothing any more."""
    tags = {t["Key"]: t["Value"] for t in (instance or {}).get("Tags", [])}
    if instance is not None and instance.get("State", {}).get("Name") not in ("shutting-down", "terminated"):
        return "bluegreen:quarantine-released" in tags and "bluegreen:quarantine" not in tags
    return began is not None and now - began > CREDENTIALS_OUTLIVE


def collect(role: str, keep: set[str], now: datetime, api: Any = None) -> Collected:
    """Trim or delete the role's quarantine denies (but those named in `keep`) as the module says."""
    done = Collected(role)
    documents = {
        name: iam.role_policy(role, name, api)
        for name in iam.role_policy_names(role, api)
        if name.startswith(PREFIX) and name not in keep
    }
    named = {name: instances_of(d) for name, d in documents.items() if d is not None}
    described = ec2.describe_instances(sorted(set().union(*named.values()))) if named else {}
    for name, ids in named.items():
        gone = {i for i in ids if needless(described.get(i), case_began(name), now)}
        if not gone:
            done.kept.append(name)
        elif gone == ids:
            iam.delete_role_policy(role, name, api)
            done.deleted.append(name)
        else:
            iam.put_role_policy(role, name, without(documents[name] or {}, gone), api)
            done.trimmed.append(name)
        done.freed += sorted(gone)
    return done


def budget(role: str, api: Any = None) -> dict:
    """How much of the role's 10,240 characters of inline policy is used, by whom, and what is left."""
    sizes = {}
    for name in iam.role_policy_names(role, api):
        document = iam.role_policy(role, name, api)
        sizes[name] = policy_size(document) if document is not None else 0
    used = sum(sizes.values())
    quarantine = sum(v for k, v in sizes.items() if k.startswith(PREFIX))
    return {
        "role": role,
        "used": used,
        "left": ROLE_POLICY_QUOTA - used,
        "quota": ROLE_POLICY_QUOTA,
        "quarantine_denies": sum(1 for k in sizes if k.startswith(PREFIX)),
        "quarantine_characters": quarantine,
    }
