"""moto's EventBridge cannot deliver to a Lambda target (NotImplementedError); the twin invokes the function.

Real AWS (EventBridge User Guide, "Event bus targets" and "Using resource-based policies for Amazon EventBridge":
"Lambda functions [...] use resource-based policies to grant EventBridge permission to invoke them"): a rule whose
target is a Lambda function invokes it asynchronously with the event (or the target's `Input` / `InputPath`), only if
the function's resource policy lets `events.amazonaws.com` invoke it (for that rule, when the statement names an
`AWS:SourceArn`); otherwise the invocation fails and EventBridge retries, then drops the event or sends it to the
target's dead-letter queue. Lambda itself runs an asynchronous invocation that fails up to two more times ("Invoking a
Lambda function asynchronously", retries). PutEvents never fails for a target.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from moto.awslambda.models import lambda_backends
from moto.utilities.arns import parse_arn

from bluegreen.twin import api_calls
from bluegreen.twin import eventbridge_cross_account_buses as buses_module
from bluegreen.twin import eventbridge_stepfunctions_targets as targets_module
from bluegreen.twin.patching import Patches

log = logging.getLogger(__name__)
_original_deliver = buses_module._original_deliver
ASYNC_ATTEMPTS = 3  # Lambda's first try and its two retries of an asynchronous invocation


def allows_rule(policy: dict[str, Any], rule_arn: str) -> bool:
    """Whether a function's resource policy lets EventBridge invoke it for this rule."""
    for statement in policy.get("Statement", []):
        principal = statement.get("Principal")
        service = principal.get("Service") if isinstance(principal, dict) else principal
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if statement.get("Effect") != "Allow" or service not in ("events.amazonaws.com", "*"):
            continue
        if not {"lambda:InvokeFunction", "lambda:*", "*"} & set(actions):
            continue
        source = (statement.get("Condition") or {}).get("ArnLike", {}).get("AWS:SourceArn")
        if source in (None, rule_arn):
            return True
    return False


def _policy(fn: Any) -> dict[str, Any]:
    return {"Statement": list(fn.policy.statements) if fn.policy else []}


def _invoke(fn: Any, payload: str, rule_arn: str, twin: int) -> None:
    for attempt in range(1, ASYNC_ATTEMPTS + 1):
        if api_calls.account() != twin:  # the twin that delivered the event is gone: its functions with it
            log.info("rule %s: %s not invoked, its twin was replaced", rule_arn, fn.function_name)
            return
        headers: dict[str, Any] = {}
        try:
            with api_calls.on_behalf_of(twin):
                fn.invoke(payload, {}, headers)
        except Exception:
            log.exception("EventBridge rule %s: invoking %s failed", rule_arn, fn.function_name)
            return
        if "x-amz-function-error" not in headers:
            return
        log.warning("rule %s: %s failed (attempt %d of %d)", rule_arn, fn.function_name, attempt, ASYNC_ATTEMPTS)


def _deliver(rule: Any, targets: list[dict], event: dict[str, Any], transform: bool) -> None:
    functions = [t for t in targets if parse_arn(t["Arn"]).service == "lambda"]
    delivered = targets_module.delivered_event(event)
    for target in functions:
        arn = parse_arn(target["Arn"])
        try:
            fn = lambda_backends[arn.account][arn.region].get_function(target["Arn"])
        except Exception:
            log.warning("rule %s: no function %s", rule.arn, target["Arn"])
            continue
        if not allows_rule(_policy(fn), rule.arn):
            log.warning("rule %s may not invoke %s (its resource policy does not allow it)", rule.arn, fn.function_name)
            continue
        payload = targets_module._target_input(target, delivered)
        twin = api_calls.account()
        threading.Thread(
            target=_invoke, args=(fn, payload, rule.arn, twin), daemon=True, name="eventbridge-lambda"
        ).start()
    rest = [t for t in targets if t not in functions]
    if rest:
        _original_deliver(rule, rest, event, transform)


patches = Patches(__name__, (vars(buses_module), "_original_deliver", _deliver))
install, uninstall = patches.install, patches.uninstall
