"""Fidelity of a role's inline policies: together they fit in 10,240 characters, white space aside."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from bluegreen.twin import iam_role_policy_size


def document(padding: int) -> str:
    """A policy of about `padding` characters (its Sid pads it), written with generous white space."""
    statement = {"Sid": "x" * padding, "Effect": "Deny", "Action": "*", "Resource": "*"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, indent=4)


@pytest.mark.behaviour(iam_role_policy_size)
def test_a_roles_inline_policies_cannot_add_up_past_the_quota(aws) -> None:
    # Given a role whose two inline policies hold some 9,000 characters (far more, counting their indentation)
    iam = aws("iam")
    iam.create_role(RoleName="fleet", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))
    iam.put_role_policy(RoleName="fleet", PolicyName="a", PolicyDocument=document(4_500))
    iam.put_role_policy(RoleName="fleet", PolicyName="b", PolicyDocument=document(4_500))
    # When a third one of some 1,500 characters is put
    with pytest.raises(ClientError) as refused:
        iam.put_role_policy(RoleName="fleet", PolicyName="c", PolicyDocument=document(1_500))
    # Then IAM refuses it as it refuses it, and the role keeps what it had
    assert refused.value.response["Error"]["Code"] == "LimitExceeded"
    assert refused.value.response["Error"]["Message"] == "Maximum policy size of 10240 bytes exceeded for role fleet"
    assert iam.list_role_policies(RoleName="fleet")["PolicyNames"] == ["a", "b"]
    # And a policy replaced by one of its own size still fits (the quota counts what the role holds after the put)
    iam.put_role_policy(RoleName="fleet", PolicyName="b", PolicyDocument=document(4_500))
