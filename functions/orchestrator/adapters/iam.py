"""IAM: the role behind an instance profile, and the inline deny that cuts one instance's sessions of it (quarantine)."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from orchestrator.adapters.aws import client, error_code
from orchestrator.errors import NotFoundError, RolePolicyLimitError


def profile_name(profile_arn: str) -> str:
    """`arn:aws:iam::123:instance-profile/path/name` -> `name` (GetInstanceProfile takes the name, not the path)."""
    return profile_arn.rsplit("/", 1)[-1]


def role_of_profile(profile_arn: str, api: Any = None) -> str | None:
    """The name of the role an instance profile hands out; None when the profile holds no role."""
    role = role_and_id_of_profile(profile_arn, api)
    return role[0] if role else None


def role_and_id_of_profile(profile_arn: str, api: Any = None) -> tuple[str, str] | None:
    """(name, RoleId) of the role an instance profile hands out; None when the profile holds no role. The RoleId
    (AROA...) is the first half of `aws:userId` of the role's sessions: `<RoleId>:<session name>`, and an instance
    profile's session is named after the instance."""
    api = api or client("iam")
    try:
        profile = api.get_instance_profile(InstanceProfileName=profile_name(profile_arn))["InstanceProfile"]
    except ClientError as err:
        if error_code(err) == "NoSuchEntity":
            raise NotFoundError(f"instance profile {profile_arn} does not exist") from None
        raise
    roles = profile.get("Roles", [])
    return (roles[0]["RoleName"], roles[0]["RoleId"]) if roles else None


def put_role_policy(role_name: str, policy_name: str, document: dict, api: Any = None) -> None:
    # Compact: IAM counts every character (whitespace aside) of a role's inline policies against 10,240.
    try:
        (api or client("iam")).put_role_policy(
            RoleName=role_name, PolicyName=policy_name, PolicyDocument=json.dumps(document, separators=(",", ":"))
        )
    except ClientError as err:
        if error_code(err) == "LimitExceeded":
            raise RolePolicyLimitError(
                f"role {role_name}: its inline policies would pass IAM's 10,240 characters with {policy_name}"
                " (remove inline policies it no longer needs, or revoke all its sessions from the IAM console, which"
                " also cuts the instances that still share the role)"
            ) from None
        raise


def role_policy_names(role_name: str, api: Any = None) -> list[str]:
    api = api or client("iam")
    return [
        n for page in api.get_paginator("list_role_policies").paginate(RoleName=role_name) for n in page["PolicyNames"]
    ]


def role_policy(role_name: str, policy_name: str, api: Any = None) -> dict | None:
    try:
        found = (api or client("iam")).get_role_policy(RoleName=role_name, PolicyName=policy_name)
    except ClientError as err:
        if error_code(err) == "NoSuchEntity":
            return None
        raise
    document = found["PolicyDocument"]
    return json.loads(document) if isinstance(document, str) else document


def delete_role_policy(role_name: str, policy_name: str, api: Any = None) -> bool:
    """False when there was no such policy (deleted already)."""
    try:
        (api or client("iam")).delete_role_policy(RoleName=role_name, PolicyName=policy_name)
    except ClientError as err:
        if error_code(err) == "NoSuchEntity":
            return False
        raise
    return True
