"""IAM's policy evaluation logic for identity-based policies, with the reason for every denial.

Real AWS (IAM User Guide, "Policy evaluation logic", "Determining whether a request is allowed or denied within an
account"): "By default, all requests are implicitly denied ... An explicit allow in an identity-based policy overrides
this default ... An explicit deny in any policy overrides any allows." A statement applies when its Action (or
NotAction), its Resource (or NotResource) and every one of its Condition operators match; within an operator, every
key must match (AND), and a key matches when any of its policy values does (OR). "If the key that you specify in a
policy condition is not present in the request context, the values do not match" — except with `...IfExists`, with
`Null`, with a negated operator (`StringNotEquals`, `ArnNotLike`, ...: true when the key is absent) and with
`ForAllValues:` (true for an absent or empty set). Action names are case-insensitive; resource ARNs and string
values are case-sensitive unless the operator says IgnoreCase; condition key names are case-insensitive.

Pure: no moto. `bluegreen.twin.iam_authorization` builds the requests and asks `evaluate`. principalmapper's
simulator was considered (AGPL-3.0, no release since 2022, and it answers a bool: the twin must say which statement
or condition decided).
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

ContextValue = str | Sequence[str]


@dataclass(frozen=True)
class Request:
    """One authorization AWS makes for an API call: the action, one resource ARN ("*" when the action takes none),
    and the condition keys AWS supplies for that resource (names case-insensitive)."""

    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    explicit_deny: bool = False
    statement: str = ""  # the statement that allowed or denied: "<policy>/<Sid or #n>"
    reason: str = ""  # why it was not allowed: what each candidate statement lacked


def evaluate(policies: Mapping[str, Mapping[str, Any]], request: Request) -> Decision:
    """Allow, explicit deny or implicit deny of `request` under the named policy documents of one principal."""
    context = {k.lower(): v for k, v in request.context.items()}
    allowing = ""
    misses: list[str] = []
    for name, statement in _statements(policies):
        if not _matches_action(statement, request.action):
            continue
        resource_ok = _matches_resource(statement, request.resource, context)
        failed = _failed_condition(statement.get("Condition", {}), context) if resource_ok else ""
        if statement.get("Effect") == "Deny":
            if resource_ok and not failed:
                return Decision(False, True, name, f"explicitly denied by {name}")
            continue
        if not resource_ok:
            misses.append(f"{name}: resource {request.resource} is not in {_listed(statement.get('Resource', []))}")
        elif failed:
            misses.append(f"{name}: {failed}")
        elif not allowing:
            allowing = name
    if allowing:
        return Decision(True, statement=allowing)
    reason = "; ".join(misses) if misses else f"no statement allows {request.action}"
    return Decision(False, reason=reason)


def _statements(policies: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, dict]]:
    found = []
    for policy_name, document in policies.items():
        for n, statement in enumerate(_listed(document.get("Statement", []))):
            found.append((f"{policy_name}/{statement.get('Sid') or f'#{n}'}", statement))
    return found


def _listed(value: Any) -> list:
    return list(value) if isinstance(value, list | tuple) else [value]


def _matches_action(statement: Mapping[str, Any], action: str) -> bool:
    if "NotAction" in statement:
        return not any(_like(action.lower(), p.lower()) for p in _listed(statement["NotAction"]))
    return any(_like(action.lower(), p.lower()) for p in _listed(statement.get("Action", [])))


def _matches_resource(statement: Mapping[str, Any], resource: str, context: Mapping[str, ContextValue]) -> bool:
    if "NotResource" in statement:
        return not any(arn_like(resource, _substitute(p, context)) for p in _listed(statement["NotResource"]))
    return any(arn_like(resource, _substitute(p, context)) for p in _listed(statement.get("Resource", [])))


def _substitute(pattern: str, context: Mapping[str, ContextValue]) -> str:
    """Policy variables (`${aws:username}`): a variable with no value in the request makes the pattern match nothing."""

    def value(match: re.Match) -> str:
        name = match.group(1)
        if name in ("*", "?", "$"):
            return name
        found = context.get(name.lower())
        return found if isinstance(found, str) else "\x00no-such-value\x00"

    return re.sub(r"\$\{([^}]+)\}", value, pattern) if "${" in pattern else pattern


def _like(value: str, pattern: str) -> bool:
    """IAM's `*` and `?` wildcards (no character classes: `[` is literal)."""
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def arn_like(arn: str, pattern: str) -> bool:
    """An ARN against a policy's ARN pattern: each of the first five segments is matched alone (a wildcard does not
    cross a colon there); the resource part may contain colons and slashes, which a `*` matches."""
    if pattern == "*":
        return True
    arn_parts, pattern_parts = arn.split(":", 5), pattern.split(":", 5)
    if len(arn_parts) != 6 or len(pattern_parts) != 6:
        return len(arn_parts) == len(pattern_parts) and _like(arn, pattern)  # a pattern short of segments: no match
    return all(_like(a, p) for a, p in zip(arn_parts, pattern_parts, strict=True))


