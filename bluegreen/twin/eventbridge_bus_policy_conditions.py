"""moto checks no event bus policy, and `eventbridge_cross_account_buses` checks a statement's principals only; the
twin also holds a statement to its `Condition`, so a bus limited to an organization takes no event from outside it.

Real AWS (EventBridge API, "PutPermission" and "Condition"): a bus policy can grant `events:PutEvents` "to only
accounts that fulfill the condition. Currently, the only supported condition is membership in a certain AWS
organization": `{"StringEquals": {"aws:PrincipalOrgID": "o-1234567890"}}`, where aws:PrincipalOrgID is "the identifier
of the organization in AWS Organizations to which the requesting principal belongs" (IAM User Guide, "AWS global
condition context keys"). A statement holds only when every condition in it holds; a condition on a key the request
does not carry does not hold (an account outside any organization has no aws:PrincipalOrgID).

Here a statement's conditions are evaluated with `StringEquals` / `StringLike` (and their `ForAnyValue:` forms) on
`aws:PrincipalOrgID` (the sending account's organization in moto's Organizations: the one it manages or is a member
of) and `aws:PrincipalAccount`; any other key is absent, so its condition does not hold.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any

from moto.organizations.models import organizations_backends

from bluegreen.twin import eventbridge_cross_account_buses as buses_module
from bluegreen.twin.patching import Patches

_original_allows = buses_module.allows


def organization_of(account: str) -> str | None:
    """The organization an account manages or belongs to in moto's Organizations, if any."""
    for partition in ("aws",):
        own = organizations_backends[account][partition].org
        if own is not None:
            return own.id
    found = organizations_backends.master_accounts.get(account)
    if found:
        master, partition = found
        org = organizations_backends[master][partition].org
        return org.id if org else None
    return None


def holds(conditions: dict[str, Any], account: str) -> bool:
    """Whether every condition of a statement holds for a request from `account`."""
    context = {"aws:principalorgid": organization_of(account), "aws:principalaccount": account}
    for operator, tests in (conditions or {}).items():
        base = operator.split(":")[-1]
        if base not in ("StringEquals", "StringLike"):
            return False
        for key, wanted in tests.items():
            value = context.get(key.lower())
            wanted = [wanted] if isinstance(wanted, str) else list(wanted)
            if value is None:
                return False
            if base == "StringEquals" and value not in wanted:
                return False
            if base == "StringLike" and not any(fnmatch.fnmatchcase(value, w) for w in wanted):
                return False
    return True


def allows(policy: str | None, account: str) -> bool:
    """Whether the bus policy lets `account` put events on the bus: a statement's principal and its conditions."""
    for statement in json.loads(policy or "{}").get("Statement", []):
        alone = json.dumps({"Statement": [{k: v for k, v in statement.items() if k != "Condition"}]})
        if _original_allows(alone, account) and holds(statement.get("Condition") or {}, account):
            return True
    return False


patches = Patches(__name__, (vars(buses_module), "allows", allows))
install, uninstall = patches.install, patches.uninstall
