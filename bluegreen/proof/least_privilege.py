"""Invariant I6, least privilege (SPEC section 9), checked against template.yaml itself.

Every AWS call a function makes must be allowed by that function's own IAM policy, and no policy may grant a write
action on `*` unless the action supports no resource scoping. The template is translated with samtranslator (as
`bluegreen.twin.deploy` does), so SAM policy templates are expanded into the statements AWS would get; action
wildcards are resolved against botocore's service models. Resources and conditions are read for the `*` check only.
"""

from __future__ import annotations

import fnmatch
import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.session

from bluegreen.twin.api_calls import IAM_PREFIX
from bluegreen.twin.deploy import translate

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"

# Actions that read; everything else counts as a write.
READ_PREFIXES = ("Describe", "Get", "List", "BatchGet", "Query", "Scan", "ConditionCheck")

# Write actions that may be granted on "*" because AWS offers no resource to scope them to. Each says why.
WRITE_ON_STAR_ALLOWED = {
    # Task tokens are not resources: Step Functions authorises these callbacks on "*" only.
    "states:SendTaskSuccess": "task tokens are not ARNs",
    "states:SendTaskFailure": "task tokens are not ARNs",
    "states:SendTaskHeartbeat": "task tokens are not ARNs",
    # Metrics have no ARN; CloudWatch scopes PutMetricData by the cloudwatch:namespace condition instead.
    "cloudwatch:PutMetricData": "metrics have no ARN",
    # X-Ray segments have no ARN (the AWSXrayWriteOnlyAccess managed policy grants them on "*").
    "xray:PutTraceSegments": "trace segments have no ARN",
    "xray:PutTelemetryRecords": "telemetry records have no ARN",
}


@dataclass(frozen=True)
class Statement:
    sid: str
    effect: str
    actions: tuple[str, ...]
    resources: tuple[Any, ...]
    condition: bool


def _botocore_service(iam_prefix: str) -> str:
    return {v: k for k, v in IAM_PREFIX.items()}.get(iam_prefix, iam_prefix)


@functools.cache
def operations(iam_prefix: str) -> tuple[str, ...]:
    """Every API operation of the service behind an IAM action prefix (empty when botocore does not know it)."""
    session = botocore.session.get_session()
    try:
        model = session.get_service_model(_botocore_service(iam_prefix))
    except Exception:  # an IAM-only prefix (e.g. iam:PassRole's cousins) has no botocore model
        return ()
    return tuple(model.operation_names)


def expand(pattern: str) -> set[str]:
    """The concrete actions an IAM action pattern (`ec2:Describe*`, `*`) names, as far as botocore knows them."""
    prefix, _, name = pattern.partition(":")
    if "*" not in pattern and "?" not in pattern:
        return {pattern}
    names = operations(prefix.lower())
    return {f"{prefix}:{op}" for op in names if fnmatch.fnmatchcase(op.lower(), name.lower())}


def action_matches(action: str, pattern: str) -> bool:
    """IAM action names are case-insensitive; `*` and `?` are wildcards."""
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def is_write(action: str) -> bool:
    return not action.partition(":")[2].startswith(READ_PREFIXES)


@functools.cache
def _translated(template_path: Path) -> dict:
    # The twin's own translation; only the policies matter here, so the code goes nowhere.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # samtranslator resolves the partition from it
    return translate(template_path, lambda body: "s3://policy-check/code.zip")


def function_policies(template_path: Path = TEMPLATE) -> dict[str, list[Statement]]:
    """Logical id of each Lambda function -> the statements of its role's inline policies."""
    template = _translated(Path(template_path))
    resources = template["Resources"]
    found: dict[str, list[Statement]] = {}
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        role = resource["Properties"].get("Role", {})
        role_id = role.get("Fn::GetAtt", [None])[0] if isinstance(role, dict) else None
        policies = resources.get(role_id, {}).get("Properties", {}).get("Policies", [])
        found[logical_id] = [
            _statement(raw) for policy in policies for raw in _listed(policy["PolicyDocument"]["Statement"])
        ]
    return found


def _listed(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _statement(raw: dict) -> Statement:
    return Statement(
        sid=raw.get("Sid", ""),
        effect=raw.get("Effect", "Allow"),
        actions=tuple(_listed(raw.get("Action", []))),
        resources=tuple(_listed(raw.get("Resource", []))),
        condition=bool(raw.get("Condition")),
    )


def allowed(action: str, statements: list[Statement]) -> bool:
    """Whether some Allow statement names the action and no Deny statement on "*" takes it away."""
    grants = any(s.effect == "Allow" and any(action_matches(action, p) for p in s.actions) for s in statements)
    denied = any(
        s.effect == "Deny" and "*" in s.resources and any(action_matches(action, p) for p in s.actions)
        for s in statements
    )
    return grants and not denied


def calls_not_allowed(calls: dict[str, list[str]], policies: dict[str, list[Statement]] | None = None) -> list[str]:
    """One line per (function, action) the function called but its own policy does not allow."""
    policies = function_policies() if policies is None else policies
    gaps = []
    for function, actions in sorted(calls.items()):
        if function not in policies:
            gaps.append(f"{function}: not a function of template.yaml (called {', '.join(actions)})")
            continue
        gaps.extend(f"{function}: {a} is not allowed" for a in actions if not allowed(a, policies[function]))
    return gaps


def writes_on_star(policies: dict[str, list[Statement]] | None = None) -> list[str]:
    """One line per write action granted on Resource "*" that is not in WRITE_ON_STAR_ALLOWED."""
    policies = function_policies() if policies is None else policies
    found = []
    for function, statements in sorted(policies.items()):
        for s in statements:
            if s.effect != "Allow" or "*" not in s.resources:
                continue
            for pattern in s.actions:
                concrete = expand(pattern) or {pattern}
                for action in sorted(a for a in concrete if is_write(a) and a not in WRITE_ON_STAR_ALLOWED):
                    found.append(f"{function} ({s.sid or 'no Sid'}): {action} on *")
    return found
