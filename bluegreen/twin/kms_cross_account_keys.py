"""moto keeps each account's KMS keys to itself; KMS lets another account use a key when the key's policy allows it,
and an AWS service use it through a grant.

Real AWS (KMS Developer Guide, "Allowing users in other accounts to use a KMS key"): "To give permission to use a KMS
key to users and roles in another account, you must use two different types of policies: The key policy for the KMS
key must give the external account (or users and roles in the external account) permission to use the KMS key [...]
IAM policies in the external account must delegate the key policy permissions to its users and roles"; the external
account names the key by its key ARN ("To use a KMS key in a different AWS account, you must specify the key ARN").
(KMS Developer Guide, "Grants in AWS KMS"): a grant gives its grantee principal the grant's operations on the key;
(Auto Scaling User Guide, "Required AWS KMS key policy for use with encrypted volumes", example 2): for a group to
launch instances whose volumes are encrypted with another account's key, the key's policy allows the group's account
`kms:CreateGrant`, and that account creates a grant for its service-linked role `AWSServiceRoleForAutoScaling`
("You must create AWS KMS grants from the account that owns the Amazon EC2 Auto Scaling group, not the AWS KMS
account", Knowledge Center, "kms-launch-ec2-instance"). Without it the instances fail to launch.

moto answers NotFoundException for another account's key ARN (it looks in the caller's own keys) and makes a new
grant for every CreateGrant. Here DescribeKey and CreateGrant that name another account's key ARN are answered from
the owner's key when its policy allows the caller's account the action (AccessDeniedException otherwise); CreateGrant
with the name, grantee and operations of an existing grant returns that grant ("CreateGrant is idempotent [...] when
you retry with identical parameters", KMS API, "CreateGrant"). `may_use` says whether an account may use a key for
a set of operations (its own key, or the owner's policy), `grantee_may_use` whether a principal holds a grant for them:
EC2's copies and Auto Scaling's launches ask these (ec2_encrypted_images, autoscaling_launch_failures).

What the twin simplifies: a key policy's principal matches by account (its root, its id, or any ARN in it: the twin's
KMS does not know which role of the account calls), `Deny` statements and conditions are not evaluated, and the
caller's own IAM policy is evaluated by iam_authorization for the calls its functions make.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any

from moto.kms.exceptions import AccessDeniedException, NotFoundException
from moto.kms.models import Key, kms_backends
from moto.kms.responses import KmsResponse

from bluegreen.twin.patching import Patches

_original_describe = KmsResponse.describe_key
_original_grant = KmsResponse.create_grant

AUTOSCALING_ROLE = "role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"


def autoscaling_role(account: str) -> str:
    """The ARN of the account's Auto Scaling service-linked role."""
    return f"arn:aws:iam::{account}:{AUTOSCALING_ROLE}"


def split_arn(key_arn: str) -> tuple[str, str, str] | None:
    """(region, account, key id) of a key ARN; None for anything else (a bare id, an alias)."""
    parts = key_arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "kms" or not parts[5].startswith("key/"):
        return None
    return parts[3], parts[4], parts[5].removeprefix("key/")


def find_key(key_arn: str) -> Key | None:
    """The key an ARN names, in its owner's account (None if there is none)."""
    parts = split_arn(key_arn)
    if parts is None:
        return None
    region, account, key_id = parts
    return kms_backends[account][region].keys.get(key_id)


def _principals(statement: dict[str, Any]) -> list[str]:
    principal = statement.get("Principal")
    if principal == "*":
        return ["*"]
    found = (principal or {}).get("AWS", []) if isinstance(principal, dict) else []
    return [found] if isinstance(found, str) else list(found)


def _names_account(principal: str, account: str) -> bool:
    return principal in ("*", account) or principal.startswith(f"arn:aws:iam::{account}:")


def policy_allows(key: Key, account: str, action: str) -> bool:
    """Whether the key's policy has an Allow statement for `action` whose principal is in `account`."""
    try:
        policy = json.loads(key.policy)
    except (TypeError, ValueError):
        return False
    statements = policy.get("Statement", [])
    for statement in [statements] if isinstance(statements, dict) else statements:
        if statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if not any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in actions):
            continue
        if any(_names_account(p, account) for p in _principals(statement)):
            return True
    return False


def may_use(key_arn: str, account: str, actions: list[str]) -> str | None:
    """None when `account` may use the key for every action (its own enabled key, or the owner's key policy allows
    it); else why not, in a few words."""
    key = find_key(key_arn)
    if key is None:
        return f"key {key_arn} does not exist"
    if key.key_state != "Enabled":
        return f"key {key_arn} is {key.key_state}"
    if key.account_id == account:
        return None
    denied = [a for a in actions if not policy_allows(key, account, a)]
    if denied:
        return f"the policy of key {key_arn} does not allow account {account} {', '.join(denied)}"
    return None


def grantee_may_use(key_arn: str, grantee: str, operations: set[str]) -> bool:
    """Whether a grant on the (enabled) key gives `grantee` every one of `operations`."""
    key = find_key(key_arn)
    if key is None or key.key_state != "Enabled":
        return False
    return any(
        grant.grantee_principal == grantee and operations <= set(grant.operations or [])
        for grant in key.grants.values()
    )


def _foreign_key(response: KmsResponse, action: str) -> Key | None:
    """The other account's key the call names by ARN, once its policy allows the caller; None for the caller's own."""
    key_arn = str(response._get_param("KeyId") or "")
    parts = split_arn(key_arn)
    if parts is None or parts[1] == response.current_account:
        return None
    key = find_key(key_arn)
    if key is None:
        raise NotFoundException(f"Key '{key_arn}' does not exist")
    if not policy_allows(key, response.current_account, action):
        raise AccessDeniedException(
            f"User: arn:aws:iam::{response.current_account}:root is not authorized to perform: {action} on resource:"
            f" {key_arn} because no resource-based policy allows the {action} action"
        )
    return key


def _describe(self: KmsResponse) -> str:
    key = _foreign_key(self, "kms:DescribeKey")
    return _original_describe(self) if key is None else json.dumps(key.to_dict())


def _create_grant(self: KmsResponse) -> str:
    key = _foreign_key(self, "kms:CreateGrant")
    if key is None:
        key_id = str(self._get_param("KeyId") or "")
        try:
            key = self.kms_backend.describe_key(key_id)
        except KeyError:
            raise NotFoundException(f"Key '{key_id}' does not exist") from None
    name, grantee = self._get_param("Name"), self._get_param("GranteePrincipal")
    operations = sorted(self._get_param("Operations") or [])
    same = next(
        (
            g
            for g in key.grants.values()
            if name and g.name == name and g.grantee_principal == grantee and sorted(g.operations) == operations
        ),
        None,
    )
    grant = same or key.add_grant(
        name,
        grantee,
        self._get_param("Operations"),
        constraints=self._get_param("Constraints"),
        retiring_principal=self._get_param("RetiringPrincipal"),
    )
    return json.dumps({"GrantId": grant.id, "GrantToken": grant.token})


patches = Patches(
    __name__,
    (KmsResponse, "describe_key", _describe),
    (KmsResponse, "create_grant", _create_grant),
)
install, uninstall = patches.install, patches.uninstall