def _failed_condition(condition: Mapping[str, Mapping[str, Any]], context: Mapping[str, ContextValue]) -> str:
    """'' when every operator holds, else a sentence naming the first that does not (with what the request had)."""
    for operator, keys in condition.items():
        for key, policy_values in keys.items():
            if not _holds(operator, key.lower(), [str(v) for v in _listed(policy_values)], context):
                present = context.get(key.lower())
                had = "absent" if present is None else repr(present)
                return f"condition {operator} {{{key}: {policy_values!r}}} does not hold ({key} is {had})"
    return ""


def _holds(operator: str, key: str, policy_values: list[str], context: Mapping[str, ContextValue]) -> bool:
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    present = key in context
    if base == "Null":  # "true": the key must be absent; "false": present
        return any((not present) == (v.lower() == "true") for v in policy_values)
    values = _listed(context[key]) if present else []
    if qualifier == "ForAllValues":
        return all(_compare(base, v, policy_values) for v in values)  # an absent or empty set: true
    if qualifier == "ForAnyValue":
        return any(_compare(base, v, policy_values) for v in values)
    if not present:
        return if_exists or _negated(base)
    if _negated(base):
        return all(_compare(base, v, policy_values) for v in values)
    return any(_compare(base, v, policy_values) for v in values)


def _negated(base: str) -> bool:
    return "Not" in base


def _compare(base: str, value: str, policy_values: list[str]) -> bool:
    """Whether one request value satisfies the operator (a negated operator: it matches none of the policy values)."""
    positive = base.replace("Not", "")
    matched = any(_one(positive, value, p) for p in policy_values)
    return not matched if _negated(base) else matched


def _one(operator: str, value: str, policy_value: str) -> bool:
    if operator == "StringEquals":
        return value == policy_value
    if operator == "StringEqualsIgnoreCase":
        return value.lower() == policy_value.lower()
    if operator == "StringLike":
        return _like(value, policy_value)
    if operator in ("ArnEquals", "ArnLike"):
        return arn_like(value, policy_value)
    if operator == "Bool":
        return value.lower() == policy_value.lower()
    if operator.startswith("Numeric"):
        return _ordered(operator.removeprefix("Numeric"), float(value), float(policy_value))
    if operator.startswith("Date"):
        return _ordered(operator.removeprefix("Date"), _date(value), _date(policy_value))
    if operator == "IpAddress":
        return ipaddress.ip_address(value) in ipaddress.ip_network(policy_value, strict=False)
    raise ValueError(f"the twin does not evaluate the condition operator {operator}")


def _ordered(comparison: str, value: Any, policy_value: Any) -> bool:
    return {
        "Equals": value == policy_value,
        "LessThan": value < policy_value,
        "LessThanEquals": value <= policy_value,
        "GreaterThan": value > policy_value,
        "GreaterThanEquals": value >= policy_value,
    }[comparison]


def _date(value: str) -> datetime:
    if value.isdigit():
        return datetime.fromtimestamp(int(value)).astimezone()
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
