"""moto 5.2 takes any amount of inline policy on a role; IAM caps what a role's inline policies add up to.

Real AWS (IAM User Guide, "IAM and AWS STS quotas"): "You can add as many inline policies as you want to an IAM user,
role, or group. But the total aggregate policy size (the sum size of all inline policies) per entity can't exceed the
following limits: ... Role policy size cannot exceed 10,240 characters", and "IAM doesn't count white space when
calculating the size of a policy against these limits". PutRolePolicy past it fails with `LimitExceeded` "Maximum
policy size of 10240 bytes exceeded for role <name>" (the message IAM answers, as its users report it), and nothing
changes. moto reports the quota (GetAccountSummary) but stores every policy.

A quarantine puts one inline deny per instance on the fleet's role, so a case of many instances of one role meets it.
"""

from __future__ import annotations

import json
from typing import Any

from moto.iam.exceptions import LimitExceededException
from moto.iam.models import IAMBackend

from bluegreen.twin.patching import Patches

ROLE_POLICY_QUOTA = 10_240
_original_put = IAMBackend.put_role_policy


def policy_size(document: str) -> int:
    """Characters IAM counts: the document without the white space between its tokens."""
    try:
        return len(json.dumps(json.loads(document), separators=(",", ":"), ensure_ascii=False))
    except ValueError:
        return len("".join(document.split()))


def _put_role_policy(self: Any, role_name: str, policy_name: str, policy_json: str) -> None:
    role = self.get_role(role_name)
    others = sum(policy_size(d) for name, d in role.policies.items() if name != policy_name)
    if others + policy_size(policy_json) > ROLE_POLICY_QUOTA:
        raise LimitExceededException(f"Maximum policy size of {ROLE_POLICY_QUOTA} bytes exceeded for role {role_name}")
    _original_put(self, role_name, policy_name, policy_json)


patches = Patches(__name__, (IAMBackend, "put_role_policy", _put_role_policy))
install, uninstall = patches.install, patches.uninstall
