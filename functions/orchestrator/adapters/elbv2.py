"""Elastic Load Balancing v2: target health, deregistration delays, registrations (quarantine), and the forward
actions of listeners and rules (the ALB router)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from botocore.exceptions import ClientError

from orchestrator.adapters.aws import client, error_code
from orchestrator.errors import ForwardActionConflictError, NotFoundError

DEFAULT_DEREGISTRATION_DELAY = 300


def target_states(target_group_arn: str, instance_ids: list[str], api: Any = None) -> dict[str, str]:
    """Health state per instance in one target group; an instance not registered reads `unused`."""
    api = api or client("elbv2")
    if not instance_ids:
        return {}
    described = api.describe_target_health(TargetGroupArn=target_group_arn)["TargetHealthDescriptions"]
    states = {d["Target"]["Id"]: d["TargetHealth"]["State"] for d in described}
    return {i: states.get(i, "unused") for i in instance_ids}


def load_balancer_label(target_group_arn: str, api: Any = None) -> str | None:
    """`app/<name>/<id>` of the load balancer that routes to the target group (what ALB metrics name); None if none."""
    api = api or client("elbv2")
    groups = api.describe_target_groups(TargetGroupArns=[target_group_arn])["TargetGroups"]
    return label_of(groups[0].get("LoadBalancerArns", []) if groups else [])


def label_of(load_balancer_arns: list[str]) -> str | None:
    """`app/<name>/<id>` of the first of a target group's load balancers (its `LoadBalancerArns`); None if none."""
    return load_balancer_arns[0].split(":loadbalancer/")[-1] if load_balancer_arns else None


def deregistration_delay(target_group_arn: str, api: Any = None) -> int:
    api = api or client("elbv2")
    attributes = api.describe_target_group_attributes(TargetGroupArn=target_group_arn)["Attributes"]
    for attribute in attributes:
        if attribute["Key"] == "deregistration_delay.timeout_seconds":
            return int(attribute["Value"])
    return DEFAULT_DEREGISTRATION_DELAY


# --- registrations: the quarantine path ------------------------------------------------------------------------


def registrations_of(target_group_arn: str, instance_ids: list[str], api: Any = None) -> dict[str, list[dict]]:
    """Each of these instances' registrations (id and port) in one target group; an instance not registered is left
    out. One call per target group, whatever the number of instances."""
    api = api or client("elbv2")
    wanted = set(instance_ids)
    described = api.describe_target_health(TargetGroupArn=target_group_arn)["TargetHealthDescriptions"]
    found: dict[str, list[dict]] = {}
    for d in described:
        if d["Target"]["Id"] in wanted:
            target = {k: v for k, v in d["Target"].items() if k in ("Id", "Port", "AvailabilityZone")}
            found.setdefault(d["Target"]["Id"], []).append(target)
    return found


def deregister(target_group_arn: str, targets: list[dict], api: Any = None) -> None:
    if targets:
        (api or client("elbv2")).deregister_targets(TargetGroupArn=target_group_arn, Targets=targets)


# --- forward actions of listeners and rules: the ALB router ------------------------------------------------------

# What ModifyListener/ModifyRule refuse for the action itself (AWS keeps the listener or rule as it was).
_REFUSALS = {
    "ValidationError",
    "InvalidConfigurationRequest",
    "InvalidLoadBalancerAction",
    "OperationNotPermitted",
    "TargetGroupAssociationLimit",
    "IncompatibleProtocols",
    "TooManyUniqueTargetGroupsPerLoadBalancer",
    "TooManyActions",
}
_MISSING = {"ListenerNotFound", "RuleNotFound", "TargetGroupNotFound"}


@dataclass
class Route:
    """A listener (its default actions) or a listener rule (its actions): where a forward action carries traffic."""

    arn: str
    kind: Literal["listener", "rule"]
    actions: list[dict]
    is_default: bool = False  # a listener's default rule, described as a rule (only ModifyListener changes it)
    conditions: list[dict] = field(default_factory=list)  # a rule's: what a request must match
    priority: str = ""  # a rule's: "1".."50000" (the lowest is evaluated first), or "default"

    @property
    def label(self) -> str:
        return f"{self.kind} {self.arn.split(':', 5)[-1].split('/', 1)[-1]}"


def describe_routes(listener_arns: list[str], rule_arns: list[str], api: Any = None) -> list[Route]:
    """The listeners' default actions and the rules' actions, in the order named; NotFoundError naming a missing one."""
    api = api or client("elbv2")
    found: dict[str, Route] = {}
    try:
        if listener_arns:
            for listener in api.describe_listeners(ListenerArns=listener_arns)["Listeners"]:
                found[listener["ListenerArn"]] = Route(listener["ListenerArn"], "listener", listener["DefaultActions"])
        if rule_arns:
            for rule in api.describe_rules(RuleArns=rule_arns)["Rules"]:
                found[rule["RuleArn"]] = Route(
                    rule["RuleArn"],
                    "rule",
                    rule["Actions"],
                    bool(rule.get("IsDefault")),
                    rule.get("Conditions") or [],
                    str(rule.get("Priority", "")),
                )
    except ClientError as err:
        if error_code(err) not in ("ListenerNotFound", "RuleNotFound"):
            raise
    missing = [arn for arn in [*listener_arns, *rule_arns] if arn not in found]
    if missing:
        field = "alb.listener_arns" if missing[0] in listener_arns else "alb.rule_arns"
        raise NotFoundError(f"{field}: {missing[0]} does not exist (check the ARN, and the region)")
    return [found[arn] for arn in [*listener_arns, *rule_arns]]


