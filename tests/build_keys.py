"""A build account's KMS key, as its owner would make it for the accounts its AMIs are shared with (twin and e2e)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

BUILD_ACCOUNT = "111122223333"
THIS_ACCOUNT = "123456789012"  # moto's default account: the fleet's
SERVICE_ROLE = (
    f"arn:aws:iam::{THIS_ACCOUNT}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
)
USE = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]


def owner_statement() -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{BUILD_ACCOUNT}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }


def build_key(build: Callable[[str], Any], shared_with: str | None, grants: bool = True) -> str:
    """A key of the build account whose policy lets `shared_with` (an account) use it and, with `grants`, create grants
    on it (the Auto Scaling User Guide's cross-account example)."""
    statements = [owner_statement()]
    if shared_with:
        root = f"arn:aws:iam::{shared_with}:root"
        statements.append({"Effect": "Allow", "Principal": {"AWS": root}, "Action": USE, "Resource": "*"})
        if grants:
            statements.append(
                {"Effect": "Allow", "Principal": {"AWS": root}, "Action": "kms:CreateGrant", "Resource": "*"}
            )
    policy = {"Version": "2012-10-17", "Statement": statements}
    return build("kms").create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]
