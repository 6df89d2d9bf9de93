"""KMS: whether this account can use the key that encrypts a shared AMI's snapshots."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from orchestrator.adapters.aws import client, error_code


def key_problem(key_id: str, api: Any = None) -> str | None:
    """None when this account can describe the key and it is enabled; else what is wrong, in a few words."""
    api = api or client("kms")
    try:
        key = api.describe_key(KeyId=key_id)["KeyMetadata"]
    except ClientError as err:
        code = error_code(err)
        if code in ("AccessDeniedException", "NotFoundException", "KMSInvalidStateException"):
            return f"DescribeKey answered {code}"
        raise
    if key.get("KeyState") != "Enabled":
        return f"the key is {key.get('KeyState')}"
    return None


def create_grant(key_arn: str, grantee: str, operations: list[str], name: str, api: Any = None) -> str | None:
    """Grant `grantee` the operations on the key (CreateGrant is idempotent for the same name, grantee and
    operations); None once it holds, else why KMS refused, in a few words."""
    api = api or client("kms")
    try:
        api.create_grant(KeyId=key_arn, GranteePrincipal=grantee, Operations=operations, Name=name)
    except ClientError as err:
        code = error_code(err)
        if code in ("AccessDeniedException", "NotFoundException", "KMSInvalidStateException", "DisabledException"):
            return f"CreateGrant answered {code}"
        raise
    return None