def listener_of(rule_arn: str) -> str:
    """The ARN of the listener a rule belongs to (the rule ARN names it)."""
    return rule_arn.replace(":listener-rule/", ":listener/").rsplit("/", 1)[0]


def forward_split(action: dict) -> dict[str, int]:
    """Weight per target group of a forward action (a forward to one target group has weight 1, as AWS says)."""
    groups = (action.get("ForwardConfig") or {}).get("TargetGroups")
    if groups:
        return {g["TargetGroupArn"]: int(g.get("Weight", 1)) for g in groups}
    return {action["TargetGroupArn"]: 1} if action.get("TargetGroupArn") else {}


def request_shape(action: dict) -> dict:
    """An action as described, fit to send back: an OIDC action keeps its secret without restating it."""
    action = {k: v for k, v in action.items()}
    if "AuthenticateOidcConfig" in action:
        config = {k: v for k, v in action["AuthenticateOidcConfig"].items() if k != "ClientSecret"}
        action["AuthenticateOidcConfig"] = {**config, "UseExistingClientSecret": True}
    return action


def weighted_actions(actions: list[dict], weights: dict[str, int]) -> list[dict]:
    """The actions with their forward action weighting these target groups (in this order), its stickiness kept."""
    out = []
    for action in actions:
        if action.get("Type") != "forward":
            out.append(request_shape(action))
            continue
        stickiness = (action.get("ForwardConfig") or {}).get("TargetGroupStickinessConfig") or {"Enabled": False}
        forward: dict[str, Any] = {
            "Type": "forward",
            "ForwardConfig": {
                "TargetGroups": [{"TargetGroupArn": arn, "Weight": weight} for arn, weight in weights.items()],
                "TargetGroupStickinessConfig": stickiness,
            },
        }
        if "Order" in action:
            forward["Order"] = action["Order"]
        out.append(forward)
    return out


def modify_route(route: Route, actions: list[dict], api: Any = None) -> None:
    """Replace the route's actions (ModifyListener for a listener, ModifyRule for a rule): in effect at once."""
    api = api or client("elbv2")
    try:
        if route.kind == "listener":
            api.modify_listener(ListenerArn=route.arn, DefaultActions=actions)
        else:
            api.modify_rule(RuleArn=route.arn, Actions=actions)
    except ClientError as err:
        code, message = error_code(err), err.response.get("Error", {}).get("Message", "")
        if code in _MISSING:
            raise NotFoundError(f"{route.label}: {code}: {message}") from None
        if code in _REFUSALS:
            raise ForwardActionConflictError(f"{route.label} refused the change: {code}: {message}") from None
        raise


def load_balancer_labels(target_group_arns: list[str], api: Any = None) -> dict[str, str]:
    """Per target group: `app/<name>/<id>` of the load balancer it serves (what CloudWatch's LoadBalancer dimension
    names), '' for one that serves none. One DescribeTargetGroups call (at most 20 ARNs)."""
    api = api or client("elbv2")
    groups = api.describe_target_groups(TargetGroupArns=target_group_arns)["TargetGroups"]
    found = {g["TargetGroupArn"]: g.get("LoadBalancerArns", []) for g in groups}
    return {
        arn: "/".join(found[arn][0].split(":", 5)[5].split("/")[1:4]) if found.get(arn) else ""
        for arn in target_group_arns
    }


def target_group_facts(target_group_arns: list[str], api: Any = None) -> dict[str, dict]:
    """Per target group: its name, the load balancers it serves, and its stickiness (on, and for how long)."""
    api = api or client("elbv2")
    facts: dict[str, dict] = {}
    try:
        groups = api.describe_target_groups(TargetGroupArns=target_group_arns)["TargetGroups"]
    except ClientError as err:
        if error_code(err) == "TargetGroupNotFound":
            raise NotFoundError(f"slots: a target group does not exist ({', '.join(target_group_arns)})") from None
        raise
    for group in groups:
        attributes = api.describe_target_group_attributes(TargetGroupArn=group["TargetGroupArn"])["Attributes"]
        values = {a["Key"]: a["Value"] for a in attributes}
        facts[group["TargetGroupArn"]] = {
            "name": group.get("TargetGroupName", group["TargetGroupArn"]),
            "load_balancers": list(group.get("LoadBalancerArns", [])),
            "sticky": values.get("stickiness.enabled") == "true",
            "deregistration_delay": int(
                values.get("deregistration_delay.timeout_seconds", DEFAULT_DEREGISTRATION_DELAY)
            ),
        }
    return facts
