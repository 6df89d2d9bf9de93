"""No privilege escalation: no function can change its own or another stack role's permissions, nor pass a role it can
also change to something it can launch. Checked over the SAM-translated template, with the twin's IAM evaluator.

`python -m bluegreen.proof.escalation` (part of `make test`). Each function's role is evaluated (as IAM would, with
`bluegreen.twin.iam_policy_logic`) against every role the stack creates, as AWS will name them
(`<stack>-<LogicalId>-<suffix>`), and against a fleet role under the default `FleetRolePath`. A finding names the
function, the action and the role. principalmapper builds such a graph from a live account, and cloudsplaining and
parliament's privilege-escalation auditor look at actions granted on `*` alone: neither can judge the resource- and
condition-scoped policies of a template before it is deployed.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

from bluegreen.proof import iam_lint
from bluegreen.twin.iam_policy_logic import Request, evaluate

ACCOUNT = iam_lint.PSEUDO["AWS::AccountId"]
STACK = iam_lint.PSEUDO["AWS::StackName"]
FLEET_ROLE = f"arn:aws:iam::{ACCOUNT}:role/bluegreen/shop-web"  # a fleet's instance role under the default path

# What changes a role's permissions, or its trust (who may become it).
ROLE_WRITES = (
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:UpdateAssumeRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary",
    "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion",
)
# What launches compute that runs as a passed role.
LAUNCHES = ("ec2:RunInstances", "autoscaling:CreateAutoScalingGroup", "lambda:CreateFunction", "ecs:RunTask")
PASSED_TO = ("ec2.amazonaws.com", "autoscaling.amazonaws.com", "lambda.amazonaws.com")

# Paths between two functions that stay, each with why. (function that changes, function that launches) -> why.
ACCEPTED: dict[tuple[str, str], str] = {
    # The quarantine denies a compromised instance's sessions with an inline policy on its fleet role: IAM has no
    # condition key on a policy's content, so PutRolePolicy on fleet roles cannot be limited to denies. CreateGreenGroup
    # launches with fleet roles only from launch templates tagged bluegreen:app, which only an app's owner tags; a
    # deny that IsolateInstances adds cannot widen what a fleet role may do.
    ("IsolateInstancesFunctionRole", "CreateGreenGroupFunctionRole"): "quarantine's deny on fleet roles",
}


def stack_role_arn(logical_id: str) -> str:
    """The ARN AWS gives a role CloudFormation names: `<stack>-<LogicalId>-<12 characters>`, at path "/"."""
    return f"arn:aws:iam::{ACCOUNT}:role/{STACK}-{logical_id}-ABCDEFGHIJKL"


def _allowed(documents: list[dict], action: str, resource: str, **keys: str) -> bool:
    policies = {f"policy{n}": d for n, d in enumerate(documents)}
    context = {"aws:PrincipalAccount": ACCOUNT, "aws:RequestedRegion": "us-east-1", **keys}
    return evaluate(policies, Request(action, resource, context)).allowed


def _grants_anything(documents: list[dict]) -> bool:
    return any(s.get("Effect") == "Allow" for d in documents for s in _listed(d.get("Statement", [])))


def _listed(value: object) -> list:
    return value if isinstance(value, list) else [value]


def _launchers(documents: list[dict]) -> bool:
    return any(_allowed(documents, action, "*") or _allowed(documents, action, _any_of(action)) for action in LAUNCHES)


def _any_of(action: str) -> str:
    return {
        "ec2:RunInstances": f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/*",
        "autoscaling:CreateAutoScalingGroup": (
            f"arn:aws:autoscaling:us-east-1:{ACCOUNT}:autoScalingGroup:*:autoScalingGroupName/any"
        ),
    }.get(action, "*")


def _passes(documents: list[dict], role: str) -> bool:
    return any(_allowed(documents, "iam:PassRole", role, **{"iam:PassedToService": s}) for s in PASSED_TO)


def _changes(documents: list[dict], role: str) -> list[str]:
    return [a for a in ROLE_WRITES if _allowed(documents, a, role)]


def findings(roles: Mapping[str, list[dict]] | None = None) -> list[str]:
    """One line per escalation path: a function that changes a stack role, passes a stack role that grants anything,
    or passes a role it (or, unless ACCEPTED, another function) can change to something it can launch."""
    roles = iam_lint.policies() if roles is None else roles
    functions = {name: docs for name, docs in roles.items() if name.endswith("FunctionRole")}
    found: list[str] = []
    for function, documents in sorted(functions.items()):
        for role, role_documents in sorted(roles.items()):
            arn = stack_role_arn(role)
            found += [f"{function}: {action} on the stack's own {role}" for action in _changes(documents, arn)]
            if _passes(documents, arn) and _grants_anything(role_documents):
                found.append(f"{function}: iam:PassRole of the stack's own {role}, which grants permissions")
    for changer, changer_documents in sorted(functions.items()):
        if not _changes(changer_documents, FLEET_ROLE):
            continue
        for launcher, launcher_documents in sorted(functions.items()):
            if not (_passes(launcher_documents, FLEET_ROLE) and _launchers(launcher_documents)):
                continue
            if changer == launcher:
                found.append(f"{changer}: changes and passes fleet roles, and launches with them")
            elif (changer, launcher) not in ACCEPTED:
                found.append(f"{changer} changes fleet roles that {launcher} passes to what it launches")
    return found


def main() -> int:
    found = findings()
    for line in found:
        print(line)
    print(
        f"escalation: {len(iam_lint.policies())} roles, {len(found)} paths ({len(ACCEPTED)} accepted, each saying why)"
    )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
