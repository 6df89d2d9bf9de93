"""Every AWS call a Lambda handler makes in the twin is authorized against its function's own role, as IAM would.

Real AWS (IAM User Guide, "Policy evaluation logic"; Lambda Developer Guide, "Lambda execution role"): a function's
calls are signed with its execution role's session, and each is allowed only if that role's policies allow every
action the call needs, on every resource it is authorized on, with the condition keys AWS supplies, and no explicit
deny. Otherwise it fails with the service's own error: EC2 `UnauthorizedOperation`, the JSON services
(DynamoDB, SSM, Step Functions, KMS...) `AccessDeniedException`, SNS `AuthorizationError`, the others `AccessDenied`,
all HTTP 403: "User: arn:aws:sts::<account>:assumed-role/<role>/<function> is not authorized to perform: <action> on
resource: <arn> because no identity-based policy allows the <action> action" (or "with an explicit deny in an
identity-based policy").

moto evaluates no IAM for these calls. Here the role is read from moto as the stack deployed it (the SAM-translated
template: policy templates expanded, inline and managed policies), the requests come from `iam_requests` and the
decision from `iam_policy_logic`. A denial is logged (logger `bluegreen.twin.iam`) and kept (`denials()`,
`GET /_twin/iam-denials`) with the function, action, resource and what each candidate statement lacked: EC2's
encoded authorization message, decoded. `acting_as` runs a block under a principal of the test's choosing (an
operator role built from docs/operator-permissions.md).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import logging
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from botocore.client import BaseClient
from moto.backends import get_backend
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import ServiceException
from werkzeug.exceptions import HTTPException

from bluegreen.twin import api_calls, iam_requests
from bluegreen.twin.iam_policy_logic import Decision, Request, evaluate
from bluegreen.twin.patching import Patches

logger = logging.getLogger("bluegreen.twin.iam")

_JSON_SERVICES = {"dynamodb", "ssm", "states", "kms", "events", "lambda", "logs", "sts"}
DENIAL_LIMIT = 1_000


class _Principal:
    """Who signs the calls: a name, its ARN as IAM reports it, and its policy documents by name."""

    def __init__(self, name: str, arn: str, role_arn: str, user_id: str, policies: Mapping[str, Any]) -> None:
        self.name, self.arn, self.role_arn, self.user_id, self.policies = name, arn, role_arn, user_id, policies

    def keys(self, region: str, account: str) -> dict[str, Any]:
        return {
            "aws:PrincipalArn": self.role_arn,
            "aws:PrincipalAccount": account,
            "aws:PrincipalType": "AssumedRole",
            "aws:userid": self.user_id,
            "aws:RequestedRegion": region,
            "aws:SecureTransport": "true",
            "aws:CurrentTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


_acting: contextvars.ContextVar[_Principal | None] = contextvars.ContextVar("bluegreen_iam_principal", default=None)
_lock = threading.Lock()
_denials: list[dict[str, Any]] = []


@contextlib.contextmanager
def acting_as(name: str, policies: Mapping[str, Any], account: str = DEFAULT_ACCOUNT_ID) -> Iterator[None]:
    """Authorize every call made in this context as a role `name` holding `policies` (name -> policy document)."""
    role_arn = f"arn:aws:iam::{account}:role/{name}"
    principal = _Principal(
        name, f"arn:aws:sts::{account}:assumed-role/{name}/session", role_arn, f"AROA{name}", policies
    )
    token = _acting.set(principal)
    try:
        yield
    finally:
        _acting.reset(token)


def denials() -> list[dict[str, Any]]:
    """The denials since the last `clear()`, oldest first: principal, action, resource, reason, statement."""
    with _lock:
        return [dict(d) for d in _denials]


def clear() -> None:
    with _lock:
        _denials.clear()


def _document(document: str | dict[str, Any]) -> dict[str, Any]:
    """moto keeps a policy made by CloudFormation as a dict, one put by the API as (URL-encoded) JSON text."""
    return document if isinstance(document, dict) else _parsed(document)


@functools.lru_cache(maxsize=512)
def _parsed(text: str) -> dict[str, Any]:
    return json.loads(unquote(text)) if text.startswith("%7B") else json.loads(text)


def _function_principal(function_name: str, region: str) -> _Principal:
    account = DEFAULT_ACCOUNT_ID
    try:
        function = _find_function(function_name, account, region)
        role = get_backend("iam")[account]["global"].get_role_by_arn(function.role)
    except Exception:  # a function or role the twin does not hold: nothing can be authorized, as in AWS
        return _Principal(function_name, f"arn:aws:sts::{account}:assumed-role/unknown/{function_name}", "", "", {})
    policies: dict[str, Any] = {name: _document(text) for name, text in role.policies.items()}
    for arn, managed in role.managed_policies.items():
        version = next((v for v in managed.versions if v.is_default), None)
        if version is not None and version.document:
            policies[arn] = _document(version.document)
    arn = f"arn:aws:sts::{account}:assumed-role/{role.name}/{function_name}"
    return _Principal(function_name, arn, role.arn, f"{role.id}:{function_name}", policies)


def _find_function(name: str, account: str, region: str) -> Any:
    """The function, from its own region first; then the others (a global service's client, IAM's, is in none of
    them). moto adds a region to its backends when a request first names it: iterating them while another thread's
    request does raised, and the function's call was refused as an unknown principal's. So the own region is looked
    up alone, and the others from a copy of their names, taken again if a region came in meanwhile."""
    for function in _functions_named(name, account, region):
        return function
    for _ in range(5):
        try:
            regions = [r for r in list(get_backend("lambda")[account]) if r != region]
            break
        except RuntimeError:  # dictionary changed size during iteration
            continue
    else:
        regions = []
    return next(f for r in regions for f in _functions_named(name, account, r))


def _functions_named(name: str, account: str, region: str) -> list[Any]:
    try:
        return [get_backend("lambda")[account][region].get_function(name)]
    except Exception:
        return []


def _error_code(service: str) -> str:
    if service == "ec2":
        return "UnauthorizedOperation"
    if service == "sns":
        return "AuthorizationError"
    return "AccessDeniedException" if service in _JSON_SERVICES else "AccessDenied"


def _message(principal: _Principal, request: Request, decision: Decision) -> str:
    why = (
        "with an explicit deny in an identity-based policy"
        if decision.explicit_deny
        else f"because no identity-based policy allows the {request.action} action"
    )
    return f"User: {principal.arn} is not authorized to perform: {request.action} on resource: {request.resource} {why}"


def _refuse(client: BaseClient, operation: str, service: str, message: str) -> None:
    if service == "ec2":
        message = f"You are not authorized to perform this operation. {message}"
    code = _error_code(service)
    response = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 403}}
    raise client.exceptions.from_code(code)(response, operation)


def _keep(entry: dict[str, Any]) -> None:
    with _lock:
        if len(_denials) >= DENIAL_LIMIT:
            del _denials[: DENIAL_LIMIT // 10]
        _denials.append(entry)


def authorize(client: BaseClient, operation: str, params: Any, function_name: str | None) -> None:
    """Refuse the call, as the service would, unless the principal running it may make it."""
    principal = _acting.get()
    region = client.meta.region_name or "us-east-1"
    region = "us-east-1" if region == "aws-global" else region  # IAM, Route 53: their calls go to us-east-1
    if principal is None:
        if function_name is None:
            return  # not a handler: the tests' and the CLI's own calls are not the functions'
        principal = _function_principal(function_name, region)
    service = api_calls.IAM_PREFIX.get(client.meta.service_model.service_name, client.meta.service_model.service_name)
    call = iam_requests.Call(service, operation, dict(params or {}), DEFAULT_ACCOUNT_ID, region)
    try:
        wanted = iam_requests.requests(call, principal.keys(region, DEFAULT_ACCOUNT_ID))
    except (KeyError, StopIteration, ServiceException, HTTPException):  # moto's not-found errors, old and new
        # A resource the request names that moto does not hold: AWS authorizes on the ARN the request names and the
        # service then answers that it does not exist; moto gives that answer.
        logger.debug("twin IAM: %s:%s names a resource moto does not hold", service, operation, exc_info=True)
        return
    except Exception as gap:  # Unmodelled (or a fault of the twin's own): said as loudly as a denial
        _keep({"principal": principal.name, "action": f"{service}:{operation}", "resource": "", "reason": str(gap)})
        logger.error("twin IAM: %s cannot be authorized: %s", principal.name, gap)
        _refuse(client, operation, service, f"the twin cannot authorize this call: {gap}")
    for request in wanted:
        decision = evaluate(principal.policies, request)
        if decision.allowed:
            continue
        entry = {
            "principal": principal.name,
            "action": request.action,
            "resource": request.resource,
            "operation": f"{service}:{operation}",
            "reason": decision.reason,
            "statement": decision.statement,
            "context": {k: v for k, v in request.context.items() if not k.lower().startswith("aws:currenttime")},
        }
        _keep(entry)
        logger.warning(
            "twin IAM denied %s: %s on %s (for %s:%s): %s",
            principal.name,
            request.action,
            request.resource,
            service,
            operation,
            decision.reason,
        )
        _refuse(client, operation, service, _message(principal, request, decision))


patches = Patches(__name__, (api_calls.CHECKS, "iam", authorize))
install, uninstall = patches.install, patches.uninstall
